package models

import (
	"context"

	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// Audit actions of legal process.
const (
	AuditLegalRequest = "legal.request"
	AuditLegalHold    = "legal.hold"
	AuditLegalRelease = "legal.release"
	AuditLegalProduce = "legal.produce"
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

// LegalForm is a legal request as a privacy officer records it.
type LegalForm struct {
	Kind, Issuer, Reference, ReceivedOn, Notes  string
	AttorneyReviewed, Nondisclosure, PlaceHolds bool
	Cards                                       string // one card number a line
}

// Validate checks the form; received is the parsed date.
func (f *LegalForm) Validate(loc *time.Location) (time.Time, []string, map[string]string) {
	errs := map[string]string{}
	if LegalKindLabel(f.Kind) == f.Kind {
		errs["kind"] = "Choose the kind of court-issued process. The library does not answer informal requests."
	}
	line := func(field, v, what string, max int) {
		v = strings.TrimSpace(v)
		if v == "" || len(v) > max || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			errs[field] = fmt.Sprintf("Give the %s (one line, at most %d characters).", what, max)
		}
	}
	line("issuer", f.Issuer, "issuing court or agency", 200)
	line("reference", f.Reference, "reference or case number", 100)
	received, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(f.ReceivedOn), loc)
	if err != nil || received.After(time.Now().Add(24*time.Hour)) {
		errs["received_on"] = "Give the date it was received, like 2026-11-27."
	}
	if len(f.Notes) > 2000 {
		errs["notes"] = "Notes are at most 2,000 characters."
	}
	var cards []string
	for _, l := range strings.Fields(f.Cards) {
		cards = append(cards, NormalizeCard(l))
	}
	if len(cards) == 0 || len(cards) > 100 {
		errs["cards"] = "List the card numbers of the patrons it covers, one a line (at most 100)."
	}
	return received, cards, errs
}

// CreateLegalRequest records a request and the patrons it covers, and
// optionally places legal holds on them, all audited in one transaction.
// Entries naming a patron are restricted when a nondisclosure order
// applies: the patron is never shown them.
func (s *Store) CreateLegalRequest(ctx context.Context, staffID int64, f LegalForm, received time.Time, cards []string) (LegalRequest, []string, error) {
	req := LegalRequest{Kind: f.Kind, Issuer: strings.TrimSpace(f.Issuer), Reference: strings.TrimSpace(f.Reference),
		ReceivedOn: received.UTC(), AttorneyReviewed: f.AttorneyReviewed, Nondisclosure: f.Nondisclosure,
		Notes: strings.TrimSpace(f.Notes), CreatedBy: &staffID}
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
			return &InputError{"cards", "No patron has these card numbers: " + strings.Join(unknown, ", ")}
		}
		if err := tx.Create(&req).Error; err != nil {
			return err
		}
		if err := s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditLegalRequest, Restricted: true,
			Detail: fmt.Sprintf("legal request %d recorded: %s, %d patron(s)", req.ID, LegalKindLabel(req.Kind), len(patrons))}); err != nil {
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

func (s *Store) placeHold(tx *gorm.DB, staffID, patronID int64, req *LegalRequest) error {
	var n int64
	if err := tx.Model(&LegalHold{}).Where("patron_id = ? AND released_at IS NULL", patronID).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	h := LegalHold{PatronID: patronID, RequestID: &req.ID, PlacedBy: &staffID, PlacedAt: tx.NowFunc()}
	if err := tx.Create(&h).Error; err != nil {
		return err
	}
	return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &patronID, Action: AuditLegalHold, Restricted: req.Nondisclosure,
		Detail: fmt.Sprintf("legal hold placed for request %d", req.ID)})
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

// ReleaseLegalHold lifts a patron's legal hold; retention resumes.
func (s *Store) ReleaseLegalHold(ctx context.Context, staffID, requestID, patronID int64) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		req, err := coveredRequest(tx, requestID, patronID)
		if err != nil {
			return err
		}
		res := tx.Model(&LegalHold{}).Where("patron_id = ? AND released_at IS NULL", patronID).UpdateColumn("released_at", s.Now())
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &patronID, Action: AuditLegalRelease, Restricted: req.Nondisclosure,
			Detail: fmt.Sprintf("legal hold released (request %d)", req.ID)})
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

// ProduceRecords writes a covered patron's whole record for a legal
// request, after recording the production in the audit log. The entry is
// restricted (never shown to the patron) when a nondisclosure order
// applies; otherwise the patron sees that their records were produced.
func (s *Store) ProduceRecords(ctx context.Context, staffID, requestID, patronID int64, meta ExportMeta, w io.Writer) error {
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		req, err := coveredRequest(tx, requestID, patronID)
		if err != nil {
			return err
		}
		if err := tx.Model(&LegalRequestPatron{}).Where("request_id = ? AND patron_id = ?", requestID, patronID).
			UpdateColumn("produced_at", s.Now()).Error; err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &patronID, Action: AuditLegalProduce, Restricted: req.Nondisclosure,
			Reason: LegalKindLabel(req.Kind), Detail: "records produced for " + req.Issuer + ", reference " + req.Reference})
	})
	if err != nil {
		return err
	}
	return s.Export(ctx, patronID, meta, w)
}

// LegalRequestView is a request with the patrons it covers.
type LegalRequestView struct {
	LegalRequest
	Patrons []CoveredPatron
}

// CoveredPatron is a patron a request covers, with hold and production.
type CoveredPatron struct {
	PatronID   int64
	Name, Card string
	Held       bool
	ProducedAt *time.Time
}

// LegalRequests lists requests, newest first.
func (s *Store) LegalRequests(ctx context.Context) ([]LegalRequest, error) {
	var out []LegalRequest
	err := s.db(ctx).Order("received_on DESC, id DESC").Limit(500).Find(&out).Error
	return out, err
}

// LegalRequestDetail loads one request and its patrons.
func (s *Store) LegalRequestDetail(ctx context.Context, id int64) (LegalRequestView, error) {
	var v LegalRequestView
	if err := s.db(ctx).Where("id = ?", id).Take(&v.LegalRequest).Error; err != nil {
		return v, notFound(err)
	}
	err := s.db(ctx).Table("legal_request_patrons").
		Select("patrons.id AS patron_id, patrons.given_name || ' ' || patrons.family_name AS name, patrons.card_number AS card, "+
			"legal_request_patrons.produced_at, EXISTS (SELECT 1 FROM legal_holds WHERE legal_holds.patron_id = patrons.id AND legal_holds.released_at IS NULL) AS held").
		Joins("JOIN patrons ON patrons.id = legal_request_patrons.patron_id").
		Where("legal_request_patrons.request_id = ?", id).Order("patrons.family_name").Scan(&v.Patrons).Error
	return v, err
}
