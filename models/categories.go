package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// Category is one kind of data the library holds about a patron, with the
// plain words the patron reads about it (from the models catalog,
// views/i18n/locales/models.*.toml, keyed by Key: see In) and everything
// the code does with it: one descriptor per category, each in its own file (category_*.go),
// registered in registry below. The overview, the detail pages, the
// export, the legal production, the print view, the retention schedule,
// the purge and the kept summaries all iterate over the registry; none
// names a category. A test fails if a table with a patron reference is
// missing here (TestEveryPatronTableIsInTheOverviewAndExport).
//
// Adding a category: a new category_*.go file with its descriptor, one
// line in registry, and a migration that creates its table (and, if its
// summary is kept, its triggers: see Kept).
type Category struct {
	Slug string // in URLs: /data/{slug}
	Key  string // in the export, and the catalog's messages: models.{key}.title
	// The words, filled by In from the catalog (in English by Categories,
	// CategoriesFor and CategoryBySlug).
	Title      string
	Purpose    string // why it is held, tied to the policy
	Retention  string // how long, in words
	SharedWith string // who else may ever see it
	// Table is where the records live; "" for the categories kept on the
	// patron's own row (contact details, card).
	Table string
	// TimeColumn orders the records, newest first.
	TimeColumn string
	// DueFrom is the column from which retention counts, for time-limited
	// categories; rows where it is NULL are not yet counting down.
	DueFrom string
	// Label is an SQL expression naming a record in the overview's
	// "newest" line.
	Label string
	// Where narrows the table to the rows the patron may see.
	Where string
	// CountColumn, when set, is the column of the patron's row that keeps
	// the count of the category's records (kept by triggers), read instead
	// of counting rows that may number tens of thousands.
	CountColumn string
	// Empty explains what would appear, and why, when there is nothing.
	Empty string
	// One and Many name a record: "item", "items".
	One, Many string
	// Parts are further tables whose rows belong to this category: the
	// detail page, the print view and the export show them beside its
	// records (the digest emails that carried the notifications).
	Parts []CategoryPart

	// Fields, for a category kept on the patron's own row (Table ""),
	// lists what is held; fields writes them in a language (In sets
	// Fields from it).
	Fields func(Patron) []Field
	fields func(*i18n.Tr, Patron) []Field
	// Columns label the detail page's table (In writes them from
	// columns, the catalog keys: models.{key}.column.{column}); Records
	// reads one page of it, newest first (web lays out each record by its
	// type).
	Columns []string
	columns []string
	Records func(ctx context.Context, s *Store, patronID int64, req PageRequest, limits SessionLimits) (RecordPage, error)
	// Deletable says the patron may delete single records from the
	// detail page (/data/{slug}/{id}/delete).
	Deletable bool
	// CountOnlyForStaff says staff assisting the patron read the count of
	// records only, never a record.
	CountOnlyForStaff bool
	// Controls names the extra controls the detail page shows.
	Controls Controls
	// ManageURL and ManageLabel link the detail page to where the patron
	// changes what is held (the label: models.{key}.manage).
	ManageURL, ManageLabel string
	// shared names the parties besides law enforcement the category is
	// shared with, as catalog keys (models.{key}.shared...); none for a
	// category only a court order can reach. Store.Categories adds the
	// consent history's receivers.
	shared []string
	// retention is the schedule the category was made with (CategoriesFor),
	// limits the sign-in lifetimes (Store.Categories): In writes the
	// retention and empty texts from them.
	retention Retention
	limits    SessionLimits
	// NewestLabel says how the overview reads the newest record's label.
	NewestLabel LabelKind

	// Schedule, for a time-limited category, is its line of the
	// retention schedule: when a record is due, and the rule in words.
	Schedule *ScheduleRule
	// Purge lists the deletions the category's retention makes at time n
	// (nil: the purge never deletes its records on its own).
	Purge func(n time.Time, r Retention, limits SessionLimits) []purgeRule
	// Kept, when set, is how the category is summed up in
	// patron_summaries by triggers (see summaries.go); nil when the
	// overview reads its table live.
	Kept *SummarySpec
	// write writes the category's records into an export or a legal
	// production (see recordScope).
	write func(x recordScope) error
	// Import, for a category the ILS import keeps in step, says how its
	// table is written (see package ilsimport).
	Import *ImportMapping
}

