package mail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/models"
	gomail "github.com/wneessen/go-mail"
)

// Deliverer assembles digest emails and sends them. Several may run at
// once, in one process or many, over the same database: the outbox's
// idempotency keys and claims (models/digests.go) keep every digest to
// one sender at a time.
type Deliverer struct {
	Store *models.Store
	// Mail is the SMTP relay and the digests' hours.
	Mail Config
	// Library is what the emails say of the library.
	Library Library
	Log     *slog.Logger
	// Instance names this sender in the claims it takes.
	Instance string
	// Lease is how long a claim lasts; a sender that dies mid-way lets
	// its digest be retried after it. It must outlast Timeout.
	Lease time.Duration
	// Timeout bounds one SMTP conversation.
	Timeout time.Duration

	// legalRetries holds, per request and patron, the failed tries of a
	// legal email and when it may be tried again.
	legalMu      sync.Mutex
	legalRetries map[[2]int64]legalRetry
}

// NewDeliverer builds a sender with a fresh instance name. A library
// without a name is the "Public Library", one without a time zone is on
// UTC.
func NewDeliverer(store *models.Store, m Config, lib Library, log *slog.Logger) *Deliverer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lib.Location, lib.Name = cmp.Or(lib.Location, time.UTC), cmp.Or(lib.Name, "Public Library")
	return &Deliverer{Store: store, Mail: m, Library: lib, Log: log, Instance: "sender-" + models.RandomToken()[:12],
		Lease: 10 * time.Minute, Timeout: time.Minute}
}

// Report counts what one pass did.
type Report struct {
	Assembled int64 // digests made from waiting notifications
	Sent      int   // accepted by the SMTP server
	Retrying  int   // failed this time, to be tried again
	Failed    int   // given up
	Withdrawn int   // not sent after all: the patron stopped notices, or nothing was left in it
	Skipped   int   // claimed by another sender first
	// Told counts patrons emailed, once, that a nondisclosure order has
	// ended, with what happened to their records under it.
	Told int
	// LegalRetrying counts such emails that failed this time and will be
	// tried again after a wait; LegalGivenUp those no retry can help (the
	// patron is told at their next visit).
	LegalRetrying, LegalGivenUp int
	// LegalErrors is 1 when telling stopped on an error (logged): the
	// digests still went.
	LegalErrors int
}

func (r Report) String() string {
	return fmt.Sprintf("assembled=%d sent=%d retrying=%d failed=%d withdrawn=%d skipped=%d legal_told=%d legal_retrying=%d legal_given_up=%d legal_errors=%d",
		r.Assembled, r.Sent, r.Retrying, r.Failed, r.Withdrawn, r.Skipped, r.Told, r.LegalRetrying, r.LegalGivenUp, r.LegalErrors)
}

func (d *Deliverer) schedule() models.DigestSchedule {
	return models.DigestSchedule{Location: d.Library.Location, Hour: d.Mail.DigestHour, Weekday: d.Mail.DigestWeekday}
}

// RunOnce assembles the digests that are due and sends every digest due
// now, then returns. A digest in flight when ctx ends is finished (within
// Timeout) and recorded; no new one is started.
func (d *Deliverer) RunOnce(ctx context.Context) (Report, error) {
	var rep Report
	if !d.Mail.Enabled() {
		return rep, ErrOff
	}
	// Arrivals an upload stored but did not match (a failure, or a stop in
	// the middle) are matched first, so their notices go in this pass.
	if _, err := d.Store.MatchPending(ctx); err != nil {
		return rep, err
	}
	n, err := d.Store.AssembleDigests(ctx, d.schedule())
	rep.Assembled = n
	if err != nil {
		return rep, err
	}
	const batch = 50
	if err := d.tellLegal(ctx, &rep); err != nil {
		if ctx.Err() != nil {
			return rep, err
		}
		// The digests go all the same; the next pass tries again.
		rep.LegalErrors++
		d.Log.Error("legal notice emails stopped", "err", err)
	}
	// Every digest listed leaves the due list once handled (sent, given
	// up, put off, withdrawn, or claimed by another sender), so this ends;
	// the cap is a guard against a bug, not a limit on a busy day.
	for round := 0; round < 1000; round++ {
		due, err := d.Store.DueDigests(ctx, batch)
		if err != nil {
			return rep, err
		}
		for _, dd := range due {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if err := d.deliver(ctx, dd, &rep); err != nil {
				return rep, err
			}
		}
		if len(due) < batch {
			break
		}
	}
	return rep, nil
}

