package ilsimport

import (
	"fmt"

	"gorm.io/gorm"
)

// Patrons made at sign-in.
//
// A card the library's system accepts at sign-in becomes a patron record
// at once (models.Store.SignInPatron). With SIP2 the ILS gives no id of
// its own, so that record has no ils_id; it is marked with the connector
// that made it (ils_link). The next patrons file lists the same card
// under the ILS's id: the import adopts the record, giving it that id and
// the row's details, instead of reporting that another patron has the
// card. Only records a sign-in made or confirmed are adopted: one made by
// hand or for the demo (no ils_link) is never touched, and its card in a
// file stays a bad line.

// adopt gives each row whose ILS id no patron has, and whose card number
// belongs to a patron made at sign-in without an ILS id, that patron: the
// patron takes the row's ILS id here, and its details from the upsert
// that follows. It returns the rows adopted and the others, in the
// batch's transaction (conn).
func (imp *importer) adopt(conn gorm.ConnPool, rows []*pendingRow) (adopted, rest []*pendingRow, err error) {
	cards := make([]string, len(rows))
	for i, r := range rows {
		cards[i] = r.card
	}
	q, args := imp.inClause(cards)
	res, err := conn.QueryContext(imp.ctx,
		"SELECT id, card_number FROM patrons WHERE ils_id IS NULL AND ils_link <> '' AND card_number "+q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("models: import: patrons made at sign-in: %w", err)
	}
	made := map[string]int64{}
	for res.Next() {
		var (
			id   int64
			card string
		)
		if err := res.Scan(&id, &card); err != nil {
			res.Close()
			return nil, nil, fmt.Errorf("models: import: patrons made at sign-in: %w", err)
		}
		made[card] = id
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, nil, fmt.Errorf("models: import: patrons made at sign-in: %w", err)
	}
	if len(made) == 0 {
		return nil, rows, nil
	}
	var ids []string
	for _, r := range rows {
		if _, ok := made[r.card]; ok {
			ids = append(ids, r.ilsID)
		}
	}
	in, inArgs := imp.inClause(ids)
	known, err := imp.idSet(conn, "SELECT ils_id FROM patrons WHERE ils_id "+in, inArgs...)
	if err != nil {
		return nil, nil, fmt.Errorf("models: import: patrons made at sign-in: %w", err)
	}
	update := "UPDATE patrons SET ils_id = ? WHERE id = ? AND ils_id IS NULL"
	if imp.pg {
		update = "UPDATE patrons SET ils_id = $1 WHERE id = $2 AND ils_id IS NULL"
	}
	for _, r := range rows {
		id, ok := made[r.card]
		if !ok || known[r.ilsID] {
			rest = append(rest, r)
			continue
		}
		// A second row with the same card is not adopted: it stays a bad
		// line, as a card another patron holds.
		delete(made, r.card)
		if _, err := conn.ExecContext(imp.ctx, update, r.ilsID, id); err != nil {
			return nil, nil, fmt.Errorf("models: import: adopt a patron made at sign-in: %w", err)
		}
		adopted = append(adopted, r)
	}
	return adopted, rest, nil
}

// writeAdopted brings the adopted patrons' details in step with their
// rows; each counts as updated, having at least gained its ILS id.
func (imp *importer) writeAdopted(conn gorm.ConnPool, rows []*pendingRow) (batchCounts, error) {
	if len(rows) == 0 {
		return batchCounts{}, nil
	}
	sqlText, args := imp.upsertSQL(patronsTable, rows, true, "")
	if _, err := conn.ExecContext(imp.ctx, sqlText, args...); err != nil {
		return batchCounts{}, fmt.Errorf("models: import patrons: %w", err)
	}
	n := int64(len(rows))
	return batchCounts{updated: n, adopted: n}, nil
}
