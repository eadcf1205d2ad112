package models

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"net/mail"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// The ILS import keeps the portal's copy of the library's records in step
// with the integrated library system: one file per kind of record, CSV
// with a header row or JSON Lines, keyed on the ILS's own identifiers
// (ils_id). Importing the same file twice changes nothing. docs/import.md
// describes the columns and how to produce the files from Koha and
// Evergreen.
//
// Rows are written in batches, each in its own transaction. A batch of
// records new to the portal is a plain insert: on PostgreSQL a COPY. A
// batch with known records is one upsert: on PostgreSQL an INSERT ...
// SELECT FROM unnest(arrays) ... ON CONFLICT (ils_id) DO UPDATE ... WHERE
// the row differs, whose text is the same for every batch and so is
// prepared once; on SQLite the same over a VALUES list. A batch that
// breaks a constraint is retried row by row, so that one bad row is
// reported and the others still go in. The file is read and checked in a
// goroutine of its own, one batch ahead of the writer.

// ImportKind names one kind of record the ILS import keeps in step.
type ImportKind string

// The kinds of record `carrel import` takes, as the command names them.
const (
	ImportPatrons          ImportKind = "patrons"
	ImportLoans            ImportKind = "loans"
	ImportHolds            ImportKind = "holds"
	ImportFines            ImportKind = "fines"
	ImportILL              ImportKind = "ill"
	ImportReference        ImportKind = "reference"
	ImportComputerSessions ImportKind = "computer-sessions"
)

// ImportKinds lists every kind, in the order the files are best imported
// (patrons first: the other kinds name their patron).
func ImportKinds() []ImportKind {
	return []ImportKind{ImportPatrons, ImportLoans, ImportHolds, ImportFines, ImportILL, ImportReference, ImportComputerSessions}
}

// ImportFormat is the syntax of an import file.
type ImportFormat string

// The two formats an import file may have.
const (
	FormatCSV   ImportFormat = "csv"   // a header row, then one record per row (RFC 4180)
	FormatJSONL ImportFormat = "jsonl" // one JSON object per line
)

// AuditILSImportDelete records the deletion of records that a full ILS
// snapshot no longer lists. Its detail is a count, never a list.
const AuditILSImportDelete = "ils_import.delete"

// UnusablePINHash is the pin_hash of a patron imported without a PIN. It
// is not in the hash format, so no PIN matches it: the patron cannot sign
// in until the ILS sends a PIN.
const UnusablePINHash = "!no-pin"

// DefaultImportMaxDelete is the largest share of a kind's records a full
// snapshot may delete unless told otherwise: a truncated export must not
// erase what only the portal keeps (reading history goes with a patron).
const DefaultImportMaxDelete = 0.10

// DefaultImportBatch is how many rows go in one statement unless told
// otherwise. Every statement also updates the kept summary of each patron
// it names (summaries.go), at a cost per statement besides the cost per
// patron: a loans file went in at 49,000 rows/s in batches of 2,000, at
// 59,000 in batches of 10,000, and no faster in batches of 50,000.
const DefaultImportBatch = 10000

// ImportOptions says what to import and how.
type ImportOptions struct {
	Kind   ImportKind
	Format ImportFormat
	// Full marks the file as a complete snapshot of its kind: records of
	// that kind with an ILS id that the file does not list are deleted,
	// unless a legal hold keeps them. Refused when any line was bad.
	Full bool
	// MaxDelete is the largest share (0 to 1) of the kind's records a full
	// snapshot may delete; 0 means DefaultImportMaxDelete.
	MaxDelete float64
	// Strict makes the whole file one transaction that changes nothing
	// when any line is bad.
	Strict bool
	// DryRun checks every line as an import would, patrons included, and
	// writes nothing. What only the database can tell (a card number
	// another patron holds) is not checked.
	DryRun bool
	// BatchSize is how many rows go in one statement; 0 means 10,000.
	BatchSize int
	// Location is the library's time zone: a date or a time of day without
	// an offset is read in it. nil means UTC.
	Location *time.Location
	// BadLine, when set, is told of each bad line as it is found.
	BadLine func(BadLine)
	// Progress, when set, is told after each batch how far the import is.
	Progress func(ImportProgress)
}

// ImportProgress is how far an import has read.
type ImportProgress struct {
	Rows  int64 // lines read
	Bytes int64 // bytes read from the file
}

// BadLine is one line that could not be imported, and why. It carries no
// value from the line beyond the patron's card number.
type BadLine struct {
	Line   int64
	Card   string // the patron's card number, when known
	Field  string // the column at fault, if one is
	Reason string
}

// String is the line as reports print it:
// "line 14: card 21000000000009: due_at: not a date (use YYYY-MM-DD or RFC 3339)".
func (b BadLine) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "line %d: ", b.Line)
	if b.Card != "" {
		sb.WriteString("card " + b.Card + ": ")
	}
	if b.Field != "" {
		sb.WriteString(b.Field + ": ")
	}
	sb.WriteString(b.Reason)
	return sb.String()
}

// ImportResult is what an import did.
type ImportResult struct {
	Kind      ImportKind
	Read      int64 // data lines read, good and bad
	Inserted  int64
	Updated   int64
	Unchanged int64
	Bad       int64
	// ToHistory counts returned loans kept as reading history, because
	// their patron turned it on; Returned counts returned loans deleted
	// and not kept.
	ToHistory, Returned int64
	// Expired counts rows already past their retention, not stored.
	Expired int64
	// Good counts the lines a dry run found good (nothing was written).
	Good   int64
	DryRun bool
	// Deleted counts records a full snapshot no longer lists, deleted;
	// Held those a legal hold kept instead.
	Deleted, Held int64
	// FullRefused says why a full snapshot deleted nothing, if it did not.
	FullRefused string
	// RolledBack is true when a strict import changed nothing because of
	// bad lines.
	RolledBack bool
	// Notes are remarks on the file as a whole (columns left out or
	// ignored).
	Notes   []string
	Elapsed time.Duration
}

