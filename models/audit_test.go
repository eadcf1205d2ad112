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
func appendAudits(t *testing.T, s *models.Store, clock *modeltest.FakeClock, n int) []models.AuditEntry {
	t.Helper()
	db := s.DB
	staffID := int64(7)
	for i := range n {
		patronID := int64(100 + i)
		err := db.WithContext(t.Context()).Transaction(func(tx *gorm.DB) error {
			return s.AppendAudit(tx, &models.AuditEntry{
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
	if len(out) < n {
		t.Fatalf("audit entries = %d, want at least %d", len(out), n)
	}
	return out[len(out)-n:]
}

func verifyAudit(t *testing.T, s *models.Store, wantBroken int64, wantChecked int) models.AuditCheck {
	t.Helper()
	res, err := s.VerifyAudit(t.Context(), nil, "test")
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	if res.BrokenID != wantBroken || res.Checked != wantChecked || res.Intact() != (wantBroken == 0) {
		t.Errorf("VerifyAudit = broken %d, checked %d (%s); want broken %d, checked %d",
			res.BrokenID, res.Checked, res.Summary(), wantBroken, wantChecked)
	}
	return res
}

// rewriteEntry replaces a stored entry with e, as someone who can write to
// the database could: the database refuses an UPDATE, but not a DELETE
// and an INSERT with the same id.
func rewriteEntry(t *testing.T, db *gorm.DB, e models.AuditEntry) {
	t.Helper()
	g := db.WithContext(t.Context())
	if err := g.Exec("DELETE FROM audit_entries WHERE id = ?", e.ID).Error; err != nil {
		t.Fatalf("delete entry %d: %v", e.ID, err)
	}
	if err := g.Create(&e).Error; err != nil {
		t.Fatalf("insert entry %d: %v", e.ID, err)
	}
}

func TestAuditChainVerifies(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime) // the engines run one after the other
			s := modeltest.NewStore(t, db.Gorm, clock)
			verifyAudit(t, s, 0, 0) // an empty log is intact
			entries := appendAudits(t, s, clock, 3)
			verifyAudit(t, s, 0, 3)
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
		tamper      func(t *testing.T, db *gorm.DB, clock models.Clock, e []models.AuditEntry)
		wantBroken  func(e []models.AuditEntry) int64
		wantChecked int
	}{
		{
			name: "a row's detail edited",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				e[1].Detail = "nothing to see"
				rewriteEntry(t, db, e[1])
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
		{
			name: "a row pinned on another patron",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				other := int64(999)
				e[2].PatronID = &other
				rewriteEntry(t, db, e[2])
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[2].ID },
			wantChecked: 3,
		},
		{
			name: "a restricted row made visible",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				e[1].Restricted = false
				rewriteEntry(t, db, e[1])
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
		{
			name: "a middle row deleted",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				exec(t, db, "DELETE FROM audit_entries WHERE id = ?", e[1].ID)
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[2].ID },
			wantChecked: 2,
		},
		{
			name: "the first row deleted",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				exec(t, db, "DELETE FROM audit_entries WHERE id = ?", e[0].ID)
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 1,
		},
		{
			name: "a row's detail forged with a matching hash",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				forged := e[1]
				forged.Detail = "nothing to see"
				forged.Hash = models.AuditHashForTest(forged)
				if forged.Hash == e[1].Hash {
					t.Fatalf("the forged entry hashes like the original")
				}
				rewriteEntry(t, db, forged)
			},
			// Without the server key, no chain value fits the forgery.
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
		// The same edit, with every later entry re-chained to fit, the way
		// someone who can write to the database but lacks the server key
		// would mend the chain.
		{
			name: "a row edited and the rest re-chained with plain SHA-256, as before the chain was keyed",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				e[1].Detail = "nothing to see"
				rechain(t, db, e, 1, func(e models.AuditEntry) models.AuditEntry {
					e.Hash = models.AuditHashForTest(e)
					return e
				})
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
		{
			name: "a row edited and the rest re-chained with plain SHA-256 and the key id dropped",
			tamper: func(t *testing.T, db *gorm.DB, _ models.Clock, e []models.AuditEntry) {
				e[1].Detail = "nothing to see"
				rechain(t, db, e, 1, func(e models.AuditEntry) models.AuditEntry {
					e.KeyID = ""
					e.Hash = models.AuditHashForTest(e)
					return e
				})
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
		{
			name: "a row edited and the rest re-chained with an HMAC under another key, naming the real key",
			tamper: func(t *testing.T, db *gorm.DB, clock models.Clock, e []models.AuditEntry) {
				wrong := storeWithKeys(t, db, clock, otherKey)
				e[1].Detail = "nothing to see"
				rechain(t, db, e, 1, func(e models.AuditEntry) models.AuditEntry {
					kid := e.KeyID
					e.Hash = models.AuditChainForTest(wrong, e, wrong.Keys)
					e.KeyID = kid
					return e
				})
			},
			wantBroken:  func(e []models.AuditEntry) int64 { return e[1].ID },
			wantChecked: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := modeltest.NewFakeClock(testTime)
			for _, db := range modeltest.Databases(t, clock) {
				t.Run(db.Name, func(t *testing.T) {
					clock.Set(testTime)
					s := modeltest.NewStore(t, db.Gorm, clock)
					entries := appendAudits(t, s, clock, 4)
					verifyAudit(t, s, 0, 4)
					tc.tamper(t, db.Gorm, clock, entries)
					verifyAudit(t, s, tc.wantBroken(entries), tc.wantChecked)
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
			s := modeltest.NewStore(t, db.Gorm, clock)
			appendAudits(t, s, clock, 1)

			errAbandoned := errors.New("change abandoned")
			var ghost models.AuditEntry
			err := g.Transaction(func(tx *gorm.DB) error {
				ghost = models.AuditEntry{Action: models.AuditConfigChanged, Detail: "never happened"}
				if err := s.AppendAudit(tx, &ghost); err != nil {
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
			verifyAudit(t, s, 0, 1)

			// The next entry chains onto the last committed one.
			clock.Advance(time.Second)
			err = g.Transaction(func(tx *gorm.DB) error {
				return s.AppendAudit(tx, &models.AuditEntry{Action: models.AuditPurgeRun})
			})
			if err != nil {
				t.Fatalf("AppendAudit after a rollback: %v", err)
			}
			verifyAudit(t, s, 0, 2)
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
			s := modeltest.NewStore(t, db.Gorm, clock)
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					errs[i] = g.Transaction(func(tx *gorm.DB) error {
						return s.AppendAudit(tx, &models.AuditEntry{
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
			verifyAudit(t, s, 0, n)
		})
	}
}
