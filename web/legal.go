package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
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
	t := tr(c)
	v.Fixed = []views.RetentionRow{
		{Label: t.S("staffops.retention.fixed.loans"), Reason: t.S("staffops.retention.fixed.loans_why")},
		{Label: t.S("staffops.retention.fixed.sessions"), Reason: t.S("staffops.retention.fixed.sessions_why"), Due: counts["sessions"]},
		{Label: t.S("staffops.retention.fixed.consent"), Reason: t.S("staffops.retention.fixed.consent_why"), Due: counts["consent_history"]},
	}
	return s.render(c, status, views.StaffRetention(s.page(c, t.S("staffops.retention.title")), v))
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
			errs[r.Key] = tr(c).S("staffops.retention.whole_number", "Unit", r.Unit)
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
	s.flash(c, tr(c).S("staffops.retention.saved"))
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
			Received: s.dateIn(tr(c), r.ReceivedOn), Status: models.LegalStatus(r.LegalRequest, r.Productions),
			NondisclosureUntil: s.nondisclosureShort(c, r.LegalRequest)})
	}
	return s.render(c, http.StatusOK, views.StaffLegal(s.page(c, tr(c).S("staffops.legal.heading")), rows))
}

// nondisclosureShort says, in a few words, until when a nondisclosure
// order applies; "" when none does.
func (s *Server) nondisclosureShort(c echo.Context, r models.LegalRequest) string {
	t := tr(c)
	switch {
	case !r.Nondisclosure:
		return ""
	case r.NondisclosureLiftedAt != nil:
		return t.S("staffops.legal.nd.lifted_on", "Date", s.dateIn(tr(c), *r.NondisclosureLiftedAt))
	case r.NondisclosureUntil == nil:
		return t.S("staffops.legal.nd.until_lifted")
	case !r.NondisclosureInForce(s.Store.Now()):
		return t.S("staffops.legal.nd.ended_after", "Date", s.lastDay(c, *r.NondisclosureUntil))
	}
	return t.S("staffops.legal.nd.through", "Date", s.lastDay(c, *r.NondisclosureUntil))
}

// lastDay names the last day a nondisclosure order ending at until
// applies (until is the start of the day after it).
func (s *Server) lastDay(c echo.Context, until time.Time) string {
	return s.dateIn(tr(c), models.NondisclosureLastDay(until, s.Config.Location))
}

func legalKinds() []views.Option {
	var out []views.Option
	for _, k := range models.LegalKinds {
		out = append(out, views.Option{Value: k.Value, Label: k.Label})
	}
	return out
}

func legalCategories(t *i18n.Tr) []views.Option {
	var out []views.Option
	for _, c := range models.Categories() {
		c = c.In(t)
		out = append(out, views.Option{Value: c.Key, Label: c.Title})
	}
	return out
}

// StaffLegalNew shows the form to record a request.
func (s *Server) StaffLegalNew(c echo.Context) error {
	return s.render(c, http.StatusOK, views.StaffLegalNew(s.page(c, tr(c).S("staffops.legal.new.heading")),
		views.LegalForm{Kinds: legalKinds(), Categories: legalCategories(tr(c)), Chosen: map[string]bool{}, PlaceHolds: true}))
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
	view := views.LegalForm{Kinds: legalKinds(), Categories: legalCategories(tr(c)), Chosen: map[string]bool{},
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
				s.flash(c, tr(c).S("staffops.legal.flash.recorded"))
			} else {
				s.flash(c, tr(c).S("staffops.legal.flash.recorded_on_file"))
			}
			return s.redirect(c, "/staff/legal/"+strconv.FormatInt(req.ID, 10))
		}
	}
	view.Errors = errs
	return s.render(c, http.StatusUnprocessableEntity, views.StaffLegalNew(s.page(c, tr(c).S("staffops.legal.new.heading")), view))
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

func (s *Server) scopeDates(c echo.Context, from, to *time.Time) string {
	if from == nil || to == nil {
		return ""
	}
	return tr(c).S("staffops.legal.scope", "From", s.dateIn(tr(c), *from), "To", s.dateIn(tr(c), *to))
}

