package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	gomail "github.com/wneessen/go-mail"
)

// NoticeUnsubscribeURL is the one-click link that stops a patron's
// new-arrival emails. In an email written in another language than
// English it carries the language (?lang=es), so that the page it opens,
// without sign-in, speaks it too.
func NoticeUnsubscribeURL(base string, store *models.Store, patronID int64, lang string) string {
	return withLang(strings.TrimRight(base, "/")+"/unsubscribe/notices/"+store.NoticeToken(patronID), lang)
}

// withLang adds ?lang= to a link of the portal for a language other than
// English (English is the portal's default and needs none).
func withLang(u, lang string) string {
	if lang == "" || lang == i18n.English {
		return u
	}
	return u + "?" + url.Values{"lang": {lang}}.Encode()
}

// Email is a digest email as written, before it goes to the server.
type Email struct {
	View views.DigestEmail
	Text string
	HTML string
}

// Compose writes a digest's email: the same view model as plain text
// and as HTML, in the language the patron chose (their record's
// Language: English when they chose none).
func (d *Deliverer) Compose(m models.DigestMail) (Email, error) {
	base := strings.TrimRight(d.Library.PublicURL, "/")
	kind, _, _ := models.ParseDigestKey(m.Digest.IdempotencyKey)
	t := i18n.For(m.Patron.Language)
	v := views.DigestEmail{
		LibraryName:    d.Library.Name,
		Subject:        views.DigestSubject(t, d.Library.Name, len(m.Notifications)),
		Period:         kind,
		ManageURL:      withLang(base+"/favorites", t.Lang()),
		UnsubscribeURL: NoticeUnsubscribeURL(base, d.Store, m.Patron.ID, t.Lang()),
	}
	for _, n := range m.Notifications {
		v.Items = append(v.Items, views.DigestItem{Title: n.Title, Author: n.Author, URL: views.LinkOrEmpty(n.CatalogURL), Reason: n.Reason})
	}
	var buf bytes.Buffer
	if err := views.DigestEmailHTML(v).Render(i18n.With(context.Background(), t), &buf); err != nil {
		return Email{}, fmt.Errorf("mail: render digest: %w", err)
	}
	return Email{View: v, Text: views.DigestEmailText(t, v), HTML: buf.String()}, nil
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
