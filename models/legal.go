package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Audit actions of legal process.
const (
	AuditLegalRequest = "legal.request"
	AuditLegalHold    = "legal.hold"
	AuditLegalRelease = "legal.release"
	AuditLegalProduce = "legal.produce"
	// AuditLegalReview records the library's legal review of a request.
	AuditLegalReview = "legal.review"
	// AuditLegalApprove records the second staff member's approval.
	AuditLegalApprove = "legal.approve"
	// AuditLegalNondisclosureLift records, for the request, that an
	// officer lifted its nondisclosure order.
	AuditLegalNondisclosureLift = "legal.nondisclosure.lift"
	// AuditLegalNondisclosureEnded is written for each covered patron when
	// the order is lifted, never restricted: the patron sees it.
	AuditLegalNondisclosureEnded = "legal.nondisclosure.ended"
)

// LegalKindLabel is a request kind as people read it.
func LegalKindLabel(kind string) string {
	for _, k := range LegalKinds {
		if k.Value == kind {
			return k.Label
		}
	}
	return kind
}

// LegalRefusal is a step of the legal workflow the request's state (or
// the staff member) does not allow: Step names the step, Message says why
// in words staff read.
type LegalRefusal struct {
	Step, Message string
	// Forbidden is set when it is the person, not the request's state,
	// that is refused (the preparer approving their own request).
	Forbidden bool
}

func (e *LegalRefusal) Error() string { return "legal " + e.Step + " refused: " + e.Message }

// LegalForm is a legal request as a privacy officer records it.
type LegalForm struct {
	Kind, Issuer, Reference, ReceivedOn, Notes string
	OfficerName, OfficerAgency, IdentityCheck  string
	// Categories are the export keys of the categories the order names.
	Categories []string
	// ScopeFromOn and ScopeToOn are the dates it covers, YYYY-MM-DD,
	// both included.
	ScopeFromOn, ScopeToOn string
	Nondisclosure          bool
	// NondisclosureUntilOn is the last day the nondisclosure order
	// applies, YYYY-MM-DD: it is in force through that whole day.
	NondisclosureUntilOn string
	PlaceHolds           bool
	Cards                string // one card number a line

	// Set by Validate (or by a caller that has them already): the scope
	// as the start of each day in the library's time zone, and the end of
	// the nondisclosure order: the start of the day after its last day.
	ScopeFrom, ScopeTo, NondisclosureUntil *time.Time
}

func oneLine(errs map[string]string, field, v, what string, max int) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > max || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		errs[field] = fmt.Sprintf("Give the %s (one line, at most %d characters).", what, max)
	}
}

func parseDay(v string, loc *time.Location) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(v), loc)
	return t, err == nil
}

// startOfDay is the start of t's day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// NondisclosureLastDay is the last day a nondisclosure order ending at
// until (the start of the following day) applies, in loc.
func NondisclosureLastDay(until time.Time, loc *time.Location) time.Time {
	return startOfDay(until, loc).AddDate(0, 0, -1)
}

// Bounds of the dates a legal request may carry: none before 1970, none
// received more than legalYears ago, none ending more than legalYears on.
const (
	// MaxCardsText is the most the card numbers' box may hold: 100 lines
	// of at most maxCardLen characters, with some room for spaces.
	MaxCardsText = 100 * (maxCardLen + 8)
	legalYears   = 20
	maxCardLen   = 32
	unknownShown = 5
)

