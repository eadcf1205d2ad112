package ilsimport_test

import (
	"testing"
	"time"

	"gorm.io/gorm"
)

// testTime is the moment the import tests start at (models' tests use
// the same).
var testTime = time.Date(2026, time.April, 7, 10, 20, 30, 0, time.UTC)

// rowsWhere counts the rows of table that match where.
func rowsWhere(t *testing.T, db *gorm.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.WithContext(t.Context()).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatalf("count %s where %s: %v", table, where, err)
	}
	return n
}