// RowsPerSecond is the import's speed over lines read.
func (r ImportResult) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Read) / r.Elapsed.Seconds()
}

// Summary is the one line the command prints when it ends:
// "loans: 1000 rows read, 998 inserted, 0 updated, 0 unchanged; 2 bad lines; 55,000 rows/s in 0.02s".
func (r ImportResult) Summary() string {
	if r.DryRun {
		s := fmt.Sprintf("%s: dry run, nothing written: %d rows read, %d good, %d past retention, %d bad",
			r.Kind, r.Read, r.Good, r.Expired, r.Bad)
		return s + fmt.Sprintf("; %s rows/s in %.1fs", thousands(int64(math.Round(r.RowsPerSecond()))), r.Elapsed.Seconds())
	}
	parts := []string{
		fmt.Sprintf("%d rows read", r.Read),
		fmt.Sprintf("%d inserted", r.Inserted),
		fmt.Sprintf("%d updated", r.Updated),
		fmt.Sprintf("%d unchanged", r.Unchanged),
	}
	if r.Kind == ImportLoans {
		parts = append(parts, fmt.Sprintf("%d returned to reading history", r.ToHistory),
			fmt.Sprintf("%d returned and deleted", r.Returned))
	}
	if importSpecs[r.Kind] != nil && importSpecs[r.Kind].expired != nil {
		parts = append(parts, fmt.Sprintf("%d past retention, not kept", r.Expired))
	}
	if r.Deleted > 0 || r.Held > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted as missing from the full snapshot", r.Deleted))
	}
	if r.Held > 0 {
		parts = append(parts, fmt.Sprintf("%d kept by a legal hold", r.Held))
	}
	s := string(r.Kind) + ": " + strings.Join(parts, ", ")
	switch r.Bad {
	case 0:
	case 1:
		s += "; 1 bad line"
	default:
		s += fmt.Sprintf("; %d bad lines", r.Bad)
	}
	if r.RolledBack {
		s += "; strict: rolled back, nothing changed"
	}
	return s + fmt.Sprintf("; %s rows/s in %.1fs", thousands(int64(math.Round(r.RowsPerSecond()))), r.Elapsed.Seconds())
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ErrImportBusy says another import is running against the same
// PostgreSQL database. Imports take turns: a full snapshot imported
// alongside an older one could delete what the newer one wrote.
var ErrImportBusy = errors.New("another import is running")

// importLock is the advisory lock an import holds on PostgreSQL.
const importLock = 727476

// ImportFileError says the file as a whole cannot be imported (no header,
// a required column missing); nothing was changed.
type ImportFileError struct{ Msg string }

func (e *ImportFileError) Error() string { return e.Msg }

// ---------------------------------------------------------------------
// What each kind of file holds.

type fieldType int

const (
	fText     fieldType = iota // one line of text
	fLongText                  // text that may span lines
	fCard                      // a card number: letters and digits
	fEmail                     // an email address
	fPIN                       // a PIN, hashed and never stored or shown
	fStatus                    // one of a fixed set of words
	fTime                      // a moment; a date alone is the start of that day
	fDeadline                  // a moment; a date alone is the end of that day
	fDate                      // a calendar date
	fCount                     // a whole number from 0 to 999
	fMoney                     // an amount of money, at most two decimals
)

// importField is one column of an import file.
type importField struct {
	name     string
	typ      fieldType
	required bool
	max      int      // longest text, in characters
	values   []string // the words a status may be
}

// dbColumn is one column an import writes. pg is its PostgreSQL array
// element type; set, when not empty, is the expression that an update
// assigns (and compares), in place of the incoming value.
type dbColumn struct {
	name, pg   string
	insertOnly bool // written when the row is new, never updated
	noCompare  bool // updated along with a change, but not a change itself
	set        string
}

// tableSpec is a table an import writes, keyed on ils_id.
type tableSpec struct {
	name string
	cols []dbColumn
}

func (t *tableSpec) col(name string) int {
	for i, c := range t.cols {
		if c.name == name {
			return i
		}
	}
	panic("models: no column " + name + " in " + t.name)
}

// importSpec describes one kind of import file.
type importSpec struct {
	kind   ImportKind
	table  *tableSpec
	fields []importField
	idx    map[string]int
	// check applies the rules between fields.
	check func(r *parsedRow) *BadLine
	// expired reports whether a row is already past its retention.
	expired func(r *parsedRow, ret Retention, now time.Time) bool
	// build turns a good row into the table's column values.
	build func(r *parsedRow, patronID int64) []any
}

var (
	holdStatuses = []string{HoldWaiting, HoldInTransit, HoldReady, HoldFilled, HoldCancelled}
	fineStatuses = []string{FineOutstanding, FinePaid, FineWaived}
	illStatuses  = []string{ILLRequested, ILLShipped, ILLReceived, ILLReturned, ILLCancelled}
	cardStatuses = []string{StatusActive, StatusBlocked, StatusExpired}
)

// privacyColumns are the patron's own choices: an ILS file never sets them.
var privacyColumns = []string{"reading_history_enabled", "favorites_linked", "favorites_notice"}

func patronRef() importField {
	return importField{name: "patron_ils_id", typ: fText, required: true, max: 64}
}
func ilsID() importField { return importField{name: "ils_id", typ: fText, required: true, max: 64} }