// Validate checks the form and sets its parsed scope and nondisclosure
// end; now is the store's clock, loc the library's zone; received is the
// parsed date, cards the normalised card numbers.
func (f *LegalForm) Validate(loc *time.Location, now time.Time) (time.Time, []string, map[string]string) {
	errs := map[string]string{}
	if LegalKindLabel(f.Kind) == f.Kind {
		errs["kind"] = "Choose the kind of process. The library does not answer informal requests."
	}
	oneLine(errs, "issuer", f.Issuer, "issuing court", 200)
	oneLine(errs, "reference", f.Reference, "reference or case number", 100)
	oneLine(errs, "officer_name", f.OfficerName, "requesting officer's name", 200)
	oneLine(errs, "officer_agency", f.OfficerAgency, "officer's agency", 200)
	oneLine(errs, "identity_check", f.IdentityCheck, "way the officer's identity was checked", 200)
	today := startOfDay(now, loc)
	received, ok := parseDay(f.ReceivedOn, loc)
	switch {
	case !ok:
		errs["received_on"] = "Give the date it was received, like 2026-11-27."
	case received.After(today):
		errs["received_on"] = "The date received cannot be in the future."
	case received.Before(today.AddDate(-legalYears, 0, 0)):
		errs["received_on"] = fmt.Sprintf("The date received must be within the last %d years.", legalYears)
	}
	known := map[string]bool{}
	for _, c := range Categories() {
		known[c.Key] = true
	}
	seen := map[string]bool{}
	var cats []string
	for _, k := range f.Categories {
		if !known[k] {
			errs["categories"] = "Choose only the categories listed."
		} else if !seen[k] {
			seen[k] = true
			cats = append(cats, k)
		}
	}
	if len(cats) == 0 && errs["categories"] == "" {
		errs["categories"] = "Choose at least one category of records the order names."
	}
	f.Categories = cats
	from, okFrom := parseDay(f.ScopeFromOn, loc)
	to, okTo := parseDay(f.ScopeToOn, loc)
	switch {
	case !okFrom:
		errs["scope_from"] = "Give the first date the order covers, like 2026-01-01."
	case from.Before(time.Date(1970, 1, 1, 0, 0, 0, 0, loc)):
		okFrom = false
		errs["scope_from"] = "The first date cannot be before 1970-01-01."
	}
	switch {
	case !okTo:
		errs["scope_to"] = "Give the last date the order covers, like 2026-06-30."
	case okFrom && to.Before(from):
		okTo = false
		errs["scope_to"] = "The last date must be on or after the first date."
	case errs["received_on"] == "" && to.After(received):
		// An approval answers the order as received: records made after
		// it are not what the court asked for.
		okTo = false
		errs["scope_to"] = "The last date cannot be after the date the request was received: the order covers records that existed then."
	}
	if okFrom && okTo {
		f.ScopeFrom, f.ScopeTo = &from, &to
	}
	f.NondisclosureUntil = nil
	if f.Nondisclosure {
		last, ok := parseDay(f.NondisclosureUntilOn, loc)
		switch {
		case !ok:
			errs["nondisclosure_until"] = "Give the last day the nondisclosure order applies, like 2027-06-30."
		case errs["received_on"] == "" && last.Before(received):
			errs["nondisclosure_until"] = "The last day of the nondisclosure order must be on or after the date the request was received."
		case last.After(today.AddDate(legalYears, 0, 0)):
			errs["nondisclosure_until"] = fmt.Sprintf("The last day must be within %d years from today.", legalYears)
		default:
			// In force through the whole last day: it ends when the
			// next day starts, in the library's zone.
			until := last.AddDate(0, 0, 1)
			f.NondisclosureUntil = &until
		}
	} else if strings.TrimSpace(f.NondisclosureUntilOn) != "" {
		errs["nondisclosure_until"] = "Tick \"A nondisclosure order applies\" as well, or leave this date empty."
	}
	if f.PlaceHolds && LegalKindLabel(f.Kind) != f.Kind && !(LegalRequest{Kind: f.Kind}).CourtIssued() {
		errs["place_holds"] = "A legal hold is placed only for process issued by a court. Leave this unticked for a national security letter or other process."
	}
	if len(f.Notes) > 2000 {
		errs["notes"] = "Notes are at most 2,000 characters."
	}
	var cards []string
	if len(f.Cards) > MaxCardsText {
		errs["cards"] = "List at most 100 card numbers, one a line."
		return received, nil, errs
	}
	for i, l := range strings.Split(f.Cards, "\n") {
		l = NormalizeCard(strings.TrimRight(l, "\r"))
		if l == "" {
			continue
		}
		if len(l) > maxCardLen || strings.IndexFunc(l, unicode.IsControl) >= 0 || strings.IndexFunc(l, unicode.IsSpace) >= 0 {
			errs["cards"] = fmt.Sprintf("Line %d is not a card number: give one card number a line, each at most %d characters.", i+1, maxCardLen)
			break
		}
		cards = append(cards, l)
	}
	if errs["cards"] == "" && (len(cards) == 0 || len(cards) > 100) {
		errs["cards"] = "List the card numbers of the patrons it covers, one a line (at most 100)."
	}
	return received, cards, errs
}

