package models_test

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

// testTime is the moment the store tests start at: half a minute past a
// minute, so that per-minute failure buckets have room on both sides.
var testTime = time.Date(2026, time.April, 7, 10, 20, 30, 0, time.UTC)

// createPatron stores a patron with card and pin (hashed by s), and the
// other required fields filled in.
func createPatron(t *testing.T, s *models.Store, card, pin string) models.Patron {
	t.Helper()
	hash, err := s.HashSecret(t.Context(), pin)
	if err != nil {
		t.Fatalf("HashSecret: %v", err)
	}
	p := models.Patron{
		CardNumber:            card,
		PINHash:               hash,
		GivenName:             "Test",
		FamilyName:            "Patron",
		CardExpiresOn:         s.Now().AddDate(2, 0, 0),
		BorrowingStatus:       models.StatusActive,
		FavoritesNotice:       "none",
		HomeBranch:            "Central",
		Email:                 "patron@example.org",
		PostalAddress:         "1 Example Street",
		ReadingHistoryEnabled: true,
	}
	if err := s.DB.WithContext(t.Context()).Create(&p).Error; err != nil {
		t.Fatalf("create patron %s: %v", card, err)
	}
	return p
}

// rowsWhere counts the rows of table that match where.
func rowsWhere(t *testing.T, db *gorm.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.WithContext(t.Context()).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatalf("count %s where %s: %v", table, where, err)
	}
	return n
}

// storedPINHash reads a patron's pin_hash straight from the database.
func storedPINHash(t *testing.T, db *gorm.DB, patronID int64) string {
	t.Helper()
	var h string
	if err := db.WithContext(t.Context()).Raw("SELECT pin_hash FROM patrons WHERE id = ?", patronID).
		Scan(&h).Error; err != nil {
		t.Fatalf("read pin_hash: %v", err)
	}
	return h
}
