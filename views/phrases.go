package views

import (
	"strings"
	"time"
)

// QuotedList names categories in a sentence: “Holds” and “Fines and
// fees”, so that a title holding "and" still reads as one. The overview's
// legal notice and its email say it alike.
func QuotedList(titles []string) string {
	q := make([]string, len(titles))
	for i, t := range titles {
		q[i] = "“" + t + "”"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// DatedSpan names the dates a production covered, each written by date:
// "dated March 1, 2026 to June 30, 2026", or "of every date".
func DatedSpan(from, to *time.Time, date func(time.Time) string) string {
	switch {
	case from != nil && to != nil:
		return "dated " + date(*from) + " to " + date(*to)
	case from != nil:
		return "dated from " + date(*from)
	case to != nil:
		return "dated up to " + date(*to)
	}
	return "of every date"
}

// Plural counts in words, with the noun (and any verb after it) agreeing:
// Plural(1, "minute", "minutes") is "1 minute", Plural(5000, "item is",
// "items are") "5,000 items are". Every count a page or an email shows
// goes through it, so none reads "1 minutes" or "item(s)".
func Plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return FormatCount(n) + " " + many
}

// Sentence ends s with a full stop, unless it ends with one already (an
// initial: "You now follow Butler, Octavia E.") or with a question or
// exclamation mark: text a patron or staff typed never gets two.
func Sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}
