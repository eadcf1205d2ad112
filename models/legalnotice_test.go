package models_test

import (
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestPatronViewPausesOnlyForAHoldThePatronMayBeToldOf: deletion reads as
// paused (and records past retention stay in view) for a hold with no
// request or whose request has no nondisclosure order in force; a hold
// under a nondisclosure order in force, or a released hold, changes
// nothing the patron sees; an order that ran out or was lifted pauses.
func TestPatronViewPausesOnlyForAHoldThePatronMayBeToldOf(t *testing.T) {
	for _, d := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(d.Name, func(t *testing.T) {
			clock := modeltest.NewFakeClock(testTime)
			s := modeltest.NewStore(t, d.Gorm, clock)
			ctx := t.Context()
			n := testTime
			later, earlier := n.Add(24*time.Hour), n.Add(-time.Hour)
			for i, tc := range []struct {
				name          string
				noRequest     bool
				nondisclosure bool
				until, lifted *time.Time
				released      bool
				paused        bool
			}{
				{name: "no request", noRequest: true, paused: true},
				{name: "no nondisclosure", paused: true},
				{name: "nondisclosure in force", nondisclosure: true, paused: false},
				{name: "nondisclosure until tomorrow", nondisclosure: true, until: &later, paused: false},
				{name: "nondisclosure ran out", nondisclosure: true, until: &earlier, paused: true},
				{name: "nondisclosure lifted", nondisclosure: true, lifted: &earlier, paused: true},
				{name: "released", released: true, paused: false},
			} {
				p := createPatron(t, s, "2100000000"+string(rune('1'+i))+"001", "1111")
				hold := models.LegalHold{PatronID: p.ID, PlacedAt: n.Add(-48 * time.Hour)}
				if !tc.noRequest {
					r := models.LegalRequest{Kind: "court_order", Issuer: "Court", Reference: "R", ReceivedOn: n, CreatedAt: n,
						Nondisclosure: tc.nondisclosure, NondisclosureUntil: tc.until, NondisclosureLiftedAt: tc.lifted}
					if err := s.DB.Create(&r).Error; err != nil {
						t.Fatal(err)
					}
					hold.RequestID = &r.ID
				}
				if tc.released {
					hold.ReleasedAt = &earlier
				}
				if err := s.DB.Create(&hold).Error; err != nil {
					t.Fatal(err)
				}
				v, err := s.PatronView(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				if v.Paused != tc.paused {
					t.Errorf("%s: paused %v, want %v", tc.name, v.Paused, tc.paused)
				}
				if (v.Hide("fines") == nil) != tc.paused || v.Hide("loans") != nil {
					t.Errorf("%s: hides fines %v, loans %v", tc.name, v.Hide("fines") != nil, v.Hide("loans") != nil)
				}
				notices, err := s.LegalNotices(ctx, p.ID, nil)
				if err != nil {
					t.Fatal(err)
				}
				if told := len(notices) > 0; told != (tc.paused || tc.released) {
					t.Errorf("%s: %d notices", tc.name, len(notices))
				}
			}
		})
	}
}

// TestLegalNoticesPutProductionsFirstAndOnlyNewOnes: a request with a
// production comes before one with only a hold, and a notice the patron
// has read does not come back until something new can be told.
func TestLegalNoticesPutProductionsFirstAndOnlyNewOnes(t *testing.T) {
	for _, d := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(d.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, d.Gorm, modeltest.NewFakeClock(testTime))
			ctx := t.Context()
			n := testTime
			p := createPatron(t, s, "21000000009001", "1111")
			mk := func(ref string, placed time.Time) models.LegalRequest {
				r := models.LegalRequest{Kind: "search_warrant", Issuer: "Court " + ref, Reference: ref, ReceivedOn: n, CreatedAt: n}
				if err := s.DB.Create(&r).Error; err != nil {
					t.Fatal(err)
				}
				if err := s.DB.Create(&models.LegalHold{PatronID: p.ID, RequestID: &r.ID, PlacedAt: placed}).Error; err != nil {
					t.Fatal(err)
				}
				return r
			}
			produced := mk("A", n.Add(-72*time.Hour))
			mk("B", n.Add(-time.Hour))
			prod := models.LegalProduction{RequestID: produced.ID, Categories: "loans,fines", ProducedAt: n.Add(-48 * time.Hour)}
			if err := s.DB.Create(&prod).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.DB.Create(&models.LegalProductionPatron{ProductionID: prod.ID, PatronID: p.ID, Part: "x"}).Error; err != nil {
				t.Fatal(err)
			}
			got, err := s.LegalNotices(ctx, p.ID, nil)
			if err != nil || len(got) != 2 {
				t.Fatalf("%d notices (%v)", len(got), err)
			}
			if got[0].Reference != "A" || !got[0].Produced() || got[0].Kind != "Search warrant" {
				t.Fatalf("first: %+v", got[0])
			}
			e := got[0].Events[len(got[0].Events)-1]
			if e.What != models.LegalEventProduced || len(e.Categories) != 2 || e.Categories[0] != "Current loans" || e.Categories[1] != "Fines and fees" {
				t.Fatalf("production: %+v", e)
			}
			seen := n.Add(-2 * time.Hour)
			if got, _ := s.LegalNotices(ctx, p.ID, &seen); len(got) != 1 || got[0].Reference != "B" {
				t.Fatalf("since the last visit: %+v", got)
			}
		})
	}
}
