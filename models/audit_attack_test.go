package models_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// Attacks on the audit log by someone who can write to the database but
// does not hold the server's secret keys.

// storeWithKeys builds a store over db holding keys, current first.
func storeWithKeys(t *testing.T, db *gorm.DB, clock models.Clock, keys ...[]byte) *models.Store {
	t.Helper()
	k, err := models.NewKeys(keys...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := models.NewStore(db, clock, k, 4)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var otherKey = bytes.Repeat([]byte("an-attackers-key"), 2)

// rechain rewrites entries from the i-th on so that each names the
// previous one's chain value, with the chain value sum computes.
func rechain(t *testing.T, db *gorm.DB, entries []models.AuditEntry, from int, sum func(e models.AuditEntry) models.AuditEntry) {
	t.Helper()
	prev := entries[from-1].Hash
	for _, e := range entries[from:] {
		e.PrevHash = prev
		e = sum(e)
		prev = e.Hash
		rewriteEntry(t, db, e)
	}
}

func TestAuditAttackUpdateRefusedByTheDatabase(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			s := modeltest.NewStore(t, db.Gorm, clock)
			entries := appendAudits(t, s, clock, 2)
			for _, sql := range []string{
				"UPDATE audit_entries SET detail = 'x' WHERE id = ?",
				"UPDATE audit_entries SET restricted = TRUE WHERE id = ?",
				"UPDATE audit_entries SET patron_id = NULL WHERE id = ?",
			} {
				err := db.Gorm.WithContext(t.Context()).Exec(sql, entries[0].ID).Error
				if err == nil || !strings.Contains(err.Error(), "audit entries cannot be changed") {
					t.Errorf("%s: err = %v, want the database to refuse it", sql, err)
				}
			}
			verifyAudit(t, s, 0, 2)
		})
	}
}

// checkpointAfter appends n entries and signs a checkpoint of the last.
func checkpointAfter(t *testing.T, s *models.Store, clock *modeltest.FakeClock, n int) ([]models.AuditEntry, models.AuditCheckpoint) {
	t.Helper()
	entries := appendAudits(t, s, clock, n)
	cp, err := s.Checkpoint(t.Context())
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if cp.EntryID != entries[n-1].ID || cp.Hash != entries[n-1].Hash {
		t.Fatalf("checkpoint %+v does not name the newest entry %d", cp, entries[n-1].ID)
	}
	parsed, err := models.ParseAuditCheckpoint("kept on paper:\n" + cp.String() + "\n")
	if err != nil || parsed != cp {
		t.Fatalf("ParseAuditCheckpoint(%q) = %+v, %v", cp.String(), parsed, err)
	}
	return entries, parsed
}

