package ils

// Signed webhooks in the Standard Webhooks format
// (https://www.standardwebhooks.com, spec 1.0.0): a JSON body
// {"type", "timestamp", "data"}, and the headers webhook-id (the same on
// every try of one message), webhook-timestamp (unix seconds of the try)
// and webhook-signature ("v1," and the base64 HMAC-SHA256, under the
// shared secret, of "{id}.{timestamp}.{body}"). docs/webhooks.md says
// how a receiver checks them.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
)

// WebhookEventType is the type of every webhook Carrel sends.
const WebhookEventType = "consent.changed"

// The Standard Webhooks headers.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// webhookSecretPrefix marks a secret in the spec's serialisation.
const webhookSecretPrefix = "whsec_"

// The spec's bounds on a signing secret's length, in bytes.
const (
	minWebhookSecret = 24
	maxWebhookSecret = 64
)

// ParseWebhookSecret reads CARREL_WEBHOOK_SECRET, which must be in the
// spec's form: "whsec_" and the standard base64 of 24 to 64 random bytes
// (`echo whsec_$(openssl rand -base64 32)` makes one). A secret without
// the prefix is refused rather than taken as raw bytes: the receivers'
// libraries (the Standard Webhooks ones among them) base64-decode what
// follows "whsec_", so a raw secret would be keyed differently at each
// end and no signature would ever match. The error never repeats the
// secret.
func ParseWebhookSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, webhookSecretPrefix)
	if !ok {
		return nil, errors.New("not a Standard Webhooks secret: it starts with whsec_, then at least 24 random bytes in base64 " +
			"(echo whsec_$(openssl rand -base64 32) makes one)")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(rest)
	}
	if err != nil {
		return nil, errors.New("what follows whsec_ is not base64 (echo whsec_$(openssl rand -base64 32) makes one)")
	}
	if len(key) < minWebhookSecret || len(key) > maxWebhookSecret {
		return nil, fmt.Errorf("the key is %d bytes; a Standard Webhooks key is %d to %d bytes (echo whsec_$(openssl rand -base64 32) makes one)",
			len(key), minWebhookSecret, maxWebhookSecret)
	}
	return key, nil
}

// CheckWebhookURL refuses a webhook URL the portal must not post
// patrons' consent changes to: anything but https, except http to this
// machine ("localhost", a loopback address) or to a private address
// (10/8, 172.16/12, 192.168/16, fc00::/7), where the network is the
// library's own. A URL with user credentials or a fragment is refused
// too. Host names are not resolved: http to a name other than localhost
// is refused, whatever it resolves to. The error names the host, never
// the path or query (which may hold a token).
func CheckWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("webhook URL: not a URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("webhook URL: no host")
	}
	if u.User != nil {
		return fmt.Errorf("webhook URL for %s: user credentials in the URL are not allowed", u.Hostname())
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("webhook URL for %s: a fragment is not allowed", u.Hostname())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if PrivateHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("webhook URL for %s: must be https (http only to a loopback or private address)", u.Hostname())
	}
	return fmt.Errorf("webhook URL for %s: scheme must be https", u.Hostname())
}

// PrivateHost reports whether host is this machine ("localhost", a
// loopback address) or an address of a private network (10/8, 172.16/12,
// 192.168/16, fc00::/7): where plain HTTP or plain SIP2 may go. A name
// other than localhost is not: what it resolves to may change after the
// check.
func PrivateHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate())
}

// WebhookID is the webhook-id of a consent change: the same on every try
// and to every receiver, so a receiver drops a repeat by it. The ledger
// entry's number never comes back in one database.
func WebhookID(consentID int64) string { return "msg_consent_" + strconv.FormatInt(consentID, 10) }

// webhookEnvelope is the body of a webhook.
type webhookEnvelope struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// WebhookBody is the body sent for an outbox payload (a JSON
// models.OutboxPayload, as stored): the change's type, the time it was
// made, and the payload as data. The same payload makes the same body on
// every try.
func WebhookBody(payload []byte) ([]byte, error) {
	var p models.OutboxPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, errors.New("webhook: payload is not a consent change")
	}
	return json.Marshal(webhookEnvelope{Type: WebhookEventType, Timestamp: p.At.UTC().Format(time.RFC3339Nano),
		Data: json.RawMessage(payload)})
}

// SignWebhook is the webhook-signature header of a message: "v1," and the
// base64 HMAC-SHA256 of "{id}.{unix seconds}.{body}" under secret.
func SignWebhook(secret []byte, id string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
