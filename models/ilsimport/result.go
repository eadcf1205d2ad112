package ilsimport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

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

// Result is what an import did.
type Result struct {
	Kind      Kind
	Read      int64 // data lines read, good and bad
	Inserted  int64
	Updated   int64
	Unchanged int64
	Bad       int64
	// ToHistory counts returned loans kept as reading history, because
	// their patron turned it on; Returned counts returned loans deleted
	// and not kept.
	ToHistory, Returned int64
	// Adopted counts patrons made at sign-in without an ILS id that took
	// a row's ILS id (matched by card number); they are counted in
	// Updated too.
	Adopted int64
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
func (r Result) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Read) / r.Elapsed.Seconds()
}

// Summary is the one line the command prints when it ends:
// "loans: 1000 rows read, 998 inserted, 0 updated, 0 unchanged; 2 bad lines; 55,000 rows/s in 0.02s".
func (r Result) Summary() string {
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
	if r.Adopted > 0 {
		parts = append(parts, fmt.Sprintf("%d updated made at sign-in and matched by card number", r.Adopted))
	}
	if r.Kind == Loans {
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

func (imp *importer) kindNoun() string {
	switch imp.opts.Kind {
	case ILL:
		return "interlibrary loans"
	case Reference:
		return "reference questions"
	case ComputerSessions:
		return "computer sessions"
	}
	return string(imp.opts.Kind)
}

func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}
