package ilsimport

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

// savepoint is the one savepoint name the import uses; savepoints nest.
const savepoint = "carrel_import"

// flush writes the batch: in its own transaction, or inside the strict
// import's one transaction. A batch that breaks a constraint is undone and
// retried row by row, so that only the rows at fault are reported.
//
// On PostgreSQL every batch but the last commits without waiting for its
// write-ahead log to reach the disk (synchronous_commit off): a server
// crash could lose the last of them, which importing the file again puts
// back, but never corrupts anything. The last batch's commit waits, and
// with it everything the batches before wrote, so that what the summary
// counts has been made durable when it is printed.
func (imp *importer) flush(rows []*pendingRow, last bool) error {
	if len(rows) == 0 {
		if last && imp.asyncCommits {
			// Nothing left to write, but the batches before must be made
			// durable: a transaction with an ID commits, and waits, for them.
			return imp.db.Transaction(func(tx *gorm.DB) error { return tx.Exec("SELECT txid_current()").Error })
		}
		return nil
	}
	if err := imp.ctx.Err(); err != nil {
		return err
	}
	if imp.opts.DryRun {
		imp.res.Good += int64(len(rows))
		return nil
	}
	if imp.spec.kind == Patrons {
		if err := imp.hashPINs(rows); err != nil {
			return err
		}
	}
	if imp.strict != nil {
		c, err := imp.inSavepoint(imp.strict.Statement.ConnPool, func() (batchCounts, error) {
			return imp.write(imp.strict.Statement.ConnPool, rows)
		})
		if err != nil && imp.rowError(err) {
			c, err = imp.rowByRow(imp.strict, rows)
		}
		imp.counts.add(c)
		return err
	}
	async := func(tx *gorm.DB) error {
		if !imp.pg || last {
			return nil
		}
		imp.asyncCommits = true
		return tx.Exec("SET LOCAL synchronous_commit TO OFF").Error
	}
	var c batchCounts
	err := imp.db.Transaction(func(tx *gorm.DB) error {
		if err := async(tx); err != nil {
			return err
		}
		var err error
		c, err = imp.write(tx.Statement.ConnPool, rows)
		return err
	})
	if err != nil && imp.rowError(err) {
		err = imp.db.Transaction(func(tx *gorm.DB) error {
			if err := async(tx); err != nil {
				return err
			}
			var err error
			c, err = imp.rowByRow(tx, rows)
			return err
		})
	}
	if err != nil {
		return err
	}
	imp.applyCounts(c)
	return nil
}

// rowByRow writes a batch that broke a constraint one row at a time, each
// in a savepoint, and reports the rows at fault.
func (imp *importer) rowByRow(tx *gorm.DB, rows []*pendingRow) (batchCounts, error) {
	conn := tx.Statement.ConnPool
	var c batchCounts
	for _, r := range rows {
		rc, err := imp.inSavepoint(conn, func() (batchCounts, error) { return imp.write(conn, []*pendingRow{r}) })
		if err != nil {
			if !imp.rowError(err) {
				return c, err
			}
			imp.dbBad = append(imp.dbBad, imp.badFromError(r, err))
			continue
		}
		c.add(rc)
	}
	return c, nil
}

func (imp *importer) inSavepoint(conn gorm.ConnPool, fn func() (batchCounts, error)) (batchCounts, error) {
	if _, err := conn.ExecContext(imp.ctx, "SAVEPOINT "+savepoint); err != nil {
		return batchCounts{}, fmt.Errorf("models: import: savepoint: %w", err)
	}
	c, err := fn()
	if err != nil {
		if _, rbErr := conn.ExecContext(imp.ctx, "ROLLBACK TO SAVEPOINT "+savepoint); rbErr != nil {
			return batchCounts{}, fmt.Errorf("models: import: roll back to savepoint: %w (after %w)", rbErr, err)
		}
		_, _ = conn.ExecContext(imp.ctx, "RELEASE SAVEPOINT "+savepoint)
		return batchCounts{}, err
	}
	if _, err := conn.ExecContext(imp.ctx, "RELEASE SAVEPOINT "+savepoint); err != nil {
		return batchCounts{}, fmt.Errorf("models: import: release savepoint: %w", err)
	}
	return c, nil
}

// constraintError finds which constraint err broke, if any: the drivers'
// translators look at the driver's own error, so the chain is walked.
func (imp *importer) constraintError(err error) error {
	t, ok := imp.db.Dialector.(gorm.ErrorTranslator)
	if !ok {
		return nil
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, c := range []error{gorm.ErrDuplicatedKey, gorm.ErrForeignKeyViolated, gorm.ErrCheckConstraintViolated} {
			if errors.Is(t.Translate(e), c) {
				return c
			}
		}
	}
	return nil
}

