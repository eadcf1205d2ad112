package views

import (
	"context"
	"strings"

	"github.com/carrel-library/carrel/views/i18n"
)

// CategoryCard is one card of the overview.
type CategoryCard struct {
	Slug       string
	Title      string
	Held       string // "3 items; the newest: Kindred, borrowed March 2, 2026"
	Count      int64
	Purpose    string
	Retention  string
	NextDelete string // "The oldest will be deleted on April 1, 2027." or ""
	SharedWith string
	Shared     bool // a party besides law enforcement with a court order may see it
}

// Overview is the "What we hold about you" page.
type Overview struct {
	FullName   string
	CardEnding string
	Cards      []CategoryCard
	NotKept    []string
	// AssistNotices lists what staff did while assisting, since the
	// patron last dismissed the notice.
	AssistNotices []string
	// LegalNotices tell what legal process did to the patron's records
	// since their last visit, productions first; empty under a
	// nondisclosure order in force.
	LegalNotices []LegalNotice
	// SeenUntil is when the page was rendered (microseconds since 1970):
	// "I have read this" dismisses the notices up to then.
	SeenUntil string
	// Assisted hides what staff may not use (export, print).
	Assisted bool
	// Choices opens the page: the patron's privacy choices, each with its
	// control or a link to it.
	Choices Choices
}

// Choices are the patron's privacy choices as the overview opens with
// them.
type Choices struct {
	HistoryOn    bool
	HistoryCount int64
	// FavoritesLinked says favorites are linked to the record; Favorites
	// counts them, and Notices says how new arrivals are told: "daily",
	// "weekly" or "none".
	FavoritesLinked bool
	Favorites       int64
	Notices         string
	// Lists counts the mailing lists the patron is subscribed to.
	Lists int64
	// StaffAccess counts the staff accesses since LastVisit (a date, as
	// the patron reads it), or in all when LastVisit is "" (the first
	// visit, or a sign-in from before the portal kept it).
	StaffAccess int64
	LastVisit   string
}

// Table is a readable table of records.
type Table struct {
	Caption string
	Columns []Column
	Rows    []Row
	// TestID names the table for tests; "records" when empty.
	TestID string
	// Empty explains an empty part table (see Detail.Parts).
	Empty string
}

func (t Table) testID() string {
	if t.TestID == "" {
		return "records"
	}
	return t.TestID
}

// label is the header of column i, which a narrow screen shows beside the
// cell (its data-label); "" past the last column.
func (t Table) label(i int) string {
	if i < len(t.Columns) {
		return t.Columns[i].Label
	}
	return ""
}

// Column is a table column's header.
type Column struct {
	Label   string
	Numeric bool
}

// Row is one record. Action, when set, is a button that posts to a URL.
type Row struct {
	Cells  []string
	Action *RowAction
}

// RowAction is a per-row button, e.g. "Delete" on a history entry.
type RowAction struct {
	Label string // visible
	Name  string // for screen readers: "Delete Kindred from your history"
	URL   string
}

// Field is a labelled value.
type Field struct {
	Label, Value string
}

// Detail is one category's page.
type Detail struct {
	Slug       string
	Title      string
	Purpose    string
	Retention  string
	SharedWith string
	Fields     []Field // for contact details and card
	Table      *Table
	Total      int64
	Empty      string
	NewerURL   string
	OlderURL   string
	NewestURL  string
	// PageOf says where the page is among all of them: "Page 2 of 100"
	// ("" when there is one page).
	PageOf string
	// History is set on the reading-history page.
	History *HistoryControls
	// Sessions is set on the sign-ins page.
	Sessions *SessionControls
	// ManageURL leads to the page where the patron changes this choice.
	ManageURL, ManageLabel string
	// Paused says, under How long, that a court order pauses deletion of
	// these records; "" when it does not.
	Paused string
	// Parts are further tables of the category, each under its caption
	// (the digest emails on the notifications page).
	Parts []Table
}

// HistoryControls are the reading-history choice and its actions.
type HistoryControls struct {
	Enabled bool
	Count   int64
	Staff   bool // staff assisting see counts only
	// Keep is how many months of history the patron keeps (0: all of
	// it); KeepChoices are the numbers of months they may choose.
	Keep        int
	KeepChoices []int
	// Search is the search form, as sent; nil when there is nothing to
	// search (and for staff, who see no titles).
	Search *HistorySearch
}

