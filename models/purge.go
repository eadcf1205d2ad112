package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrPurgeBusy says another instance is purging right now.
var ErrPurgeBusy = errors.New("another purge is running")

// PurgeCount is what one rule deleted (or, in a dry run, would delete).
type PurgeCount struct {
	Category string
	Rows     int64
}

// PurgeReport is the outcome of one purge run.
type PurgeReport struct {
	DryRun bool
	Counts []PurgeCount
	Held   int64 // patrons whose records a legal hold kept
	// Checkpoint is signed after a real run: the daily purge logs it, so
	// the logs keep a trail of the audit log's end outside the database.
	Checkpoint AuditCheckpoint
}

// Total is the number of rows the run deleted.
func (r PurgeReport) Total() int64 {
	var n int64
	for _, c := range r.Counts {
		n += c.Rows
	}
	return n
}

// String lists the counts, for logs and the audit entry.
func (r PurgeReport) String() string {
	parts := make([]string, 0, len(r.Counts))
	for _, c := range r.Counts {
		parts = append(parts, fmt.Sprintf("%s=%d", c.Category, c.Rows))
	}
	return strings.Join(parts, ", ")
}

// purgeRule is one retention rule as a deletion: rows of table matching
// where (with args) are due.
type purgeRule struct {
	category, table, key, where string
	args                        []any
	patronScoped                bool // a legal hold on the patron keeps the row
}

// NotHeld, appended to a WHERE clause, keeps the rows of patrons under a
// legal hold (the purge and the ILS import's deletions obey it).
const NotHeld = " AND patron_id NOT IN (SELECT patron_id FROM legal_holds WHERE released_at IS NULL)"

func (s *Store) purgeRules(r Retention, limits SessionLimits) []purgeRule {
	return purgeRulesAt(s.Now(), r, limits)
}

// purgeRulesAt is the retention schedule as deletions due at time n: the
// one definition of "due" that the purge deletes by and that patrons'
// own pages hide by (see PatronView), so a record a patron sees is one
// the purge would keep.
// purgeRuleFor is the purge's rule for table at time n, among those that
// keep a patron's rows under a legal hold; false when there is none.
func purgeRuleFor(n time.Time, r Retention, table string) (purgeRule, bool) {
	for _, rule := range purgeRulesAt(n, r, SessionLimits{}) {
		if rule.table == table && rule.patronScoped {
			return rule, true
		}
	}
	return purgeRule{}, false
}

func purgeRulesAt(n time.Time, r Retention, limits SessionLimits) []purgeRule {
	var out []purgeRule
	for _, c := range registry {
		if c.Purge != nil {
			out = append(out, c.Purge(n, r, limits)...)
		}
	}
	return append(out,
		// Tables that hold no patron's data of their own.
		purgeRule{"handoff_tokens", "handoff_tokens", "jti", "expires_at < ?", []any{n}, false},
		// New arrivals are not personal data; once no notification names
		// one, a year on it has served its purpose. Its terms go with it.
		purgeRule{"arrivals", "arrivals", "id", "created_at < ? AND NOT EXISTS (SELECT 1 FROM notifications WHERE notifications.arrival_id = arrivals.id)",
			[]any{n.AddDate(-ArrivalKeepYears, 0, 0)}, false})
}

// historyKeepRule deletes, at time n, the reading-history entries of
// patrons who chose to keep only the last months of it (SetHistoryKeep)
// that have grown older than that since: one rule for every choice, so
// the patron's pages hide by it too (PatronView.Hide). Its first argument
// is a number of months, not a cutoff, so the overview does not recount
// every long history (PatronView.mayBeDue); the daily purge brings the
// count in line.
func historyKeepRule(n time.Time, _ Retention, _ SessionLimits) []purgeRule {
	var ors []string
	var args []any
	for _, m := range HistoryKeepChoices {
		ors = append(ors, "(patron_id IN (SELECT id FROM patrons WHERE history_keep_months = ?) AND returned_at < ?)")
		args = append(args, m, HistoryKeepCutoff(n, m))
	}
	return []purgeRule{{"reading_history", "reading_history", "id", "(" + strings.Join(ors, " OR ") + ")", args, true}}
}

