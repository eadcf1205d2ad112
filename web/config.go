// Package web is Carrel's HTTP side: the echo router, its middleware, the
// handlers, and the server-side session store behind the one cookie.
package web

import (
	"net"
	"time"

	"github.com/carrel-library/carrel/models"
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
	Location      *time.Location
	Sessions      models.SessionLimits
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
	// (see delivery.go).
	Mail MailConfig
}