// unknownCards names card numbers no patron has, only the first few.
func unknownCards(unknown []string) string {
	msg := "No patron has these card numbers: "
	if len(unknown) <= unknownShown {
		return msg + strings.Join(unknown, ", ") + "."
	}
	return msg + strings.Join(unknown[:unknownShown], ", ") + fmt.Sprintf(" and %d more.", len(unknown)-unknownShown)
}

// CreateLegalRequest records a request and the patrons it covers, and
// optionally places legal holds on them, all audited in one transaction.
// Entries naming a patron are restricted while a nondisclosure order is
// in force: the patron is never shown them.
func (s *Store) CreateLegalRequest(ctx context.Context, staffID int64, f LegalForm, received time.Time, cards []string) (LegalRequest, []string, error) {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	req := LegalRequest{Kind: f.Kind, Issuer: strings.TrimSpace(f.Issuer), Reference: strings.TrimSpace(f.Reference),
		ReceivedOn: received.UTC(), Nondisclosure: f.Nondisclosure, Notes: strings.TrimSpace(f.Notes), CreatedBy: &staffID,
		OfficerName: strings.TrimSpace(f.OfficerName), OfficerAgency: strings.TrimSpace(f.OfficerAgency),
		IdentityCheck: strings.TrimSpace(f.IdentityCheck), ScopeCategories: strings.Join(f.Categories, ","),
		ScopeFrom: utc(f.ScopeFrom), ScopeTo: utc(f.ScopeTo), NondisclosureUntil: utc(f.NondisclosureUntil)}
	var unknown []string
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var patrons []Patron
		if err := tx.Where("card_number IN ?", cards).Find(&patrons).Error; err != nil {
			return err
		}
		found := map[string]bool{}
		for _, p := range patrons {
			found[p.CardNumber] = true
		}
		for _, c := range cards {
			if !found[c] {
				unknown = append(unknown, c)
			}
		}
		if len(unknown) > 0 {
			return &InputError{Field: "cards", Message: unknownCards(unknown)}
		}
		if err := tx.Create(&req).Error; err != nil {
			return err
		}
		covers := fmt.Sprintf("%d patrons", len(patrons))
		if len(patrons) == 1 {
			covers = "1 patron"
		}
		if err := s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditLegalRequest, Restricted: true,
			Detail: fmt.Sprintf("legal request %d recorded: %s from %s, reference %s, %s",
				req.ID, LegalKindLabel(req.Kind), req.Issuer, req.Reference, covers)}); err != nil {
			return err
		}
		for _, p := range patrons {
			if err := tx.Create(&LegalRequestPatron{RequestID: req.ID, PatronID: p.ID}).Error; err != nil {
				return err
			}
			if f.PlaceHolds {
				if err := s.placeHold(tx, staffID, p.ID, &req); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return req, unknown, err
}

// placeHold places request req's own hold on a patron, unless req
// already holds them. Each request has its own hold row, so that one
// request can never release (or reveal) another's.
func (s *Store) placeHold(tx *gorm.DB, staffID, patronID int64, req *LegalRequest) error {
	if err := HoldRefusal(*req); err != nil {
		return err
	}
	var n int64
	if err := tx.Model(&LegalHold{}).Where("request_id = ? AND patron_id = ? AND released_at IS NULL", req.ID, patronID).
		Count(&n).Error; err != nil || n > 0 {
		return err
	}
	h := LegalHold{PatronID: patronID, RequestID: &req.ID, PlacedBy: &staffID, PlacedAt: tx.NowFunc()}
	if err := tx.Create(&h).Error; err != nil {
		return err
	}
	return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &patronID, Action: AuditLegalHold,
		Restricted: req.NondisclosureInForce(s.Now()), Detail: fmt.Sprintf("legal hold placed for request %d", req.ID)})
}

