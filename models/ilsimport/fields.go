package ilsimport

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carrel-library/carrel/models"
)

// What a field of a file may be.

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
		v.s = models.NormalizeCard(raw)
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
