// Package ils connects Carrel to the library's own system: it adapts the
// SIP2 and Koha clients to models.PatronProvider, and sends the consent
// outbox (models/outbox.go) to Koha's patron privacy and to signed
// webhooks.
package ils

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/koha"
	"github.com/carrel-library/carrel/models/ils/sip2"
)

// NewSIP2 checks patrons with SIP2 63 Patron Information: only BL=Y and
// CQ=Y sign in.
func NewSIP2(c *sip2.Client) models.PatronProvider { return nil }

// NewKoha checks patrons with Koha's password validation, then reads the
// patron (name, contact details, home library, expiry, privacy).
func NewKoha(c *koha.Client) models.PatronProvider { return nil }

// Webhook is one receiver of signed consent changes.
type Webhook struct {
	URL    string
	Secret []byte // the HMAC-SHA256 key (Standard Webhooks: whsec_ base64)
}

// Sender sends the consent outbox. Several instances may run one each.
type Sender struct {
	Store    *models.Store
	Koha     *koha.Client // nil: no Koha target
	Webhooks []Webhook
	// HTTP sends the webhooks (default: a client with a 10 s timeout).
	HTTP     *http.Client
	Log      *slog.Logger
	Instance string
	Lease    time.Duration
}

// Report says what one pass did.
type Report struct{ Sent, Retrying, GivenUp int }

// RunOnce sends every due outbox row once.
func (s *Sender) RunOnce(ctx context.Context) (Report, error) {
	return Report{}, errors.New("ils: not built yet")
}
