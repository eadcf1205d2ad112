// Package mail writes and sends Carrel's emails, apart from HTTP: the SMTP
// settings, the Deliverer that assembles the new-arrival digests and works
// the outbox, the composition of every email (digests, and the notice that
// a nondisclosure order has ended), and the SMTP conversation.
//
// It may import models and views (the email templates and their words),
// never web: the CLI sends mail through it without the HTTP side, and
// models/jobs runs its outbox pass on a schedule.
package mail

import (
	"errors"
	"time"

	"github.com/carrel-library/carrel/views"
)

// Config is how the portal sends the new-arrival digest emails: the
// library's SMTP relay, and when digests fall due. Without a Host nothing
// is assembled or sent, and patrons see their notifications waiting.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	// From is the sender, "Library name <address>" or an address.
	From string
	// TLS is "starttls" (the default: STARTTLS, required), "tls" (TLS
	// from the first byte) or "none" (plain text; see cmd/carrel's check).
	TLS string
	// DigestHour is the library's local hour from which daily digests go
	// out; weekly ones go out on DigestWeekday from that hour.
	DigestHour    int
	DigestWeekday time.Weekday
	// Every is how often serve assembles and sends; 0 means a minute.
	Every time.Duration
}

// Enabled reports whether an SMTP relay is configured.
func (m Config) Enabled() bool { return m.Host != "" }

// ErrOff says no SMTP relay is configured, so nothing can be sent.
var ErrOff = errors.New("no SMTP server is configured (CARREL_SMTP_HOST)")

// Library is what the emails say of the library, and where its portal is.
type Library struct {
	// Name signs the emails and heads their subjects.
	Name string
	// PublicURL is the portal's address as patrons reach it, for the
	// links in emails and the Message-ID's and HELO's host name.
	PublicURL string
	// Location is the library's time zone, for digests' hours and the
	// dates in emails.
	Location *time.Location
	// Contact is whom patrons reach about their privacy.
	Contact views.Contact
}