// ImportMapping is how the ILS import writes a category's table. The
// columns it writes are Model's, all but id, in the struct's order; each
// is read from the file's field of the same name, or the one From names,
// and patron_id from the patron the line references.
type ImportMapping struct {
	// Kind is the kind of file (carrel import <kind>); "" for a table the
	// import writes only on the way (the reading history, from returned
	// loans).
	Kind  string
	Model any               // a record of the table: Loan{}, ...
	From  map[string]string // column → file field, where the names differ
}

// Controls names extra controls a category's detail page shows.
type Controls int

const (
	NoControls      Controls = iota
	HistoryControls          // turn reading history on or off, delete it
	SignInControls           // sign out everywhere else
)

// LabelKind says how the overview reads a category's newest label.
type LabelKind int

const (
	LabelText           LabelKind = iota // as it is
	LabelConsentSubject                  // a consent subject (ConsentReadingHistory, ...)
	LabelAuditAction                     // an audit action
	LabelChannel                         // a sign-in channel
)

// RecordPage is one page of a category's records, each of the record type
// the category reads (Loan, Hold, ...), with the cursors to either side.
type RecordPage struct {
	Rows         []any
	Older, Newer *Cursor
}

// recordsOf adapts a typed page reader to Category.Records.
func recordsOf[T any](read func(s *Store, ctx context.Context, patronID int64, req PageRequest) (Page[T], error)) func(context.Context, *Store, int64, PageRequest, SessionLimits) (RecordPage, error) {
	return func(ctx context.Context, s *Store, patronID int64, req PageRequest, _ SessionLimits) (RecordPage, error) {
		pg, err := read(s, ctx, patronID, req)
		if err != nil {
			return RecordPage{}, err
		}
		rows := make([]any, len(pg.Rows))
		for i, r := range pg.Rows {
			rows[i] = r
		}
		return RecordPage{Rows: rows, Older: pg.Older, Newer: pg.Newer}, nil
	}
}

// CategoryPart is a table shown and exported with a category: in the
// export under Key inside the category's object, on the pages as a
// second table titled Title (models.{category key}.part.{key}.title and
// .empty in the catalog).
type CategoryPart struct {
	Table, Key, Title, Empty string
	// write writes the part's rows into an export or a legal production.
	write func(x recordScope) error
}

// registry is every category, in the order the overview shows them. It
// is filled in by init (the descriptors' functions refer back to it), and
// so are the lookups derived from it.
var registry []*Category

// bySlug finds a registered category by slug.
var bySlug map[string]*Category

func init() {
	registry = []*Category{
		&contactCategory, &cardCategory, &loansCategory, &readingHistoryCategory, &holdsCategory,
		&finesCategory, &illCategory, &referenceCategory, &computerSessionsCategory, &mailingListsCategory,
		&favoritesCategory, &notificationsCategory, &consentsCategory, &staffAccessCategory, &sessionsCategory,
	}
	bySlug = make(map[string]*Category, len(registry))
	for _, c := range registry {
		bySlug[c.Slug] = c
	}
	schedule = scheduleOf(registry)
	keptSummaries = keptOf(registry)
}

// CourtOrder is who outside the library may see every kind of data: the
// policy releases records to law enforcement only under a court order,
// after the library's legal review. Every category's SharedWith names it
// (models.court_order), after the parties a category is shared with in
// the ordinary course. This is its English text.
const CourtOrder = "Law enforcement, only with a court order the library has reviewed."

// SharedWithOthers says the category is shared, in the ordinary course,
// with someone besides law enforcement under a court order (whose
// SharedWith then says more than CourtOrder, in any language).
func (c Category) SharedWithOthers() bool { return len(c.shared) > 0 }

// Categories lists every kind of data held about a patron, in the order
// the overview shows them, with the default retention schedule's texts,
// in English (In writes them in another language).
func Categories() []Category { return CategoriesFor(DefaultRetention()) }