var (
	patronsTable = &tableSpec{name: "patrons", cols: []dbColumn{
		{name: "ils_id", pg: "text"},
		{name: "card_number", pg: "text"},
		// "" (keep) or UnusablePINHash for a new patron without a PIN both
		// leave a stored hash alone.
		{name: "pin_hash", pg: "text", set: "CASE WHEN EXCLUDED.pin_hash IN ('', '" + UnusablePINHash + "') THEN patrons.pin_hash ELSE EXCLUDED.pin_hash END"},
		{name: "given_name", pg: "text"},
		{name: "family_name", pg: "text"},
		{name: "email", pg: "text"},
		{name: "phone", pg: "text"},
		{name: "postal_address", pg: "text"},
		{name: "home_branch", pg: "text"},
		{name: "card_expires_on", pg: "timestamptz"},
		{name: "borrowing_status", pg: "text"},
		{name: "reading_history_enabled", pg: "bool", insertOnly: true},
		{name: "favorites_linked", pg: "bool", insertOnly: true},
		{name: "favorites_notice", pg: "text", insertOnly: true},
		{name: "created_at", pg: "timestamptz", insertOnly: true},
		{name: "updated_at", pg: "timestamptz", noCompare: true},
	}}
	loansTable = &tableSpec{name: "loans", cols: []dbColumn{
		{name: "patron_id", pg: "int8"}, {name: "ils_id", pg: "text"},
		{name: "title", pg: "text"}, {name: "author", pg: "text"}, {name: "format", pg: "text"},
		{name: "barcode", pg: "text"}, {name: "checked_out_at", pg: "timestamptz"},
		{name: "due_at", pg: "timestamptz"}, {name: "renewals", pg: "int8"}, {name: "branch", pg: "text"},
	}}
	historyTable = &tableSpec{name: "reading_history", cols: []dbColumn{
		{name: "patron_id", pg: "int8"}, {name: "ils_id", pg: "text"},
		{name: "title", pg: "text"}, {name: "author", pg: "text"}, {name: "format", pg: "text"},
		{name: "checked_out_at", pg: "timestamptz"}, {name: "returned_at", pg: "timestamptz"},
	}}
	holdsTable = &tableSpec{name: "holds", cols: []dbColumn{
		{name: "patron_id", pg: "int8"}, {name: "ils_id", pg: "text"},
		{name: "title", pg: "text"}, {name: "author", pg: "text"}, {name: "pickup_branch", pg: "text"},
		{name: "status", pg: "text"}, {name: "placed_at", pg: "timestamptz"},
		{name: "ready_until", pg: "timestamptz"}, {name: "closed_at", pg: "timestamptz"},
	}}
	finesTable = &tableSpec{name: "fines", cols: []dbColumn{
		{name: "patron_id", pg: "int8"}, {name: "ils_id", pg: "text"},
		{name: "description", pg: "text"}, {name: "title", pg: "text"}, {name: "amount_cents", pg: "int8"},
		{name: "status", pg: "text"}, {name: "assessed_at", pg: "timestamptz"}, {name: "settled_at", pg: "timestamptz"},
	}}
	illTable = &tableSpec{name: "ill_requests", cols: []dbColumn{
		{name: "patron_id", pg: "int8"}, {name: "ils_id", pg: "text"},
		{name: "title", pg: "text"}, {name: "author", pg: "text"}, {name: "lending_library", pg: "text"},
		{name: "status", pg: "text"}, {name: "requested_at", pg: "timestamptz"}, {name: "completed_at", pg: "timestamptz"},
	}}
	referenceTable = &tableSpec{name: "reference_questions", cols: []dbColumn{
		{name: "patron_id", pg: "int8"}, {name: "ils_id", pg: "text"},
		{name: "subject", pg: "text"}, {name: "question", pg: "text"}, {name: "answer", pg: "text"},
		{name: "asked_at", pg: "timestamptz"}, {name: "answered_at", pg: "timestamptz"},
	}}
	computerTable = &tableSpec{name: "computer_sessions", cols: []dbColumn{
		{name: "patron_id", pg: "int8"}, {name: "ils_id", pg: "text"},
		{name: "branch", pg: "text"}, {name: "station", pg: "text"},
		{name: "started_at", pg: "timestamptz"}, {name: "ended_at", pg: "timestamptz"},
	}}
)

// closedWhen checks that a record's closing time is given exactly when
// its status says it is closed: retention counts from that time, so a
// closed record without one would never be deleted.
func closedWhen(r *parsedRow, statusField, timeField string, closed ...string) *BadLine {
	isClosed := false
	for _, c := range closed {
		if r.str(statusField) == c {
			isClosed = true
		}
	}
	switch has := r.has(timeField); {
	case isClosed && !has:
		return &BadLine{Field: timeField, Reason: "required when " + statusField + " is " + strings.Join(closed, " or ")}
	case !isClosed && has:
		return &BadLine{Field: timeField, Reason: "must be empty while " + statusField + " is " + r.str(statusField)}
	}
	return nil
}

