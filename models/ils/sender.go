package ils

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/koha"
)

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
