package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	gomail "github.com/wneessen/go-mail"
)

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
	base := strings.TrimRight(d.Library.PublicURL, "/")
	kind, _, _ := models.ParseDigestKey(m.Digest.IdempotencyKey)
	v := views.DigestEmail{
		LibraryName:    d.Library.Name,
		Subject:        views.DigestSubject(d.Library.Name, len(m.Notifications)),
		Period:         kind,
		ManageURL:      base + "/favorites",
		UnsubscribeURL: NoticeUnsubscribeURL(base, d.Store, m.Patron.ID),
	}
	for _, n := range m.Notifications {
		v.Items = append(v.Items, views.DigestItem{Title: n.Title, Author: n.Author, URL: views.LinkOrEmpty(n.CatalogURL), Reason: n.Reason})
	}
	var buf bytes.Buffer
	if err := views.DigestEmailHTML(v).Render(context.Background(), &buf); err != nil {
		return Email{}, fmt.Errorf("mail: render digest: %w", err)
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
func (d *Deliverer) message(m models.DigestMail) (*gomail.Msg, error) {
	e, err := d.Compose(m)
	if err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(d.Mail.From); err != nil {
		return nil, fmt.Errorf("the sender address: %w", err)
	}
	if err := msg.To(strings.TrimSpace(m.Patron.Email)); err != nil {
		return nil, errBadRecipient
	}
	msg.Subject(e.View.Subject)
	msg.SetMessageIDWithValue(d.Store.DigestMessageID(m.Digest, d.domain()))
	msg.SetDateWithValue(d.Store.Now())
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBulk()
	if strings.HasPrefix(e.View.UnsubscribeURL, "https://") {
		if err := msg.SetListUnsubscribeOneClick(e.View.UnsubscribeURL); err != nil {
			return nil, err
		}
	} else {
		msg.SetListUnsubscribe(e.View.UnsubscribeURL)
	}
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	return msg, nil
}