var importSpecs = map[ImportKind]*importSpec{
	ImportPatrons: indexed(&importSpec{
		kind: ImportPatrons, table: patronsTable,
		fields: []importField{
			{name: "card_number", typ: fCard, required: true, max: 32},
			ilsID(),
			{name: "given_name", typ: fText, max: 200},
			{name: "family_name", typ: fText, required: true, max: 200},
			{name: "email", typ: fEmail, max: 254},
			{name: "phone", typ: fText, max: 40},
			{name: "postal_address", typ: fLongText, max: 500},
			{name: "home_branch", typ: fText, max: 100},
			{name: "card_expires_on", typ: fDate, required: true},
			{name: "borrowing_status", typ: fStatus, required: true, values: cardStatuses},
			{name: "pin", typ: fPIN, max: 32},
		},
		// build leaves pin_hash, created_at and updated_at to the batch,
		// which knows which patrons exist and what time it is.
		build: func(r *parsedRow, _ int64) []any {
			return []any{r.str("ils_id"), r.str("card_number"), "", r.str("given_name"), r.str("family_name"),
				r.str("email"), r.str("phone"), r.str("postal_address"), r.str("home_branch"),
				r.time("card_expires_on"), r.str("borrowing_status"), false, false, NoticeNone, nil, nil}
		},
	}),
	ImportLoans: indexed(&importSpec{
		kind: ImportLoans, table: loansTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "title", typ: fText, required: true, max: 1000},
			{name: "author", typ: fText, max: 500},
			{name: "format", typ: fText, max: 100},
			{name: "barcode", typ: fText, max: 64},
			{name: "checked_out_at", typ: fTime, required: true},
			{name: "due_at", typ: fDeadline, required: true},
			{name: "renewals", typ: fCount},
			{name: "branch", typ: fText, max: 100},
			{name: "returned_at", typ: fTime},
		},
		build: func(r *parsedRow, patronID int64) []any {
			return []any{patronID, r.str("ils_id"), r.str("title"), r.str("author"), r.str("format"),
				r.str("barcode"), r.time("checked_out_at"), r.time("due_at"), r.num("renewals"), r.str("branch")}
		},
	}),
	ImportHolds: indexed(&importSpec{
		kind: ImportHolds, table: holdsTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "title", typ: fText, required: true, max: 1000},
			{name: "author", typ: fText, max: 500},
			{name: "pickup_branch", typ: fText, max: 100},
			{name: "status", typ: fStatus, required: true, values: holdStatuses},
			{name: "placed_at", typ: fTime, required: true},
			{name: "ready_until", typ: fDeadline},
			{name: "closed_at", typ: fTime},
		},
		check: func(r *parsedRow) *BadLine { return closedWhen(r, "status", "closed_at", HoldFilled, HoldCancelled) },
		expired: func(r *parsedRow, ret Retention, now time.Time) bool {
			return r.has("closed_at") && r.time("closed_at").Before(now.AddDate(0, 0, -ret.HoldDays))
		},
		build: func(r *parsedRow, patronID int64) []any {
			return []any{patronID, r.str("ils_id"), r.str("title"), r.str("author"), r.str("pickup_branch"),
				r.str("status"), r.time("placed_at"), r.optTime("ready_until"), r.optTime("closed_at")}
		},
	}),
	ImportFines: indexed(&importSpec{
		kind: ImportFines, table: finesTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "description", typ: fText, required: true, max: 500},
			{name: "title", typ: fText, max: 1000},
			{name: "amount", typ: fMoney, required: true},
			{name: "status", typ: fStatus, required: true, values: fineStatuses},
			{name: "assessed_at", typ: fTime, required: true},
			{name: "settled_at", typ: fTime},
		},
		check: func(r *parsedRow) *BadLine { return closedWhen(r, "status", "settled_at", FinePaid, FineWaived) },
		expired: func(r *parsedRow, ret Retention, now time.Time) bool {
			return r.has("settled_at") && r.time("settled_at").Before(now.AddDate(0, 0, -ret.FineDays))
		},
		build: func(r *parsedRow, patronID int64) []any {
			return []any{patronID, r.str("ils_id"), r.str("description"), r.str("title"), r.num("amount"),
				r.str("status"), r.time("assessed_at"), r.optTime("settled_at")}
		},
	}),
	ImportILL: indexed(&importSpec{
		kind: ImportILL, table: illTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "title", typ: fText, required: true, max: 1000},
			{name: "author", typ: fText, max: 500},
			{name: "lending_library", typ: fText, max: 200},
			{name: "status", typ: fStatus, required: true, values: illStatuses},
			{name: "requested_at", typ: fTime, required: true},
			{name: "completed_at", typ: fTime},
		},
		check: func(r *parsedRow) *BadLine { return closedWhen(r, "status", "completed_at", ILLReturned, ILLCancelled) },
		expired: func(r *parsedRow, ret Retention, now time.Time) bool {
			return r.has("completed_at") && r.time("completed_at").Before(now.AddDate(0, 0, -ret.ILLDays))
		},
		build: func(r *parsedRow, patronID int64) []any {
			return []any{patronID, r.str("ils_id"), r.str("title"), r.str("author"), r.str("lending_library"),
				r.str("status"), r.time("requested_at"), r.optTime("completed_at")}
		},
	}),
	ImportReference: indexed(&importSpec{
		kind: ImportReference, table: referenceTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "subject", typ: fText, max: 500},
			{name: "question", typ: fLongText, required: true, max: 20000},
			{name: "answer", typ: fLongText, max: 20000},
			{name: "asked_at", typ: fTime, required: true},
			{name: "answered_at", typ: fTime},
		},
		expired: func(r *parsedRow, ret Retention, now time.Time) bool {
			return r.time("asked_at").Before(now.AddDate(0, -ret.ReferenceMonths, 0))
		},
		build: func(r *parsedRow, patronID int64) []any {
			return []any{patronID, r.str("ils_id"), r.str("subject"), r.str("question"), r.str("answer"),
				r.time("asked_at"), r.optTime("answered_at")}
		},
	}),
	ImportComputerSessions: indexed(&importSpec{
		kind: ImportComputerSessions, table: computerTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "branch", typ: fText, max: 100},
			{name: "station", typ: fText, max: 100},
			{name: "started_at", typ: fTime, required: true},
			{name: "ended_at", typ: fTime},
		},
		expired: func(r *parsedRow, ret Retention, now time.Time) bool {
			return r.time("started_at").Before(now.Add(-time.Duration(ret.ComputerHours) * time.Hour))
		},
		build: func(r *parsedRow, patronID int64) []any {
			return []any{patronID, r.str("ils_id"), r.str("branch"), r.str("station"),
				r.time("started_at"), r.optTime("ended_at")}
		},
	}),
}

// indexed fills in a spec's index of its fields by name.
func indexed(s *importSpec) *importSpec {
	s.idx = map[string]int{}
	for i, f := range s.fields {
		s.idx[f.name] = i
	}
	return s
}

// ImportColumn describes one column of an import file, for help texts.
type ImportColumn struct {
	Name     string
	Required bool
}

// ImportColumns lists the columns of a kind's file, in the order the
// documentation gives them.
func ImportColumns(kind ImportKind) ([]ImportColumn, bool) {
	s, ok := importSpecs[kind]
	if !ok {
		return nil, false
	}
	out := make([]ImportColumn, len(s.fields))
	for i, f := range s.fields {
		out[i] = ImportColumn{f.name, f.required}
	}
	return out, true
}

// ---------------------------------------------------------------------
// Parsing one line.

// fieldValue is one parsed column of a line.
type fieldValue struct {
	s   string
	t   time.Time
	n   int64
	set bool
}

type parsedRow struct {
	spec *importSpec
	vals []fieldValue
}

