package csvout_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models/csvout"
)

func TestCellsThatWouldRunAsFormulasAreWrittenAsText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"equals", `=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"plus", "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"minus", "-2+3", "'-2+3"},
		{"at", "@SUM(1+1)", "'@SUM(1+1)"},
		{"tab", "\t=1+1", "'\t=1+1"},
		{"carriage return", "\r=1+1", "'\r=1+1"},
		{"nul", "\x00=1+1", "'\x00=1+1"},
		{"plain name", "Rosa Parks", "Rosa Parks"},
		{"email", "rosa@example.org", "rosa@example.org"},
		{"formula later in the cell", "Rosa =1+1", "Rosa =1+1"},
		{"address", "https://portal.example/unsubscribe/abc", "https://portal.example/unsubscribe/abc"},
		{"empty", "", ""},
		{"count", "42", "42"},
		{"a quote already", "'=1", "'=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := csvout.Cell(tc.in); got != tc.want {
				t.Errorf("Cell(%q) = %q, want %q", tc.in, got, tc.want)
			}
			var b strings.Builder
			w := csvout.NewWriter(&b)
			if err := w.Write([]string{"first", tc.in}); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if err := w.Error(); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
			if err != nil || len(rows) != 1 || rows[0][1] != tc.want || rows[0][0] != "first" {
				t.Fatalf("written %q read back as %q (%v), want cell %q", b.String(), rows, err, tc.want)
			}
		})
	}
}
