package ils

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/koha"
)

// Webhook is one receiver of signed consent changes.
type Webhook struct {
	URL    string
	Secret []byte // the HMAC-SHA256 key (Standard Webhooks: whsec_ base64)
}

// Sender sends the consent outbox. Several instances may run one each:
// every row is claimed (models.ClaimOutbox) before it is sent, so two
// senders never both send it, and a patron's changes go to each target
// one at a time, in order (models.DueOutbox gives only the oldest).
type Sender struct {
	Store    *models.Store
	Koha     *koha.Client // nil: no Koha target
	Webhooks []Webhook
	// HTTP sends the webhooks (default: a client with a 10 s timeout).
	// Redirects are never followed, whatever the client says: a 3xx is
	// a failure, as the Standard Webhooks spec advises.
	HTTP *http.Client
	Log  *slog.Logger
	// Instance names this sender in the claims it takes; empty, a random
	// name is made at the first pass.
	Instance string
	// Lease is how long a claim lasts (default 2 minutes); a sender that
	// dies mid-way lets its row be tried again after it. It outlasts
	// Timeout and Koha's two requests.
	Lease time.Duration
	// Timeout bounds one webhook POST (default 10 s); one Koha delivery
	// (a GET and a PUT) gets twice as long.
	Timeout time.Duration

	once   sync.Once
	client *http.Client
}

// Report says what one pass did.
type Report struct {
	Sent     int // the target has the change
	Retrying int // failed this time, to be tried again after a backoff
	GivenUp  int // failed for good: the next change of that patron may go
	Skipped  int // claimed by another sender first
}

func (r Report) String() string {
	return fmt.Sprintf("sent=%d retrying=%d given_up=%d skipped=%d", r.Sent, r.Retrying, r.GivenUp, r.Skipped)
}

// setup fills in the defaults once, and registers the connectors so the
// staff console lists them before their first use.
func (s *Sender) setup() {
	s.once.Do(func() {
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
		if s.Instance == "" {
			s.Instance = "ils-sender-" + models.RandomToken()[:12]
		}
		if s.Lease <= 0 {
			s.Lease = 2 * time.Minute
		}
		if s.Timeout <= 0 {
			s.Timeout = 10 * time.Second
		}
		c := &http.Client{}
		if s.HTTP != nil {
			copied := *s.HTTP
			c = &copied
		}
		if c.Timeout <= 0 || c.Timeout > s.Timeout {
			c.Timeout = s.Timeout
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		s.client = c
		if s.Store.Connectors != nil {
			if s.Koha != nil {
				s.Store.Connectors.Register(kohaConnector)
			}
			for _, w := range s.Webhooks {
				s.Store.Connectors.Register(models.ConnectorOf(models.TargetWebhookPrefix + w.URL))
			}
		}
	})
}

const kohaConnector = "koha"

// maxAttempts bounds the tries of one row whatever their cause: a week
// of backoffs is about 18, so only a row whose senders keep dying before
// they can record a failure gets here.
const maxAttempts = 100

// outboxBatch is how many due rows one query lists.
const outboxBatch = 50

// RunOnce sends every due outbox row once, and the rows that come due as
// earlier ones of the same patron go, then returns. A delivery in flight
// when ctx ends is finished (within Timeout) and recorded; no new one is
// started, and ctx's error is returned.
func (s *Sender) RunOnce(ctx context.Context) (Report, error) {
	s.setup()
	var rep Report
	// Each round handles every row it lists: sent, given up, put off, or
	// taken by another sender; so a round that handles none ends the
	// pass. The cap is a guard against a bug, not a limit on a busy day.
	for round := 0; round < 1000; round++ {
		due, err := s.Store.DueOutbox(ctx, outboxBatch)
		if err != nil {
			return rep, err
		}
		progress := false
		for _, it := range due {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			handled, err := s.deliver(ctx, it, &rep)
			if err != nil {
				return rep, err
			}
			progress = progress || handled
		}
		if !progress {
			break
		}
	}
	return rep, ctx.Err()
}

// outcome is what one try came to.
type outcome struct {
	reason string // "" for a success; otherwise why, without personal data
	giveUp bool   // no retry can help
}

// deliver claims one row and, if the claim is ours, sends it and records
// the outcome. handled is false when another sender had it.
func (s *Sender) deliver(ctx context.Context, it models.OutboxItem, rep *Report) (handled bool, err error) {
	ok, err := s.Store.ClaimOutbox(ctx, it.ID, s.Instance, s.Lease)
	if err != nil {
		return false, err
	}
	if !ok {
		rep.Skipped++
		return false, nil
	}
	// From here the try is finished and recorded even if ctx ends: the
	// claim is ours, and leaving it to expire would only delay the row.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.Timeout+30*time.Second)
	defer cancel()
	var out outcome
	var privacy *int
	switch {
	case it.Attempts >= maxAttempts:
		// Its senders kept stopping mid-way (each lost claim counts a
		// try), so it never reached the week's give-up: stop here.
		out = outcome{reason: "interrupted too often", giveUp: true}
	case it.Target == models.TargetKoha:
		out, privacy = s.sendKoha(rec, it)
	case strings.HasPrefix(it.Target, models.TargetWebhookPrefix):
		out = s.sendWebhook(rec, it)
	default:
		out = outcome{reason: "target not known to this version", giveUp: true}
	}
	if out.reason == "" {
		if privacy != nil {
			// Recorded before the row is marked: if this fails, the row
			// goes again (Koha's PUT sets the same value), rather than a
			// later sign-in taking Koha's value for a change made there.
			if err := s.Store.SetILSPrivacy(rec, it.PatronID, *privacy); err != nil && !errors.Is(err, models.ErrNotFound) {
				return true, err
			}
		}
		if err := s.Store.MarkOutboxSent(rec, it.ID, s.Instance); err != nil {
			return true, err
		}
		rep.Sent++
		return true, nil
	}
	st, err := s.Store.FailOutbox(rec, it.ID, s.Instance, out.reason, out.giveUp)
	if err != nil {
		return true, err
	}
	switch st {
	case models.OutboxGivenUp:
		rep.GivenUp++
		s.Log.Warn("consent outbox: given up", "row", it.ID, "target", targetName(it.Target), "reason", out.reason)
	case models.OutboxPending:
		rep.Retrying++
		s.Log.Info("consent outbox: will retry", "row", it.ID, "target", targetName(it.Target), "reason", out.reason,
			"attempts", it.Attempts+1)
	}
	return true, nil
}

// targetName is a target as logs show it: "koha", or "webhook" and host.
func targetName(target string) string {
	if u, ok := strings.CutPrefix(target, models.TargetWebhookPrefix); ok {
		return models.ConnectorOf(models.TargetWebhookPrefix + u)
	}
	return target
}

// sendKoha writes a reading-history change to the patron's privacy in
// Koha: off is 2 (never keep), on is 0 (keep). It returns the value
// written, on success.
func (s *Sender) sendKoha(ctx context.Context, it models.OutboxItem) (outcome, *int) {
	if s.Koha == nil {
		return outcome{reason: "koha is no longer configured", giveUp: true}, nil
	}
	var p models.OutboxPayload
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		return outcome{reason: "payload unreadable", giveUp: true}, nil
	}
	privacy := -1
	if p.Subject == models.ConsentReadingHistory {
		switch p.NewValue {
		case "off":
			privacy = models.KohaPrivacyNever
		case "on":
			privacy = models.KohaPrivacyKeep
		}
	}
	if privacy < 0 {
		return outcome{reason: "not a reading-history change", giveUp: true}, nil
	}
	id, err := strconv.ParseInt(p.ILSID, 10, 64)
	if err != nil || id <= 0 {
		return outcome{reason: "the ILS id is not a Koha patron id", giveUp: true}, nil
	}
	sendCtx, cancel := context.WithTimeout(ctx, 2*s.Timeout)
	defer cancel()
	start := time.Now()
	err = s.Koha.SetPrivacy(sendCtx, id, privacy)
	d := time.Since(start)
	if err == nil {
		s.observe(kohaConnector, start, d, "")
		s.Store.CountEvent("ils.koha.writeback")
		return outcome{}, &privacy
	}
	reason := "koha: " + describeError(err)
	if errors.Is(err, koha.ErrNotFound) {
		// Connector fine, patron gone from Koha: retrying cannot help.
		s.observe(kohaConnector, start, d, "")
		s.Store.CountEvent("ils.koha.writeback_failed")
		return outcome{reason: "koha: no such patron", giveUp: true}, nil
	}
	s.observe(kohaConnector, start, d, reason)
	s.Store.CountEvent("ils.koha.writeback_failed")
	return outcome{reason: reason}, nil
}