// HoldRefusal says why a request cannot place a legal hold, or nil: only
// court-issued process the legal review has not refused holds records
// (the patron's pages call a hold "a court order").
func HoldRefusal(req LegalRequest) error {
	switch {
	case !req.CourtIssued():
		return &LegalRefusal{Step: "hold", Message: "This process was not issued by a court, so it cannot place a legal hold: the patrons' records are kept and deleted as usual."}
	case req.ReviewOutcome == ReviewRefused:
		return &LegalRefusal{Step: "hold", Message: "The legal review refused this request, so it cannot place a legal hold."}
	}
	return nil
}

// releaseHolds releases every hold request req still has, one audit
// entry per patron (restricted while its nondisclosure order applies).
func (s *Store) releaseHolds(tx *gorm.DB, staffID int64, req LegalRequest, why string) error {
	var holds []LegalHold
	if err := tx.Where("request_id = ? AND released_at IS NULL", req.ID).Order("patron_id").Find(&holds).Error; err != nil {
		return err
	}
	now := s.Now()
	for _, h := range holds {
		if err := tx.Model(&LegalHold{}).Where("id = ?", h.ID).UpdateColumn("released_at", now).Error; err != nil {
			return err
		}
		pid := h.PatronID
		if err := s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &pid, Action: AuditLegalRelease,
			Restricted: req.NondisclosureInForce(now), Detail: fmt.Sprintf("legal hold released (request %d): %s", req.ID, why)}); err != nil {
			return err
		}
	}
	return nil
}

// PlaceLegalHold suspends retention for a patron covered by a request.
func (s *Store) PlaceLegalHold(ctx context.Context, staffID, requestID, patronID int64) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		req, err := coveredRequest(tx, requestID, patronID)
		if err != nil {
			return err
		}
		return s.placeHold(tx, staffID, patronID, &req)
	})
}

// ReleaseLegalHold lifts the request's own legal hold on a patron;
// retention resumes unless another request still holds them.
func (s *Store) ReleaseLegalHold(ctx context.Context, staffID, requestID, patronID int64) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		req, err := coveredRequest(tx, requestID, patronID)
		if err != nil {
			return err
		}
		res := tx.Model(&LegalHold{}).Where("request_id = ? AND patron_id = ? AND released_at IS NULL", req.ID, patronID).
			UpdateColumn("released_at", s.Now())
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &patronID, Action: AuditLegalRelease,
			Restricted: req.NondisclosureInForce(s.Now()), Detail: fmt.Sprintf("legal hold released (request %d)", req.ID)})
	})
}

func coveredRequest(tx *gorm.DB, requestID, patronID int64) (LegalRequest, error) {
	var req LegalRequest
	if err := tx.Where("id = ?", requestID).Take(&req).Error; err != nil {
		return req, notFound(err)
	}
	var n int64
	if err := tx.Model(&LegalRequestPatron{}).Where("request_id = ? AND patron_id = ?", requestID, patronID).Count(&n).Error; err != nil {
		return req, err
	}
	if n == 0 {
		return req, ErrNotFound
	}
	return req, nil
}

// lockRequest reads a request for a change, locking its row on PostgreSQL
// so two staff members cannot take the same step at once (SQLite has a
// single writer).
func lockRequest(tx *gorm.DB, id int64) (LegalRequest, error) {
	var req LegalRequest
	q := tx.Where("id = ?", id)
	if DialectOfDB(tx) == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Take(&req).Error; err != nil {
		return req, notFound(err)
	}
	return req, nil
}

// LegalReviewForm is the library's legal review of a request, as typed.
type LegalReviewForm struct {
	Reviewer, ReviewedOn, Outcome, Notes string
}

// Validate checks the review; now is the store's clock, loc the
// library's zone; reviewed is the parsed date.
func (f LegalReviewForm) Validate(loc *time.Location, now time.Time) (time.Time, map[string]string) {
	errs := map[string]string{}
	oneLine(errs, "reviewer", f.Reviewer, "name of who reviewed it for the library", 200)
	reviewed, ok := parseDay(f.ReviewedOn, loc)
	switch {
	case !ok:
		errs["reviewed_on"] = "Give the date of the review, like 2026-11-30."
	case reviewed.After(startOfDay(now, loc)):
		errs["reviewed_on"] = "The date of the review cannot be in the future."
	}
	if f.Outcome != ReviewFavourable && f.Outcome != ReviewRefused {
		errs["outcome"] = "Choose the outcome of the review."
	}
	if len(f.Notes) > 2000 {
		errs["review_notes"] = "Notes are at most 2,000 characters."
	}
	return reviewed, errs
}

