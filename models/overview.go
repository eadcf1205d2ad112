package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
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
	// Paused says a legal hold the patron may be told of keeps these
	// records past OldestDue: deletion is paused by a court order.
	Paused bool
}

// Overview summarises every category of data held about patron p, whose
// row the caller has already read, in one database round trip: the
// patron's kept summaries (see summaries.go) and the categories read live.
//
// It shows what the patron's own pages show (see PatronView, one more
// short query on legal_holds): records past their retention are left out
// unless a hold the patron may be told of keeps them. The kept summaries
// carry each category's oldest date, so only a category whose oldest
// record is due (until the next purge, or while a hold keeps it) costs
// another round trip, counted again from its rows.
func (s *Store) Overview(ctx context.Context, p Patron, limits SessionLimits) ([]CategorySummary, error) {
	v, err := s.PatronView(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return s.OverviewWith(ctx, p, limits, v)
}

// OverviewWith is Overview for a PatronView the caller has worked out.
func (s *Store) OverviewWith(ctx context.Context, p Patron, limits SessionLimits, v PatronView) ([]CategorySummary, error) {
	r := v.r
	if r == (Retention{}) {
		r = s.RetentionNow()
	}
	cats := CategoriesFor(r)
	now := s.Now()
	// The same three arguments serve every branch, by number. The query
	// goes to the connection pool itself: gorm would take "?1" for a
	// placeholder of its own, and building the statement through it cost
	// more than the rest of the call's Go code.
	// The fourth and fifth: whether the live notifications are shown
	// whole, and the time before which they are due (the purge's rule).
	// The sixth: the time before which a consent entry's successor makes
	// it due (see keptDue).
	notifCutoff := now.AddDate(0, 0, -r.NotificationDays)
	rows, err := s.DB.Statement.ConnPool.QueryContext(ctx, overviewSQL[DialectOfDB(s.DB)](),
		p.ID, now.Add(-limits.Idle), now.Add(-limits.Absolute), v.Paused, notifCutoff, auditCutoff(now, r))
	if err != nil {
		return nil, fmt.Errorf("models: overview: %w", err)
	}
	defer rows.Close()
	type acc struct {
		CategorySummary
		newestID int64
		oldest   *time.Time
	}
	found := make(map[string]*acc, len(cats))
	dueRows := map[string]int64{} // by table, for keptDue's tables
	for rows.Next() {
		var (
			slug        string
			n, id       int64
			newest, old any
			label       *string
		)
		if err := rows.Scan(&slug, &n, &id, &newest, &old, &label); err != nil {
			return nil, fmt.Errorf("models: overview: %w", err)
		}
		if table, ok := strings.CutPrefix(slug, "due:"); ok {
			dueRows[table] = n
			continue
		}
		a := found[slug]
		if a == nil {
			a = &acc{}
			found[slug] = a
		}
		a.Count += n
		// The newest record names the card: latest time, then highest ID,
		// as the detail page orders them.
		t, err := parseDBTime(newest)
		if err != nil {
			return nil, fmt.Errorf("models: overview %s: newest: %w", slug, err)
		}
		if t != nil && (a.Newest == nil || t.After(*a.Newest) || (t.Equal(*a.Newest) && id > a.newestID)) {
			a.Newest, a.newestID, a.NewestLabel = t, id, ""
			if label != nil {
				a.NewestLabel = *label
			}
		}
		if t, err = parseDBTime(old); err != nil {
			return nil, fmt.Errorf("models: overview %s: oldest: %w", slug, err)
		}
		if t != nil && (a.oldest == nil || t.Before(*a.oldest)) {
			a.oldest = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: overview: %w", err)
	}
	out := make([]CategorySummary, 0, len(cats))
	for _, c := range cats {
		var summary CategorySummary
		a := found[c.Slug]
		if a != nil {
			summary = a.CategorySummary
			if a.oldest != nil {
				if due, ok := r.due(c.Slug, *a.oldest); ok {
					summary.OldestDue = &due
				}
			}
		}
		_, counted := keptDue()[c.Table]
		if isKept(c.Slug) && !v.Paused && a != nil && ((counted && dueRows[c.Table] > 0) ||
			(!counted && a.oldest != nil && v.mayBeDue(c.Table, *a.oldest))) {
			// Records past retention that a hold keeps are not shown.
			//
			// A timing difference remains, and is documented
			// (docs/retention.md, legal holds): for a patron with no
			// hold this recount runs only until the next daily purge
			// deletes the due records; under a hold the patron may not
			// be told of, it runs at every overview, one or two more
			// round trips per such category, for as long as the hold
			// lasts. Running it for everyone would slow every overview
			// by a round trip per kept category; keeping the summaries
			// without the due records would make them disagree with
			// the rows staff and the purge read.
			live, oldest, err := s.recount(ctx, v, c, limits)
			if err != nil {
				return nil, err
			}
			summary = live
			if oldest != nil {
				if due, ok := r.due(c.Slug, *oldest); ok {
					summary.OldestDue = &due
				}
			}
		}
		summary.Paused = v.Paused && summary.OldestDue != nil
		summary.Category = c
		if c.Fields != nil {
			summary.Count = int64(len(c.Fields(p)))
		}
		out = append(out, summary)
	}
	return out, nil
}

// overviewSQL is the overview's query for each engine, the same text for
// every patron (only its arguments differ), so it is built once. Its
// arguments are the patron's ID and the two session cut-offs, numbered as
// the engine spells it: $1 on PostgreSQL, ?1 on SQLite.
var overviewSQL = map[Dialect]func() string{
	Postgres: sync.OnceValue(func() string { return buildOverviewSQL("$") }),
	SQLite:   sync.OnceValue(func() string { return buildOverviewSQL("?") }),
}

// buildOverviewSQL reads the patron's kept summaries, one row per category
// that holds anything, and adds the categories read live (see readLive) in
// the same six columns: the slug, the count, the newest row's ID (for
// ties), its time, the time retention counts from, and its label.
// Overview adds them up. A patron's few active sign-ins are listed; their
// notifications, which may number thousands, are summed up here, with the
// newest one's label read by the index on (patron_id, created_at, id).
func buildOverviewSQL(mark string) string {
	parts := []string{"SELECT slug, n, newest_id, newest_at, oldest_at, newest_label FROM patron_summaries WHERE patron_id = " + mark + "1"}
	for _, c := range categories() {
		if c.Table == "" || isKept(c.Slug) {
			continue
		}
		where, _ := c.scope(0, time.Time{}, SessionLimits{})
		where = numberPlaceholders(where, mark)
		oldest := c.TimeColumn
		if c.DueFrom != "" {
			oldest = c.DueFrom
		}
		if c.Table == "sessions" {
			parts = append(parts, fmt.Sprintf("SELECT '%s', 1, 0, %s, %s, %s FROM %s WHERE %s",
				c.Slug, c.TimeColumn, oldest, c.Label, c.Table, where))
			continue
		}
		if due, ok := liveDue()[c.Table]; ok {
			// Unless deletion is paused (4), leave out what the purge
			// would delete now (its rule, due before 5).
			where += fmt.Sprintf(" AND (%s4 OR %s.id NOT IN (SELECT id FROM %s WHERE patron_id = %s1 AND (%s)))",
				mark, c.Table, c.Table, mark, strings.ReplaceAll(due, "?", mark+"5"))
		}
		parts = append(parts, fmt.Sprintf("SELECT '%s', COUNT(*), 0, MAX(%s), MIN(%s), "+
			"(SELECT %s FROM %s WHERE %s ORDER BY %s DESC, id DESC LIMIT 1) FROM %s WHERE %s",
			c.Slug, c.TimeColumn, oldest, c.Label, c.Table, where, c.TimeColumn, c.Table, where))
	}
	// A kept category whose oldest date cannot tell whether anything in
	// it is due counts its due rows in the same round trip (6 is their
	// cutoff).
	for _, c := range categories() {
		if due, ok := keptDue()[c.Table]; ok {
			parts = append(parts, fmt.Sprintf("SELECT 'due:%s', COUNT(*), 0, NULL, NULL, NULL FROM %s WHERE patron_id = %s1 AND (%s)",
				c.Table, c.Table, mark, strings.ReplaceAll(due, "?", mark+"6")))
		}
	}
	return strings.Join(parts, " UNION ALL ")
}

// keptDue is the purge's rule for each kept table whose oldest date does
// not tell whether a record is due: a consent entry falls due when a
// later choice on the same subject has been on record for the audit
// period, so a patron's first choice years ago says nothing.
var keptDue = sync.OnceValue(func() map[string]string {
	return map[string]string{"consent_entries": oneCutoffRule("consent_entries", func(cut time.Time) time.Time {
		return cut.AddDate(DefaultRetention().AuditYears, 0, 0)
	})}
})

// liveDue is the purge's rule for each table the overview reads live
// whose records fall due by time.
var liveDue = sync.OnceValue(func() map[string]string {
	return map[string]string{"notifications": oneCutoffRule("notifications", func(cut time.Time) time.Time {
		return cut.AddDate(0, 0, DefaultRetention().NotificationDays)
	})}
})

// oneCutoffRule is the purge's rule for table as SQL whose every
// placeholder is the same cutoff, so the overview can number them all
// as one argument; at is the time at which the cutoff is cut. It panics
// at start if the rule ever takes another argument.
func oneCutoffRule(table string, at func(cut time.Time) time.Time) string {
	cut := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	rule, ok := purgeRuleFor(at(cut), DefaultRetention(), table)
	if !ok {
		panic("models: the purge has no rule for " + table)
	}
	for _, a := range rule.args {
		if a != any(cut) {
			panic("models: the overview reads " + table + " with one cutoff, but the purge's rule takes another")
		}
	}
	return rule.where
}

// numberPlaceholders numbers the "?" placeholders of sql in order, each
// after mark: "a = ? AND b > ?" becomes "a = $1 AND b > $2".
func numberPlaceholders(sql, mark string) string {
	var b strings.Builder
	n := 0
	for _, r := range sql {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteString(mark + strconv.Itoa(n))
	}
	return b.String()
}

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

// ContactFields lists the contact details held, leaving out empty ones,
// and the language the patron chose, in English (the contact category's
// In writes them in another language).
func ContactFields(p Patron) []Field { return contactFields(i18n.For(i18n.English), p) }

func contactFields(t *i18n.Tr, p Patron) []Field {
	return nonEmpty([]Field{
		{t.S("models.contact.field.name"), p.FullName()},
		{t.S("models.contact.field.email"), p.Email},
		{t.S("models.contact.field.phone"), p.Phone},
		{t.S("models.contact.field.address"), p.PostalAddress},
		{t.S("models.contact.field.language"), languageName(t, p.Language)},
	})
}

// languageName names the language a patron chose as its own speakers
// write it ("Español"), or says they chose none.
func languageName(t *i18n.Tr, lang string) string {
	for _, l := range i18n.Languages {
		if l.Tag == lang {
			return l.Name
		}
	}
	return t.S("models.contact.language_unset")
}

// CardFields lists the card and borrowing details held, in English (the
// card category's In writes them in another language).
func CardFields(p Patron) []Field { return cardFields(i18n.For(i18n.English), p) }

func cardFields(t *i18n.Tr, p Patron) []Field {
	status := p.BorrowingStatus
	switch status {
	case StatusActive, StatusBlocked, StatusExpired:
		status = t.S("models.card.status." + status)
	}
	return nonEmpty([]Field{
		{t.S("models.card.field.number"), p.CardNumber},
		{t.S("models.card.field.branch"), p.HomeBranch},
		{t.S("models.card.field.expires"), t.Date(p.CardExpiresOn, p.CardExpiresOn.Location())},
		{t.S("models.card.field.status"), status},
		{t.S("models.card.field.pin"), t.S("models.card.pin_set")},
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
