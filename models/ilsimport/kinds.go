package ilsimport

import (
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
)

// ---------------------------------------------------------------------
// What each kind of file holds.
// dbColumn is one column an import writes. pg is its PostgreSQL array
// element type; set, when not empty, is the expression that an update
// assigns (and compares), in place of the incoming value.
type dbColumn struct {
	name, pg   string
	insertOnly bool // written when the row is new, never updated
	noCompare  bool // updated along with a change, but not a change itself
	set        string
	// field is the file field the column is read from; nullable says
	// an absent value is NULL (derived tables only: see tableOf).
	field    string
	nullable bool
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
	kind   Kind
	table  *tableSpec
	fields []importField
	idx    map[string]int
	// check applies the rules between fields.
	check func(r *parsedRow) *BadLine
	// expired reports whether a row is already past its retention.
	expired func(r *parsedRow, ret models.Retention, now time.Time) bool
	// build turns a good row into the table's column values.
	build func(r *parsedRow, patronID int64) []any
}

var (
	holdStatuses = []string{models.HoldWaiting, models.HoldInTransit, models.HoldReady, models.HoldFilled, models.HoldCancelled}
	fineStatuses = []string{models.FineOutstanding, models.FinePaid, models.FineWaived}
	illStatuses  = []string{models.ILLRequested, models.ILLShipped, models.ILLReceived, models.ILLReturned, models.ILLCancelled}
	cardStatuses = []string{models.StatusActive, models.StatusBlocked, models.StatusExpired}
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
		// "" (keep) or models.UnusablePINHash for a new patron without a PIN both
		// leave a stored hash alone.
		{name: "pin_hash", pg: "text", set: "CASE WHEN EXCLUDED.pin_hash IN ('', '" + models.UnusablePINHash + "') THEN patrons.pin_hash ELSE EXCLUDED.pin_hash END"},
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
	// The categories' tables are derived from their descriptors (see
	// models.ImportMapping and tableOf).
	loansTable     = tableOf("loans")
	historyTable   = tableOf("reading_history")
	holdsTable     = tableOf("holds")
	finesTable     = tableOf("fines")
	illTable       = tableOf("ill_requests")
	referenceTable = tableOf("reference_questions")
	computerTable  = tableOf("computer_sessions")
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

var importSpecs = map[Kind]*importSpec{
	Patrons: indexed(&importSpec{
		kind: Patrons, table: patronsTable,
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
				r.time("card_expires_on"), r.str("borrowing_status"), false, false, models.NoticeNone, nil, nil}
		},
	}),
	Loans: indexed(&importSpec{
		kind: Loans, table: loansTable,
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
	}),
	Holds: indexed(&importSpec{
		kind: Holds, table: holdsTable,
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
		check: func(r *parsedRow) *BadLine {
			return closedWhen(r, "status", "closed_at", models.HoldFilled, models.HoldCancelled)
		},
		expired: func(r *parsedRow, ret models.Retention, now time.Time) bool {
			return r.has("closed_at") && r.time("closed_at").Before(now.AddDate(0, 0, -ret.HoldDays))
		},
	}),
	Fines: indexed(&importSpec{
		kind: Fines, table: finesTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "description", typ: fText, required: true, max: 500},
			{name: "title", typ: fText, max: 1000},
			{name: "amount", typ: fMoney, required: true},
			{name: "status", typ: fStatus, required: true, values: fineStatuses},
			{name: "assessed_at", typ: fTime, required: true},
			{name: "settled_at", typ: fTime},
		},
		check: func(r *parsedRow) *BadLine {
			return closedWhen(r, "status", "settled_at", models.FinePaid, models.FineWaived)
		},
		expired: func(r *parsedRow, ret models.Retention, now time.Time) bool {
			return r.has("settled_at") && r.time("settled_at").Before(now.AddDate(0, 0, -ret.FineDays))
		},
	}),
	ILL: indexed(&importSpec{
		kind: ILL, table: illTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "title", typ: fText, required: true, max: 1000},
			{name: "author", typ: fText, max: 500},
			{name: "lending_library", typ: fText, max: 200},
			{name: "status", typ: fStatus, required: true, values: illStatuses},
			{name: "requested_at", typ: fTime, required: true},
			{name: "completed_at", typ: fTime},
		},
		check: func(r *parsedRow) *BadLine {
			return closedWhen(r, "status", "completed_at", models.ILLReturned, models.ILLCancelled)
		},
		expired: func(r *parsedRow, ret models.Retention, now time.Time) bool {
			return r.has("completed_at") && r.time("completed_at").Before(now.AddDate(0, 0, -ret.ILLDays))
		},
	}),
	Reference: indexed(&importSpec{
		kind: Reference, table: referenceTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "subject", typ: fText, max: 500},
			{name: "question", typ: fLongText, required: true, max: 20000},
			{name: "answer", typ: fLongText, max: 20000},
			{name: "asked_at", typ: fTime, required: true},
			{name: "answered_at", typ: fTime},
		},
		expired: func(r *parsedRow, ret models.Retention, now time.Time) bool {
			return r.time("asked_at").Before(now.AddDate(0, -ret.ReferenceMonths, 0))
		},
	}),
	ComputerSessions: indexed(&importSpec{
		kind: ComputerSessions, table: computerTable,
		fields: []importField{
			patronRef(), ilsID(),
			{name: "branch", typ: fText, max: 100},
			{name: "station", typ: fText, max: 100},
			{name: "started_at", typ: fTime, required: true},
			{name: "ended_at", typ: fTime},
		},
		expired: func(r *parsedRow, ret models.Retention, now time.Time) bool {
			return r.time("started_at").Before(now.Add(-time.Duration(ret.ComputerHours) * time.Hour))
		},
	}),
}

// indexed fills in a spec's index of its fields by name.
func indexed(s *importSpec) *importSpec {
	s.idx = map[string]int{}
	for i, f := range s.fields {
		s.idx[f.name] = i
	}
	if s.build == nil {
		s.build = builderFor(s)
	}
	return s
}

// Column describes one column of an import file, for help texts.
type Column struct {
	Name     string
	Required bool
}

// Columns lists the columns of a kind's file, in the order the
// documentation gives them.
func Columns(kind Kind) ([]Column, bool) {
	s, ok := importSpecs[kind]
	if !ok {
		return nil, false
	}
	out := make([]Column, len(s.fields))
	for i, f := range s.fields {
		out[i] = Column{f.name, f.required}
	}
	return out, true
}
