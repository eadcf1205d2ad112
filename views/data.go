package views

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
}

// SessionControls offer to end the patron's other sign-ins.
type SessionControls struct {
	Others int
}

// Confirm asks before something is erased.
type Confirm struct {
	Title     string
	Message   string
	Warning   string
	Action    string // URL to post to
	Button    string
	CancelURL string
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

// PrintView is the whole record on paper.
type PrintView struct {
	FullName    string
	GeneratedAt string
	Sections    []PrintSection
}

// LegalNotice is one legal request as the patron is told of it.
type LegalNotice struct {
	Title string   // "Your records were produced for a court order"
	Lines []string // the court, then what happened, oldest first
}