// sendWebhook posts one change, signed, to its webhook.
func (s *Sender) sendWebhook(ctx context.Context, it models.OutboxItem) outcome {
	raw := strings.TrimPrefix(it.Target, models.TargetWebhookPrefix)
	var hook *Webhook
	for i := range s.Webhooks {
		if s.Webhooks[i].URL == raw {
			hook = &s.Webhooks[i]
			break
		}
	}
	if hook == nil {
		return outcome{reason: "webhook no longer configured", giveUp: true}
	}
	if err := CheckWebhookURL(raw); err != nil {
		return outcome{reason: "webhook URL refused: must be https", giveUp: true}
	}
	if len(hook.Secret) == 0 {
		return outcome{reason: "webhook has no secret", giveUp: true}
	}
	body, err := WebhookBody(it.Payload)
	if err != nil {
		return outcome{reason: "payload unreadable", giveUp: true}
	}
	sendCtx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(sendCtx, http.MethodPost, raw, bytes.NewReader(body))
	if err != nil {
		return outcome{reason: "webhook URL unusable", giveUp: true}
	}
	id, at := WebhookID(it.ConsentID), s.Store.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Carrel-Webhooks/1")
	req.Header.Set(HeaderWebhookID, id)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, SignWebhook(hook.Secret, id, at, body))
	name := models.ConnectorOf(models.TargetWebhookPrefix + raw)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		reason := describeError(err)
		s.observe(name, start, time.Since(start), reason)
		s.Store.CountEvent("webhook.failed")
		return outcome{reason: reason}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		s.observe(name, start, d, "")
		s.Store.CountEvent("webhook.sent")
		return outcome{}
	}
	reason := "HTTP " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		reason += " (redirects are not followed)"
	}
	s.observe(name, start, d, reason)
	s.Store.CountEvent("webhook.failed")
	return outcome{reason: reason}
}

func (s *Sender) observe(name string, start time.Time, d time.Duration, errText string) {
	if s.Store.Connectors != nil {
		s.Store.Connectors.Observe(name, start, d, errText)
	}
}

var httpStatus = regexp.MustCompile(`\bHTTP [1-5][0-9][0-9]\b`)

// describeError says what went wrong with a request in a few words,
// without the URL (which may hold a token) or anything the other side
// answered: "timeout", "connection refused", "HTTP 500".
func describeError(err error) string {
	if fault := models.NetworkFault(err); fault != "" {
		return fault
	}
	if m := httpStatus.FindString(err.Error()); m != "" {
		return m
	}
	return "request failed"
}