// deliver claims one digest and, if the claim is ours, sends it.
func (d *Deliverer) deliver(ctx context.Context, dd models.DueDigest, rep *Report) error {
	ok, err := d.Store.ClaimDigest(ctx, dd.PatronID, dd.ID, d.Instance, d.Lease)
	if err != nil {
		return err
	}
	if !ok {
		rep.Skipped++
		return nil
	}
	// From here the outcome is recorded even if ctx ends: the claim is
	// ours, and leaving it to expire would only delay the digest.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.Timeout+30*time.Second)
	defer cancel()
	m, err := d.Store.DigestMail(rec, dd.PatronID, dd.ID)
	if errors.Is(err, models.ErrNotFound) {
		rep.Skipped++ // purged or withdrawn in the meantime
		return nil
	} else if err != nil {
		return err
	}
	if !m.Deliverable() {
		rep.Withdrawn++
		return d.Store.WithdrawDigest(rec, dd.PatronID, dd.ID, d.Instance)
	}
	if m.Digest.Attempts >= models.DigestMaxAttempts {
		// Its senders kept dying mid-way: give up rather than loop.
		return d.failed(rec, m, "", rep)
	}
	msg, err := d.message(m)
	if errors.Is(err, errBadRecipient) {
		return d.failed(rec, m, models.SanitizeDeliveryError(models.FailureAddress, err, m.Patron.Email), rep)
	} else if err != nil {
		return d.failed(rec, m, models.SanitizeDeliveryError(models.FailureOther, err, m.Patron.Email), rep)
	}
	client, err := d.client()
	if err != nil {
		return d.failed(rec, m, models.SanitizeDeliveryError(models.FailureUnreachable, err), rep)
	}
	sendCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), d.Timeout)
	defer stop()
	conn, err := client.DialToSMTPClientWithContext(sendCtx)
	if err != nil {
		return d.failed(rec, m, models.SanitizeDeliveryError(models.FailureUnreachable, err, m.Patron.Email, d.Mail.From), rep)
	}
	sendErr := client.SendWithSMTPClient(conn, msg)
	_ = client.CloseWithSMTPClient(conn)
	if msg.IsDelivered() {
		// The server accepted it (a failure after that, of RSET or QUIT,
		// changes nothing). Recorded now; if this write fails, the claim
		// expires and the digest goes again with the same Message-ID.
		if _, err := d.Store.MarkDigestSent(rec, dd.PatronID, dd.ID); err != nil {
			return err
		}
		rep.Sent++
		return nil
	}
	kind := sendFailureKind(sendErr)
	return d.failed(rec, m, models.SanitizeDeliveryError(kind, sendErr, m.Patron.Email, d.Mail.From), rep)
}

// failed records a failed try and logs it without personal data: the
// digest's number, the kind of failure and the SMTP code, never an
// address or the server's words.
func (d *Deliverer) failed(ctx context.Context, m models.DigestMail, reason string, rep *Report) error {
	final := models.FailureKind(reason) == models.FailureAddress
	status, err := d.Store.FailDigest(ctx, m.Patron.ID, m.Digest.ID, d.Instance, reason, final)
	if err != nil {
		return err
	}
	switch status {
	case models.DigestFailed:
		rep.Failed++
	case models.DigestPending:
		rep.Retrying++
	}
	d.Log.Warn("digest email not sent", "digest", m.Digest.ID, "attempt", m.Digest.Attempts+1,
		"kind", models.FailureKind(reason), "smtp_code", smtpCode(reason), "given_up", status == models.DigestFailed)
	return nil
}

// sendFailureKind sorts an error from the SMTP conversation after the
// connection was made.
func sendFailureKind(err error) string {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		if errors.Is(err, context.DeadlineExceeded) {
			return models.FailureInterrupted
		}
		return models.FailureOther
	}
	code := se.ErrorCode()
	switch {
	case code >= 500:
		return models.FailureRefused
	case code >= 400:
		return models.FailureBusy
	}
	// No reply code: the connection broke (mid-DATA, say) or timed out.
	return models.FailureInterrupted
}

// smtpCode finds a reply code (4xx or 5xx) in a sanitised reason, for logs.
func smtpCode(reason string) string {
	for _, f := range strings.Fields(reason) {
		if len(f) == 3 && (f[0] == '4' || f[0] == '5') {
			if _, err := strconv.Atoi(f); err == nil {
				return f
			}
		}
	}
	return ""
}

// client builds an SMTP client from the settings.
func (d *Deliverer) client() (*gomail.Client, error) {
	m := d.Mail
	port := m.Port
	if port == 0 {
		port = 587
		if m.TLS == "tls" {
			port = 465
		}
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(d.Timeout), gomail.WithHELO(d.domain())}
	switch m.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(m.Username), gomail.WithPassword(m.Password))
	}
	return gomail.NewClient(m.Host, opts...)
}

// domain is the portal's host name, for the Message-ID and HELO.
func (d *Deliverer) domain() string {
	u, err := url.Parse(d.Library.PublicURL)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		return "[" + ip.String() + "]"
	}
	return u.Hostname()
}
