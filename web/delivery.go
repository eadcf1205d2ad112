package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
	"github.com/wneessen/go-mail"
)

// MailConfig is how the portal sends the new-arrival digest emails: the
// library's SMTP relay, and when digests fall due. Without a Host nothing
// is assembled or sent, and patrons see their notifications waiting.
type MailConfig struct {
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
func (m MailConfig) Enabled() bool { return m.Host != "" }

// ErrMailOff says no SMTP relay is configured, so nothing can be sent.
var ErrMailOff = errors.New("no SMTP server is configured (CARREL_SMTP_HOST)")

// Deliverer assembles digest emails and sends them. Several may run at
// once, in one process or many, over the same database: the outbox's
// idempotency keys and claims (models/digests.go) keep every digest to
// one sender at a time.
type Deliverer struct {
	Store  *models.Store
	Config Config
	Log    *slog.Logger
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

// NewDeliverer builds a sender with a fresh instance name.
func NewDeliverer(store *models.Store, cfg Config, log *slog.Logger) *Deliverer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Addr
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.LibraryName == "" {
		cfg.LibraryName = "Public Library"
	}
	return &Deliverer{Store: store, Config: cfg, Log: log, Instance: "sender-" + models.RandomToken()[:12],
		Lease: 10 * time.Minute, Timeout: time.Minute}
}

// DeliveryReport counts what one pass did.
type DeliveryReport struct {
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

func (r DeliveryReport) String() string {
	return fmt.Sprintf("assembled=%d sent=%d retrying=%d failed=%d withdrawn=%d skipped=%d legal_told=%d legal_retrying=%d legal_given_up=%d legal_errors=%d",
		r.Assembled, r.Sent, r.Retrying, r.Failed, r.Withdrawn, r.Skipped, r.Told, r.LegalRetrying, r.LegalGivenUp, r.LegalErrors)
}

func (d *Deliverer) schedule() models.DigestSchedule {
	return models.DigestSchedule{Location: d.Config.Location, Hour: d.Config.Mail.DigestHour, Weekday: d.Config.Mail.DigestWeekday}
}

// RunOnce assembles the digests that are due and sends every digest due
// now, then returns. A digest in flight when ctx ends is finished (within
// Timeout) and recorded; no new one is started.
func (d *Deliverer) RunOnce(ctx context.Context) (DeliveryReport, error) {
	var rep DeliveryReport
	if !d.Config.Mail.Enabled() {
		return rep, ErrMailOff
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
func (d *Deliverer) deliver(ctx context.Context, dd models.DueDigest, rep *DeliveryReport) error {
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
		return d.failed(rec, m, models.SanitizeDeliveryError(models.FailureUnreachable, err, m.Patron.Email, d.Config.Mail.From), rep)
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
	return d.failed(rec, m, models.SanitizeDeliveryError(kind, sendErr, m.Patron.Email, d.Config.Mail.From), rep)
}

// failed records a failed try and logs it without personal data: the
// digest's number, the kind of failure and the SMTP code, never an
// address or the server's words.
func (d *Deliverer) failed(ctx context.Context, m models.DigestMail, reason string, rep *DeliveryReport) error {
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
	var se *mail.SendError
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
func (d *Deliverer) client() (*mail.Client, error) {
	m := d.Config.Mail
	port := m.Port
	if port == 0 {
		port = 587
		if m.TLS == "tls" {
			port = 465
		}
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(d.Timeout), mail.WithHELO(d.domain())}
	switch m.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if m.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(m.Username), mail.WithPassword(m.Password))
	}
	return mail.NewClient(m.Host, opts...)
}

// domain is the portal's host name, for the Message-ID and HELO.
func (d *Deliverer) domain() string {
	u, err := url.Parse(d.Config.PublicURL)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		return "[" + ip.String() + "]"
	}
	return u.Hostname()
}

// NoticeUnsubscribeURL is the one-click link that stops a patron's
// new-arrival emails.
func NoticeUnsubscribeURL(base string, store *models.Store, patronID int64) string {
	return strings.TrimRight(base, "/") + "/unsubscribe/notices/" + store.NoticeToken(patronID)
}

// Email is a digest email as written, before it goes to the server.
type Email struct {
	View views.DigestEmail
	Text string
	HTML string
}

// Compose writes a digest's email: the same view model as plain text
// and as HTML.
func (d *Deliverer) Compose(m models.DigestMail) (Email, error) {
	base := strings.TrimRight(d.Config.PublicURL, "/")
	kind, _, _ := models.ParseDigestKey(m.Digest.IdempotencyKey)
	v := views.DigestEmail{
		LibraryName:    d.Config.LibraryName,
		Subject:        views.DigestSubject(d.Config.LibraryName, len(m.Notifications)),
		Period:         kind,
		ManageURL:      base + "/favorites",
		UnsubscribeURL: NoticeUnsubscribeURL(base, d.Store, m.Patron.ID),
	}
	for _, n := range m.Notifications {
		v.Items = append(v.Items, views.DigestItem{Title: n.Title, Author: n.Author, URL: views.LinkOrEmpty(n.CatalogURL), Reason: n.Reason})
	}
	var buf bytes.Buffer
	if err := views.DigestEmailHTML(v).Render(context.Background(), &buf); err != nil {
		return Email{}, fmt.Errorf("web: render digest: %w", err)
	}
	return Email{View: v, Text: views.DigestEmailText(v), HTML: buf.String()}, nil
}

// errBadRecipient says the patron's address cannot be written to at all:
// no retry will help, so the digest is given up at once.
var errBadRecipient = errors.New("the email address on file is not one a message can be sent to")

// message builds the email of a digest: to the patron, from the library,
// a plain-text and an HTML part, a Message-ID derived from the digest's
// idempotency key, and the one-click unsubscribe headers (RFC 2369, and
// RFC 8058 when the portal is on HTTPS, as that RFC requires).
func (d *Deliverer) message(m models.DigestMail) (*mail.Msg, error) {
	e, err := d.Compose(m)
	if err != nil {
		return nil, err
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(d.Config.Mail.From); err != nil {
		return nil, fmt.Errorf("the sender address: %w", err)
	}
	if err := msg.To(strings.TrimSpace(m.Patron.Email)); err != nil {
		return nil, errBadRecipient
	}
	msg.Subject(e.View.Subject)
	msg.SetMessageIDWithValue(d.Store.DigestMessageID(m.Digest, d.domain()))
	msg.SetDateWithValue(d.Store.Now())
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBulk()
	if strings.HasPrefix(e.View.UnsubscribeURL, "https://") {
		if err := msg.SetListUnsubscribeOneClick(e.View.UnsubscribeURL); err != nil {
			return nil, err
		}
	} else {
		msg.SetListUnsubscribe(e.View.UnsubscribeURL)
	}
	msg.SetBodyString(mail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	return msg, nil
}

// DeliverDigests assembles and sends digest emails every Mail.Every (a
// minute by default) until ctx ends. Without SMTP settings it returns at
// once. Errors are logged without personal data.
func (s *Server) DeliverDigests(ctx context.Context) {
	if !s.Config.Mail.Enabled() {
		return
	}
	every := s.Config.Mail.Every
	if every <= 0 {
		every = time.Minute
	}
	d := NewDeliverer(s.Store, s.Config, s.Log)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rep, err := d.RunOnce(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			s.Log.Error("digest delivery failed", "err", err)
		case rep.Assembled+int64(rep.Sent+rep.Retrying+rep.Failed+rep.Withdrawn+rep.Told+rep.LegalRetrying+rep.LegalGivenUp+rep.LegalErrors) > 0:
			s.Log.Info("digest delivery", "assembled", rep.Assembled, "sent", rep.Sent, "retrying", rep.Retrying,
				"failed", rep.Failed, "withdrawn", rep.Withdrawn, "legal_told", rep.Told, "legal_retrying", rep.LegalRetrying,
				"legal_given_up", rep.LegalGivenUp, "legal_errors", rep.LegalErrors)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// NoticeUnsubscribePage confirms the unsubscribe link of a new-arrival
// email. A GET never changes anything (mail scanners follow links), and
// starts no session.
func (s *Server) NoticeUnsubscribePage(c echo.Context) error {
	tok := c.Param("token")
	v := views.NoticeUnsubscribeView{Token: tok}
	status := http.StatusOK
	if err := s.Store.CheckNoticeToken(tok); err != nil {
		v.Invalid, status = true, http.StatusNotFound
	}
	return s.render(c, status, views.NoticeUnsubscribe(s.page(c, "Stop new-arrival emails"), v))
}

// NoticeUnsubscribeSubmit stops a patron's new-arrival emails (RFC 8058):
// it needs no cookie and no form token, because a mail provider POSTs it.
func (s *Server) NoticeUnsubscribeSubmit(c echo.Context) error {
	err := s.Store.StopNoticesByToken(c.Request().Context(), c.Param("token"))
	v := views.NoticeUnsubscribeView{Done: true}
	status := http.StatusOK
	if errors.Is(err, models.ErrBadNoticeToken) {
		v.Invalid, v.Done, status = true, false, http.StatusNotFound
	} else if err != nil {
		return err
	}
	return s.render(c, status, views.NoticeUnsubscribe(s.page(c, "Stop new-arrival emails"), v))
}

// failureWords says why an email did not go, in the patron's words.
func failureWords(lastError string) string {
	switch models.FailureKind(lastError) {
	case models.FailureUnreachable:
		return "the library's mail service could not be reached"
	case models.FailureBusy:
		return "the receiving mail server asked us to try again later"
	case models.FailureRefused:
		return "the receiving mail server refused it"
	case models.FailureInterrupted:
		return "the connection broke while it was being sent"
	case models.FailureAddress:
		return "the email address on your record cannot receive mail; ask at any desk to correct it"
	}
	return "something went wrong on our side"
}

// deliveryStatus says where a notification's email stands.
func (s *Server) deliveryStatus(p *models.Patron, r models.NotificationDelivery, due func(string, time.Time) string) string {
	if r.SentAt != nil {
		return "Sent by email on " + s.date(*r.SentAt) + "; " + deletedOn(due("notifications", *r.SentAt))
	}
	status, attempts := "", 0
	if r.DigestStatus != nil {
		status = *r.DigestStatus
	}
	if r.DigestAttempts != nil {
		attempts = *r.DigestAttempts
	}
	lastError := ""
	if r.DigestLastError != nil {
		lastError = *r.DigestLastError
	}
	days := s.Store.RetentionNow().NotificationDays
	switch {
	case r.SentAt == nil && r.DigestID == nil && r.CreatedAt.Before(s.Store.Now().AddDate(0, 0, -days)):
		// Past its retention (shown only while a hold pauses deletion):
		// emails never carry it (models.AssembleDigests).
		return fmt.Sprintf("Not emailed: more than %d days old", days)
	case status == models.DigestFailed:
		line := "Could not be sent: " + failureWords(lastError) + "."
		if r.DigestNextAttemptAt != nil {
			line += " Tried " + plural(int64(attempts), "time", "times") + "; " + deletedOn(due("notifications", *r.DigestNextAttemptAt))
		}
		return line
	case p.FavoritesNotice != models.NoticeDaily && p.FavoritesNotice != models.NoticeWeekly:
		return "Not emailed: you chose no email notices"
	case strings.TrimSpace(p.Email) == "":
		return "Not emailed: we have no email address for you"
	case status == models.DigestPending && attempts > 0:
		line := fmt.Sprintf("Retrying (attempt %d did not go through: %s)", attempts, failureWords(lastError))
		if r.DigestNextAttemptAt != nil {
			line += "; next try " + s.dateTime(*r.DigestNextAttemptAt)
		}
		return line
	case status == models.DigestPending:
		return "Waiting to be sent: your " + p.FavoritesNotice + " email is on its way"
	case !s.Config.Mail.Enabled():
		return "Waiting to be sent"
	}
	return "Waiting to be sent with your next " + p.FavoritesNotice + " email"
}

// digestTable lays out every digest email of a patron.
func (s *Server) digestTable(ctx context.Context, patronID int64, part models.CategoryPart, view models.PatronView) (views.Table, error) {
	t := views.Table{Caption: part.Title, TestID: part.Key, Empty: part.Empty,
		Columns: []views.Column{{Label: "Email"}, {Label: "New arrivals in it", Numeric: true}, {Label: "Status"}}}
	rows, err := s.Store.DigestRecords(ctx, patronID)
	if err == nil {
		rows, err = s.Store.VisibleDigests(ctx, view, rows)
	}
	if err != nil {
		return t, err
	}
	for _, r := range rows {
		name := "Email"
		if r.Period != "" {
			name = titleCase(r.Period) + " email"
		}
		if day, err := time.Parse("2006-01-02", r.PeriodDate); err == nil {
			name += " of " + day.Format("January 2, 2006")
		}
		status := ""
		switch r.Status {
		case models.DigestSent:
			status = "Sent " + s.dateTime(*r.SentAt)
		case models.DigestFailed:
			status = "Could not be sent after " + plural(int64(r.Attempts), "try", "tries") + ": " + failureWords(r.LastError)
		case models.DigestPending:
			status = "Waiting to be sent"
			if r.Attempts > 0 {
				status = fmt.Sprintf("Retrying after %s: %s", plural(int64(r.Attempts), "failed try", "failed tries"), failureWords(r.LastError))
			}
		}
		t.Rows = append(t.Rows, views.Row{Cells: []string{name, strconv.Itoa(len(r.NotificationIDs)), status}})
	}
	return t, nil
}

// categoryParts lays out a category's further tables (models.Category
// Parts) for its detail page and the print view.
func (s *Server) categoryParts(ctx context.Context, cat models.Category, patronID int64, view models.PatronView) ([]views.Table, error) {
	var out []views.Table
	for _, part := range cat.Parts {
		switch part.Table {
		case "digests":
			t, err := s.digestTable(ctx, patronID, part, view)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		default:
			return nil, fmt.Errorf("web: no table for %s's part %q", cat.Slug, part.Table)
		}
	}
	return out, nil
}

// TellLegal emails, once each, the patrons covered by a legal request
// whose nondisclosure order has ended, what happened to their records
// under it, and marks them told (legal_request_patrons.told_at). A patron
// with no email address is marked told: the overview's notice tells them
// at their next visit. With no SMTP server configured nothing is marked,
// so the emails go once one is. The email is plain text and carries no
// record, only the court, the dates and the categories.
//
// One patron's trouble never holds up the others: a pass goes through
// every untold patron once, in order. An email the server puts off ("try
// again later", a broken connection) is tried again after the digests'
// backoff (DigestBackoff), at most DigestMaxAttempts times in all; one it
// refuses for good, or the last failed try, marks the patron told (their
// next visit tells them). Only an unreachable server ends the pass. The
// waits live in this sender's memory: a restart tries at once again.
func (d *Deliverer) TellLegal(ctx context.Context) (int, error) {
	var rep DeliveryReport
	err := d.tellLegal(ctx, &rep)
	return rep.Told, err
}

// legalRetry is when a patron's legal email may be tried again.
type legalRetry struct {
	attempts int
	next     time.Time
}

func (d *Deliverer) tellLegal(ctx context.Context, rep *DeliveryReport) error {
	if !d.Config.Mail.Enabled() {
		return ErrMailOff
	}
	var afterReq, afterPatron int64
	for round := 0; round < 1000; round++ {
		due, err := d.Store.UntoldLegalNoticesAfter(ctx, afterReq, afterPatron, 50)
		if err != nil || len(due) == 0 {
			return err
		}
		for _, t := range due {
			afterReq, afterPatron = t.RequestID, t.Patron.ID
			key := [2]int64{t.RequestID, t.Patron.ID}
			d.legalMu.Lock()
			retry, waiting := d.legalRetries[key]
			d.legalMu.Unlock()
			if waiting && d.Store.Now().Before(retry.next) {
				continue
			}
			ok, err := d.Store.ClaimLegalTold(ctx, t.RequestID, t.Patron.ID)
			if err != nil {
				return err
			}
			if !ok || strings.TrimSpace(t.Patron.Email) == "" {
				continue
			}
			kind := d.sendLegal(ctx, t)
			if kind == "" {
				d.forgetLegalRetry(key)
				rep.Told++
				continue
			}
			retry.attempts++
			if kind == models.FailureAddress || kind == models.FailureRefused || retry.attempts >= models.DigestMaxAttempts {
				// No retry can help, or enough were tried: the claim
				// stands, and the overview's notice tells them.
				d.forgetLegalRetry(key)
				rep.LegalGivenUp++
				d.Log.Warn("legal notice email not sent", "request", t.RequestID, "kind", kind, "attempt", retry.attempts, "given_up", true)
				continue
			}
			// Not sent: tried again after a wait. Logged without the
			// address or the server's words.
			d.Log.Warn("legal notice email not sent", "request", t.RequestID, "kind", kind, "attempt", retry.attempts, "given_up", false)
			if err := d.Store.UnclaimLegalTold(context.WithoutCancel(ctx), t.RequestID, t.Patron.ID); err != nil {
				return err
			}
			retry.next = d.Store.Now().Add(models.DigestBackoff(retry.attempts))
			d.legalMu.Lock()
			if d.legalRetries == nil {
				d.legalRetries = map[[2]int64]legalRetry{}
			}
			d.legalRetries[key] = retry
			d.legalMu.Unlock()
			rep.LegalRetrying++
			if kind == models.FailureUnreachable {
				return nil // no one else's would get through either
			}
		}
	}
	return nil
}

func (d *Deliverer) forgetLegalRetry(key [2]int64) {
	d.legalMu.Lock()
	delete(d.legalRetries, key)
	d.legalMu.Unlock()
}

// LegalEmailText is the plain email that tells a patron of a request
// whose nondisclosure order has ended.
func LegalEmailText(library string, loc *time.Location, contact views.Contact, p models.Patron, n models.LegalNotice) string {
	date := func(t time.Time) string { return views.FormatDate(t, loc) }
	var b strings.Builder
	fmt.Fprintf(&b, "Dear %s,\n\n", p.FullName())
	court := "a court"
	if n.Court != "" {
		court = n.Court
	}
	fmt.Fprintf(&b, "%s received legal process concerning your library records from %s", library, court)
	if n.Kind != "" {
		fmt.Fprintf(&b, " (%s", n.Kind)
		if n.Reference != "" {
			fmt.Fprintf(&b, ", reference %s", n.Reference)
		}
		b.WriteString(")")
	}
	b.WriteString(". A nondisclosure order kept us from telling you")
	if n.NondisclosureEnded != nil {
		fmt.Fprintf(&b, " until %s", date(*n.NondisclosureEnded))
	}
	b.WriteString(". This is what happened:\n\n")
	if len(n.Events) == 0 {
		b.WriteString("- Nothing was done to your records.\n")
	}
	for _, e := range n.Events {
		switch e.What {
		case models.LegalEventHold:
			fmt.Fprintf(&b, "- %s: deletion of your records was paused.\n", date(e.At))
		case models.LegalEventRelease:
			fmt.Fprintf(&b, "- %s: deletion of your records resumed.\n", date(e.At))
		case models.LegalEventProduced:
			what := "your records"
			if len(e.Categories) > 0 {
				what = "your " + quotedList(e.Categories)
			}
			fmt.Fprintf(&b, "- %s: we produced %s, %s, for %s.\n", date(e.At), what, datedSpan(e.From, e.To, date), court)
		}
	}
	b.WriteString("\nYou can see what we hold about you by signing in to the privacy portal. To ask about this, ")
	b.WriteString(contact.Words(library))
	b.WriteString(".\n\n" + library + "\n")
	return b.String()
}

// sendLegal sends one legal email; it returns "" once the server
// accepted it, else the kind of failure (models.Failure...).
func (d *Deliverer) sendLegal(ctx context.Context, t models.LegalTold) string {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(d.Config.Mail.From); err != nil {
		return models.FailureOther
	}
	if err := msg.To(strings.TrimSpace(t.Patron.Email)); err != nil {
		return models.FailureAddress
	}
	msg.Subject(d.Config.LibraryName + ": legal process concerning your library records")
	msg.SetDateWithValue(d.Store.Now())
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, LegalEmailText(d.Config.LibraryName, d.Config.Location, d.Config.PrivacyContact, t.Patron, t.Notice))
	client, err := d.client()
	if err != nil {
		return models.FailureUnreachable
	}
	sendCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), d.Timeout)
	defer stop()
	conn, err := client.DialToSMTPClientWithContext(sendCtx)
	if err != nil {
		return models.FailureUnreachable
	}
	sendErr := client.SendWithSMTPClient(conn, msg)
	_ = client.CloseWithSMTPClient(conn)
	if msg.IsDelivered() {
		return ""
	}
	if sendErr == nil {
		return models.FailureOther
	}
	return sendFailureKind(sendErr)
}