func (s *Server) staffNamed(t *i18n.Tr, names map[int64]string, id *int64) string {
	if id == nil {
		return t.S("staffops.legal.someone")
	}
	if n, ok := names[*id]; ok {
		return n
	}
	return t.S("staffops.legal.former_staff")
}

// endSentence ends s, a sentence staff typed, with a full stop unless it
// ends with one already (or with a question mark, an exclamation mark or
// an ellipsis).
func endSentence(s string) string {
	for _, end := range []string{".", "?", "!", "…"} {
		if strings.HasSuffix(s, end) {
			return s
		}
	}
	return s + "."
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
	t := tr(c)
	name := func(id *int64) string { return s.staffNamed(t, r.StaffNames, id) }
	v := views.LegalDetail{ID: r.ID, Kind: models.LegalKindLabel(r.Kind), Issuer: r.Issuer, Reference: r.Reference,
		Received: s.dateIn(tr(c), r.ReceivedOn), Notes: r.Notes, OfficerName: r.OfficerName, OfficerAgency: r.OfficerAgency,
		IdentityCheck: r.IdentityCheck, Categories: strings.Join(models.CategoryTitles(r.ScopeKeys()), t.S("list.comma")),
		Dates:       s.scopeDates(c, r.ScopeFrom, r.ScopeTo),
		RecordedBy:  t.S("staffops.legal.who_when", "Staff", name(r.CreatedBy), "When", s.dateTimeIn(tr(c), r.CreatedAt)),
		CourtIssued: r.CourtIssued(), LegacyReviewed: r.AttorneyReviewed, NondisclosureInForce: r.NondisclosureInForce(now), StepErrors: stepErrs, ReviewForm: review}
	if r.Nondisclosure {
		switch {
		case r.NondisclosureLiftedAt != nil:
			v.Nondisclosure = t.S("staffops.legal.nd.lifted_by", "Staff", name(r.NondisclosureLiftedBy), "When", s.dateTimeIn(tr(c), *r.NondisclosureLiftedAt))
		case r.NondisclosureUntil == nil:
			v.Nondisclosure = t.S("staffops.legal.nd.no_end")
		case v.NondisclosureInForce:
			v.Nondisclosure = t.S("staffops.legal.nd.in_force", "Date", s.lastDay(c, *r.NondisclosureUntil))
		default:
			v.Nondisclosure = t.S("staffops.legal.nd.ended", "Date", s.lastDay(c, *r.NondisclosureUntil))
		}
		v.CanLift = v.NondisclosureInForce
	}
	if v.StepErrors == nil {
		v.StepErrors = views.FieldErrors{}
	}
	if r.ReviewOutcome != "" {
		v.Reviewed, v.Reviewer, v.ReviewNotes, v.ReviewBy = true, r.Reviewer, r.ReviewNotes, name(r.ReviewRecordedBy)
		v.Outcome = map[string]string{models.ReviewFavourable: t.S("staffops.legal.outcome.favourable"),
			models.ReviewRefused: t.S("staffops.legal.outcome.refused")}[r.ReviewOutcome]
		if r.ReviewedOn != nil {
			v.ReviewedOn = s.dateIn(tr(c), *r.ReviewedOn)
		}
	}
	if r.ApprovedBy != nil {
		v.Approved, v.ApprovedBy = true, name(r.ApprovedBy)
		if r.ApprovedAt != nil {
			v.ApprovedAt = s.dateTimeIn(tr(c), *r.ApprovedAt)
		}
	} else if len(r.Productions) > 0 {
		v.ApprovalUsed = t.S("staffops.legal.approval.used", "When", s.dateTimeIn(tr(c), r.Productions[0].ProducedAt), "Preparer", name(r.CreatedBy))
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
	done, waiting, impossible := t.S("staffops.legal.state.done"), t.S("staffops.legal.state.waiting"), t.S("staffops.legal.state.impossible")
	recorded, identity := t.S("staffops.legal.step.recorded"), t.S("staffops.legal.step.identity")
	reviewStep, approval, production := t.S("staffops.legal.step.review"), t.S("staffops.legal.step.approval"), t.S("staffops.legal.step.production")
	steps := []views.LegalStep{{Label: recorded, State: done, Text: t.S("staffops.legal.step.by", "Who", v.RecordedBy)}}
	if r.IdentityCheck != "" {
		steps = append(steps, views.LegalStep{Label: identity, State: done,
			Text: t.S("staffops.legal.step.identity_done", "Officer", r.OfficerName, "Agency", r.OfficerAgency, "Check", endSentence(r.IdentityCheck))})
	} else {
		steps = append(steps, views.LegalStep{Label: identity, State: waiting, Text: t.S("staffops.legal.step.identity_missing")})
	}
	if v.Reviewed {
		steps = append(steps, views.LegalStep{Label: reviewStep, State: done, Text: t.S("staffops.legal.step.review_done",
			"Outcome", v.Outcome, "Reviewer", v.Reviewer, "Date", v.ReviewedOn, "RecordedBy", v.ReviewBy)})
	} else {
		steps = append(steps, views.LegalStep{Label: reviewStep, State: waiting, Text: t.S("staffops.legal.step.review_waiting")})
	}
	switch {
	case v.Approved:
		steps = append(steps, views.LegalStep{Label: approval, State: done,
			Text: t.S("staffops.legal.step.by", "Who", t.S("staffops.legal.who_when", "Staff", v.ApprovedBy, "When", v.ApprovedAt))})
	case !r.CourtIssued() || r.ReviewOutcome == models.ReviewRefused:
		steps = append(steps, views.LegalStep{Label: approval, State: impossible, Text: v.ApproveWhyNot})
	case v.ApprovalUsed != "":
		steps = append(steps, views.LegalStep{Label: approval, State: waiting, Text: v.ApprovalUsed})
	default:
		steps = append(steps, views.LegalStep{Label: approval, State: waiting,
			Text: t.S("staffops.legal.step.approval_waiting", "Preparer", name(r.CreatedBy))})
	}
	switch {
	case len(r.Productions) > 0:
		last := r.Productions[0]
		steps = append(steps, views.LegalStep{Label: production, State: done,
			Text: t.N("staffops.legal.step.produced", int64(len(r.Productions)), "Staff", name(last.ProducedBy), "When", s.dateTimeIn(tr(c), last.ProducedAt))})
	case !r.CourtIssued() || r.ReviewOutcome == models.ReviewRefused:
		steps = append(steps, views.LegalStep{Label: production, State: impossible, Text: v.ProduceWhyNot})
	case v.CanProduce:
		steps = append(steps, views.LegalStep{Label: production, State: waiting, Text: t.S("staffops.legal.step.possible")})
	default:
		steps = append(steps, views.LegalStep{Label: production, State: waiting, Text: v.ProduceWhyNot})
	}
	v.Steps = steps
	for _, p := range r.Patrons {
		row := views.CoveredRow{PatronID: p.PatronID, Name: p.Name, Card: p.Card, Held: p.Held}
		if p.ProducedAt != nil {
			row.Produced = s.dateTimeIn(tr(c), *p.ProducedAt)
		}
		v.Patrons = append(v.Patrons, row)
	}
	for _, pr := range r.Productions {
		v.Productions = append(v.Productions, views.ProductionRow{ID: pr.ID, ProducedAt: s.dateTimeIn(tr(c), pr.ProducedAt),
			ProducedBy: name(pr.ProducedBy), ApprovedBy: name(pr.ApprovedBy),
			Categories: strings.Join(models.CategoryTitles(strings.Split(pr.Categories, ",")), t.S("list.comma")),
			Dates:      s.scopeDates(c, pr.ScopeFrom, pr.ScopeTo), SHA256: pr.PackageSHA256})
	}
	return s.render(c, status, views.StaffLegalDetail(s.page(c, t.S("staffops.legal.detail.title")), v))
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
			s.flash(c, tr(c).S("staffops.legal.flash.reviewed"))
			return s.redirect(c, "/staff/legal/"+strconv.FormatInt(id, 10))
		}
	}
	view.Errors = errs
	return s.renderLegalDetail(c, http.StatusUnprocessableEntity, views.FieldErrors{"review": tr(c).S("staffops.legal.review.check")}, view)
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
	s.flash(c, tr(c).S("staffops.legal.flash.approved"))
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
	s.flash(c, tr(c).S("staffops.legal.flash.lifted"))
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