// ReviewLegalRequest records the legal review, once, audited in the same
// transaction.
func (s *Store) ReviewLegalRequest(ctx context.Context, staffID, requestID int64, f LegalReviewForm, reviewed time.Time) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		req, err := lockRequest(tx, requestID)
		if err != nil {
			return err
		}
		if req.ReviewOutcome != "" {
			return &LegalRefusal{Step: "review", Message: "This request was already reviewed; a review is recorded once and cannot be changed."}
		}
		if reviewed.Before(req.ReceivedOn) {
			return &InputError{Field: "reviewed_on", Message: "The review cannot be before the date the request was received."}
		}
		reviewedUTC := reviewed.UTC()
		res := tx.Model(&LegalRequest{}).Where("id = ? AND review_outcome = ''", req.ID).Updates(map[string]any{
			"reviewer": strings.TrimSpace(f.Reviewer), "reviewed_on": reviewedUTC, "review_outcome": f.Outcome,
			"review_notes": strings.TrimSpace(f.Notes), "review_recorded_by": staffID,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return &LegalRefusal{Step: "review", Message: "This request was already reviewed; a review is recorded once and cannot be changed."}
		}
		if err := s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditLegalReview, Restricted: true,
			Detail: fmt.Sprintf("legal request %d reviewed by %s on %s: %s", req.ID, strings.TrimSpace(f.Reviewer),
				reviewed.Format("2006-01-02"), f.Outcome)}); err != nil {
			return err
		}
		if f.Outcome == ReviewRefused {
			// No court order stands behind its holds any more.
			return s.releaseHolds(tx, staffID, req, "the legal review refused the request")
		}
		return nil
	})
}

// ApproveLegalRequest records the second staff member's approval: a
// privacy officer or admin who did not record the request, after a
// favourable review of court-issued process.
func (s *Store) ApproveLegalRequest(ctx context.Context, approver Staff, requestID int64) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		req, err := lockRequest(tx, requestID)
		if err != nil {
			return err
		}
		if err := ApprovalRefusal(req, approver); err != nil {
			return err
		}
		now := s.Now()
		res := tx.Model(&LegalRequest{}).Where("id = ? AND approved_by IS NULL", req.ID).
			Updates(map[string]any{"approved_by": approver.ID, "approved_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return &LegalRefusal{Step: "approve", Message: "This request is already approved."}
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &approver.ID, Action: AuditLegalApprove, Restricted: true,
			Detail: fmt.Sprintf("legal request %d approved for production: %s from %s, reference %s",
				req.ID, LegalKindLabel(req.Kind), req.Issuer, req.Reference)})
	})
}

// ApprovalRefusal says why a staff member cannot approve a request, or nil.
func ApprovalRefusal(req LegalRequest, who Staff) error {
	refuse := func(msg string) error { return &LegalRefusal{Step: "approve", Message: msg} }
	switch {
	case !req.CourtIssued():
		return refuse(notCourtIssued)
	case req.ApprovedBy != nil:
		return refuse("This request is already approved.")
	case req.ReviewOutcome == "":
		return refuse("The legal review must be recorded, with a favourable outcome, before anyone can approve.")
	case req.ReviewOutcome != ReviewFavourable:
		return refuse("The legal review refused this request: it cannot be approved.")
	case RoleRank(who.Role) < RoleRank(RolePrivacyOfficer):
		return &LegalRefusal{Step: "approve", Message: "Only a privacy officer or an administrator can approve.", Forbidden: true}
	case req.CreatedBy != nil && *req.CreatedBy == who.ID:
		return &LegalRefusal{Step: "approve", Forbidden: true,
			Message: "You recorded this request, so you cannot approve it: a second privacy officer or administrator must."}
	}
	return nil
}

const notCourtIssued = "This process was not issued by a court. The library records it on file, but never approves it and never produces records for it."

