package models

// Sign-in through the library's own system (the ILS), and the state of
// the connectors that reach it. The protocol clients live in models/ils/sip2
// and models/ils/koha; models/ils adapts them to PatronProvider and sends
// the consent outbox (outbox.go) to Koha and to webhooks.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PatronProvider checks a card number and PIN with the library's own
// system. CheckPatron returns ErrBadCredentials when the ILS refuses the
// card or PIN, or marks the patron invalid or blocked from signing in; an
// *ILSUnavailableError when the ILS is down, slow or answers nonsense;
// never a sign-in for anything it could not understand.
type PatronProvider interface {
	// Name is the connector's name in metrics, logs and the staff
	// console: "sip2" or "koha".
	Name() string
	CheckPatron(ctx context.Context, card, pin string) (ILSPatron, error)
}

// ILSPatron is what the ILS says of a patron it accepted.
type ILSPatron struct {
	// ILSID is the ILS's own identifier of the patron (Koha's patron_id),
	// the key `carrel import` matches on; "" when the protocol gives none
	// (SIP2), and the patron is then matched by card number at the next
	// import (see ilsimport).
	ILSID         string
	Card          string // the card number as the ILS holds it ("" = as typed)
	GivenName     string
	FamilyName    string
	Email         string
	Phone         string
	PostalAddress string
	HomeBranch    string
	CardExpiresOn time.Time // zero when the ILS did not say
	// Privacy is Koha's patron privacy setting (0 keep, 1 library's
	// default, 2 never keep) when the provider reads one; nil otherwise.
	Privacy *int
}

// Koha's patron privacy values (borrowers.privacy).
const (
	KohaPrivacyKeep    = 0
	KohaPrivacyDefault = 1
	KohaPrivacyNever   = 2
)

// ILSUnavailableError says the library's system could not be asked: it
// did not answer in time, refused the connection, or answered something
// the portal could not understand. Nothing was decided about the card.
type ILSUnavailableError struct {
	Connector string
	Err       error
}

func (e *ILSUnavailableError) Error() string {
	return "ils " + e.Connector + " unavailable: " + e.Err.Error()
}

func (e *ILSUnavailableError) Unwrap() error { return e.Err }

// ErrILSUnavailable matches every *ILSUnavailableError with errors.Is.
var ErrILSUnavailable = errors.New("the library's system is not answering")

// Is makes errors.Is(err, ErrILSUnavailable) true.
func (e *ILSUnavailableError) Is(target error) bool { return target == ErrILSUnavailable }

// ChannelILS is the consent-ledger channel of a change the patron made in
// the library's catalog (the ILS) and Carrel followed at sign-in.
const ChannelILS = "ils"

// Consent outbox targets: where a consent change is sent after it commits.
const (
	// TargetKoha writes the reading-history choice to Koha's patron
	// privacy. Only reading_history changes of patrons with an ILS id, and
	// never a change that came from the ILS (ChannelILS), go there.
	TargetKoha = "koha"
	// TargetWebhookPrefix + URL posts every consent change, signed, to
	// that URL (CARREL_WEBHOOK_URL).
	TargetWebhookPrefix = "webhook:"
)

// ConnectorOf names the connector that carries an outbox target, as the
// staff console, the logs and /metrics show it: "koha", or "webhook" and
// the receiver's host (never its path or query, which may hold a token).
func ConnectorOf(target string) string {
	if target == TargetKoha {
		return "koha"
	}
	if raw, ok := strings.CutPrefix(target, TargetWebhookPrefix); ok {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			return "webhook " + u.Host
		}
		return "webhook"
	}
	return target
}

// NetworkFault names, in a few words without personal data, a fault in
// reaching a connector: "timeout", "cancelled", "connection refused",
// "connection reset", "no such host", a refused certificate or
// handshake. "" when err is none of those (the caller says what else went
// wrong its own way).
func NetworkFault(err error) string {
	var dns *net.DNSError
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var badCert x509.CertificateInvalidError
	var badHost x509.HostnameError
	var tlsRecord tls.RecordHeaderError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.As(err, &dns):
		return "no such host"
	case errors.As(err, &unknownCA), errors.As(err, &badCert), errors.As(err, &badHost), errors.As(err, &tlsRecord):
		return "TLS: certificate or handshake refused"
	}
	return ""
}

// SignIn is the result of a patron's sign-in.
type SignIn struct {
	// Patron is the patron as it was before this sign-in (so the caller
	// can tell what happened since the last visit), with contact details
	// as refreshed from the ILS.
	Patron Patron
	// Created is true when this sign-in made the patron's record.
	Created bool
	// Followed, when set, is a reading-history change the patron made in
	// the library's catalog since their last visit, which Carrel followed
	// (and recorded with ChannelILS) during this sign-in.
	Followed *ILSFollow
}

// ILSFollow is a choice Carrel took over from the ILS at sign-in.
type ILSFollow struct {
	Subject  string // ConsentReadingHistory
	NewValue string // "on" or "off"
	Erased   int64  // history entries erased because it was turned off
}

// ConnectorStatus is what this instance knows of one connector to the
// library's systems: counts since start, the last success and error.
type ConnectorStatus struct {
	Name        string
	Attempts    int64
	Failures    int64
	LastSuccess time.Time
	LastError   time.Time
	// LastErrorText says what went wrong, without personal data (no card
	// numbers, PINs or names): "timeout", "connection refused", "HTTP 500".
	LastErrorText string
	// Latency is how long the last answer (good or bad) took.
	Latency time.Duration
}

// Connectors keeps every connector's status in this instance. It is
// safe for concurrent use; the zero value is ready.
type Connectors struct {
	mu sync.Mutex
	m  map[string]*ConnectorStatus
}

// Observe records one call to a connector that started at start and
// took d. errText is "" for a success (a refused PIN is a success of the
// connector) and otherwise a short description without personal data.
func (c *Connectors) Observe(name string, start time.Time, d time.Duration, errText string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*ConnectorStatus{}
	}
	st := c.m[name]
	if st == nil {
		st = &ConnectorStatus{Name: name}
		c.m[name] = st
	}
	st.Attempts++
	st.Latency = d
	if errText == "" {
		st.LastSuccess = start.Add(d)
		return
	}
	st.Failures++
	st.LastError = start.Add(d)
	// The row names the connector already: "koha: validate password:
	// HTTP 500" reads "validate password: HTTP 500" there.
	st.LastErrorText = strings.TrimPrefix(errText, name+": ")
}

// Register makes a connector show (with no calls yet) before its first
// use, so the staff console lists every configured connector.
func (c *Connectors) Register(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*ConnectorStatus{}
	}
	if c.m[name] == nil {
		c.m[name] = &ConnectorStatus{Name: name}
	}
}

// Snapshot lists every connector's status, by name.
func (c *Connectors) Snapshot() []ConnectorStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ConnectorStatus, 0, len(c.m))
	for _, st := range c.m {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
