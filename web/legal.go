package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
)

func equalTokens(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// StaffRetention shows the retention schedule with what is due now, and
// lets privacy officers change it within the bounds the code enforces.
func (s *Server) StaffRetention(c echo.Context) error {
	return s.renderRetention(c, http.StatusOK, nil, views.FieldErrors{})
}

func (s *Server) renderRetention(c echo.Context, status int, values map[string]string, errs views.FieldErrors) error {
	ctx := c.Request().Context()
	if err := s.Store.ReloadRetention(ctx); err != nil {
		return err
	}
	due, err := s.Store.Purge(ctx, true, 0, s.Config.Sessions)
	if err != nil && !errors.Is(err, models.ErrPurgeBusy) {
		return err
	}
	counts := map[string]int64{}
	for _, pc := range due.Counts {
		counts[pc.Category] = pc.Rows
	}
	dueFor := map[string]string{"reference_months": "reference_questions", "hold_days": "holds", "fine_days": "fines",
		"ill_days": "interlibrary_loans", "computer_hours": "computer_sessions", "notification_days": "notifications", "audit_years": "audit_entries"}
	v := views.RetentionView{Errors: errs, Held: due.Held, Busy: errors.Is(err, models.ErrPurgeBusy)}
	for _, r := range s.Store.RetentionNow().Rules() {
		val := strconv.Itoa(r.Value)
		if values != nil {
			val = values[r.Key]
		}
		v.Rules = append(v.Rules, views.RetentionRow{Key: r.Key, Label: r.Label, Unit: r.Unit, Value: val,
			Min: r.Min, Max: r.Max, Reason: r.Reason, Due: counts[dueFor[r.Key]]})
	}
	v.Fixed = []views.RetentionRow{
		{Label: "Returned loans", Reason: "Deleted at return, unless the patron keeps a reading history."},
		{Label: "Expired sign-in sessions", Reason: "Deleted at once.", Due: counts["sessions"]},
		{Label: "Consent history", Reason: "As long as the choice it proves, plus the audit period.", Due: counts["consent_history"]},
	}
	return s.render(c, status, views.StaffRetention(s.page(c, "Retention"), v))
}

// StaffRetentionSave changes the schedule.
func (s *Server) StaffRetentionSave(c echo.Context) error {
	next := s.Store.RetentionNow()
	values := map[string]string{}
	errs := views.FieldErrors{}
	for _, r := range next.Rules() {
		raw := strings.TrimSpace(c.FormValue(r.Key))
		values[r.Key] = raw
		v, err := strconv.Atoi(raw)
		if err != nil {
			errs[r.Key] = "Give a whole number of " + r.Unit + "."
			continue
		}
		var bad *models.InputError
		if err := next.Set(r.Key, v); errors.As(err, &bad) {
			errs[r.Key] = bad.Message
		}
	}
	if len(errs) > 0 {
		return s.renderRetention(c, http.StatusUnprocessableEntity, values, errs)
	}
	if err := s.Store.SaveRetention(c.Request().Context(), currentStaff(c).ID, next); err != nil {
		return err
	}
	s.flash(c, "The retention schedule is saved. The next purge follows it.")
	return s.redirect(c, "/staff/retention")
}

// StaffLegal lists legal requests with where each stands.
func (s *Server) StaffLegal(c echo.Context) error {
	reqs, err := s.Store.LegalRequests(c.Request().Context())
	if err != nil {
		return err
	}
	var rows []views.LegalRow
	for _, r := range reqs {
		rows = append(rows, views.LegalRow{ID: r.ID, Kind: models.LegalKindLabel(r.Kind), Issuer: r.Issuer, Reference: r.Reference,
			Received: s.date(r.ReceivedOn), Status: models.LegalStatus(r.LegalRequest, r.Productions),
			NondisclosureUntil: s.nondisclosureShort(r.LegalRequest)})
	}
	return s.render(c, http.StatusOK, views.StaffLegal(s.page(c, "Legal requests"), rows))
}

// nondisclosureShort says, in a few words, until when a nondisclosure
// order applies; "" when none does.
func (s *Server) nondisclosureShort(r models.LegalRequest) string {
	switch {
	case !r.Nondisclosure:
		return ""
	case r.NondisclosureLiftedAt != nil:
		return "Lifted " + s.date(*r.NondisclosureLiftedAt)
	case r.NondisclosureUntil == nil:
		return "Until lifted"
	case !r.NondisclosureInForce(s.Store.Now()):
		return "Ended after " + s.lastDay(*r.NondisclosureUntil)
	}
	return "Through " + s.lastDay(*r.NondisclosureUntil)
}

// lastDay names the last day a nondisclosure order ending at until
// applies (until is the start of the day after it).
func (s *Server) lastDay(until time.Time) string {
	return s.date(models.NondisclosureLastDay(until, s.Config.Location))
}

func legalKinds() []views.Option {
	var out []views.Option
	for _, k := range models.LegalKinds {
		out = append(out, views.Option{Value: k.Value, Label: k.Label})
	}
	return out
}

func legalCategories() []views.Option {
	var out []views.Option
	for _, c := range models.Categories() {
		out = append(out, views.Option{Value: c.Key, Label: c.Title})
	}
	return out
}

// StaffLegalNew shows the form to record a request.
func (s *Server) StaffLegalNew(c echo.Context) error {
	return s.render(c, http.StatusOK, views.StaffLegalNew(s.page(c, "Record a legal request"),
		views.LegalForm{Kinds: legalKinds(), Categories: legalCategories(), Chosen: map[string]bool{}, PlaceHolds: true}))
}

// StaffLegalCreate records a request: every bad field is named next to
// it and nothing is saved.
func (s *Server) StaffLegalCreate(c echo.Context) error {
	form, _ := c.FormParams()
	f := models.LegalForm{Kind: c.FormValue("kind"), Issuer: c.FormValue("issuer"), Reference: c.FormValue("reference"),
		ReceivedOn: c.FormValue("received_on"), Notes: c.FormValue("notes"), Cards: c.FormValue("cards"),
		OfficerName: c.FormValue("officer_name"), OfficerAgency: c.FormValue("officer_agency"),
		IdentityCheck: c.FormValue("identity_check"), Categories: form["categories"],
		ScopeFromOn: c.FormValue("scope_from"), ScopeToOn: c.FormValue("scope_to"),
		Nondisclosure: c.FormValue("nondisclosure") == "yes", NondisclosureUntilOn: c.FormValue("nondisclosure_until"),
		PlaceHolds: c.FormValue("place_holds") == "yes"}
	view := views.LegalForm{Kinds: legalKinds(), Categories: legalCategories(), Chosen: map[string]bool{},
		Kind: f.Kind, Issuer: f.Issuer, Reference: f.Reference, ReceivedOn: f.ReceivedOn, Notes: f.Notes, Cards: f.Cards,
		OfficerName: f.OfficerName, OfficerAgency: f.OfficerAgency, IdentityCheck: f.IdentityCheck,
		ScopeFrom: f.ScopeFromOn, ScopeTo: f.ScopeToOn, NondisclosureUntil: f.NondisclosureUntilOn,
		Nondisclosure: f.Nondisclosure, PlaceHolds: f.PlaceHolds}
	for _, k := range f.Categories {
		view.Chosen[k] = true
	}
	if len(view.Cards) > models.MaxCardsText {
		view.Cards = "" // never echoed back unbounded
	}
	received, cards, errs := f.Validate(s.Config.Location, s.Store.Now())
	if len(errs) == 0 {
		req, _, err := s.Store.CreateLegalRequest(c.Request().Context(), currentStaff(c).ID, f, received, cards)
		var bad *models.InputError
		if errors.As(err, &bad) {
			errs = map[string]string{bad.Field: bad.Message}
		} else if err != nil {
			return err
		} else {
			if req.CourtIssued() {
				s.flash(c, "The request is recorded. Next: the legal review.")
			} else {
				s.flash(c, "The request is recorded and kept on file. It was not issued by a court, so nothing can be produced for it.")
			}
			return s.redirect(c, "/staff/legal/"+strconv.FormatInt(req.ID, 10))
		}
	}
	view.Errors = errs
	return s.render(c, http.StatusUnprocessableEntity, views.StaffLegalNew(s.page(c, "Record a legal request"), view))
}

func (s *Server) legalIDs(c echo.Context) (int64, int64, error) {
	id, err1 := strconv.ParseInt(c.Param("id"), 10, 64)
	pid, err2 := strconv.ParseInt(c.Param("pid"), 10, 64)
	if err1 != nil || (c.Param("pid") != "" && err2 != nil) {
		return 0, 0, echo.ErrNotFound
	}
	return id, pid, nil
}

// StaffLegalRequest shows one request, its steps and the patrons it
// covers.
func (s *Server) StaffLegalRequest(c echo.Context) error {
	return s.renderLegalDetail(c, http.StatusOK, nil, views.LegalReviewForm{})
}

func (s *Server) scopeDates(from, to *time.Time) string {
	if from == nil || to == nil {
		return ""
	}
	return s.date(*from) + " to " + s.date(*to) + " (both included)"
}

func (s *Server) staffNamed(names map[int64]string, id *int64) string {
	if id == nil {
		return "someone"
	}
	if n, ok := names[*id]; ok {
		return n
	}
	return "a former staff member"
}

// renderLegalDetail shows a request with, for a step just refused, the
// reason next to it (stepErrs) and the review form as typed.
func (s *Server) renderLegalDetail(c echo.Context, status int, stepErrs views.FieldErrors, review views.LegalReviewForm) error {
	id, _, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	r, err := s.Store.LegalRequestDetail(c.Request().Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	now := s.Store.Now()
	me := currentStaff(c)
	name := func(id *int64) string { return s.staffNamed(r.StaffNames, id) }
	v := views.LegalDetail{ID: r.ID, Kind: models.LegalKindLabel(r.Kind), Issuer: r.Issuer, Reference: r.Reference,
		Received: s.date(r.ReceivedOn), Notes: r.Notes, OfficerName: r.OfficerName, OfficerAgency: r.OfficerAgency,
		IdentityCheck: r.IdentityCheck, Categories: strings.Join(models.CategoryTitles(r.ScopeKeys()), ", "),
		Dates: s.scopeDates(r.ScopeFrom, r.ScopeTo), RecordedBy: name(r.CreatedBy) + ", " + s.dateTime(r.CreatedAt),
		CourtIssued: r.CourtIssued(), LegacyReviewed: r.AttorneyReviewed, NondisclosureInForce: r.NondisclosureInForce(now), StepErrors: stepErrs, ReviewForm: review}
	if r.Nondisclosure {
		switch {
		case r.NondisclosureLiftedAt != nil:
			v.Nondisclosure = "Lifted by " + name(r.NondisclosureLiftedBy) + ", " + s.dateTime(*r.NondisclosureLiftedAt) + "."
		case r.NondisclosureUntil == nil:
			v.Nondisclosure = "In force until an officer lifts it (no end date was recorded)."
		case v.NondisclosureInForce:
			v.Nondisclosure = "In force through " + s.lastDay(*r.NondisclosureUntil) + ", its last day."
		default:
			v.Nondisclosure = "Ended: its last day was " + s.lastDay(*r.NondisclosureUntil) + "."
		}
		v.CanLift = v.NondisclosureInForce
	}
	if v.StepErrors == nil {
		v.StepErrors = views.FieldErrors{}
	}
	if r.ReviewOutcome != "" {
		v.Reviewed, v.Reviewer, v.ReviewNotes, v.ReviewBy = true, r.Reviewer, r.ReviewNotes, name(r.ReviewRecordedBy)
		v.Outcome = map[string]string{models.ReviewFavourable: "Favourable", models.ReviewRefused: "Refused"}[r.ReviewOutcome]
		if r.ReviewedOn != nil {
			v.ReviewedOn = s.date(*r.ReviewedOn)
		}
	}
	if r.ApprovedBy != nil {
		v.Approved, v.ApprovedBy = true, name(r.ApprovedBy)
		if r.ApprovedAt != nil {
			v.ApprovedAt = s.dateTime(*r.ApprovedAt)
		}
	} else if len(r.Productions) > 0 {
		v.ApprovalUsed = "Each approval covers one production. The last approval was used by the production of " +
			s.dateTime(r.Productions[0].ProducedAt) + ": producing again needs a new approval by a privacy officer or administrator other than " +
			name(r.CreatedBy) + "."
	}
	if r.ApprovedBy == nil {
		if err := models.ApprovalRefusal(r.LegalRequest, *me); err != nil {
			var why *models.LegalRefusal
			if errors.As(err, &why) {
				v.ApproveWhyNot = why.Message
			}
		} else {
			v.CanApprove = true
		}
	}
	if err := models.ProductionRefusal(r.LegalRequest, len(r.Productions)); err != nil {
		var why *models.LegalRefusal
		if errors.As(err, &why) {
			v.ProduceWhyNot = why.Message
		}
	} else {
		v.CanProduce = true
	}
	if err := models.HoldRefusal(r.LegalRequest); err != nil {
		var why *models.LegalRefusal
		if errors.As(err, &why) {
			v.HoldWhyNot = why.Message
		}
	} else {
		v.CanHold = true
	}
	// The checklist.
	steps := []views.LegalStep{{Label: "Recorded", State: views.StepDone, Text: "By " + v.RecordedBy + "."}}
	if r.IdentityCheck != "" {
		steps = append(steps, views.LegalStep{Label: "Officer's identity checked", State: views.StepDone,
			Text: r.OfficerName + " (" + r.OfficerAgency + "): " + views.Sentence(r.IdentityCheck)})
	} else {
		steps = append(steps, views.LegalStep{Label: "Officer's identity checked", State: views.StepWaiting,
			Text: "Not recorded for this request."})
	}
	if v.Reviewed {
		steps = append(steps, views.LegalStep{Label: "Legal review", State: views.StepDone,
			Text: v.Outcome + ", by " + v.Reviewer + " on " + v.ReviewedOn + " (recorded by " + v.ReviewBy + ")."})
	} else {
		steps = append(steps, views.LegalStep{Label: "Legal review", State: views.StepWaiting, Text: "Not recorded yet."})
	}
	switch {
	case v.Approved:
		steps = append(steps, views.LegalStep{Label: "Approval by a second staff member", State: views.StepDone,
			Text: "By " + v.ApprovedBy + ", " + v.ApprovedAt + "."})
	case !r.CourtIssued() || r.ReviewOutcome == models.ReviewRefused:
		steps = append(steps, views.LegalStep{Label: "Approval by a second staff member", State: views.StepImpossible, Text: v.ApproveWhyNot})
	case v.ApprovalUsed != "":
		steps = append(steps, views.LegalStep{Label: "Approval by a second staff member", State: views.StepWaiting, Text: v.ApprovalUsed})
	default:
		steps = append(steps, views.LegalStep{Label: "Approval by a second staff member", State: views.StepWaiting,
			Text: "A privacy officer or administrator other than " + name(r.CreatedBy) + " approves, after a favourable review."})
	}
	switch {
	case len(r.Productions) > 0:
		last := r.Productions[0]
		steps = append(steps, views.LegalStep{Label: "Production", State: views.StepDone,
			Text: fmt.Sprintf("%s; the last by %s, %s.", plural(int64(len(r.Productions)), "package", "packages"), name(last.ProducedBy), s.dateTime(last.ProducedAt))})
	case !r.CourtIssued() || r.ReviewOutcome == models.ReviewRefused:
		steps = append(steps, views.LegalStep{Label: "Production", State: views.StepImpossible, Text: v.ProduceWhyNot})
	case v.CanProduce:
		steps = append(steps, views.LegalStep{Label: "Production", State: views.StepWaiting, Text: "Possible now."})
	default:
		steps = append(steps, views.LegalStep{Label: "Production", State: views.StepWaiting, Text: v.ProduceWhyNot})
	}
	v.Steps = steps
	for _, p := range r.Patrons {
		row := views.CoveredRow{PatronID: p.PatronID, Name: p.Name, Card: p.Card, Held: p.Held}
		if p.ProducedAt != nil {
			row.Produced = s.dateTime(*p.ProducedAt)
		}
		v.Patrons = append(v.Patrons, row)
	}
	for _, pr := range r.Productions {
		v.Productions = append(v.Productions, views.ProductionRow{ID: pr.ID, ProducedAt: s.dateTime(pr.ProducedAt),
			ProducedBy: name(pr.ProducedBy), ApprovedBy: name(pr.ApprovedBy),
			Categories: strings.Join(models.CategoryTitles(strings.Split(pr.Categories, ",")), ", "),
			Dates:      s.scopeDates(pr.ScopeFrom, pr.ScopeTo), SHA256: pr.PackageSHA256})
	}
	return s.render(c, status, views.StaffLegalDetail(s.page(c, "Legal request"), v))
}

// legalRefused shows the request again with why a step was refused, or
// passes on any other error.
func (s *Server) legalRefused(c echo.Context, err error) error {
	var why *models.LegalRefusal
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if errors.As(err, &why) {
		status := http.StatusConflict
		if why.Forbidden {
			status = http.StatusForbidden
		}
		return s.renderLegalDetail(c, status, views.FieldErrors{why.Step: why.Message}, views.LegalReviewForm{})
	}
	return err
}

// StaffLegalReview records the legal review, once.
func (s *Server) StaffLegalReview(c echo.Context) error {
	id, _, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	f := models.LegalReviewForm{Reviewer: c.FormValue("reviewer"), ReviewedOn: c.FormValue("reviewed_on"),
		Outcome: c.FormValue("outcome"), Notes: c.FormValue("review_notes")}
	view := views.LegalReviewForm{Reviewer: f.Reviewer, ReviewedOn: f.ReviewedOn, Outcome: f.Outcome, Notes: f.Notes}
	reviewed, errs := f.Validate(s.Config.Location, s.Store.Now())
	if len(errs) == 0 {
		err := s.Store.ReviewLegalRequest(c.Request().Context(), currentStaff(c).ID, id, f, reviewed)
		var bad *models.InputError
		if errors.As(err, &bad) {
			errs = map[string]string{bad.Field: bad.Message}
		} else if err != nil {
			return s.legalRefused(c, err)
		} else {
			s.flash(c, "The legal review is recorded.")
			return s.redirect(c, "/staff/legal/"+strconv.FormatInt(id, 10))
		}
	}
	view.Errors = errs
	return s.renderLegalDetail(c, http.StatusUnprocessableEntity, views.FieldErrors{"review": "Please check the review: each problem is shown next to its field."}, view)
}

// StaffLegalApprove records the second staff member's approval.
func (s *Server) StaffLegalApprove(c echo.Context) error {
	id, _, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	if err := s.Store.ApproveLegalRequest(c.Request().Context(), *currentStaff(c), id); err != nil {
		return s.legalRefused(c, err)
	}
	s.flash(c, "The production is approved.")
	return s.redirect(c, "/staff/legal/"+strconv.FormatInt(id, 10))
}

// StaffLegalProduce writes the one package a request's scope names,
// recorded and audited before a byte of it is sent.
func (s *Server) StaffLegalProduce(c echo.Context) error {
	id, _, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	pkg, err := s.Store.ProduceLegal(c.Request().Context(), currentStaff(c).ID, id, s.Config.Location, models.ExportMeta{
		Library: s.Config.LibraryName, PolicyVersion: s.Config.PolicyVersion, Limits: s.Config.Sessions})
	if err != nil {
		return s.legalRefused(c, err)
	}
	if err := s.saveSession(c); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+pkg.Name+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/zip", pkg.Zip)
}

// StaffLegalLift lifts a request's nondisclosure order.
func (s *Server) StaffLegalLift(c echo.Context) error {
	id, _, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	if err := s.Store.LiftNondisclosure(c.Request().Context(), currentStaff(c).ID, id, s.Config.Location); err != nil {
		return s.legalRefused(c, err)
	}
	s.flash(c, "The nondisclosure order is lifted. Each patron now sees that it ended.")
	return s.redirect(c, "/staff/legal/"+strconv.FormatInt(id, 10))
}

// StaffLegalHold places or releases a legal hold.
func (s *Server) StaffLegalHold(c echo.Context) error {
	id, pid, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	staff := currentStaff(c).ID
	switch c.Param("action") {
	case "release":
		err = s.Store.ReleaseLegalHold(c.Request().Context(), staff, id, pid)
	case "hold":
		err = s.Store.PlaceLegalHold(c.Request().Context(), staff, id, pid)
	default:
		return echo.ErrNotFound
	}
	if err != nil {
		return s.legalRefused(c, err)
	}
	return s.redirect(c, "/staff/legal/"+strconv.FormatInt(id, 10))
}
