package i18n

import (
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// EnablePseudo turns on the pseudo-locale Pseudo: every English message
// with each letter outside its template actions and markup replaced by an
// accented twin. A page rendered in it shows, in plain ASCII letters, only
// what did not come from a catalog: the pseudo-locale test fails on such
// text. Only tests call it; the messages are made with the catalogs
// (addPseudo), so that turning it on changes nothing a running request
// reads but this flag.
func EnablePseudo() { pseudoOn.Store(true) }

// addPseudo makes the pseudo-locale's messages from the English ones.
func addPseudo(b *goi18n.Bundle) error {
	tag := language.MustParse(Pseudo)
	msgs := make([]*goi18n.Message, 0, len(ids))
	sources[Pseudo] = map[string]*goi18n.Message{}
	for id := range ids {
		m := &goi18n.Message{ID: id}
		for form, src := range englishForms(id) {
			p := Accent(src)
			switch form {
			case "one":
				m.One = p
			case "other":
				m.Other = p
			}
		}
		m.Many = m.Other
		msgs = append(msgs, m)
		sources[Pseudo][id] = m
	}
	return b.AddMessages(tag, msgs...)
}

// englishForms reads message id's English source text by plural form.
func englishForms(id string) map[string]string {
	m := englishMsgs[id]
	out := map[string]string{"other": m.Other}
	if m.One != "" {
		out["one"] = m.One
	}
	return out
}

// accents maps each ASCII letter to a twin with a diacritic.
var accents = func() map[rune]rune {
	from := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	to := []rune("àƀçḋéƒĝĥîĵķĺɱñöþǫŕšţûṽŵẋýžÀƁÇḊÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŢÛṼŴẊÝŽ")
	m := map[rune]rune{}
	for i, r := range from {
		m[r] = to[i]
	}
	return m
}()

// Accent writes the pseudo-locale's twin of a message's source: letters
// in template actions ({{.Name}}), HTML tags and entities stay as they are.
func Accent(src string) string {
	var b strings.Builder
	for i := 0; i < len(src); {
		switch {
		case strings.HasPrefix(src[i:], "{{"):
			end := strings.Index(src[i:], "}}")
			if end < 0 {
				b.WriteString(src[i:])
				return b.String()
			}
			b.WriteString(src[i : i+end+2])
			i += end + 2
			continue
		case src[i] == '<' || src[i] == '&':
			close := map[byte]string{'<': ">", '&': ";"}[src[i]]
			end := strings.Index(src[i:], close)
			if end >= 0 && (src[i] == '<' || end < 10) {
				b.WriteString(src[i : i+end+1])
				i += end + 1
				continue
			}
		}
		r := rune(src[i])
		size := 1
		if r >= 0x80 {
			rr := []rune(src[i:min(len(src), i+4)])
			r = rr[0]
			size = len(string(r))
		}
		if a, ok := accents[r]; ok {
			b.WriteRune(a)
		} else {
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}