// HistorySearch is the reading-history page's search: the words and
// dates as typed, what is wrong with them by field (and as the error
// summary lists them), and whether it narrows the history at all, with
// what it found ("Found 3 items.").
type HistorySearch struct {
	Q, From, To string
	Errors      map[string]string
	Problems    []FormProblem
	Active      bool
	Found       string
}

// KeepLabel names a choice of months to keep: "The last 3 months", or
// for 0 "All of it, while reading history is on".
func KeepLabel(t *i18n.Tr, months int) string {
	if months == 0 {
		return t.S("data.keep.all")
	}
	return t.N("data.keep.months", int64(months))
}

// SessionControls offer to end the patron's other sign-ins.
type SessionControls struct {
	Others int
}

// Confirm asks before something is erased.
type Confirm struct {
	Title   string
	Message string
	Warning string
	// DownloadURL and DownloadLabel offer to take a copy before it is
	// erased; "" when there is nothing to take.
	DownloadURL, DownloadLabel string
	Action                     string // URL to post to
	Button                     string
	CancelURL                  string
}

// PrintSection is one category on the printable page.
type PrintSection struct {
	Title     string
	Purpose   string
	Retention string
	Fields    []Field
	Table     *Table
	Empty     string
	Parts     []Table
}

// PrintView is the record on paper: the sections chosen, and the titles
// of those left out.
type PrintView struct {
	FullName    string
	GeneratedAt string
	Sections    []PrintSection
	LeftOut     []string
	// Choices are every section, ticked when chosen; ChooseURL is where
	// the patron's form to choose them goes ("" at the desk, where staff
	// chose them on the patron's page).
	Choices   []PrintChoice
	ChooseURL string
	// Desk says staff printed it at the patron's request.
	Desk bool
}

// PrintedLine says when and how the record was printed.
func (v PrintView) PrintedLine(t *i18n.Tr) string {
	if v.Desk {
		return t.S("data.print.printed_desk", "When", v.GeneratedAt)
	}
	return t.S("data.print.printed", "When", v.GeneratedAt)
}

// PrintChoice is one section the print page may print.
type PrintChoice struct {
	Slug, Title string
	Checked     bool
}

// LegalNotice is one legal request as the patron is told of it.
type LegalNotice struct {
	Title string   // "Your records were produced for a court order"
	Lines []string // the court, then what happened, oldest first
}

func (c Choices) historyKept(t *i18n.Tr) string {
	if c.HistoryCount == 0 {
		return t.S("data.choices.history_none")
	}
	return t.N("data.choices.history_kept", c.HistoryCount)
}

func (c Choices) favoritesHeld(t *i18n.Tr) string {
	if c.Favorites == 0 {
		return t.S("data.choices.favorites_none")
	}
	return t.N("data.choices.favorites_follow", c.Favorites)
}

func (c Choices) noticesLine(t *i18n.Tr) string {
	switch c.Notices {
	case "daily":
		return t.S("data.choices.notices_daily")
	case "weekly":
		return t.S("data.choices.notices_weekly")
	}
	return t.S("data.choices.notices_none")
}

func (c Choices) staffAccessLine(t *i18n.Tr) string {
	if c.LastVisit == "" {
		if c.StaffAccess == 0 {
			return t.S("data.choices.staff_none")
		}
		return t.N("data.choices.staff_all", c.StaffAccess)
	}
	if c.StaffAccess == 0 {
		return t.S("data.choices.staff_none_since", "Date", c.LastVisit)
	}
	return t.N("data.choices.staff_since", c.StaffAccess, "Date", c.LastVisit)
}

// hello greets the patron by name, with one full stop after it however
// the name ends ("Hello, Octavia E.").
func hello(ctx context.Context, name string) string {
	if strings.HasSuffix(name, ".") || strings.HasSuffix(name, "?") || strings.HasSuffix(name, "!") || strings.HasSuffix(name, "…") {
		return tr(ctx, "data.overview.hello_stopped", "Name", name)
	}
	return tr(ctx, "data.overview.hello", "Name", name)
}

// quotedList names categories in a sentence, each in quotation marks so
// that a title holding "and" still reads as one: “Holds” and “Fines and
// fees”.
func quotedList(t *i18n.Tr, titles []string) string {
	q := make([]string, len(titles))
	for i, title := range titles {
		q[i] = t.S("data.print.quoted", "Title", title)
	}
	return t.List(q)
}

// sharedInView says the card shows who else may see it outright: a party
// besides law enforcement may, and something is held.
func (c CategoryCard) sharedInView() bool { return c.Shared && c.Count > 0 }
