package models_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the library's zone, wherever the tests run

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// A production's dates are the library's days, even the day clocks
// spring forward: a record late on the scope's last day is in, one just
// after midnight that follows is out, whatever the UTC offset.
func TestLegalScopeFollowsTheLibrarysDaysAcrossDST(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			s := modeltest.NewStore(t, db.Gorm, clock)
			ctx := t.Context()
			p := createPatron(t, s, "21000000001111", "1234")
			at := func(v string) time.Time {
				x, err := time.ParseInLocation("2006-01-02 15:04", v, la)
				if err != nil {
					t.Fatal(err)
				}
				return x.UTC()
			}
			for title, when := range map[string]string{
				"in first minute": "2026-03-08 00:00", "in late PDT": "2026-03-08 23:59",
				"out before": "2026-03-07 23:59", "out after": "2026-03-09 00:00",
			} {
				if err := db.Gorm.Create(&models.Loan{PatronID: p.ID, Title: title, CheckedOutAt: at(when), DueAt: at(when)}).Error; err != nil {
					t.Fatal(err)
				}
			}
			prep, err := s.AddStaff(ctx, "prep", "Prep", models.RolePrivacyOfficer, "correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			second, err := s.AddStaff(ctx, "second", "Second", models.RoleAdmin, "correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			f := models.LegalForm{Kind: "court_order", Issuer: "Court", Reference: "R-1", ReceivedOn: "2026-03-20",
				OfficerName: "Officer", OfficerAgency: "Agency", IdentityCheck: "ID seen", Categories: []string{"loans"},
				ScopeFromOn: "2026-03-08", ScopeToOn: "2026-03-08", Cards: p.CardNumber}
			received, cards, errs := f.Validate(la, clock.Now())
			if len(errs) != 0 {
				t.Fatalf("form: %v", errs)
			}
			req, _, err := s.CreateLegalRequest(ctx, prep.ID, f, received, cards)
			if err != nil {
				t.Fatal(err)
			}
			// Not yet reviewed or approved: refused, nothing recorded.
			var why *models.LegalRefusal
			if _, err := s.ProduceLegal(ctx, prep.ID, req.ID, la, models.ExportMeta{}); !errors.As(err, &why) {
				t.Fatalf("production before review: %v", err)
			}
			if err := s.ReviewLegalRequest(ctx, second.ID, req.ID, models.LegalReviewForm{Reviewer: "CA", Outcome: models.ReviewFavourable}, received); err != nil {
				t.Fatal(err)
			}
			if err := s.ApproveLegalRequest(ctx, prep, req.ID); !errors.As(err, &why) || !why.Forbidden {
				t.Fatalf("the preparer approving: %v", err)
			}
			if err := s.ApproveLegalRequest(ctx, second, req.ID); err != nil {
				t.Fatal(err)
			}
			pkg, err := s.ProduceLegal(ctx, prep.ID, req.ID, la, models.ExportMeta{})
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(pkg.Zip), int64(len(pkg.Zip)))
			if err != nil {
				t.Fatal(err)
			}
			var part []byte
			for _, zf := range zr.File {
				if zf.Name == "patron-001.json" {
					rc, _ := zf.Open()
					part, _ = io.ReadAll(rc)
					rc.Close()
				}
			}
			var doc struct {
				Categories map[string]struct {
					Records []struct{ Title string } `json:"records"`
				} `json:"categories"`
			}
			if err := json.Unmarshal(part, &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range doc.Categories["loans"].Records {
				got = append(got, r.Title)
			}
			if strings.Join(got, "|") != "in late PDT|in first minute" {
				t.Fatalf("loans on March 8 in Los Angeles: %v", got)
			}
			var prod models.LegalProduction
			if err := db.Gorm.Where("request_id = ?", req.ID).Take(&prod).Error; err != nil || prod.ID != pkg.Production.ID {
				t.Fatalf("production recorded: %v", err)
			}
		})
	}
}

// Where a request stands, in the list's words.
func TestLegalStatusWords(t *testing.T) {
	one := int64(1)
	for _, c := range []struct {
		r    models.LegalRequest
		n    int
		want string
	}{
		{models.LegalRequest{Kind: "national_security_letter", ReviewOutcome: models.ReviewFavourable, ApprovedBy: &one}, 0, "Not issued by a court: nothing can be produced"},
		{models.LegalRequest{Kind: "other"}, 0, "Not issued by a court: nothing can be produced"},
		{models.LegalRequest{Kind: "subpoena"}, 0, "Awaiting legal review"},
		{models.LegalRequest{Kind: "subpoena", ReviewOutcome: models.ReviewRefused}, 0, "Refused by review"},
		{models.LegalRequest{Kind: "subpoena", ReviewOutcome: models.ReviewFavourable}, 0, "Awaiting approval"},
		{models.LegalRequest{Kind: "subpoena", ReviewOutcome: models.ReviewFavourable, ApprovedBy: &one}, 0, "Approved"},
		{models.LegalRequest{Kind: "subpoena", ReviewOutcome: models.ReviewFavourable, ApprovedBy: &one}, 2, "Produced (2)"},
	} {
		if got := models.LegalStatus(c.r, c.n); got != c.want {
			t.Errorf("%+v: %q, want %q", c.r, got, c.want)
		}
	}
}