func (r *parsedRow) v(name string) fieldValue { return r.vals[r.spec.idx[name]] }
func (r *parsedRow) has(name string) bool     { return r.v(name).set }
func (r *parsedRow) str(name string) string   { return r.v(name).s }
func (r *parsedRow) num(name string) int64    { return r.v(name).n }
func (r *parsedRow) time(name string) time.Time {
	return r.v(name).t
}

// optTime is a nullable time column's value: nil when left empty.
func (r *parsedRow) optTime(name string) any {
	if v := r.v(name); v.set {
		return v.t
	}
	return nil
}

const notADate = "not a date (use YYYY-MM-DD or RFC 3339)"

// parseField checks and converts one value. The reason it gives never
// repeats the value: a report may be read by others.
func parseField(f importField, raw string, loc *time.Location) (fieldValue, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if f.required {
			return fieldValue{}, "required"
		}
		return fieldValue{}, ""
	}
	if !utf8.ValidString(raw) {
		return fieldValue{}, "not valid UTF-8 text"
	}
	for _, c := range raw {
		if unicode.IsControl(c) && !(f.typ == fLongText && (c == '\n' || c == '\r' || c == '\t')) {
			return fieldValue{}, "contains control characters"
		}
	}
	if f.max > 0 && utf8.RuneCountInString(raw) > f.max {
		return fieldValue{}, fmt.Sprintf("longer than %d characters", f.max)
	}
	v := fieldValue{s: raw, set: true}
	switch f.typ {
	case fCard:
		v.s = NormalizeCard(raw)
		for _, c := range v.s {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return fieldValue{}, "not a card number (letters and digits only)"
			}
		}
	case fEmail:
		a, err := mail.ParseAddress(raw)
		if err != nil || a.Address != raw || !strings.Contains(raw, "@") {
			return fieldValue{}, "not an email address"
		}
	case fPIN:
		if utf8.RuneCountInString(raw) < 4 || strings.ContainsFunc(raw, unicode.IsSpace) {
			return fieldValue{}, fmt.Sprintf("not a usable PIN (%d to %d characters, no spaces)", 4, f.max)
		}
	case fStatus:
		v.s = strings.ToLower(raw)
		ok := false
		for _, s := range f.values {
			ok = ok || v.s == s
		}
		if !ok {
			return fieldValue{}, "not one of " + strings.Join(f.values, ", ")
		}
	case fTime, fDeadline, fDate:
		t, ok := parseImportTime(raw, loc, f.typ)
		if !ok {
			return fieldValue{}, notADate
		}
		v.t = t
	case fCount:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || n > 999 {
			return fieldValue{}, "not a whole number from 0 to 999"
		}
		v.n = n
	case fMoney:
		n, ok := parseCents(raw)
		if !ok {
			return fieldValue{}, "not an amount (digits with at most two decimals, like 12.50)"
		}
		v.n = n
	}
	return v, ""
}

// parseImportTime reads RFC 3339 ("2026-04-01T14:30:00Z", any offset), a
// date alone ("2026-04-01") or a date and time of day without an offset
// ("2026-04-01 14:30:00", as SQL clients print them), the last two in the
// library's time zone. A date alone is the start of that day, or its last
// second for a deadline. A calendar date (fDate) is kept as midnight UTC
// of the day it names, as card expiry dates are.
func parseImportTime(s string, loc *time.Location, typ fieldType) (time.Time, bool) {
	var (
		t   time.Time
		err error
	)
	dateOnly := len(s) == len(time.DateOnly)
	switch {
	case dateOnly:
		t, err = time.ParseInLocation(time.DateOnly, s, loc)
		if err == nil && typ == fDeadline {
			t = time.Date(t.Year(), t.Month(), t.Day(), 23, 59, 59, 0, loc)
		}
	default:
		norm := s
		if len(norm) > 10 && norm[10] == ' ' {
			norm = norm[:10] + "T" + norm[11:]
		}
		t, err = time.Parse(time.RFC3339Nano, norm)
		if err != nil {
			for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
				if t, err = time.ParseInLocation(layout, norm, loc); err == nil {
					break
				}
			}
		}
	}
	if err != nil || t.Year() < 1900 || t.Year() > 2199 {
		return time.Time{}, false
	}
	if typ == fDate {
		if !dateOnly {
			t = t.In(loc)
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
	}
	return t.UTC().Truncate(time.Microsecond), true
}

// parseCents reads "12", "12.5", "12.50" or "12.500000" (as databases
// print their decimal columns) as cents; a fraction of a cent is refused.
func parseCents(s string) (int64, bool) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if len(frac) > 2 && strings.Trim(frac[2:], "0") == "" {
		frac = frac[:2]
	}
	if whole == "" || len(whole) > 9 || (hasDot && (len(frac) == 0 || len(frac) > 2)) {
		return 0, false
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	var f int64
	if hasDot {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	return w*100 + f, true
}

// ---------------------------------------------------------------------
// Reading the file.

// rowSource yields the lines of a file as values by field index.
type rowSource interface {
	// next returns the next line's number and values; ok is false at the
	// end. A line that cannot be read at all comes back as bad.
	next() (line int64, vals []string, bad *BadLine, ok bool, err error)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type csvSource struct {
	r    *csv.Reader
	cols []int // file column of each field, -1 when absent
	vals []string
}

func newCSVSource(r io.Reader, spec *importSpec) (*csvSource, []string, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &ImportFileError{"the file is empty: a CSV file starts with a header row naming its columns"}
	} else if err != nil {
		return nil, nil, &ImportFileError{"the header row is not valid CSV: " + csvReason(err)}
	}
	header = append([]string(nil), header...)
	pos := map[string]int{}
	var notes []string
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a byte-order mark, as spreadsheets write
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := pos[h]; dup {
			return nil, nil, &ImportFileError{fmt.Sprintf("the header names the column %s twice", h)}
		}
		pos[h] = i
		if _, known := spec.idx[h]; !known {
			notes = append(notes, unknownColumnNote(h))
		}
	}
	s := &csvSource{r: cr, cols: make([]int, len(spec.fields)), vals: make([]string, len(spec.fields))}
	var missing []string
	for i, f := range spec.fields {
		p, ok := pos[f.name]
		if !ok {
			p = -1
			if f.required {
				missing = append(missing, f.name)
			} else if f.typ != fPIN {
				notes = append(notes, "no column "+f.name+": it is stored empty")
			}
		}
		s.cols[i] = p
	}
	if len(missing) > 0 {
		return nil, nil, &ImportFileError{"the header lacks the required column(s) " + strings.Join(missing, ", ") +
			"; nothing was imported (see docs/import.md)"}
	}
	return s, notes, nil
}

