package mail

import (
	"context"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	gomail "github.com/wneessen/go-mail"
)

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
	var rep Report
	err := d.tellLegal(ctx, &rep)
	return rep.Told, err
}

// legalRetry is when a patron's legal email may be tried again.
type legalRetry struct {
	attempts int
	next     time.Time
}

func (d *Deliverer) tellLegal(ctx context.Context, rep *Report) error {
	if !d.Mail.Enabled() {
		return ErrOff
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
// whose nondisclosure order has ended, in t's language (the patron's:
// LegalEmailLanguage).
func LegalEmailText(t *i18n.Tr, library string, loc *time.Location, contact views.Contact, p models.Patron, n models.LegalNotice) string {
	date := func(at time.Time) string { return t.Date(at, loc) }
	var b strings.Builder
	b.WriteString(t.S("legal.email.greeting", "Name", p.FullName()) + "\n\n")
	court := n.Court
	if court == "" {
		court = t.S("legal.email.a_court")
	}
	received := "legal.email.received"
	kind := n.KindIn(t)
	switch {
	case kind != "" && n.Reference != "":
		received = "legal.email.received_kind_reference"
	case kind != "":
		received = "legal.email.received_kind"
	}
	b.WriteString(t.S(received, "Library", library, "Court", court, "Kind", kind, "Reference", n.Reference) + " ")
	if n.NondisclosureEnded != nil {
		b.WriteString(t.S("legal.email.kept_until", "Date", date(*n.NondisclosureEnded)))
	} else {
		b.WriteString(t.S("legal.email.kept"))
	}
	b.WriteString("\n\n")
	if len(n.Events) == 0 {
		b.WriteString("- " + t.S("legal.email.nothing") + "\n")
	}
	for _, e := range n.Events {
		switch e.What {
		case models.LegalEventHold:
			b.WriteString("- " + t.S("legal.email.hold", "Date", date(e.At)) + "\n")
		case models.LegalEventRelease:
			b.WriteString("- " + t.S("legal.email.release", "Date", date(e.At)) + "\n")
		case models.LegalEventProduced:
			id := "legal.email.produced_all"
			if len(e.Categories) > 0 {
				id = "legal.email.produced"
			}
			b.WriteString("- " + t.S(id, "Date", date(e.At), "Categories", e.CategoriesIn(t), "Span", e.SpanIn(t, date), "Court", court) + "\n")
		}
	}
	b.WriteString("\n" + t.S("legal.email.closing", "Contact", contact.Words(t, library)) + "\n\n" + library + "\n")
	return b.String()
}

// LegalEmailSubject is the legal email's subject, in t's language.
func LegalEmailSubject(t *i18n.Tr, library string) string {
	return t.S("legal.email.subject", "Library", library)
}

// LegalEmailLanguage is the language of a patron's legal email: the one
// they chose, English until they choose.
func LegalEmailLanguage(p models.Patron) *i18n.Tr { return i18n.For(p.Language) }

// sendLegal sends one legal email; it returns "" once the server
// accepted it, else the kind of failure (models.Failure...).
func (d *Deliverer) sendLegal(ctx context.Context, t models.LegalTold) string {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(d.Mail.From); err != nil {
		return models.FailureOther
	}
	if err := msg.To(strings.TrimSpace(t.Patron.Email)); err != nil {
		return models.FailureAddress
	}
	tr := LegalEmailLanguage(t.Patron)
	msg.Subject(LegalEmailSubject(tr, d.Library.Name))
	msg.SetDateWithValue(d.Store.Now())
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.Header("Content-Language"), tr.Lang())
	msg.SetBodyString(gomail.TypeTextPlain, LegalEmailText(tr, d.Library.Name, d.Library.Location, d.Library.Contact, t.Patron, t.Notice))
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
