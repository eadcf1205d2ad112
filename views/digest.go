package views

import (
	"net/url"
	"strings"
	"unicode"
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

// DigestSubject is a digest email's subject line.
func DigestSubject(library string, n int) string {
	what := "1 new item"
	if n != 1 {
		what = FormatCount(int64(n)) + " new items"
	}
	return "New at " + OneLine(library) + ": " + what + " by authors or on subjects you follow"
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

// DigestEmailText is the plain-text part of a digest email.
func DigestEmailText(e DigestEmail) string {
	var b strings.Builder
	b.WriteString("New at " + OneLine(e.LibraryName) + "\n\n")
	b.WriteString(digestIntro(e) + "\n\n")
	for _, it := range e.Items {
		b.WriteString("* " + OneLine(it.Title) + "\n")
		if a := OneLine(it.Author); a != "" {
			b.WriteString("  by " + a + "\n")
		}
		if r := OneLine(it.Reason); r != "" {
			b.WriteString("  Because you follow: " + r + "\n")
		}
		if it.URL != "" {
			b.WriteString("  " + it.URL + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("-- \n")
	b.WriteString(digestWhy(e) + "\n")
	b.WriteString("Change how often, or what you follow: " + e.ManageURL + "\n")
	b.WriteString("Stop these emails (one click, no sign-in): " + e.UnsubscribeURL + "\n")
	b.WriteString(digestNoTracking + "\n")
	return b.String()
}

func digestIntro(e DigestEmail) string {
	if len(e.Items) == 1 {
		return "This new arrival is by an author or on a subject you follow:"
	}
	return "These " + FormatCount(int64(len(e.Items))) + " new arrivals are by authors or on subjects you follow:"
}

func digestWhy(e DigestEmail) string {
	return "You get this email because you chose " + e.Period + " " + FavoritesEmails + " from " + OneLine(e.LibraryName) +
		". It is not a mailing list."
}

const digestNoTracking = "This email has no images and no tracking: the library cannot tell whether you open it."

// NoticeUnsubscribeView is the page the unsubscribe link of a digest
// email opens.
type NoticeUnsubscribeView struct {
	Token   string
	Done    bool
	Invalid bool
}