// ProductionRefusal says why records cannot be produced for a request
// that has had productions already, or nil. An approval covers one
// production: producing uses it up.
func ProductionRefusal(req LegalRequest, productions int) error {
	refuse := func(msg string) error { return &LegalRefusal{Step: "produce", Message: msg} }
	switch {
	case !req.CourtIssued():
		return refuse(notCourtIssued)
	case strings.TrimSpace(req.OfficerName) == "" || strings.TrimSpace(req.OfficerAgency) == "" || strings.TrimSpace(req.IdentityCheck) == "":
		return refuse("The requesting officer's name, agency and how their identity was checked must be recorded before records can be produced.")
	case req.ReviewOutcome == "":
		return refuse("Records can be produced only after a favourable legal review, and none is recorded yet.")
	case req.ReviewOutcome != ReviewFavourable:
		return refuse("The legal review refused this request: no records can be produced.")
	case req.ApprovedBy == nil && productions > 0:
		return refuse("Each approval covers one production, and the last one was used. Producing again needs a new approval by a privacy officer or administrator other than the one who recorded the request.")
	case req.ApprovedBy == nil:
		return refuse("Records can be produced only after a second privacy officer or administrator approves.")
	case req.ScopeCategories == "" || req.ScopeFrom == nil || req.ScopeTo == nil:
		return refuse("This request names no scope (categories and dates), so nothing can be produced.")
	case req.ScopeTo.After(req.ReceivedOn):
		return refuse("The scope's last date is after the date the request was received: the order covers only records that existed then, so nothing can be produced.")
	}
	return nil
}

// LiftNondisclosure records that an officer lifted the request's
// nondisclosure order. Each covered patron gets an entry they can see
// saying the order ended and what was produced of their records under
// it (dates in loc, the library's time zone).
func (s *Store) LiftNondisclosure(ctx context.Context, staffID, requestID int64, loc *time.Location) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		req, err := lockRequest(tx, requestID)
		if err != nil {
			return err
		}
		now := s.Now()
		refuse := func(msg string) error { return &LegalRefusal{Step: "lift", Message: msg} }
		switch {
		case !req.Nondisclosure:
			return refuse("No nondisclosure order applies to this request.")
		case req.NondisclosureLiftedAt != nil:
			return refuse("The nondisclosure order was already lifted.")
		case !req.NondisclosureInForce(now):
			return refuse("The nondisclosure order has already ended.")
		}
		if err := tx.Model(&LegalRequest{}).Where("id = ?", req.ID).
			Updates(map[string]any{"nondisclosure_lifted_at": now, "nondisclosure_lifted_by": staffID}).Error; err != nil {
			return err
		}
		if err := s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditLegalNondisclosureLift, Restricted: true,
			Detail: fmt.Sprintf("nondisclosure order of legal request %d lifted", req.ID)}); err != nil {
			return err
		}
		req.NondisclosureLiftedAt = &now
		return s.recordNondisclosureEnded(tx, req, &staffID, now, loc)
	})
}

// SweepEndedNondisclosure finds the requests whose nondisclosure order
// ran out on its date and whose end is not yet recorded, and records it
// (recordNondisclosureEnded), each in its own transaction. It reports how
// many it recorded. The server runs it with its periodic sweeps.
func (s *Store) SweepEndedNondisclosure(ctx context.Context, loc *time.Location) (int, error) {
	now := s.Now()
	var ids []int64
	if err := s.db(ctx).Model(&LegalRequest{}).Where("nondisclosure = ? AND nondisclosure_ended_recorded_at IS NULL AND "+
		"nondisclosure_lifted_at IS NULL AND nondisclosure_until IS NOT NULL AND nondisclosure_until <= ?", true, now).
		Order("id").Limit(1000).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("models: ended nondisclosure: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
			req, err := lockRequest(tx, id)
			if err != nil || req.NondisclosureEndedRecordedAt != nil || req.NondisclosureInForce(now) {
				return err
			}
			n++
			return s.recordNondisclosureEnded(tx, req, nil, *req.NondisclosureUntil, loc)
		})
		if err != nil {
			return n, fmt.Errorf("models: ended nondisclosure of request %d: %w", id, err)
		}
	}
	return n, nil
}

