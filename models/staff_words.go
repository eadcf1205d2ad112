package models

import (
	"strings"
	"sync"

	"github.com/carrel-library/carrel/views/i18n"
)

// ReasonDeskPrint is the reason of a desk printout's audit entry.
const ReasonDeskPrint = "Asked for a printout at the desk"

// StoredWordsIn writes, in t's language, what an audit entry the patron
// reads keeps in English: the entry is a record and stays as it was
// written (the audit chain hashes it), but the words staff chose from a
// list (an assistance's reason, how they checked who they were helping,
// "found by search", the categories of a desk printout) are known phrases
// the patron's own language has. Text staff typed (an "other" note), and
// anything else, is shown as written.
func StoredWordsIn(t *i18n.Tr, stored string) string {
	if t.Lang() == i18n.English || stored == "" {
		return stored
	}
	if w, ok := storedPhrase(t, stored); ok {
		return w
	}
	// A desk printout: "Holds, Loans; checked it was you …".
	if titles, check, ok := strings.Cut(stored, "; "); ok {
		if w, ok := storedPhrase(t, check); ok {
			return storedTitles(t, titles) + "; " + w
		}
	}
	return stored
}

// storedPhrase is one known stored phrase in t's language.
func storedPhrase(t *i18n.Tr, stored string) (string, bool) {
	switch stored {
	case "found by search":
		return t.S("models.stored.found_by_search"), true
	case DetailRecordOpened:
		return t.S("models.stored.record_opened"), true
	case ReasonDeskPrint:
		return t.S("models.stored.reason.desk_print"), true
	}
	for _, r := range AssistReasons {
		switch {
		case r.Value == "other":
			if note, ok := strings.CutPrefix(stored, "Other: "); ok {
				return t.S("models.stored.reason.other", "Note", note), true
			}
		case stored == r.Label:
			return t.S("models.stored.reason." + r.Value), true
		}
	}
	for _, c := range IdentityChecks {
		switch {
		case c.Value == "other":
			if note, ok := strings.CutPrefix(stored, c.Detail); ok {
				return t.S("models.stored.identity.other", "Note", note), true
			}
		case stored == c.Detail:
			return t.S("models.stored.identity." + c.Value), true
		}
	}
	return "", false
}

// storedTitles writes a stored list of category titles ("Holds, Loans")
// in t's language; a title it does not know stays as written.
func storedTitles(t *i18n.Tr, list string) string {
	byTitle := categoriesByTitle()
	parts := strings.Split(list, ", ")
	for i, p := range parts {
		if c, ok := byTitle[p]; ok {
			parts[i] = c.In(t).Title
		}
	}
	return strings.Join(parts, ", ")
}

// categoriesByTitle finds a category by its English title, as stored text
// names it; made once.
var categoriesByTitle = sync.OnceValue(func() map[string]Category {
	byTitle := map[string]Category{}
	for _, c := range Categories() {
		byTitle[c.Title] = c
	}
	return byTitle
})