func TestAuditAttackDeletionsAgainstACheckpoint(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *models.Store, clock *modeltest.FakeClock, e []models.AuditEntry)
		// wantBroken is the entry named, 0 when the fault is at the end.
		wantBroken func(e []models.AuditEntry) int64
		// intactWithout says the chain alone cannot see the attack.
		intactWithout bool
	}{
		{
			name: "the newest rows deleted",
			tamper: func(t *testing.T, s *models.Store, _ *modeltest.FakeClock, e []models.AuditEntry) {
				s.DB.WithContext(t.Context()).Exec("DELETE FROM audit_entries WHERE id >= ?", e[2].ID)
			},
			wantBroken:    func([]models.AuditEntry) int64 { return 0 },
			intactWithout: true,
		},
		{
			name: "the newest rows deleted and the log carried on",
			tamper: func(t *testing.T, s *models.Store, clock *modeltest.FakeClock, e []models.AuditEntry) {
				s.DB.WithContext(t.Context()).Exec("DELETE FROM audit_entries WHERE id >= ?", e[2].ID)
				if err := s.DB.WithContext(t.Context()).Transaction(func(tx *gorm.DB) error {
					return s.AppendAudit(tx, &models.AuditEntry{Action: models.AuditPurgeRun})
				}); err != nil {
					t.Fatal(err)
				}
			},
			wantBroken:    func(e []models.AuditEntry) int64 { return e[3].ID + 1 },
			intactWithout: true,
		},
		{
			name: "a middle row deleted",
			tamper: func(t *testing.T, s *models.Store, _ *modeltest.FakeClock, e []models.AuditEntry) {
				s.DB.WithContext(t.Context()).Exec("DELETE FROM audit_entries WHERE id = ?", e[1].ID)
			},
			wantBroken: func(e []models.AuditEntry) int64 { return e[2].ID },
		},
		{
			name: "the checkpoint's own row edited and re-chained with SHA-256",
			tamper: func(t *testing.T, s *models.Store, _ *modeltest.FakeClock, e []models.AuditEntry) {
				rechain(t, s.DB, e, 1, func(e models.AuditEntry) models.AuditEntry {
					e.KeyID = ""
					e.Hash = models.AuditHashForTest(e)
					return e
				})
				// The first entry too: the whole log looks written before
				// the chain was keyed, and the chain alone cannot tell.
				first := e[0]
				first.KeyID = ""
				first.Hash = models.AuditHashForTest(first)
				rewriteEntry(t, s.DB, first)
				rechain(t, s.DB, append([]models.AuditEntry{first}, e[1:]...), 1, func(e models.AuditEntry) models.AuditEntry {
					e.KeyID = ""
					e.Hash = models.AuditHashForTest(e)
					return e
				})
			},
			wantBroken:    func(e []models.AuditEntry) int64 { return e[3].ID },
			intactWithout: true,
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
					entries, cp := checkpointAfter(t, s, clock, 4)
					if res, err := s.VerifyAudit(t.Context(), &cp, "test"); err != nil || !res.Intact() || res.CheckpointID != entries[3].ID {
						t.Fatalf("before the attack: %s, %v", res.Summary(), err)
					}
					tc.tamper(t, s, clock, entries)
					if res, err := s.VerifyAudit(t.Context(), nil, "test"); err != nil || res.Intact() != tc.intactWithout {
						t.Errorf("without the checkpoint: %s, %v; want intact %v", res.Summary(), err, tc.intactWithout)
					}
					res, err := s.VerifyAudit(t.Context(), &cp, "test")
					if err != nil {
						t.Fatal(err)
					}
					if res.Intact() || res.BrokenID != tc.wantBroken(entries) {
						t.Errorf("with the checkpoint: %s (broken %d); want broken at %d", res.Summary(), res.BrokenID, tc.wantBroken(entries))
					}
					last, ok, err := s.LastAuditCheck(t.Context())
					if err != nil || !ok || last.Intact() || last.Summary() != res.Summary() || last.By != "test" || !last.At.Equal(s.Now()) {
						t.Errorf("LastAuditCheck = %+v, %v, %v; want the failed check kept", last, ok, err)
					}
				})
			}
		})
	}
}

func TestAuditCheckpointForgeryRefused(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			s := modeltest.NewStore(t, db.Gorm, clock)
			entries, cp := checkpointAfter(t, s, clock, 4)
			db.Gorm.WithContext(t.Context()).Exec("DELETE FROM audit_entries WHERE id >= ?", entries[2].ID)
			// The attacker rewrites the checkpoint to fit the shortened log.
			moved := cp
			moved.EntryID, moved.Hash = entries[1].ID, entries[1].Hash
			other := storeWithKeys(t, db.Gorm, clock, otherKey)
			signedElsewhere, err := other.Checkpoint(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			signedElsewhere.KeyID = cp.KeyID // claims the real key
			for name, forged := range map[string]models.AuditCheckpoint{
				"moved":             moved,
				"signed elsewhere":  signedElsewhere,
				"signature dropped": {EntryID: cp.EntryID, Hash: cp.Hash, At: cp.At, KeyID: cp.KeyID, Sig: "00"},
			} {
				if _, err := s.VerifyAudit(t.Context(), &forged, "test"); !errors.Is(err, models.ErrCheckpointForged) {
					t.Errorf("%s checkpoint: err = %v, want ErrCheckpointForged", name, err)
				}
			}
			if last, ok, err := s.LastAuditCheck(t.Context()); err != nil || !ok || last.Intact() || last.Problem != models.ErrCheckpointForged.Error() {
				t.Errorf("LastAuditCheck = %+v, %v, %v; want the refusal kept", last, ok, err)
			}
			for _, bad := range []string{"", "carrel-audit-checkpoint v1 entry=x", "carrel-audit-checkpoint v1 entry=3 chain=ab at=2026-01-01T00:00:00Z key=k"} {
				if _, err := models.ParseAuditCheckpoint(bad); err == nil {
					t.Errorf("ParseAuditCheckpoint(%q) accepted it", bad)
				}
			}
		})
	}
}

