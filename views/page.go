// Package views holds Carrel's templ components. Components take view
// models built by the web package, never database structs.
package views

import (
	"strings"

	"github.com/a-h/templ"
	"github.com/carrel-library/carrel/static"
	"github.com/carrel-library/carrel/views/i18n"
)

// Page is what the layout needs to know about every page.
type Page struct {
	Title       string
	LibraryName string
	LogoURL     string
	// Path is the current route, for marking the current navigation link.
	Path string
	// CSRF is the session's form token; forms carry it as csrf_token.
	CSRF string
	// Principal is who is signed in, or nil.
	Principal *Principal
	// Notice is a one-line status message shown above the content.
	Notice string
	Demo   bool
	// Assist is set while a staff member assists a patron.
	Assist *AssistBanner
	// AssistEnded is set on the page of the request in which the staff
	// member's assistance ran out.
	AssistEnded *AssistEnded
	// SignsOutAt is when a signed-in visitor's session ends if they leave
	// the page (a time of day in the library's time zone); SignsOutIdle,
	// that it is the idle limit (not the longest a sign-in lasts).
	SignsOutAt   string
	SignsOutIdle bool
	// CanAudit and CanAdmin widen a staff member's navigation.
	CanAudit, CanAdmin bool
	// CatalogReturn is the catalog page the patron came from, if any.
	CatalogReturn string
	// CatalogWelcome names who was just signed in by a catalog hand-off.
	CatalogWelcome string
	// ILSWelcome welcomes a patron whose record their first sign-in
	// through the library's system made.
	ILSWelcome bool
	// Contact is the library's privacy contact (CARREL_PRIVACY_CONTACT);
	// its zero value sends patrons to any desk.
	Contact Contact
	// URL is the page's path and query as asked for, for the language
	// switch's links and its return.
	URL string
	// NoSwitch hides the language switch (staff pages, which are English
	// only for now).
	NoSwitch bool
}

// Contact is whom a patron reaches about their privacy: a name and at
// least an email address or a phone number.
type Contact struct {
	Name, Email, Phone, Address string
}

// Set reports whether the library named a privacy contact.
func (c Contact) Set() bool { return c.Name != "" }

// MailTo is the contact's mailto: link, or "".
func (c Contact) MailTo() templ.SafeURL {
	if c.Email == "" {
		return ""
	}
	return templ.SafeURL("mailto:" + c.Email)
}

// Tel is the contact's tel: link (digits and a leading +), or "".
func (c Contact) Tel() templ.SafeURL {
	var b strings.Builder
	for i, r := range strings.TrimSpace(c.Phone) {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return templ.SafeURL("tel:" + b.String())
}

// contactPart is one part of the contact as a sentence: its words, a
// link when it has one, and the punctuation after it.
type contactPart struct {
	Text  string
	Href  templ.SafeURL
	After string
}

// parts lists the contact's parts in order, commas between, a full stop
// after the last.
func (c Contact) parts() []contactPart {
	out := []contactPart{{Text: c.Name}}
	if c.Email != "" {
		out = append(out, contactPart{Text: c.Email, Href: c.MailTo()})
	}
	if c.Phone != "" {
		out = append(out, contactPart{Text: c.Phone, Href: c.Tel()})
	}
	if c.Address != "" {
		out = append(out, contactPart{Text: c.Address})
	}
	for i := range out {
		out[i].After = ", "
	}
	out[len(out)-1].After = "."
	return out
}

// Words is the contact in one plain line, for emails: "contact Privacy
// Officer, privacy@library.example, +1 310 458 8600, 1 Main St". When none
// is set, it sends the patron to any desk of library.
func (c Contact) Words(t *i18n.Tr, library string) string {
	if !c.Set() {
		return t.S("layout.contact.words_desk", "Library", library)
	}
	parts := []string{c.Name}
	for _, p := range []string{c.Email, c.Phone, c.Address} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return t.S("layout.contact.words", "Contact", strings.Join(parts, ", "))
}

// AssistEnded says that a staff member's assistance ran out: for whom,
// after how long ("15 minutes"), where to assist again, and whether the
// form they sent was therefore not carried out.
type AssistEnded struct {
	PatronName string
	After      string
	AgainURL   string
	Unsent     bool
}

// Principal is the signed-in visitor as the layout shows them.
type Principal struct {
	Kind string // "patron" or "staff"
	Name string
}

// SignOutURL is where the sign-out button posts.
func (p Page) SignOutURL() string {
	if p.Principal != nil && p.Principal.Kind == "staff" {
		return "/staff/logout"
	}
	return "/logout"
}

// SignedIn reports whether a patron or staff member is signed in.
func (p Page) SignedIn() bool { return p.Principal != nil }

// NavItem is one link of the main navigation: its label's message ID
// and where it leads.
type NavItem struct {
	Label, Href string
}

// Nav lists the navigation links for the visitor.
func (p Page) Nav() []NavItem {
	if p.Principal != nil && p.Principal.Kind == "staff" && p.Assist == nil {
		items := []NavItem{{"layout.nav.console", "/staff"}, {"layout.nav.find_patron", "/staff/patrons"}, {"layout.nav.arrivals", "/staff/arrivals"}}
		if p.CanAudit {
			items = append(items, NavItem{"layout.nav.audit", "/staff/audit"}, NavItem{"layout.nav.retention", "/staff/retention"},
				NavItem{"layout.nav.legal", "/staff/legal"}, NavItem{"layout.nav.stats", "/staff/stats"})
		}
		if p.CanAdmin {
			items = append(items, NavItem{"layout.nav.staff_lists", "/staff/lists"}, NavItem{"layout.nav.accounts", "/staff/accounts"})
		}
		return items
	}
	if p.Assist != nil || (p.Principal != nil && p.Principal.Kind == "patron") {
		return []NavItem{
			{"layout.nav.data", "/data"},
			{"layout.nav.favorites", "/favorites"},
			{"layout.nav.lists", "/mailing-lists"},
			{"layout.nav.policy", "/policy"},
		}
	}
	return []NavItem{
		{"layout.nav.home", "/"},
		{"layout.nav.policy", "/policy"},
	}
}

// Current reports whether a navigation link leads to the current page or
// the section it belongs to (/data for /data/loans).
func (p Page) Current(href string) bool {
	if href == "/" || href == "/staff" {
		return p.Path == href
	}
	return p.Path == href || strings.HasPrefix(p.Path, href+"/")
}

func asset(name string) string { return static.URL(name) }
