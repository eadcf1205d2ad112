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