func TestAuditKeyRotationKeepsOldEntriesVerifiable(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	newKey := bytes.Repeat([]byte("the-rotated-key!"), 2)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			before := modeltest.NewStore(t, db.Gorm, clock)
			old, cp := checkpointAfter(t, before, clock, 2)
			after := storeWithKeys(t, db.Gorm, clock, newKey, modeltest.TestKey)
			for range 2 {
				if err := db.Gorm.WithContext(t.Context()).Transaction(func(tx *gorm.DB) error {
					return after.AppendAudit(tx, &models.AuditEntry{Action: models.AuditPurgeRun})
				}); err != nil {
					t.Fatal(err)
				}
			}
			var all []models.AuditEntry
			db.Gorm.WithContext(t.Context()).Order("id").Find(&all)
			if len(all) != 4 || all[0].KeyID == "" || all[0].KeyID == all[3].KeyID {
				t.Fatalf("entries = %+v, want two key ids", all)
			}
			// The old checkpoint and entries verify while the old key is
			// configured beside the new one.
			if res, err := after.VerifyAudit(t.Context(), &cp, "test"); err != nil || !res.Intact() || res.Checked != 4 {
				t.Errorf("after rotation: %s, %v", res.Summary(), err)
			}
			// Once the old key is dropped, its entries cannot be proved.
			dropped := storeWithKeys(t, db.Gorm, clock, newKey)
			res := verifyAudit(t, dropped, old[0].ID, 1)
			if !strings.Contains(res.Problem, "not configured") {
				t.Errorf("problem = %q, want it to name the missing key", res.Problem)
			}
			if _, err := dropped.VerifyAudit(t.Context(), &cp, "test"); !errors.Is(err, models.ErrCheckpointForged) {
				t.Errorf("a checkpoint under a dropped key: %v, want it refused", err)
			}
		})
	}
}

// Entries written before the chain was keyed keep their SHA-256 values
// and still verify; an unkeyed entry after a keyed one does not.
func TestAuditLegacyEntriesBeforeTheKeyedChain(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			g := db.Gorm.WithContext(t.Context())
			prev := strings.Repeat("0", 64)
			for i := range 2 {
				e := models.AuditEntry{CreatedAt: testTime.Add(time.Duration(i) * time.Second), Action: models.AuditPurgeRun, PrevHash: prev}
				e.Hash = models.AuditHashForTest(e)
				prev = e.Hash
				if err := g.Create(&e).Error; err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(time.Minute)
			s := modeltest.NewStore(t, db.Gorm, clock)
			keyed := appendAudits(t, s, clock, 2)
			if res := verifyAudit(t, s, 0, 4); res.Legacy != 2 || !strings.Contains(res.Summary(), "2 of them were written before the chain was keyed") {
				t.Errorf("summary = %q, want the 2 legacy entries named", res.Summary())
			}
			// An unkeyed entry forged after the keyed ones.
			e := models.AuditEntry{CreatedAt: s.Now(), Action: models.AuditPurgeRun, PrevHash: keyed[1].Hash}
			e.Hash = models.AuditHashForTest(e)
			if err := g.Create(&e).Error; err != nil {
				t.Fatal(err)
			}
			verifyAudit(t, s, e.ID, 5)
		})
	}
}