// byDate is the purge rule, named name, of a category whose records in
// table are due a fixed time after column: rows where it is before cut.
func byDate(name, table, column string, cut time.Time) purgeRule {
	return purgeRule{name, table, "id", column + " < ?", []any{cut}, true}
}

// Purge deletes every record whose retention has run out, in batches of
// batch rows so the portal stays responsive, skipping patrons under a legal
// hold. It is idempotent, and safe to start on several instances at once:
// on PostgreSQL one takes an advisory lock and the others return
// ErrPurgeBusy. A real run records one audit entry with its counts.
func (s *Store) Purge(ctx context.Context, dryRun bool, batch int, limits SessionLimits) (PurgeReport, error) {
	if batch <= 0 {
		batch = 1000
	}
	rep := PurgeReport{DryRun: dryRun}
	run := func(db *gorm.DB) error {
		r, err := s.LoadRetention(ctx)
		if err != nil {
			return err
		}
		s.SetRetention(r)
		if err := db.Table("legal_holds").Where("released_at IS NULL").Distinct("patron_id").Count(&rep.Held).Error; err != nil {
			return err
		}
		for _, rule := range s.purgeRules(r, limits) {
			n, err := s.purgeRule(ctx, db, rule, dryRun, batch)
			if err != nil {
				return fmt.Errorf("%s: %w", rule.category, err)
			}
			rep.Counts = append(rep.Counts, PurgeCount{rule.category, n})
		}
		n, anchor, err := s.purgeAudit(ctx, db, r, dryRun, batch)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		rep.Counts = append(rep.Counts, PurgeCount{"audit_entries", n})
		sort.SliceStable(rep.Counts, func(i, j int) bool { return rep.Counts[i].Category < rep.Counts[j].Category })
		if dryRun {
			return nil
		}
		return db.Transaction(func(tx *gorm.DB) error {
			detail := rep.String()
			if anchor != "" {
				// Inside the keyed chain, the anchor is kept where no one
				// without the server key can change it.
				detail += "; audit anchor: " + anchor
			}
			return s.AppendAudit(tx, &AuditEntry{Action: AuditPurgeRun, Detail: detail})
		})
	}
	db := s.db(ctx)
	if DialectOfDB(db) != Postgres {
		// SQLite runs one portal instance; its single writer serialises.
		err := run(db)
		return s.purgeCheckpoint(ctx, rep, wrapPurge(err))
	}
	err := db.Connection(func(conn *gorm.DB) error {
		// The lock is taken and released whatever becomes of ctx (see
		// locks.go): cancelled while the answer was read, the lock would
		// be held with no one to release it, on a connection that goes
		// back to the pool.
		locking := conn.WithContext(context.WithoutCancel(ctx))
		var got bool
		if err := locking.Raw(fmt.Sprintf("SELECT pg_try_advisory_lock(%d)", lockPurge)).Scan(&got).Error; err != nil {
			return err
		}
		if !got {
			return ErrPurgeBusy
		}
		defer locking.Exec(fmt.Sprintf("SELECT pg_advisory_unlock(%d)", lockPurge))
		// A fresh statement for every query on the locked connection.
		return run(conn.Session(&gorm.Session{NewDB: true}))
	})
	return s.purgeCheckpoint(ctx, rep, wrapPurge(err))
}

// purgeCheckpoint signs a checkpoint of the audit log after a real run,
// which has just appended its own entry.
func (s *Store) purgeCheckpoint(ctx context.Context, rep PurgeReport, err error) (PurgeReport, error) {
	if err != nil || rep.DryRun {
		return rep, err
	}
	rep.Checkpoint, err = s.Checkpoint(ctx)
	return rep, err
}

