package views

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/carrel-library/carrel/views/i18n"
)

// DigestItem is one new arrival in a digest email.
type DigestItem struct {
	Title, Author string
	// URL is the item's catalog link, as the catalog gave it; "" when it
	// is not an http(s) address (then no link is shown).
	URL string
	// Reason is the favorite it matched, in the patron's words.
	Reason string
}

// DigestEmail is one digest email: a plain-text part and an HTML part
// written from the same view model.
type DigestEmail struct {
	LibraryName string
	Subject     string
	// Period is "daily" or "weekly": what the patron chose.
	Period string
	Items  []DigestItem
	// ManageURL is the portal's page for changing how often (or whether).
	ManageURL string
	// UnsubscribeURL stops these emails in one click, without sign-in.
	UnsubscribeURL string
}

// DigestSubject is a digest email's subject line, in t's language.
func DigestSubject(t *i18n.Tr, library string, n int) string {
	return t.N("email.subject", int64(n), "Library", OneLine(library))
}

// LinkOrEmpty returns u when it is an absolute http(s) address, else "".
// Catalog links come from an import: nothing else is ever linked.
func LinkOrEmpty(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return p.String()
}

// OneLine makes text from a patron or an import safe for one line of a
// plain-text email: no control characters, no line breaks to fake lines.
func OneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// DigestEmailText is the plain-text part of a digest email, in t's
// language.
func DigestEmailText(t *i18n.Tr, e DigestEmail) string {
	var b strings.Builder
	b.WriteString(t.S("email.heading", "Library", OneLine(e.LibraryName)) + "\n\n")
	b.WriteString(digestIntro(t, e) + "\n\n")
	for _, it := range e.Items {
		b.WriteString("* " + OneLine(it.Title) + "\n")
		if a := OneLine(it.Author); a != "" {
			b.WriteString("  " + t.S("email.by", "Author", a) + "\n")
		}
		if r := OneLine(it.Reason); r != "" {
			b.WriteString("  " + t.S("email.because", "Reason", r) + "\n")
		}
		if it.URL != "" {
			b.WriteString("  " + it.URL + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("-- \n")
	b.WriteString(digestWhy(t, e) + "\n")
	b.WriteString(t.S("email.manage.text", "URL", e.ManageURL) + "\n")
	b.WriteString(t.S("email.stop.text", "URL", e.UnsubscribeURL) + "\n")
	b.WriteString(t.S("email.no_tracking") + "\n")
	return b.String()
}

func digestIntro(t *i18n.Tr, e DigestEmail) string {
	return t.N("email.intro", int64(len(e.Items)))
}

func digestWhy(t *i18n.Tr, e DigestEmail) string {
	library := OneLine(e.LibraryName)
	switch e.Period {
	case "daily", "weekly":
		return t.S("email.why."+e.Period, "Library", library)
	}
	return t.S("email.why", "Library", library)
}

// NoticeUnsubscribeView is the page the unsubscribe link of a digest
// email opens.
type NoticeUnsubscribeView struct {
	Token   string
	Done    bool
	Invalid bool
}