// TestAuditUpgradeToTheKeyedChain takes a database back to before the
// keyed chain, with a log chained as it was then, and upgrades it: the
// old entries still verify, and new ones are keyed and refused updates.
func TestAuditUpgradeToTheKeyedChain(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			g := db.Gorm.WithContext(t.Context())
			undo := []string{"DROP TRIGGER audit_entries_no_update", "ALTER TABLE audit_entries DROP COLUMN key_id",
				"DELETE FROM migrations WHERE id = '202612020001_audit_keyed_chain'"}
			if db.Name == string(models.Postgres) {
				undo[0] = "DROP FUNCTION carrel_audit_entries_no_update() CASCADE"
			}
			for _, sql := range undo {
				if err := g.Exec(sql).Error; err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			prev := strings.Repeat("0", 64)
			staffID := int64(3)
			for i := range 3 {
				e := models.AuditEntry{CreatedAt: testTime.Add(time.Duration(i) * time.Second), StaffID: &staffID,
					Action: models.AuditStaffSignIn, PrevHash: prev}
				e.Hash = models.AuditHashForTest(e)
				prev = e.Hash
				if err := g.Exec("INSERT INTO audit_entries (created_at, staff_id, action, reason, detail, restricted, prev_hash, hash) VALUES (?, ?, ?, '', '', FALSE, ?, ?)",
					e.CreatedAt, e.StaffID, e.Action, e.PrevHash, e.Hash).Error; err != nil {
					t.Fatal(err)
				}
			}
			if err := models.Migrate(t.Context(), db.Gorm); err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			clock.Advance(time.Minute)
			s := modeltest.NewStore(t, db.Gorm, clock)
			appendAudits(t, s, clock, 2)
			if res := verifyAudit(t, s, 0, 5); res.Legacy != 3 {
				t.Errorf("legacy entries = %d, want the 3 from before the upgrade", res.Legacy)
			}
			if err := g.Exec("UPDATE audit_entries SET detail = 'x'").Error; err == nil {
				t.Error("after the upgrade the database let audit entries be changed")
			}
		})
	}
}

