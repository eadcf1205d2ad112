package ilsimport

import (
	"fmt"
	"hash/maphash"
	"slices"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

// deleteMissing deletes the records of the kind that the full snapshot
// does not list, except those of patrons under a legal hold, and records
// how many in the audit log in the same transaction. It refuses, deleting
// nothing, when that would be more than MaxDelete of the kind's records.
func (imp *importer) deleteMissing() error {
	table := imp.spec.table.name
	db := imp.db
	if imp.strict != nil {
		db = imp.strict
	}
	rows, err := db.Raw("SELECT id, ils_id FROM " + table + " WHERE ils_id IS NOT NULL").Rows()
	if err != nil {
		return fmt.Errorf("models: import: list %s: %w", table, err)
	}
	var (
		missing []int64
		total   int64
	)
	for rows.Next() {
		var (
			id  int64
			ils string
		)
		if err := rows.Scan(&id, &ils); err != nil {
			rows.Close()
			return fmt.Errorf("models: import: list %s: %w", table, err)
		}
		total++
		// A hash collision can only keep a record, never delete one.
		if _, ok := imp.seen[maphash.String(imp.seed, ils)]; !ok {
			missing = append(missing, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("models: import: list %s: %w", table, err)
	}
	if len(missing) == 0 {
		return nil
	}
	if float64(len(missing)) > imp.opts.MaxDelete*float64(total) {
		imp.res.FullRefused = fmt.Sprintf("the snapshot would delete %d of %d %s (more than %s): nothing was deleted; "+
			"check that the export is complete, or allow it with a higher --max-delete",
			len(missing), total, imp.kindNoun(), percent(imp.opts.MaxDelete))
		return nil
	}
	held := models.NotHeld
	if table == "patrons" {
		held = " AND id NOT IN (SELECT patron_id FROM legal_holds WHERE released_at IS NULL)"
	}
	del := func(tx *gorm.DB) error {
		var deleted int64
		for chunk := range slices.Chunk(missing, 1000) {
			r := tx.Exec("DELETE FROM "+table+" WHERE id IN ?"+held, chunk)
			if r.Error != nil {
				return fmt.Errorf("models: import: delete missing %s: %w", table, r.Error)
			}
			deleted += r.RowsAffected
		}
		imp.res.Deleted, imp.res.Held = deleted, int64(len(missing))-deleted
		if deleted == 0 {
			return nil
		}
		detail := fmt.Sprintf("full ILS import of %s: %d deleted as missing from the snapshot", imp.opts.Kind, deleted)
		if imp.res.Held > 0 {
			detail += fmt.Sprintf("; %d kept by a legal hold", imp.res.Held)
		}
		return imp.s.AppendAudit(tx, &models.AuditEntry{Action: models.AuditILSImportDelete, Detail: detail})
	}
	if imp.strict != nil {
		_, err := imp.inSavepoint(imp.strict.Statement.ConnPool, func() (batchCounts, error) {
			return batchCounts{}, del(imp.strict)
		})
		return err
	}
	return imp.db.Transaction(del)
}