// rowError reports whether err is the fault of a row (a constraint it
// breaks) rather than of the database.
func (imp *importer) rowError(err error) bool { return imp.constraintError(err) != nil }

func (imp *importer) badFromError(r *pendingRow, err error) BadLine {
	err = imp.constraintError(err)
	b := BadLine{Line: r.line, Card: r.card}
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey) && imp.spec.kind == Patrons:
		b.Field, b.Reason = "card_number", "another patron already has this card number"
	case errors.Is(err, gorm.ErrDuplicatedKey):
		b.Field, b.Reason = "ils_id", "already used by another record"
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		b.Field, b.Reason = "patron_ils_id", "the patron no longer exists"
	default:
		b.Reason = "could not be stored"
	}
	return b
}

// hashPINs sets each patron row's pin_hash: a new hash when a PIN is given
// and the stored hash does not already match it, "" to keep the stored
// hash, and models.UnusablePINHash for a new patron without a PIN. The PIN itself
// is dropped as soon as it is hashed. Hashing is slow by design, so it runs
// on every CPU, outside the batch's transaction.
func (imp *importer) hashPINs(rows []*pendingRow) error {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ilsID
	}
	stored := map[string]string{}
	q, args := imp.inClause(ids)
	var conn gorm.ConnPool = imp.db.Statement.ConnPool
	if imp.strict != nil {
		conn = imp.strict.Statement.ConnPool
	}
	res, err := conn.QueryContext(imp.ctx, "SELECT ils_id, pin_hash FROM patrons WHERE ils_id "+q, args...)
	if err != nil {
		return fmt.Errorf("models: import: read PIN hashes: %w", err)
	}
	for res.Next() {
		var id, h string
		if err := res.Scan(&id, &h); err != nil {
			res.Close()
			return fmt.Errorf("models: import: read PIN hashes: %w", err)
		}
		stored[id] = h
	}
	res.Close()
	if err := res.Err(); err != nil {
		return fmt.Errorf("models: import: read PIN hashes: %w", err)
	}
	col := patronsTable.col("pin_hash")
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, r := range rows {
		old, exists := stored[r.ilsID]
		pin := r.pin
		r.pin = ""
		switch {
		case pin == "" && exists:
			r.vals[col] = ""
		case pin == "":
			r.vals[col] = models.UnusablePINHash
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				if exists {
					if ok, rehash, err := imp.s.VerifySecret(imp.ctx, old, pin); err == nil && ok && !rehash {
						r.vals[col] = ""
						return
					}
				}
				h, err := imp.s.HashSecret(imp.ctx, pin)
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
				r.vals[col] = h
			}()
		}
	}
	wg.Wait()
	return firstErr
}

// write writes rows (a batch, or one row when retrying) and counts what
// changed.
func (imp *importer) write(conn gorm.ConnPool, rows []*pendingRow) (batchCounts, error) {
	if imp.spec.kind == Patrons {
		for _, r := range rows {
			r.vals[patronsTable.col("created_at")] = imp.now
			r.vals[patronsTable.col("updated_at")] = imp.now
		}
		adopted, rest, err := imp.adopt(conn, rows)
		if err != nil {
			return batchCounts{}, err
		}
		c, err := imp.writeAdopted(conn, adopted)
		if err != nil {
			return c, err
		}
		rc, err := imp.upsert(conn, patronsTable, rest)
		c.add(rc)
		return c, err
	}
	if imp.spec.kind != Loans {
		return imp.upsert(conn, imp.spec.table, rows)
	}
	var current, returned []*pendingRow
	for _, r := range rows {
		if r.returned {
			returned = append(returned, r)
		} else {
			current = append(current, r)
		}
	}
	c, err := imp.upsert(conn, loansTable, current)
	if err != nil {
		return c, err
	}
	rc, err := imp.returnLoans(conn, returned)
	c.add(rc)
	return c, err
}