// CategoriesFor lists the categories with retention texts from r, in
// English.
func CategoriesFor(r Retention) []Category {
	cats := categories()
	en := i18n.For(i18n.English)
	for i := range cats {
		cats[i].retention = r
		cats[i] = cats[i].In(en)
	}
	return cats
}

func categories() []Category {
	out := make([]Category, len(registry))
	for i, c := range registry {
		out[i] = *c
	}
	return out
}

// CategoryBySlug finds a category by its URL name, with the default
// schedule's texts, in English.
func CategoryBySlug(slug string) (Category, bool) {
	c, ok := bySlug[slug]
	if !ok {
		return Category{}, false
	}
	out := *c
	out.retention = DefaultRetention()
	return out.In(i18n.For(i18n.English)), true
}

// parseDBTime reads a time that a query returned into an any: a
// time.Time from PostgreSQL, text from SQLite. NULL (nil) is no time, and
// no error; anything else that is not a time is an error, never a time
// silently left out.
func parseDBTime(v any) (*time.Time, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		u := t.UTC()
		return &u, nil
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, t); err == nil {
				u := p.UTC()
				return &u, nil
			}
		}
		return nil, fmt.Errorf("models: %q is not a time", t)
	case []byte:
		return parseDBTime(string(t))
	}
	return nil, fmt.Errorf("models: a %T is not a time", v)
}

func mustCategory(slug string) Category {
	c, ok := CategoryBySlug(slug)
	if !ok {
		panic(fmt.Sprintf("models: no category %q", slug))
	}
	return c
}

// In returns the category with every word a patron reads of it (title,
// purpose, retention, who may see it, the empty page's sentence, the
// record's name, the detail table's column labels, the manage link's
// label, the labels and values of Fields, its parts' titles) in t's
// language, from the models catalog. Callers that show a category to
// someone call it first: cat = cat.In(tr(c)).
func (c Category) In(t *i18n.Tr) Category {
	k := "models." + c.Key + "."
	r := c.retention
	if r == (Retention{}) {
		r = DefaultRetention()
	}
	c.Title = t.S(k + "title")
	c.Purpose = t.S(k + "purpose")
	switch {
	case c.Schedule != nil:
		c.Retention = c.Schedule.describe(t, r)
	case c.Controls == SignInControls && c.limits.Idle > 0 && c.limits.Absolute > 0:
		c.Retention = c.limits.describe(t)
	default:
		c.Retention = t.S(k + "retention")
	}
	parties := make([]string, 0, len(c.shared)+1)
	for _, s := range c.shared {
		parties = append(parties, t.S(k+s))
	}
	c.SharedWith = strings.Join(append(parties, t.S("models.court_order")), " ")
	c.Empty = ""
	if c.Schedule != nil && c.Schedule.empty != nil {
		c.Empty = c.Schedule.empty(t, r)
	} else if i18n.Has(k + "empty") {
		c.Empty = t.S(k + "empty")
	}
	c.One, c.Many = t.S(k+"one"), t.S(k+"many")
	if c.columns != nil {
		c.Columns = make([]string, len(c.columns))
		for i, col := range c.columns {
			c.Columns[i] = t.S(k + "column." + col)
		}
	}
	if c.ManageURL != "" {
		c.ManageLabel = t.S(k + "manage")
	}
	if c.Parts != nil {
		parts := make([]CategoryPart, len(c.Parts))
		for i, p := range c.Parts {
			p.Title, p.Empty = t.S(k+"part."+p.Key+".title"), t.S(k+"part."+p.Key+".empty")
			parts[i] = p
		}
		c.Parts = parts
	}
	if c.fields != nil {
		fields := c.fields
		c.Fields = func(p Patron) []Field { return fields(t, p) }
	}
	return c
}

// Counted says how many of the category's records there are, the noun
// agreeing with the count, in t's language: "1 hold", "5,000 holds",
// "5.000 reservas".
func (c Category) Counted(t *i18n.Tr, n int64) string {
	return t.N("models."+c.Key+".count", n)
}

// NumericColumn says the detail table's column i holds numbers (an
// amount, a count), to be aligned as numbers are.
func (c Category) NumericColumn(i int) bool {
	return i >= 0 && i < len(c.columns) && (c.columns[i] == "amount" || c.columns[i] == "renewals")
}