func unknownColumnNote(name string) string {
	for _, p := range privacyColumns {
		if name == p {
			return "column " + name + " ignored: it is the patron's own choice, never taken from the ILS"
		}
	}
	return "column " + name + " ignored: not a column of this kind"
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable"
}

func (s *csvSource) next() (int64, []string, *BadLine, bool, error) {
	rec, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return 0, nil, nil, false, nil
	}
	if err != nil {
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return 0, nil, nil, false, fmt.Errorf("models: import: read: %w", err)
		}
		reason := "not valid CSV: " + pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			reason = "has a different number of fields than the header"
		}
		return int64(pe.StartLine), nil, &BadLine{Line: int64(pe.StartLine), Reason: reason}, true, nil
	}
	line, _ := s.r.FieldPos(0)
	for i, p := range s.cols {
		if p >= 0 {
			s.vals[i] = rec[p]
		} else {
			s.vals[i] = ""
		}
	}
	return int64(line), s.vals, nil, true, nil
}

type jsonlSource struct {
	r     *bufio.Reader
	spec  *importSpec
	line  int64
	vals  []string
	notes map[string]bool
	noted []string
}

// maxJSONLine bounds one line of a JSON Lines file.
const maxJSONLine = 1 << 20

func (s *jsonlSource) next() (int64, []string, *BadLine, bool, error) {
	for {
		raw, err := s.readLine()
		if raw == nil && err != nil {
			if errors.Is(err, io.EOF) {
				return 0, nil, nil, false, nil
			}
			return 0, nil, nil, false, fmt.Errorf("models: import: read: %w", err)
		}
		s.line++
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if len(raw) > maxJSONLine {
			return s.line, nil, &BadLine{Line: s.line, Reason: "longer than 1 MiB"}, true, nil
		}
		obj := map[string]any{}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return s.line, nil, &BadLine{Line: s.line, Reason: "not a JSON object"}, true, nil
		}
		if d.More() {
			return s.line, nil, &BadLine{Line: s.line, Reason: "more than one JSON value on the line"}, true, nil
		}
		for i := range s.vals {
			s.vals[i] = ""
		}
		for k, v := range obj {
			i, known := s.spec.idx[k]
			if !known {
				if !s.notes[k] {
					s.notes[k] = true
					s.noted = append(s.noted, unknownColumnNote(k))
				}
				continue
			}
			switch v := v.(type) {
			case nil:
			case string:
				s.vals[i] = v
			case json.Number:
				s.vals[i] = v.String()
			case bool:
				s.vals[i] = strconv.FormatBool(v)
			default:
				return s.line, nil, &BadLine{Line: s.line, Field: k, Reason: "not a plain value (a string, number or null)"}, true, nil
			}
		}
		return s.line, s.vals, nil, true, nil
	}
}

// readLine reads one line, however long (a too long one is reported by
// the caller, not held whole).
func (s *jsonlSource) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxJSONLine+1 {
			buf = append(buf, chunk...)
		} else if len(buf) <= maxJSONLine {
			buf = append(buf, make([]byte, maxJSONLine+1-len(buf))...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && len(buf) == 0 {
			return nil, err
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}

// ---------------------------------------------------------------------
// The import.

// patronInfo is what an import needs to know of a patron it references.
type patronInfo struct {
	id   int64
	card string
}

type pendingRow struct {
	line     int64
	card     string
	ilsID    string
	patronID int64
	vals     []any
	returned bool      // a loan row with returned_at
	returnAt time.Time // when it was returned
	pin      string    // patrons only, until hashed
}

type batchCounts struct {
	inserted, updated, unchanged, toHistory, returned int64
}

// count splits n rows written, of which existing were there before and
// affected were inserted or changed, into new, changed and unchanged.
func (c *batchCounts) count(n, existing, affected int64) {
	c.inserted = n - existing
	c.updated = affected - c.inserted
	c.unchanged = existing - c.updated
}

func (c *batchCounts) add(o batchCounts) {
	c.inserted += o.inserted
	c.updated += o.updated
	c.unchanged += o.unchanged
	c.toHistory += o.toHistory
	c.returned += o.returned
}

type importer struct {
	s       *Store
	ctx     context.Context
	opts    ImportOptions
	spec    *importSpec
	db      *gorm.DB
	pg      bool
	now     time.Time
	ret     Retention
	patrons map[string]patronInfo
	seen    map[uint64]int64 // hash of each ils_id read → its line; the reader's alone
	seed    maphash.Seed
	res     ImportResult
	counts  batchCounts
	dbBad   []BadLine // rows the database refused, in the batch being written
	// asyncCommits says batches were committed without waiting for the
	// disk, so the import must end with a commit that waits.
	asyncCommits bool
	strict       *gorm.DB  // the one transaction of a strict import
	raw          *sql.Conn // on PostgreSQL, the import's one connection
	// emptyAtStart names the tables that held no record with an ILS id
	// when the import began: every row of the file is new to them (the
	// file's ILS ids are distinct, and imports take turns), so there is
	// nothing to look up before inserting.
	emptyAtStart map[string]bool
}

// Import reads one file of the ILS's records of opts.Kind from r and
// brings the portal's copy in step with it: rows are inserted or updated
// by their ILS id, bad lines are reported and skipped (or, with Strict,
// roll the whole file back), and with Full the records the file no longer
// lists are deleted. The error is for failures of the database or the
// file as a whole (*ImportFileError); bad lines are counted in the result.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (res ImportResult, err error) {
	spec, ok := importSpecs[opts.Kind]
	if !ok {
		return ImportResult{}, fmt.Errorf("models: import: unknown kind %q", opts.Kind)
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultImportBatch
	}
	if opts.MaxDelete <= 0 {
		opts.MaxDelete = DefaultImportMaxDelete
	}
	start := time.Now()
	imp := &importer{
		s: s, ctx: ctx, opts: opts, spec: spec, db: s.db(ctx), now: s.Now(),
		seen: map[uint64]int64{}, seed: maphash.MakeSeed(),
	}
	imp.pg = DialectOfDB(imp.db) == Postgres
	if !imp.pg {
		// SQLite binds at most 32,766 values in one statement.
		imp.opts.BatchSize = min(imp.opts.BatchSize, 30000/len(spec.table.cols))
	}
	imp.res.Kind, imp.res.DryRun = opts.Kind, opts.DryRun
	defer func() {
		res = imp.res
		res.Elapsed = time.Since(start)
	}()
	if !imp.pg {
		err = imp.run(r)
		return imp.res, err
	}
	// On PostgreSQL the whole import runs on one connection: it holds the
	// import's advisory lock, and batches of new rows go in with COPY,
	// which needs the connection itself.
	err = imp.db.Connection(func(conn *gorm.DB) error {
		imp.db = conn.Session(&gorm.Session{NewDB: true})
		raw, ok := conn.Statement.ConnPool.(*sql.Conn)
		if !ok {
			return errors.New("models: import: no connection of its own")
		}
		imp.raw = raw
		if !opts.DryRun {
			var got bool
			if err := raw.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", importLock).Scan(&got); err != nil {
				return fmt.Errorf("models: import: lock: %w", err)
			}
			if !got {
				return ErrImportBusy
			}
			defer raw.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", importLock)
		}
		return imp.run(r)
	})
	return imp.res, err
}

