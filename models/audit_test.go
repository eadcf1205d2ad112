package models_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// appendAudits appends n entries, each in a transaction of its own and a
// second apart, and returns them as stored.
func appendAudits(t *testing.T, db *gorm.DB, clock *modeltest.FakeClock, n int) []models.AuditEntry {
	t.Helper()
	staffID := int64(7)
	for i := range n {
		patronID := int64(100 + i)
		err := db.WithContext(t.Context()).Transaction(func(tx *gorm.DB) error {
			return models.AppendAudit(tx, &models.AuditEntry{
				StaffID:    &staffID,
				PatronID:   &patronID,
				Action:     models.AuditPatronLookup,
				Reason:     "patron at the desk",
				Detail:     fmt.Sprintf("lookup %d", i+1),
				Restricted: i%2 == 1,
			})
		})
		if err != nil {
			t.Fatalf("AppendAudit %d: %v", i+1, err)
		}
		clock.Advance(time.Second)
	}
	var out []models.AuditEntry
	if err := db.WithContext(t.Context()).Order("id").Find(&out).Error; err != nil {
		t.Fatalf("read audit entries: %v", err)
	}
	if len(out) != n {
		t.Fatalf("audit entries = %d, want %d", len(out), n)
	}
	return out
}

func verifyAudit(t *testing.T, db *gorm.DB, wantBroken int64, wantChecked int) {
	t.Helper()
	broken, checked, err := models.VerifyAudit(db.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	if broken != wantBroken || checked != wantChecked {
		t.Errorf("VerifyAudit = broken %d, checked %d; want broken %d, checked %d",
			broken, checked, wantBroken, wantChecked)
	}
}

func TestAuditChainVerifies(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)           // the engines run one after the other
			verifyAudit(t, db.Gorm, 0, 0) // an empty log is intact
			entries := appendAudits(t, db.Gorm, clock, 3)
			verifyAudit(t, db.Gorm, 0, 3)
			for i, e := range entries {
				if !e.CreatedAt.Equal(testTime.Add(time.Duration(i) * time.Second)) {
					t.Errorf("entry %d CreatedAt = %v, want the clock's time", i+1, e.CreatedAt)
				}
			}
		})
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	t.Parallel()
	exec := func(t *testing.T, db *gorm.DB, sql string, args ...any) {
		t.Helper()
		res := db.WithContext(t.Context()).Exec(sql, args...)
		if res.Error != nil || res.RowsAffected != 1 {
			t.Fatalf("%s: %v, %d rows", sql, res.Error, res.RowsAffected)
		}
	}
	// Each case tampers with a log of four entries, and names the entry
	// that VerifyAudit must report and how many it checks to get there.
	cases := []struct {
		name        string
		tamper      func(t *testing.T, db *gorm.DB, e []models.AuditEntry)
		wantBroken  func(e []models.AuditEntry) int64
		wantChecked int
	}{
		{
			name: "a row's detail edited",
			tamper: func(t *testing.T, db *gorm.DB, e []models.AuditEntry) {
				exec(t, db, "UPDATE audit_entries SET detail = ? WHERE id = ?", "nothing to see", e[1].ID)
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
		{
			name: "a row pinned on another patron",
			tamper: func(t *testing.T, db *gorm.DB, e []models.AuditEntry) {
				exec(t, db, "UPDATE audit_entries SET patron_id = ? WHERE id = ?", 999, e[2].ID)
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[2].ID },
			wantChecked: 3,
		},
		{
			name: "a restricted row made visible",
			tamper: func(t *testing.T, db *gorm.DB, e []models.AuditEntry) {
				exec(t, db, "UPDATE audit_entries SET restricted = ? WHERE id = ?", false, e[1].ID)
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
		{
			name: "a middle row deleted",
			tamper: func(t *testing.T, db *gorm.DB, e []models.AuditEntry) {
				exec(t, db, "DELETE FROM audit_entries WHERE id = ?", e[1].ID)
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[2].ID },
			wantChecked: 2,
		},
		{
			name: "the first row deleted",
			tamper: func(t *testing.T, db *gorm.DB, e []models.AuditEntry) {
				exec(t, db, "DELETE FROM audit_entries WHERE id = ?", e[0].ID)
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 1,
		},
		{
			name: "a row's detail forged with a matching hash",
			tamper: func(t *testing.T, db *gorm.DB, e []models.AuditEntry) {
				forged := e[1]
				forged.Detail = "nothing to see"
				forged.Hash = models.AuditHashForTest(forged)
				if forged.Hash == e[1].Hash {
					t.Fatalf("the forged entry hashes like the original")
				}
				exec(t, db, "UPDATE audit_entries SET detail = ?, hash = ? WHERE id = ?",
					forged.Detail, forged.Hash, forged.ID)
			},
			// The forged row is consistent in itself; the next one still
			// names the original's hash.
			wantBroken:  func(e []models.AuditEntry) int64 { return e[2].ID },
			wantChecked: 3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := modeltest.NewFakeClock(testTime)
			for _, db := range modeltest.Databases(t, clock) {
				t.Run(db.Name, func(t *testing.T) {
					clock.Set(testTime)
					entries := appendAudits(t, db.Gorm, clock, 4)
					verifyAudit(t, db.Gorm, 0, 4)
					tc.tamper(t, db.Gorm, entries)
					verifyAudit(t, db.Gorm, tc.wantBroken(entries), tc.wantChecked)
				})
			}
		})
	}
}

func TestAuditEntryRollsBackWithItsTransaction(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			// Not parallel: the engines share the clock, which moves.
			clock.Set(testTime)
			g := db.Gorm.WithContext(t.Context())
			appendAudits(t, db.Gorm, clock, 1)

			errAbandoned := errors.New("change abandoned")
			var ghost models.AuditEntry
			err := g.Transaction(func(tx *gorm.DB) error {
				ghost = models.AuditEntry{Action: models.AuditConfigChanged, Detail: "never happened"}
				if err := models.AppendAudit(tx, &ghost); err != nil {
					return err
				}
				return errAbandoned
			})
			if !errors.Is(err, errAbandoned) {
				t.Fatalf("Transaction = %v, want the abandoning error", err)
			}
			if n := rowsWhere(t, g, "audit_entries", "detail = ?", ghost.Detail); n != 0 {
				t.Errorf("rolled-back entry left %d rows", n)
			}
			verifyAudit(t, db.Gorm, 0, 1)

			// The next entry chains onto the last committed one.
			clock.Advance(time.Second)
			err = g.Transaction(func(tx *gorm.DB) error {
				return models.AppendAudit(tx, &models.AuditEntry{Action: models.AuditPurgeRun})
			})
			if err != nil {
				t.Fatalf("AppendAudit after a rollback: %v", err)
			}
			verifyAudit(t, db.Gorm, 0, 2)
		})
	}
}

func TestConcurrentAuditAppendsKeepOneChain(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			g := db.Gorm.WithContext(t.Context())
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					errs[i] = g.Transaction(func(tx *gorm.DB) error {
						return models.AppendAudit(tx, &models.AuditEntry{
							Action: models.AuditAssistAction, Detail: fmt.Sprintf("action %d", i)})
					})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("append %d: %v", i, err)
				}
			}
			verifyAudit(t, db.Gorm, 0, n)
		})
	}
}
