package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// Audit actions. An entry names who did what to whom, never the data.
const (
	AuditStaffSignIn   = "staff.sign_in"
	AuditPatronLookup  = "patron.lookup"
	AuditAssistStart   = "assist.start"
	AuditAssistEnd     = "assist.end"
	AuditAssistAction  = "assist.action"
	AuditListExport    = "list.export"
	AuditPurgeRun      = "purge.run"
	AuditConfigChanged = "config.change"
)

// auditGenesis is the previous hash of the first entry.
const auditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// AppendAudit adds an entry to the audit log inside tx, so that it commits
// or rolls back with the change it records. Entries are hash-chained: each
// stores the hash of the one before, so an edited or deleted row breaks
// the chain. Appends are serialised (an advisory lock on PostgreSQL; SQLite
// has a single writer) so the chain never forks.
func AppendAudit(tx *gorm.DB, e *AuditEntry) error {
	if _, inTx := tx.Statement.ConnPool.(gorm.TxCommitter); !inTx {
		return errors.New("models: AppendAudit needs a transaction, so its lock lasts until the commit")
	}
	if DialectOfDB(tx) == Postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(727473)").Error; err != nil {
			return fmt.Errorf("models: audit lock: %w", err)
		}
	}
	var prev AuditEntry
	if err := tx.Order("id DESC").Limit(1).Find(&prev).Error; err != nil {
		return fmt.Errorf("models: audit tail: %w", err)
	}
	e.PrevHash = auditGenesis
	if prev.ID != 0 {
		e.PrevHash = prev.Hash
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = tx.NowFunc()
	}
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
	e.Hash = auditHash(*e)
	if err := tx.Create(e).Error; err != nil {
		return fmt.Errorf("models: append audit: %w", err)
	}
	return nil
}

// auditHash covers every field of an entry except its ID and its own hash.
func auditHash(e AuditEntry) string {
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	fields := []string{
		e.PrevHash,
		e.CreatedAt.UTC().Format(time.RFC3339Nano),
		opt(e.StaffID), opt(e.PatronID),
		e.Action, e.Reason, e.Detail, strconv.FormatBool(e.Restricted),
	}
	h := sha256.New()
	for _, f := range fields {
		// Length-prefixed, so no two different entries hash the same text.
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyAudit walks the audit log in order and returns the ID of the first
// entry whose chain is broken, or 0 when the whole log is intact.
//
// After retention has deleted the oldest entries, the chain starts from
// the anchor the purge recorded: the hash the first remaining entry must
// follow.
func VerifyAudit(db *gorm.DB) (brokenID int64, checked int, err error) {
	prev := auditGenesis
	var anchor Setting
	if err := db.Where("name = ?", auditAnchorSetting).Limit(1).Find(&anchor).Error; err != nil {
		return 0, 0, fmt.Errorf("models: verify audit: %w", err)
	}
	if anchor.Value != "" {
		prev = anchor.Value
	}
	var batch []AuditEntry
	res := db.Order("id").FindInBatches(&batch, 1000, func(tx *gorm.DB, _ int) error {
		for _, e := range batch {
			if brokenID != 0 {
				return nil
			}
			checked++
			if e.PrevHash != prev || auditHash(e) != e.Hash {
				brokenID = e.ID
				return nil
			}
			prev = e.Hash
		}
		return nil
	})
	if res.Error != nil {
		return 0, checked, fmt.Errorf("models: verify audit: %w", res.Error)
	}
	return brokenID, checked, nil
}