// run imports the file, once the importer is set up.
func (imp *importer) run(r io.Reader) error {
	s, opts, spec, ctx := imp.s, imp.opts, imp.spec, imp.ctx
	var err error
	if imp.ret, err = s.LoadRetention(ctx); err != nil {
		return err
	}
	if opts.Kind != ImportPatrons {
		if err := imp.loadPatrons(); err != nil {
			return err
		}
	}
	imp.emptyAtStart = map[string]bool{}
	if !opts.DryRun {
		var any bool
		q := "SELECT EXISTS (SELECT 1 FROM " + spec.table.name + " WHERE ils_id IS NOT NULL)"
		if err := imp.db.Raw(q).Scan(&any).Error; err != nil {
			return fmt.Errorf("models: import: %w", err)
		}
		imp.emptyAtStart[spec.table.name] = !any
	}
	counted := &countingReader{r: r}
	var src rowSource
	switch opts.Format {
	case FormatCSV:
		cs, notes, err := newCSVSource(bufio.NewReaderSize(counted, 1<<16), spec)
		if err != nil {
			return err
		}
		imp.res.Notes = notes
		src = cs
	case FormatJSONL:
		js := &jsonlSource{r: bufio.NewReaderSize(counted, 1<<16), spec: spec, vals: make([]string, len(spec.fields)), notes: map[string]bool{}}
		defer func() { imp.res.Notes = append(imp.res.Notes, js.noted...) }()
		src = js
	default:
		return fmt.Errorf("models: import: unknown format %q", opts.Format)
	}

	if opts.Strict && !opts.DryRun {
		imp.strict = imp.db.Begin()
		if imp.strict.Error != nil {
			return fmt.Errorf("models: import: begin: %w", imp.strict.Error)
		}
		defer func() {
			if imp.strict != nil {
				imp.strict.Rollback()
			}
		}()
	}
	// Reading and checking run one batch ahead of writing, so that the
	// file is parsed while the database writes the batch before.
	batches := make(chan parsedBatch, 1)
	stop := make(chan struct{})
	var parseErr error
	go func() {
		defer close(batches)
		parseErr = imp.parse(src, counted, batches, stop)
	}()
	var writeErr error
	for b := range batches {
		if writeErr != nil {
			continue // the reader is stopping
		}
		if writeErr = imp.writeParsed(b); writeErr != nil {
			close(stop)
		}
	}
	if writeErr != nil {
		return writeErr
	}
	if parseErr != nil {
		return parseErr
	}

	if opts.Full && !opts.DryRun {
		switch {
		case imp.res.Bad > 0:
			imp.res.FullRefused = fmt.Sprintf("the file had %d bad line(s), so it is not a complete snapshot: nothing was deleted", imp.res.Bad)
		default:
			if err := imp.deleteMissing(); err != nil {
				return err
			}
		}
	}
	if imp.strict != nil {
		tx := imp.strict
		imp.strict = nil
		if imp.res.Bad > 0 {
			if err := tx.Rollback().Error; err != nil {
				return fmt.Errorf("models: import: roll back: %w", err)
			}
			imp.res.RolledBack = true
			imp.res.Deleted, imp.res.Held = 0, 0
			return nil
		}
		if err := tx.Commit().Error; err != nil {
			return fmt.Errorf("models: import: commit: %w", err)
		}
		imp.applyCounts(imp.counts)
	}
	return nil
}

// parsedBatch is a batch of checked lines on its way to the database.
type parsedBatch struct {
	rows    []*pendingRow
	bad     []BadLine
	read    int64 // lines read, good and bad
	expired int64
	bytes   int64 // bytes of the file read so far
	last    bool  // the file's last batch
}

// parse reads and checks the file, sending batches to out until the file
// ends or stop closes.
func (imp *importer) parse(src rowSource, counted *countingReader, out chan<- parsedBatch, stop <-chan struct{}) error {
	var b parsedBatch
	send := func(last bool) bool {
		b.bytes, b.last = counted.n, last
		select {
		case out <- b:
			b = parsedBatch{}
			return true
		case <-stop:
			return false
		}
	}
	for {
		line, vals, bad, ok, err := src.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		// A full batch goes once the next line is known to exist, so the
		// last batch is known to be the last.
		if len(b.rows) >= imp.opts.BatchSize || len(b.bad) >= imp.opts.BatchSize {
			if !send(false) {
				return nil
			}
		}
		b.read++
		if bad == nil {
			var (
				row     *pendingRow
				expired bool
			)
			row, expired, bad = imp.accept(line, vals)
			switch {
			case row != nil:
				b.rows = append(b.rows, row)
			case expired:
				b.expired++
			}
		}
		if bad != nil {
			b.bad = append(b.bad, *bad)
		}
	}
	send(true)
	return nil
}

