// Package csvout writes every CSV file the portal and its command line
// hand to people: list exports and statistics. Those files are opened in
// spreadsheets, which run a cell that starts with "=", "+", "-" or "@" as
// a formula; names and email addresses come from the ILS or from patrons,
// so such a cell could fetch a link or run a command on the reader's
// machine (CSV injection). Writer neutralises those cells as OWASP's CSV
// injection guidance recommends: a single quote in front makes the
// spreadsheet show the cell as text.
package csvout

import (
	"encoding/csv"
	"io"
	"strings"
)

// Writer is an encoding/csv Writer whose cells cannot start a formula.
type Writer struct{ w *csv.Writer }

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell made safe by Cell.
func (w *Writer) Write(record []string) error {
	safe := make([]string, len(record))
	for i, v := range record {
		safe[i] = Cell(v)
	}
	return w.w.Write(safe)
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula. Tab, carriage return and NUL are there because some
// spreadsheets skip them before looking for "=" (OWASP; ASVS 5.0 names
// NUL too).
const formulaStarts = "=+-@\t\r\x00"

// Cell returns v as a spreadsheet shows it as text: with a single quote in
// front when it starts with =, +, -, @, a tab, a carriage return or NUL,
// and unchanged otherwise. A negative number such as -3 gains the quote too;
// the files we write hold counts, which are never negative.
func Cell(v string) string {
	if v != "" && strings.ContainsRune(formulaStarts, rune(v[0])) {
		return "'" + v
	}
	return v
}