func wrapPurge(err error) error {
	if err == nil || errors.Is(err, ErrPurgeBusy) {
		return err
	}
	return fmt.Errorf("models: purge: %w", err)
}

// purgeRule deletes one rule's due rows a batch at a time, each batch its
// own short transaction, so readers are never blocked for long.
func (s *Store) purgeRule(ctx context.Context, db *gorm.DB, rule purgeRule, dryRun bool, batch int) (int64, error) {
	where := rule.where
	if rule.patronScoped {
		where += NotHeld
	}
	if dryRun {
		var n int64
		err := db.Table(rule.table).Where(where, rule.args...).Count(&n).Error
		return n, err
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int64
		if rule.table == "sessions" {
			// A session may carry an assistance, whose end the patron
			// must be shown: never a bare DELETE.
			err := db.Transaction(func(tx *gorm.DB) error {
				sub := tx.Table(rule.table).Select(rule.key).Where(where, rule.args...).Limit(batch)
				var err error
				n, err = s.endSessions(tx, AssistEndedTimeout, rule.key+" IN (?)", sub)
				return err
			})
			if err != nil {
				return total, err
			}
		} else {
			sub := db.Table(rule.table).Select(rule.key).Where(where, rule.args...).Limit(batch)
			res := db.Exec("DELETE FROM "+rule.table+" WHERE "+rule.key+" IN (?)", sub)
			if res.Error != nil {
				return total, res.Error
			}
			n = res.RowsAffected
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

const auditAnchorSetting = "audit.anchor"

// auditCutoff is the time before which audit entries are due at n.
func auditCutoff(n time.Time, r Retention) time.Time { return n.AddDate(-r.AuditYears, 0, 0) }

// purgeAudit deletes audit entries older than the audit period from the
// start of the chain, and records a signed anchor (see AuditAnchor): the
// first entry kept and the chain value it follows, so `carrel audit
// verify` still proves the rest, and proves that nothing younger than the
// cutoff went. It is the only code that deletes audit entries. It stops at
// the first entry a legal hold keeps, and always keeps the newest entry,
// so the anchor names one that exists. It returns the last anchor it
// wrote, as text, or "" when it deleted nothing.
func (s *Store) purgeAudit(ctx context.Context, db *gorm.DB, r Retention, dryRun bool, batch int) (int64, string, error) {
	cutoff := auditCutoff(s.Now(), r)
	// The first entry that must stay: young enough, or naming a held
	// patron, or else the newest.
	var keep AuditEntry
	err := db.Where("created_at >= ? OR patron_id IN (SELECT patron_id FROM legal_holds WHERE released_at IS NULL)", cutoff).
		Order("id").Limit(1).Find(&keep).Error
	if err == nil && keep.ID == 0 {
		err = db.Order("id DESC").Limit(1).Find(&keep).Error
	}
	if err != nil || keep.ID == 0 {
		return 0, "", err
	}
	var n int64
	if err := db.Model(&AuditEntry{}).Where("id < ?", keep.ID).Count(&n).Error; err != nil || dryRun || n == 0 {
		return n, "", err
	}
	var total int64
	var anchor AuditAnchor
	for total < n {
		err := db.Transaction(func(tx *gorm.DB) error {
			var ids []int64
			q := tx.Model(&AuditEntry{}).Where("id < ?", keep.ID).Order("id").Limit(batch)
			if err := q.Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
				return err
			}
			var next AuditEntry
			if err := tx.Where("id > ?", ids[len(ids)-1]).Order("id").Limit(1).Take(&next).Error; err != nil {
				return err
			}
			res := tx.Where("id IN ?", ids).Delete(&AuditEntry{})
			if res.Error != nil {
				return res.Error
			}
			total += res.RowsAffected
			anchor = s.signAnchor(next.ID, next.PrevHash, cutoff)
			return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"})}).
				Create(&Setting{Name: auditAnchorSetting, Value: anchor.String(), UpdatedAt: s.Now()}).Error
		})
		if err != nil {
			return total, "", err
		}
	}
	return total, anchor.String(), nil
}
