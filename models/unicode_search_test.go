package models_test

import (
	"context"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestSearchesIgnoreCaseInEveryAlphabet: staff find "Ángela Núñez" by
// typing "ángela" or "NÚÑEZ", on SQLite as on PostgreSQL (SQLite's own
// lower() folds ASCII letters only), and LOWER, which the reading
// history's search uses too, folds "CIEN AÑOS" alike on both.
func TestSearchesIgnoreCaseInEveryAlphabet(t *testing.T) {
	ctx := context.Background()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, modeltest.NewFakeClock(testTime))
			p := createPatron(t, s, "21000000000777", "1234")
			if err := s.DB.Model(&p).Updates(map[string]any{"given_name": "Ángela", "family_name": "Núñez"}).Error; err != nil {
				t.Fatal(err)
			}
			staff, err := s.AddStaff(ctx, "desk", "Desk Person", models.RoleAssistant, "correct horse battery staple 9")
			if err != nil {
				t.Fatal(err)
			}
			var folded string
			if err := s.DB.Raw("SELECT LOWER('CIEN AÑOS Ω')").Scan(&folded).Error; err != nil || folded != "cien años ω" {
				t.Errorf("LOWER('CIEN AÑOS Ω') = %q (%v)", folded, err)
			}
			for _, q := range []string{"ángela", "ÁNGELA", "NÚÑEZ", "núñez, áng"} {
				found, err := s.LookupPatrons(ctx, staff.ID, q, 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(found) != 1 {
					t.Errorf("searching %q found %d patrons, want Ángela Núñez", q, len(found))
				}
			}
		})
	}
}