// upsert inserts rows into t, or updates the rows with their ILS ids that
// differ, and counts the new, the changed and the unchanged.
func (imp *importer) upsert(conn gorm.ConnPool, t *tableSpec, rows []*pendingRow) (batchCounts, error) {
	var c batchCounts
	if len(rows) == 0 {
		return c, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ilsID
	}
	var existing int64
	if !imp.emptyAtStart[t.name] {
		var err error
		if existing, err = imp.countExisting(conn, t.name, ids); err != nil {
			return c, err
		}
	}
	// A batch of new records (a first import) is a plain insert: on
	// PostgreSQL a COPY, the fastest way in. Should one of them exist
	// after all, the batch fails on the unique ils_id and is retried row
	// by row.
	if existing == 0 && imp.raw != nil {
		if err := imp.copyRows(t, rows); err != nil {
			return c, fmt.Errorf("models: import %s: %w", t.name, err)
		}
		c.count(int64(len(rows)), 0, int64(len(rows)))
		return c, nil
	}
	sqlText, args := imp.upsertSQL(t, rows, existing > 0, "")
	res, err := conn.ExecContext(imp.ctx, sqlText, args...)
	if err != nil {
		return c, fmt.Errorf("models: import %s: %w", t.name, err)
	}
	affected, err := res.RowsAffected()
	if err != nil {
		return c, fmt.Errorf("models: import %s: %w", t.name, err)
	}
	c.count(int64(len(rows)), existing, affected)
	return c, nil
}

// copyRows sends rows into t with COPY, on the import's connection and so
// inside its transaction.
func (imp *importer) copyRows(t *tableSpec, rows []*pendingRow) error {
	names := make([]string, len(t.cols))
	for i, col := range t.cols {
		names[i] = col.name
	}
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = r.vals
	}
	return imp.raw.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection: %T", dc)
		}
		_, err := c.Conn().CopyFrom(imp.ctx, pgx.Identifier{t.name}, names, pgx.CopyFromRows(vals))
		return err
	})
}

// upsertSQL builds the statement that writes rows into t: an upsert, or
// with upsert false a plain INSERT; with returning appended.
func (imp *importer) upsertSQL(t *tableSpec, rows []*pendingRow, upsert bool, returning string) (string, []any) {
	names := make([]string, len(t.cols))
	var sets, diffs []string
	for i, col := range t.cols {
		names[i] = col.name
		if col.insertOnly || col.name == "ils_id" {
			continue
		}
		val := "EXCLUDED." + col.name
		if col.set != "" {
			val = col.set
		}
		sets = append(sets, col.name+" = "+val)
		if !col.noCompare {
			diffs = append(diffs, t.name+"."+col.name+" IS DISTINCT FROM "+val)
		}
	}
	var (
		sb   strings.Builder
		args []any
	)
	sb.WriteString("INSERT INTO " + t.name + " (" + strings.Join(names, ", ") + ") ")
	if imp.pg {
		// One array per column: the statement's text is the same for every
		// batch, so PostgreSQL plans it once per connection.
		sb.WriteString("SELECT * FROM unnest(")
		for i, col := range t.cols {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "$%d::%s[]", i+1, col.pg)
			args = append(args, pgArray(col.pg, rows, i))
		}
		sb.WriteString(")")
	} else {
		sb.WriteString("VALUES ")
		ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
		for i, r := range rows {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(ph)
			args = append(args, r.vals...)
		}
	}
	if upsert {
		sb.WriteString(" ON CONFLICT (ils_id) DO UPDATE SET " + strings.Join(sets, ", ") +
			" WHERE " + strings.Join(diffs, " OR "))
	}
	if returning != "" {
		sb.WriteString(" RETURNING " + returning)
	}
	return sb.String(), args
}

// pgArray gathers column i of rows into the Go slice pgx sends as an
// array of pgType.
func pgArray(pgType string, rows []*pendingRow, i int) any {
	switch pgType {
	case "text":
		a := make([]string, len(rows))
		for j, r := range rows {
			a[j] = r.vals[i].(string)
		}
		return a
	case "int8":
		a := make([]int64, len(rows))
		for j, r := range rows {
			a[j] = r.vals[i].(int64)
		}
		return a
	case "bool":
		a := make([]bool, len(rows))
		for j, r := range rows {
			a[j] = r.vals[i].(bool)
		}
		return a
	case "timestamptz":
		// Slices pgx encodes without reflection: []time.Time, and for a
		// column that may be NULL a FlatArray of Timestamptz.
		a := make([]time.Time, len(rows))
		null := false
		for j, r := range rows {
			t, ok := r.vals[i].(time.Time)
			a[j], null = t, null || !ok
		}
		if !null {
			return a
		}
		n := make(pgtype.FlatArray[pgtype.Timestamptz], len(rows))
		for j, r := range rows {
			if _, ok := r.vals[i].(time.Time); ok {
				n[j] = pgtype.Timestamptz{Time: a[j], Valid: true}
			}
		}
		return n
	}
	panic("models: import: no array type " + pgType)
}

