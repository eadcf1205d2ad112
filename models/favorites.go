package models

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NormalizeFavorite reduces a favorite author or subject to the form used
// to match it against new arrivals and to stop a patron saving the same
// favorite twice. Case, diacritics and spacing never matter:
//
//   - authors: a catalog heading "Family, Given" is turned round, and full
//     stops and commas are dropped, so "Butler, Octavia E." and "Octavia E.
//     Butler" both become "octavia e butler". Parts of a heading made of
//     dates ("Butler, Octavia E., 1947-2006") are dropped, and suffixes
//     such as "Jr." follow the family name.
//   - subjects: the " -- " between subdivisions is kept, with its spacing
//     made regular, so "Science fiction--History and criticism" becomes
//     "science fiction -- history and criticism". An em dash typed for the
//     double hyphen counts as one.
func NormalizeFavorite(kind, s string) string {
	s = foldText(s)
	switch kind {
	case FavoriteAuthor:
		return normalizeAuthor(s)
	case FavoriteSubject:
		return normalizeSubject(s)
	default:
		return collapseSpace(s)
	}
}

// foldText lowercases s and strips its diacritics ("García" → "garcia").
// Letters that have no decomposition, such as "ø" or "ł", are kept.
func foldText(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return strings.ToLower(folded)
}

func normalizeAuthor(s string) string {
	var parts []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" || strings.ContainsFunc(p, unicode.IsDigit) {
			continue // empty, or life dates such as "1947-2006"
		}
		parts = append(parts, p)
	}
	if len(parts) >= 2 {
		// "family, given[, suffix...]" → "given family suffix..."
		parts = append([]string{parts[1], parts[0]}, parts[2:]...)
	}
	name := strings.Join(parts, " ")
	name = strings.Map(func(r rune) rune {
		if r == '.' || r == ',' {
			return ' ' // "J.R.R." and "J. R. R." read the same
		}
		return r
	}, name)
	return collapseSpace(name)
}

func normalizeSubject(s string) string {
	s = strings.NewReplacer("\u2014", "--", "\u2013", "-").Replace(s)
	var parts []string
	for _, p := range strings.Split(s, "--") {
		p = collapseSpace(strings.TrimRight(strings.TrimSpace(p), "."))
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " -- ")
}

// collapseSpace trims s and turns every run of white space into one space.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
