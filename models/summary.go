package models

import (
	"context"
	"fmt"
)

// SummaryLine counts one kind of record held about a patron.
type SummaryLine struct {
	Label string
	Count int64
}

// summaryTables names, in the order a patron reads them, the tables that
// hold records about one patron, with the patron's words for each.
var summaryTables = []struct{ label, table string }{
	{"Current loans", "loans"},
	{"Reading history", "reading_history"},
	{"Holds", "holds"},
	{"Fines and fees", "fines"},
	{"Interlibrary loans", "ill_requests"},
	{"Email reference questions", "reference_questions"},
	{"Computer sessions", "computer_sessions"},
	{"Mailing lists", "subscriptions"},
	{"Favorite authors and subjects", "favorites"},
	{"Notifications", "notifications"},
	{"Consent history", "consent_entries"},
	{"Staff access and assistance", "audit_entries"},
	{"Sign-in sessions", "sessions"},
}

// Summary counts the records of each kind held about a patron.
func (s *Store) Summary(ctx context.Context, patronID int64) ([]SummaryLine, error) {
	out := make([]SummaryLine, 0, len(summaryTables))
	for _, t := range summaryTables {
		var n int64
		q := s.db(ctx).Table(t.table).Where("patron_id = ?", patronID)
		if t.table == "audit_entries" {
			q = q.Where("restricted = ?", false)
		}
		if err := q.Count(&n).Error; err != nil {
			return nil, fmt.Errorf("models: count %s: %w", t.table, err)
		}
		out = append(out, SummaryLine{Label: t.label, Count: n})
	}
	return out, nil
}

// Patron loads one patron.
func (s *Store) Patron(ctx context.Context, patronID int64) (Patron, error) {
	var p Patron
	err := s.db(ctx).Where("id = ?", patronID).Take(&p).Error
	return p, notFound(err)
}
