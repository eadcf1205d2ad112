// Package web is Carrel's HTTP side: the echo router, its middleware, the
// handlers, and the server-side session store behind the one cookie.
package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/mail"
	"github.com/carrel-library/carrel/views"
)

// Config is everything the HTTP side needs to know about its deployment.
// cmd/carrel fills it from CARREL_* settings and flags.
type Config struct {
	Addr string
	// PublicURL is the portal's address as patrons reach it, for links
	// that leave the site (unsubscribe links in emails).
	PublicURL   string
	Demo        bool
	LibraryName string
	// LogoFile, when set, is an image served as the library's logo.
	LogoFile string
	// Policy is the library's privacy policy as plain text, and
	// PolicyVersion names that text in consent-ledger entries.
	Policy        string
	PolicyVersion string
	// PolicyES is the library's own Spanish version of the policy, plain
	// text like Policy (CARREL_POLICY_FILE_ES); "" when it has none, and
	// the Spanish policy page shows the English text, marked as English.
	PolicyES string
	Location *time.Location
	Sessions models.SessionLimits
	// AssistLimit is how long staff may assist a patron before the
	// assistance ends by itself (at most 30 minutes).
	AssistLimit time.Duration
	// CookieSecure is "auto" (Secure on HTTPS, and on plain HTTP everywhere
	// but demo mode) or "always".
	CookieSecure string
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed. Empty: none.
	TrustedProxies []*net.IPNet
	// BodyLimit caps request bodies, e.g. "1M".
	BodyLimit string
	// MetricsToken, when set, is the bearer token /metrics requires;
	// unset, there is no /metrics.
	MetricsToken string
	// PurgeEvery is how often the portal purges what retention allows to
	// go; zero turns the in-process purge off.
	PurgeEvery time.Duration
	// SigninRate and SigninBurst bound sign-in attempts from one client
	// address: on average SigninRate a second, SigninBurst at once.
	SigninRate  float64
	SigninBurst int
	// StaffSearchBurst and StaffSearchEvery pace each staff member's
	// patron look-ups (searches and records opened, from one allowance):
	// StaffSearchBurst at once, then one more every StaffSearchEvery. The
	// counts live in memory, per instance.
	StaffSearchBurst int
	StaffSearchEvery time.Duration
	// Mail is how digest emails are sent; without a host, none are
	// (models/mail).
	Mail mail.Config
	// PrivacyContact is whom patrons reach about their privacy: shown in
	// every page's footer and wherever a patron is asked to tell the
	// library something. Unset, pages send them to any desk.
	PrivacyContact views.Contact
	// StaffOIDC is single sign-on for staff; an empty Issuer turns it off.
	StaffOIDC StaffOIDC
	// StaffLocalOff refuses local staff passwords (CARREL_STAFF_LOCAL=off):
	// staff sign in through the identity provider only.
	StaffLocalOff bool
	// StaffTOTP says which local accounts need a second factor:
	// TOTPRequiredForOfficers (the default when ""), TOTPRequired or
	// TOTPOptional.
	StaffTOTP string
}

// CARREL_STAFF_TOTP values.
const (
	TOTPRequiredForOfficers = "required-for-officers"
	TOTPRequired            = "required"
	TOTPOptional            = "optional"
)

// StaffOIDC is how staff sign in through the library's identity provider
// (OpenID Connect, authorization code flow with PKCE).
type StaffOIDC struct {
	Issuer       string
	Name         string // "Sign in with <Name>"
	ClientID     string
	ClientSecret string
	// RolesClaim is the ID token claim holding groups (default "groups");
	// Roles maps each role (models.RoleAssistant, ...) to the claim values
	// that grant it.
	RolesClaim string
	Roles      map[string][]string
	// HTTPClient, when set, reaches the provider (tests: its TLS trust).
	HTTPClient *http.Client
}

// Enabled reports whether staff may sign in through the provider.
func (o StaffOIDC) Enabled() bool { return o.Issuer != "" }

// ParsePrivacyContact reads CARREL_PRIVACY_CONTACT: "name; email; phone;
// address", separated by semicolons, with a name and at least an email or
// a phone. Empty parts may be left out at the end ("name; email") or left
// empty in the middle ("name; ; phone"). The empty string is no contact.
func ParsePrivacyContact(v string) (views.Contact, error) {
	var c views.Contact
	v = strings.TrimSpace(v)
	if v == "" {
		return c, nil
	}
	if len(v) > 500 || strings.ContainsFunc(v, unicode.IsControl) {
		return c, errors.New("at most 500 characters on one line")
	}
	parts := strings.Split(v, ";")
	if len(parts) > 4 {
		return c, errors.New("at most four parts: name; email; phone; address")
	}
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	c = views.Contact{Name: parts[0], Email: parts[1], Phone: parts[2], Address: parts[3]}
	if c.Name == "" {
		return views.Contact{}, errors.New("a name first, such as 'Privacy Officer; privacy@library.example'")
	}
	if c.Email == "" && c.Phone == "" {
		return views.Contact{}, errors.New("a name and at least an email address or a phone number")
	}
	if c.Email != "" {
		a, err := netmail.ParseAddress(c.Email)
		if err != nil || a.Address != c.Email || !strings.Contains(a.Address[strings.LastIndex(a.Address, "@")+1:], ".") {
			return views.Contact{}, fmt.Errorf("%q is not an email address such as privacy@library.example", c.Email)
		}
	}
	if c.Phone != "" {
		digits := 0
		for _, r := range c.Phone {
			switch {
			case r >= '0' && r <= '9':
				digits++
			case strings.ContainsRune(" +-().", r):
			default:
				return views.Contact{}, fmt.Errorf("%q is not a phone number such as +1 310 458 8600", c.Phone)
			}
		}
		if digits < 3 || digits > 20 {
			return views.Contact{}, fmt.Errorf("%q is not a phone number such as +1 310 458 8600", c.Phone)
		}
	}
	return c, nil
}

// DemoPrivacyContact is the contact demo mode shows when none is set:
// plainly an example, on reserved example names and numbers.
var DemoPrivacyContact = views.Contact{Name: "Example Privacy Officer (demo)", Email: "privacy@library.example",
	Phone: "+1 555 0100", Address: "1 Example Street, Example City"}

// MailLibrary is what the emails say of the library: its name, the
// portal's public address (the listening address when none is set), its
// time zone and privacy contact.
func (c Config) MailLibrary() mail.Library {
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	return mail.Library{Name: c.LibraryName, PublicURL: c.PublicURL, Location: c.Location, Contact: c.PrivacyContact}
}