// The purge trims the log from its start and records where the rest
// begins. Someone who can write to the database deletes the oldest
// remaining entries, far younger than the audit period, and moves that
// anchor to fit: verification must still fail, with and without a
// checkpoint taken before the deletion.
func TestAuditAttackDeleteTheStartAndMoveTheAnchor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// purged says a real purge ran first and wrote a signed anchor.
		purged bool
		// anchor is the value the attacker stores, from the stored one
		// (empty when none), the deleted first entry and the new first.
		anchor func(stored string, gone, first models.AuditEntry) string
		// wantProblem is part of what the verification must say. An
		// unsigned anchor, such as one written before anchors were
		// signed, is reported as such.
		wantProblem string
	}{
		{"no purge ever ran, a plain anchor planted", false, func(_ string, _, first models.AuditEntry) string { return first.PrevHash }, "is not signed"},
		{"after a purge, a plain anchor planted", true, func(_ string, _, first models.AuditEntry) string { return first.PrevHash }, "is not signed"},
		{"after a purge, the signed anchor moved", true, func(stored string, gone, first models.AuditEntry) string {
			moved := strings.ReplaceAll(stored, gone.PrevHash, first.PrevHash)
			return strings.ReplaceAll(moved, "entry="+strconv.FormatInt(gone.ID, 10)+" ", "entry="+strconv.FormatInt(first.ID, 10)+" ")
		}, "signature that does not verify"},
		{"after a purge, the signed anchor kept", true, func(stored string, _, _ models.AuditEntry) string { return stored },
			"the log should start at entry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := modeltest.NewFakeClock(testTime)
			for _, db := range modeltest.Databases(t, clock) {
				t.Run(db.Name, func(t *testing.T) {
					clock.Set(testTime)
					s := modeltest.NewStore(t, db.Gorm, clock)
					g := db.Gorm.WithContext(t.Context())
					appendAudits(t, s, clock, 3)
					if tc.purged {
						clock.Advance(3 * 365 * 24 * time.Hour)
					}
					young, cp := checkpointAfter(t, s, clock, 4)
					if tc.purged {
						if _, err := s.Purge(t.Context(), false, 10, models.SessionLimits{Idle: time.Hour, Absolute: time.Hour}); err != nil {
							t.Fatal(err)
						}
						var left []models.AuditEntry
						g.Order("id").Find(&left)
						if len(left) != 5 || left[0].ID != young[0].ID {
							t.Fatalf("after the purge %d entries remain, the first %d; want the 4 young ones and the purge's", len(left), left[0].ID)
						}
						if res, err := s.VerifyAudit(t.Context(), &cp, "test"); err != nil || !res.Intact() {
							t.Fatalf("after a real purge: %s, %v", res.Summary(), err)
						}
						// The anchor is also inside the keyed chain.
						if run := left[4]; run.Action != models.AuditPurgeRun ||
							!strings.Contains(run.Detail, "audit anchor: carrel-audit-anchor v1 entry="+strconv.FormatInt(young[0].ID, 10)+" ") {
							t.Errorf("purge entry %q, want it to record the anchor", run.Detail)
						}
					}
					var stored models.Setting
					g.Where("name = ?", "audit.anchor").Limit(1).Find(&stored)
					// The two oldest young entries go, and the anchor moves.
					g.Exec("DELETE FROM audit_entries WHERE id <= ?", young[1].ID)
					value := tc.anchor(stored.Value, young[0], young[2])
					if err := g.Exec("DELETE FROM settings WHERE name = 'audit.anchor'").Error; err != nil {
						t.Fatal(err)
					}
					if err := g.Create(&models.Setting{Name: "audit.anchor", Value: value, UpdatedAt: clock.Now()}).Error; err != nil {
						t.Fatal(err)
					}
					for name, c := range map[string]*models.AuditCheckpoint{"without a checkpoint": nil, "with a checkpoint": &cp} {
						res, err := s.VerifyAudit(t.Context(), c, "test")
						if err != nil || res.Intact() || !strings.Contains(res.Problem, tc.wantProblem) {
							t.Errorf("%s: %s, %v; want the deletion found (%q)", name, res.Summary(), err, tc.wantProblem)
						}
					}
				})
			}
		})
	}
}

// A signed anchor whose cutoff is younger than the shortest audit period
// before its purge ran says entries went before their time: refused.
func TestAuditAnchorWithAYoungCutoffRefused(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			s := modeltest.NewStore(t, db.Gorm, clock)
			g := db.Gorm.WithContext(t.Context())
			e := appendAudits(t, s, clock, 3)
			g.Exec("DELETE FROM audit_entries WHERE id = ?", e[0].ID)
			for cutoff, want := range map[time.Time]bool{
				clock.Now().AddDate(-models.AuditYearsMin, 0, 0):                  true,
				clock.Now().AddDate(-models.AuditYearsMin, 0, 0).Add(time.Second): false,
			} {
				value := models.SignAnchorForTest(s, e[1].ID, e[1].PrevHash, cutoff)
				g.Exec("DELETE FROM settings WHERE name = 'audit.anchor'")
				if err := g.Create(&models.Setting{Name: "audit.anchor", Value: value, UpdatedAt: clock.Now()}).Error; err != nil {
					t.Fatal(err)
				}
				res, err := s.VerifyAudit(t.Context(), nil, "test")
				if err != nil || res.Intact() != want || (!want && !strings.Contains(res.Problem, "younger than 1 year")) {
					t.Errorf("cutoff %v: %s, %v; want intact %v", cutoff, res.Summary(), err, want)
				}
			}
		})
	}
}
