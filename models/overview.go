package models

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// CategorySummary is one card of the overview: how many records of a kind
// are held, the newest, and when the oldest will be deleted.
type CategorySummary struct {
	Category
	Count       int64
	Newest      *time.Time
	NewestLabel string
	// OldestDue is when the oldest record counting down will be deleted;
	// nil when nothing of this kind is counting down.
	OldestDue *time.Time
}

// Overview summarises every category of data held about patron p, whose
// row the caller has already read, in one database round trip: a UNION ALL
// of one aggregate row per table.
func (s *Store) Overview(ctx context.Context, p Patron, limits SessionLimits) ([]CategorySummary, error) {
	patronID := p.ID
	r := s.RetentionNow()
	cats := CategoriesFor(r)
	var args []any
	for _, c := range cats {
		if c.Table == "" {
			continue
		}
		_, wargs := c.scope(patronID, s.Now(), limits)
		args = append(args, wargs...) // the label subquery
		args = append(args, wargs...) // the aggregate
	}
	rows, err := s.db(ctx).Raw(overviewSQL(), args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("models: overview: %w", err)
	}
	defer rows.Close()
	found := map[string]CategorySummary{}
	for rows.Next() {
		var (
			slug        string
			n           int64
			newest, old any
			label       *string
			summary     CategorySummary
		)
		if err := rows.Scan(&slug, &n, &newest, &old, &label); err != nil {
			return nil, fmt.Errorf("models: overview: %w", err)
		}
		summary.Count = n
		for _, c := range cats {
			if c.Slug == slug && c.CountColumn != "" {
				summary.Count = p.keptCount(c.CountColumn)
			}
		}
		if t, ok := parseDBTime(newest); ok {
			summary.Newest = &t
		}
		if label != nil {
			summary.NewestLabel = *label
		}
		if t, ok := parseDBTime(old); ok {
			if due, ok := r.due(slug, t); ok {
				summary.OldestDue = &due
			}
		}
		found[slug] = summary
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: overview: %w", err)
	}
	out := make([]CategorySummary, 0, len(cats))
	for _, c := range cats {
		summary := found[c.Slug]
		summary.Category = c
		switch c.Slug {
		case "contact":
			summary.Count = int64(len(ContactFields(p)))
		case "card":
			summary.Count = int64(len(CardFields(p)))
		}
		out = append(out, summary)
	}
	return out, nil
}

// keptCount is the count a trigger keeps in the patron's column.
func (p Patron) keptCount(column string) int64 {
	switch column {
	case "history_count":
		return p.HistoryCount
	}
	panic("models: no kept count in column " + column)
}

// overviewSQL is the overview's query, the same text for every patron
// (only its arguments differ), so it is built once.
var overviewSQL = sync.OnceValue(func() string {
	var parts []string
	for _, c := range categories() {
		if c.Table == "" {
			continue
		}
		where, _ := c.scope(0, time.Time{}, SessionLimits{})
		// Every branch yields a time here (PostgreSQL will not UNION a
		// NULL text with timestamps); only time-limited slugs use it.
		oldest := "MIN(" + c.TimeColumn + ")"
		if c.DueFrom != "" {
			oldest = "MIN(" + c.DueFrom + ")"
		}
		order := c.TimeColumn + " DESC"
		if c.Table != "sessions" {
			order += ", id DESC"
		}
		count := "COUNT(*)"
		if c.CountColumn != "" {
			count = "0" // from the patron's row
		}
		parts = append(parts, fmt.Sprintf(
			"SELECT '%s' AS slug, %s AS n, MAX(%s) AS newest, %s AS oldest, "+
				"(SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT 1) AS label FROM %s WHERE %s",
			c.Slug, count, c.TimeColumn, oldest, c.Label, c.Table, where, order, c.Table, where))
	}
	return strings.Join(parts, " UNION ALL ")
})

// scope is the WHERE clause that selects a patron's visible rows of c.
func (c Category) scope(patronID int64, now time.Time, limits SessionLimits) (string, []any) {
	where, args := "patron_id = ?", []any{patronID}
	if c.Where != "" {
		where += " AND " + c.Where
	}
	if c.Table == "sessions" {
		where += " AND last_seen_at > ? AND created_at > ?"
		args = append(args, now.Add(-limits.Idle), now.Add(-limits.Absolute))
	}
	return where, args
}

// Field is one labelled value held on the patron's own record.
type Field struct {
	Label, Value string
}

// ContactFields lists the contact details held, leaving out empty ones.
func ContactFields(p Patron) []Field {
	return nonEmpty([]Field{
		{"Name", p.FullName()},
		{"Email", p.Email},
		{"Phone", p.Phone},
		{"Postal address", p.PostalAddress},
	})
}

// CardFields lists the card and borrowing details held.
func CardFields(p Patron) []Field {
	status := map[string]string{StatusActive: "Active: you can borrow", StatusBlocked: "Blocked: please ask at a desk",
		StatusExpired: "Expired: renew at any desk"}[p.BorrowingStatus]
	if status == "" {
		status = p.BorrowingStatus
	}
	return nonEmpty([]Field{
		{"Card number", p.CardNumber},
		{"Home branch", p.HomeBranch},
		{"Card expires", p.CardExpiresOn.Format("January 2, 2006")},
		{"Borrowing status", status},
		{"PIN", "Set (we keep only a one-way scrambled form, never the PIN itself)"},
	})
}

func nonEmpty(fs []Field) []Field {
	out := fs[:0]
	for _, f := range fs {
		if strings.TrimSpace(f.Value) != "" {
			out = append(out, f)
		}
	}
	return out
}