// writeParsed writes one batch, reports its bad lines in the order of the
// file, and tells of the progress.
func (imp *importer) writeParsed(b parsedBatch) error {
	imp.res.Read += b.read
	imp.res.Expired += b.expired
	err := imp.flush(b.rows, b.last)
	bad := append(b.bad, imp.dbBad...)
	imp.dbBad = nil
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	for _, l := range bad {
		imp.reportBad(l)
	}
	if err != nil {
		return err
	}
	if imp.opts.Progress != nil {
		imp.opts.Progress(ImportProgress{Rows: imp.res.Read, Bytes: b.bytes})
	}
	return nil
}

func (imp *importer) applyCounts(c batchCounts) {
	imp.res.Inserted += c.inserted
	imp.res.Updated += c.updated
	imp.res.Unchanged += c.unchanged
	imp.res.ToHistory += c.toHistory
	imp.res.Returned += c.returned
}

func (imp *importer) reportBad(b BadLine) {
	imp.res.Bad++
	if imp.opts.BadLine != nil {
		imp.opts.BadLine(b)
	}
}

// loadPatrons reads the ILS id, internal id and card number of every
// patron the ILS knows, once, so that the rows of other kinds resolve
// their patron without a query each.
func (imp *importer) loadPatrons() error {
	imp.patrons = map[string]patronInfo{}
	rows, err := imp.db.Raw("SELECT id, ils_id, card_number FROM patrons WHERE ils_id IS NOT NULL").Rows()
	if err != nil {
		return fmt.Errorf("models: import: load patrons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p   patronInfo
			ils string
		)
		if err := rows.Scan(&p.id, &ils, &p.card); err != nil {
			return fmt.Errorf("models: import: load patrons: %w", err)
		}
		imp.patrons[ils] = p
	}
	return rows.Err()
}

// accept checks one line and returns it ready to write, or says that it
// is past its retention, or why it is bad. It runs on the reader's
// goroutine, the only one that touches seen.
func (imp *importer) accept(line int64, raw []string) (row *pendingRow, expired bool, bad *BadLine) {
	spec := imp.spec
	pr := &parsedRow{spec: spec, vals: make([]fieldValue, len(spec.fields))}
	var (
		card   string
		patron patronInfo
	)
	for i, f := range spec.fields {
		v, reason := parseField(f, raw[i], imp.opts.Location)
		if reason != "" {
			return nil, false, &BadLine{Line: line, Card: card, Field: f.name, Reason: reason}
		}
		pr.vals[i] = v
		switch f.name {
		case "card_number":
			card = v.s
		case "patron_ils_id":
			p, ok := imp.patrons[v.s]
			if !ok {
				return nil, false, &BadLine{Line: line, Field: f.name, Reason: "no patron has this ILS id (import patrons first)"}
			}
			patron, card = p, p.card
		}
	}
	if spec.check != nil {
		if bad := spec.check(pr); bad != nil {
			bad.Line, bad.Card = line, card
			return nil, false, bad
		}
	}
	id := pr.str("ils_id")
	h := maphash.String(imp.seed, id)
	if first, dup := imp.seen[h]; dup {
		return nil, false, &BadLine{Line: line, Card: card, Field: "ils_id", Reason: fmt.Sprintf("appears again (first on line %d)", first)}
	}
	imp.seen[h] = line
	if spec.expired != nil && spec.expired(pr, imp.ret, imp.now) {
		return nil, true, nil
	}
	p := &pendingRow{line: line, card: card, ilsID: id, patronID: patron.id, vals: spec.build(pr, patron.id)}
	switch spec.kind {
	case ImportLoans:
		if pr.has("returned_at") {
			p.returned, p.returnAt = true, pr.time("returned_at")
		}
	case ImportPatrons:
		p.pin = pr.str("pin")
	}
	return p, false, nil
}

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
	if imp.spec.kind == ImportPatrons {
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
	case errors.Is(err, gorm.ErrDuplicatedKey) && imp.spec.kind == ImportPatrons:
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
// hash, and UnusablePINHash for a new patron without a PIN. The PIN itself
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
			r.vals[col] = UnusablePINHash
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				if exists {
					if ok, rehash, err := imp.s.verifySecret(imp.ctx, old, pin); err == nil && ok && !rehash {
						r.vals[col] = ""
						return
					}
				}
				h, err := imp.s.hashSecret(imp.ctx, pin)
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
	if imp.spec.kind == ImportPatrons {
		for _, r := range rows {
			r.vals[patronsTable.col("created_at")] = imp.now
			r.vals[patronsTable.col("updated_at")] = imp.now
		}
	}
	if imp.spec.kind != ImportLoans {
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
			v := r.vals
			keep = append(keep, &pendingRow{line: r.line, card: r.card, ilsID: r.ilsID, patronID: r.patronID,
				vals: []any{v[0], v[1], v[2], v[3], v[4], v[6], r.returnAt}})
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
	held := notHeld
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
		return imp.s.AppendAudit(tx, &AuditEntry{Action: AuditILSImportDelete, Detail: detail})
	}
	if imp.strict != nil {
		_, err := imp.inSavepoint(imp.strict.Statement.ConnPool, func() (batchCounts, error) {
			return batchCounts{}, del(imp.strict)
		})
		return err
	}
	return imp.db.Transaction(del)
}

func (imp *importer) kindNoun() string {
	switch imp.opts.Kind {
	case ImportILL:
		return "interlibrary loans"
	case ImportReference:
		return "reference questions"
	case ImportComputerSessions:
		return "computer sessions"
	}
	return string(imp.opts.Kind)
}

func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}
