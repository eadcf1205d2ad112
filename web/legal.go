package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"

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

// StaffLegal lists legal requests.
func (s *Server) StaffLegal(c echo.Context) error {
	reqs, err := s.Store.LegalRequests(c.Request().Context())
	if err != nil {
		return err
	}
	var rows []views.LegalRow
	for _, r := range reqs {
		rows = append(rows, views.LegalRow{ID: r.ID, Kind: models.LegalKindLabel(r.Kind), Issuer: r.Issuer, Reference: r.Reference,
			Received: s.date(r.ReceivedOn), Nondisclosure: r.Nondisclosure, Reviewed: r.AttorneyReviewed})
	}
	return s.render(c, http.StatusOK, views.StaffLegal(s.page(c, "Legal requests"), rows))
}

func legalKinds() []views.Option {
	var out []views.Option
	for _, k := range models.LegalKinds {
		out = append(out, views.Option{Value: k.Value, Label: k.Label})
	}
	return out
}

// StaffLegalNew shows the form to record a request.
func (s *Server) StaffLegalNew(c echo.Context) error {
	return s.render(c, http.StatusOK, views.StaffLegalNew(s.page(c, "Record a legal request"), views.LegalForm{Kinds: legalKinds(), PlaceHolds: true}))
}

// StaffLegalCreate records a request.
func (s *Server) StaffLegalCreate(c echo.Context) error {
	f := models.LegalForm{Kind: c.FormValue("kind"), Issuer: c.FormValue("issuer"), Reference: c.FormValue("reference"),
		ReceivedOn: c.FormValue("received_on"), Notes: c.FormValue("notes"), Cards: c.FormValue("cards"),
		AttorneyReviewed: c.FormValue("attorney_reviewed") == "yes", Nondisclosure: c.FormValue("nondisclosure") == "yes",
		PlaceHolds: c.FormValue("place_holds") == "yes"}
	view := views.LegalForm{Kinds: legalKinds(), Kind: f.Kind, Issuer: f.Issuer, Reference: f.Reference, ReceivedOn: f.ReceivedOn,
		Notes: f.Notes, Cards: f.Cards, AttorneyReviewed: f.AttorneyReviewed, Nondisclosure: f.Nondisclosure, PlaceHolds: f.PlaceHolds}
	received, cards, errs := f.Validate(s.Config.Location)
	if len(errs) == 0 {
		req, _, err := s.Store.CreateLegalRequest(c.Request().Context(), currentStaff(c).ID, f, received, cards)
		var bad *models.InputError
		if errors.As(err, &bad) {
			errs = map[string]string{bad.Field: bad.Message}
		} else if err != nil {
			return err
		} else {
			s.flash(c, "The request is recorded.")
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

// StaffLegalRequest shows one request and the patrons it covers.
func (s *Server) StaffLegalRequest(c echo.Context) error {
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
	v := views.LegalDetail{ID: r.ID, Kind: models.LegalKindLabel(r.Kind), Issuer: r.Issuer, Reference: r.Reference,
		Received: s.date(r.ReceivedOn), Reviewed: r.AttorneyReviewed, Nondisclosure: r.Nondisclosure, Notes: r.Notes}
	for _, p := range r.Patrons {
		row := views.CoveredRow{PatronID: p.PatronID, Name: p.Name, Card: p.Card, Held: p.Held}
		if p.ProducedAt != nil {
			row.Produced = s.dateTime(*p.ProducedAt)
		}
		v.Patrons = append(v.Patrons, row)
	}
	return s.render(c, http.StatusOK, views.StaffLegalDetail(s.page(c, "Legal request"), v))
}

// StaffLegalHold places or releases a legal hold.
func (s *Server) StaffLegalHold(c echo.Context) error {
	id, pid, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	staff := currentStaff(c).ID
	if c.Param("action") == "release" {
		err = s.Store.ReleaseLegalHold(c.Request().Context(), staff, id, pid)
	} else {
		err = s.Store.PlaceLegalHold(c.Request().Context(), staff, id, pid)
	}
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	return s.redirect(c, "/staff/legal/"+strconv.FormatInt(id, 10))
}

// StaffLegalProduce downloads a covered patron's records for a request,
// audited.
func (s *Server) StaffLegalProduce(c echo.Context) error {
	id, pid, err := s.legalIDs(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/json; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="legal-request-`+c.Param("id")+`-patron-`+c.Param("pid")+`.json"`)
	var buf strings.Builder
	err = s.Store.ProduceRecords(c.Request().Context(), currentStaff(c).ID, id, pid, models.ExportMeta{
		Library: s.Config.LibraryName, PolicyVersion: s.Config.PolicyVersion, Limits: s.Config.Sessions}, &buf)
	if errors.Is(err, models.ErrNotFound) {
		h.Del(echo.HeaderContentDisposition)
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	if err := s.saveSession(c); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/json; charset=utf-8", []byte(buf.String()))
}
