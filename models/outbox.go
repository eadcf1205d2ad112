package models

// The consent outbox: every consent change that commits writes, in the
// same transaction, one row per target (Store.ConsentTargets) that must
// hear of it. models/ils sends them: Koha's patron privacy, signed
// webhooks. Rows of one patron and target go out in order; several
// instances may send at once (claims with a lease, as the digest outbox).

import (
	"context"
	"errors"
	"time"
)

// Outbox row statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	// OutboxGivenUp: retried for OutboxGiveUpAfter without success, or
	// its target is no longer configured; the next row of the same
	// patron and target may go.
	OutboxGivenUp = "given_up"
)

// OutboxItem is one due change to send to one target.
type OutboxItem struct {
	ID        int64
	PatronID  int64
	ConsentID int64
	Target    string // TargetKoha, or TargetWebhookPrefix + URL
	Attempts  int
	// Payload is the JSON document to send, fixed when the change
	// committed (see OutboxPayload); Koha rows carry it too.
	Payload []byte
}

// OutboxPayload is the body of a consent change as it leaves the portal:
// the card, what changed, from what to what, through which channel and
// when. Never titles, favorites or anything else the patron reads.
type OutboxPayload struct {
	Card     string    `json:"card_number"`
	ILSID    string    `json:"ils_id,omitempty"`
	Subject  string    `json:"subject"`
	OldValue string    `json:"old_value"`
	NewValue string    `json:"new_value"`
	Actor    string    `json:"actor"`
	Channel  string    `json:"channel"`
	At       time.Time `json:"changed_at"`
	// ConsentID is the ledger entry's number, unique per change.
	ConsentID int64 `json:"consent_id"`
}

// OutboxState is how far one consent change has gone to one target, for
// the patron's consent history.
type OutboxState struct {
	Target string
	Status string // OutboxPending, OutboxSent or OutboxGivenUp
	SentAt *time.Time
}

var errContract = errors.New("models: outbox not built yet")

// DueOutbox lists up to limit rows that may be sent now: for each patron
// and target only the oldest row not yet sent, and only when its next try
// has come and no other instance holds it.
func (s *Store) DueOutbox(ctx context.Context, limit int) ([]OutboxItem, error) {
	return nil, errContract
}

// ClaimOutbox claims a due row for instance for lease; false when another
// instance has it or it is no longer due.
func (s *Store) ClaimOutbox(ctx context.Context, id int64, instance string, lease time.Duration) (bool, error) {
	return false, errContract
}

// MarkOutboxSent records that the target has the change. The payload is
// cleared; the row stays (status and time) as long as its ledger entry.
func (s *Store) MarkOutboxSent(ctx context.Context, id int64, instance string) error {
	return errContract
}

// FailOutbox records a failed try and releases the claim: the row is
// tried again after a backoff (DigestBackoff's steps), or given up when
// giveUp is set (the target is gone from the configuration) or it has
// failed for OutboxGiveUpAfter. reason has no personal data.
func (s *Store) FailOutbox(ctx context.Context, id int64, instance, reason string, giveUp bool) (status string, err error) {
	return "", errContract
}

// OutboxGiveUpAfter is how long a row is retried before it is given up.
const OutboxGiveUpAfter = 7 * 24 * time.Hour

// OutboxBacklog counts rows not yet sent, by target.
func (s *Store) OutboxBacklog(ctx context.Context) (map[string]int64, error) {
	return nil, errContract
}

// ConsentDeliveries says, for the given ledger entries of one patron, how
// far each went to Koha (TargetKoha): the key is the ledger entry's ID.
// Entries with no Koha row are absent.
func (s *Store) ConsentDeliveries(ctx context.Context, patronID int64, consentIDs []int64) (map[int64]OutboxState, error) {
	return nil, errContract
}

// SetILSPrivacy records the Koha privacy value the portal last wrote to
// or read from the ILS for a patron, so that a later sign-in can tell
// whether the patron changed it in the catalog since.
func (s *Store) SetILSPrivacy(ctx context.Context, patronID int64, privacy int) error {
	return errContract
}