// recordNondisclosureEnded writes, once per request, an entry each covered
// patron sees: that the order ended (at end), and everything done to
// their records under the request while it applied (holds placed and
// released, productions with their categories and dates, days in loc).
// The entries written then stay restricted: the audit log is never
// rewritten, so this is the patron's lasting record of them.
func (s *Store) recordNondisclosureEnded(tx *gorm.DB, req LegalRequest, staffID *int64, end time.Time, loc *time.Location) error {
	res := tx.Model(&LegalRequest{}).Where("id = ? AND nondisclosure_ended_recorded_at IS NULL", req.ID).
		UpdateColumn("nondisclosure_ended_recorded_at", s.Now())
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error // recorded already
	}
	var ids []int64
	if err := tx.Model(&LegalRequestPatron{}).Where("request_id = ?", req.ID).Order("patron_id").Pluck("patron_id", &ids).Error; err != nil {
		return err
	}
	day := func(t time.Time) string { return t.In(loc).Format("2006-01-02") }
	base := fmt.Sprintf("The nondisclosure order on a %s from %s, reference %s, ended.",
		strings.ToLower(LegalKindLabel(req.Kind)), req.Issuer, req.Reference)
	if req.NondisclosureLiftedAt != nil {
		base += fmt.Sprintf(" It was lifted on %s.", day(*req.NondisclosureLiftedAt))
	} else if req.NondisclosureUntil != nil {
		base += fmt.Sprintf(" Its last day was %s.", NondisclosureLastDay(*req.NondisclosureUntil, loc).Format("2006-01-02"))
	}
	// Under a lifted order everything up to the lift counts; an order run
	// out ended when its last day did.
	before := "<"
	if req.NondisclosureLiftedAt != nil {
		before = "<="
	}
	type event struct {
		at   time.Time
		what string
	}
	for _, id := range ids {
		var events []event
		var holds []LegalHold
		if err := tx.Where("request_id = ? AND patron_id = ? AND placed_at "+before+" ?", req.ID, id, end).Order("placed_at, id").Find(&holds).Error; err != nil {
			return err
		}
		for _, h := range holds {
			events = append(events, event{h.PlacedAt, fmt.Sprintf(" On %s a legal hold for it paused deletion of your records.", day(h.PlacedAt))})
			if h.ReleasedAt != nil && (h.ReleasedAt.Before(end) || before == "<=" && h.ReleasedAt.Equal(end)) {
				events = append(events, event{*h.ReleasedAt, fmt.Sprintf(" On %s that hold was released.", day(*h.ReleasedAt))})
			}
		}
		// What was produced of this patron's records while it applied.
		var prods []LegalProduction
		if err := tx.Where("request_id = ? AND produced_at "+before+" ? AND id IN (SELECT production_id FROM legal_production_patrons WHERE patron_id = ?)",
			req.ID, end, id).Order("produced_at, id").Find(&prods).Error; err != nil {
			return err
		}
		for _, pr := range prods {
			what := fmt.Sprintf(" On %s your records were produced for it: %s", day(pr.ProducedAt),
				strings.Join(CategoryTitles(categoryKeys(pr.Categories)), ", "))
			if pr.ScopeFrom != nil && pr.ScopeTo != nil {
				what += fmt.Sprintf(", from %s to %s", day(*pr.ScopeFrom), day(*pr.ScopeTo))
			}
			events = append(events, event{pr.ProducedAt, what + "."})
		}
		sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
		detail := base
		for _, e := range events {
			detail += e.what
		}
		pid := id
		if err := s.AppendAudit(tx, &AuditEntry{StaffID: staffID, PatronID: &pid, Action: AuditLegalNondisclosureEnded,
			Restricted: false, Detail: detail}); err != nil {
			return err
		}
	}
	return nil
}

// LegalStatus is where a request stands, in the words of the list.
func LegalStatus(r LegalRequest, productions int) string {
	switch {
	case !r.CourtIssued():
		return "Not issued by a court: nothing can be produced"
	case r.ReviewOutcome == "":
		return "Awaiting legal review"
	case r.ReviewOutcome != ReviewFavourable:
		return "Refused by review"
	case productions > 0:
		return fmt.Sprintf("Produced (%d)", productions)
	case r.ApprovedBy == nil:
		return "Awaiting approval"
	}
	return "Approved"
}

// ScopeKeys are the export keys of the categories a request names.
func (r LegalRequest) ScopeKeys() []string { return categoryKeys(r.ScopeCategories) }