// inClause is "= ANY($1)" with the ids as one array on PostgreSQL, and
// "IN (?, ...)" on SQLite.
func (imp *importer) inClause(ids []string) (string, []any) {
	if imp.pg {
		return "= ANY($1)", []any{ids}
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")", args
}

func (imp *importer) countExisting(conn gorm.ConnPool, table string, ids []string) (int64, error) {
	q, args := imp.inClause(ids)
	var n int64
	if err := conn.QueryRowContext(imp.ctx, "SELECT COUNT(*) FROM "+table+" WHERE ils_id "+q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("models: import %s: %w", table, err)
	}
	return n, nil
}

func (imp *importer) idSet(conn gorm.ConnPool, query string, args ...any) (map[string]bool, error) {
	rows, err := conn.QueryContext(imp.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var id sql.NullString
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		set[id.String] = true
	}
	return set, rows.Err()
}

// returnLoans settles returned loans. A returned loan becomes an entry of
// its patron's reading history only when the patron turned reading
// history on, and only when the portal held it as a current loan (or
// already holds the entry): an entry the patron deleted is never brought
// back by importing the same returned loan again. Either way the loan row
// goes.
func (imp *importer) returnLoans(conn gorm.ConnPool, rows []*pendingRow) (batchCounts, error) {
	var c batchCounts
	if len(rows) == 0 {
		return c, nil
	}
	ids := make([]string, len(rows))
	patronSet := map[int64]bool{}
	for i, r := range rows {
		ids[i] = r.ilsID
		patronSet[r.patronID] = true
	}
	patronIDs := make([]int64, 0, len(patronSet))
	for id := range patronSet {
		patronIDs = append(patronIDs, id)
	}
	sort.Slice(patronIDs, func(i, j int) bool { return patronIDs[i] < patronIDs[j] })
	// Whether history is on is read under a share lock on PostgreSQL, so a
	// patron turning it off waits for this batch, and then erases what it
	// added. (SQLite has one writer at a time.)
	var (
		q    string
		args []any
	)
	if imp.pg {
		q, args = "SELECT id FROM patrons WHERE id = ANY($1) AND reading_history_enabled ORDER BY id FOR SHARE", []any{patronIDs}
	} else {
		q = "SELECT id FROM patrons WHERE reading_history_enabled AND id IN (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(patronIDs)), ", ") + ")"
		for _, id := range patronIDs {
			args = append(args, id)
		}
	}
	historyOn := map[int64]bool{}
	res, err := conn.QueryContext(imp.ctx, q, args...)
	if err != nil {
		return c, fmt.Errorf("models: import: reading history settings: %w", err)
	}
	for res.Next() {
		var id int64
		if err := res.Scan(&id); err != nil {
			res.Close()
			return c, err
		}
		historyOn[id] = true
	}
	res.Close()
	if err := res.Err(); err != nil {
		return c, err
	}
	in, inArgs := imp.inClause(ids)
	inLoans, err := imp.idSet(conn, "SELECT ils_id FROM loans WHERE ils_id "+in, inArgs...)
	if err != nil {
		return c, fmt.Errorf("models: import: current loans: %w", err)
	}
	inHistory, err := imp.idSet(conn, "SELECT ils_id FROM reading_history WHERE ils_id "+in, inArgs...)
	if err != nil {
		return c, fmt.Errorf("models: import: reading history: %w", err)
	}

	var keep []*pendingRow
	for _, r := range rows {
		if historyOn[r.patronID] && (inLoans[r.ilsID] || inHistory[r.ilsID]) {
			vals := make([]any, len(historyFromLoan))
			for i, j := range historyFromLoan {
				if j < 0 {
					vals[i] = r.returnAt
				} else {
					vals[i] = r.vals[j]
				}
			}
			keep = append(keep, &pendingRow{line: r.line, card: r.card, ilsID: r.ilsID, patronID: r.patronID, vals: vals})
		}
	}
	changed := map[string]bool{}
	if len(keep) > 0 {
		sqlText, args := imp.upsertSQL(historyTable, keep, true, "ils_id")
		if changed, err = imp.idSet(conn, sqlText, args...); err != nil {
			return c, fmt.Errorf("models: import reading_history: %w", err)
		}
	}
	if len(inLoans) > 0 {
		if _, err := conn.ExecContext(imp.ctx, "DELETE FROM loans WHERE ils_id "+in, inArgs...); err != nil {
			return c, fmt.Errorf("models: import: delete returned loans: %w", err)
		}
	}
	for _, r := range rows {
		kept := historyOn[r.patronID] && (inLoans[r.ilsID] || inHistory[r.ilsID])
		switch {
		case kept && !inHistory[r.ilsID]:
			c.toHistory++
		case kept && (changed[r.ilsID] || inLoans[r.ilsID]):
			c.updated++
		case !kept && inLoans[r.ilsID]:
			c.returned++
		default:
			c.unchanged++
		}
	}
	return c, nil
}
