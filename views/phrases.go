package views

import (
	"strings"
)

// Sentence ends s with a full stop, unless it ends with one already (an
// initial: "You now follow Butler, Octavia E.") or with a question or
// exclamation mark: text a patron or staff typed never gets two.
func Sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}