// categoryKeys splits a comma-separated list of export keys, as requests
// and productions store them.
func categoryKeys(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

// CategoryTitles names export keys as people read them, in order.
func CategoryTitles(keys []string) []string {
	titles := map[string]string{}
	for _, c := range Categories() {
		titles[c.Key] = c.Title
	}
	var out []string
	for _, k := range keys {
		if t, ok := titles[k]; ok {
			out = append(out, t)
		} else {
			out = append(out, k)
		}
	}
	return out
}

// LegalRequestView is a request with the patrons it covers, its
// productions and the names of the staff who took each step.
type LegalRequestView struct {
	LegalRequest
	Patrons     []CoveredPatron
	Productions []LegalProduction
	// StaffNames names, by ID, every staff member the request mentions.
	StaffNames map[int64]string
}

// CoveredPatron is a patron a request covers, with hold and production.
type CoveredPatron struct {
	PatronID   int64
	Name, Card string
	Held       bool // by this request's own hold
	ProducedAt *time.Time
}

// LegalRequestRow is a request in the list, with how many productions it
// has had.
type LegalRequestRow struct {
	LegalRequest
	Productions int
}

// LegalRequests lists requests, newest first.
func (s *Store) LegalRequests(ctx context.Context) ([]LegalRequestRow, error) {
	var reqs []LegalRequest
	if err := s.db(ctx).Order("received_on DESC, id DESC").Limit(500).Find(&reqs).Error; err != nil {
		return nil, err
	}
	var counts []struct {
		RequestID int64
		N         int
	}
	if err := s.db(ctx).Model(&LegalProduction{}).Select("request_id, COUNT(*) AS n").Group("request_id").Scan(&counts).Error; err != nil {
		return nil, err
	}
	n := map[int64]int{}
	for _, c := range counts {
		n[c.RequestID] = c.N
	}
	out := make([]LegalRequestRow, len(reqs))
	for i, r := range reqs {
		out[i] = LegalRequestRow{r, n[r.ID]}
	}
	return out, nil
}

// LegalRequestDetail loads one request, its patrons and productions.
func (s *Store) LegalRequestDetail(ctx context.Context, id int64) (LegalRequestView, error) {
	var v LegalRequestView
	if err := s.db(ctx).Where("id = ?", id).Take(&v.LegalRequest).Error; err != nil {
		return v, notFound(err)
	}
	err := s.db(ctx).Table("legal_request_patrons").
		Select("patrons.id AS patron_id, patrons.given_name || ' ' || patrons.family_name AS name, patrons.card_number AS card, "+
			"legal_request_patrons.produced_at, EXISTS (SELECT 1 FROM legal_holds WHERE legal_holds.patron_id = patrons.id "+
			"AND legal_holds.request_id = legal_request_patrons.request_id AND legal_holds.released_at IS NULL) AS held").
		Joins("JOIN patrons ON patrons.id = legal_request_patrons.patron_id").
		Where("legal_request_patrons.request_id = ?", id).Order("patrons.family_name, patrons.id").Scan(&v.Patrons).Error
	if err != nil {
		return v, err
	}
	if err := s.db(ctx).Where("request_id = ?", id).Order("produced_at DESC, id DESC").Find(&v.Productions).Error; err != nil {
		return v, err
	}
	ids := []int64{}
	add := func(p *int64) {
		if p != nil {
			ids = append(ids, *p)
		}
	}
	add(v.CreatedBy)
	add(v.ReviewRecordedBy)
	add(v.ApprovedBy)
	add(v.NondisclosureLiftedBy)
	for _, p := range v.Productions {
		add(p.ProducedBy)
		add(p.ApprovedBy)
	}
	v.StaffNames = map[int64]string{}
	if len(ids) > 0 {
		var staff []Staff
		if err := s.db(ctx).Select("id, username, display_name").Where("id IN ?", ids).Find(&staff).Error; err != nil {
			return v, err
		}
		for _, st := range staff {
			v.StaffNames[st.ID] = staffName(st)
		}
	}
	return v, nil
}

func staffName(st Staff) string {
	if st.DisplayName != "" {
		return st.DisplayName
	}
	return st.Username
}
