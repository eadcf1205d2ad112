package models

// The consent outbox: every consent change that commits writes, in the
// same transaction, one row per target (Store.ConsentTargets) that must
// hear of it. models/ils sends them: Koha's patron privacy, signed
// webhooks. Rows of one patron and target go out in order; several
// instances may send at once (claims with a lease, as the digest outbox).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
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

// DueOutbox lists up to limit rows that may be sent now: for each patron
// and target only the oldest row not yet sent, and only when its next try
// has come and no other instance holds it.
//
// A row is the head of its patron and target when no pending row of
// theirs has a lower id (sent and given-up rows no longer hold the line).
// Once a row is the head it stays so until it leaves pending, since new
// rows only come after it; so ClaimOutbox need not ask again.
func (s *Store) DueOutbox(ctx context.Context, limit int) ([]OutboxItem, error) {
	now := s.Now()
	var rows []OutboxRow
	err := s.db(ctx).Raw(`SELECT o.id, o.patron_id, o.consent_id, o.target, o.attempts, o.payload
		FROM consent_outbox o
		WHERE o.status = ? AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)
		AND NOT EXISTS (SELECT 1 FROM consent_outbox e
			WHERE e.patron_id = o.patron_id AND e.target = o.target AND e.id < o.id AND e.status = ?)
		ORDER BY o.next_attempt_at, o.id
		LIMIT ?`, OutboxPending, now, now, OutboxPending, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: due outbox: %w", err)
	}
	out := make([]OutboxItem, 0, len(rows))
	for _, r := range rows {
		out = append(out, OutboxItem{ID: r.ID, PatronID: r.PatronID, ConsentID: r.ConsentID, Target: r.Target,
			Attempts: r.Attempts, Payload: []byte(r.Payload)})
	}
	return out, nil
}

// ClaimOutbox claims a due row for instance for lease; false when another
// instance has it or it is no longer due. Only the instance whose
// conditional UPDATE changed the row may send it. A claim that had
// expired counts as a failed try (its sender stopped before it could
// record the outcome).
func (s *Store) ClaimOutbox(ctx context.Context, id int64, instance string, lease time.Duration) (bool, error) {
	now := s.Now()
	res := s.db(ctx).Exec(`UPDATE consent_outbox SET claimed_by = ?, lease_until = ?,
			attempts = attempts + CASE WHEN lease_until IS NULL THEN 0 ELSE 1 END,
			last_error = CASE WHEN lease_until IS NULL THEN last_error ELSE ? END
		WHERE id = ? AND status = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)`,
		instance, now.Add(lease), interruptedError, id, OutboxPending, now, now)
	if res.Error != nil {
		return false, fmt.Errorf("models: claim outbox: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// MarkOutboxSent records that the target has the change. The payload is
// cleared; the row stays (status and time) as long as its ledger entry.
// Like MarkDigestSent it does not ask who holds the claim: the target has
// the change, whoever reports it; the row records instance as its sender.
// A row already sent or given up is left as it is.
func (s *Store) MarkOutboxSent(ctx context.Context, id int64, instance string) error {
	now := s.Now()
	err := s.db(ctx).Model(&OutboxRow{}).Where("id = ? AND status = ?", id, OutboxPending).
		UpdateColumns(map[string]any{"status": OutboxSent, "sent_at": now, "payload": "", "last_error": "",
			"claimed_by": instance, "lease_until": nil}).Error
	if err != nil {
		return fmt.Errorf("models: mark outbox sent: %w", err)
	}
	return nil
}

// FailOutbox records a failed try and releases the claim: the row is
// tried again after a backoff (DigestBackoff's steps), or given up when
// giveUp is set (the target is gone from the configuration) or it has
// failed for OutboxGiveUpAfter. reason has no personal data.
// A given-up row's payload is cleared. It returns the row's new status,
// or "" when instance no longer held the claim (nothing is changed).
func (s *Store) FailOutbox(ctx context.Context, id int64, instance, reason string, giveUp bool) (status string, err error) {
	now := s.Now()
	reason = outboxReason(reason)
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var r OutboxRow
		err := tx.Where("id = ? AND status = ? AND claimed_by = ?", id, OutboxPending, instance).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		attempts := r.Attempts + 1
		cols := map[string]any{"attempts": attempts, "last_error": reason, "claimed_by": nil, "lease_until": nil}
		st := OutboxPending
		if giveUp || !now.Before(r.CreatedAt.Add(OutboxGiveUpAfter)) {
			st = OutboxGivenUp
			cols["next_attempt_at"], cols["payload"] = now, ""
		} else {
			cols["next_attempt_at"] = now.Add(DigestBackoff(attempts))
		}
		cols["status"] = st
		res := tx.Model(&OutboxRow{}).Where("id = ? AND status = ? AND claimed_by = ?", id, OutboxPending, instance).
			UpdateColumns(cols)
		if res.Error == nil && res.RowsAffected == 1 {
			status = st
		}
		return res.Error
	})
	if err != nil {
		return "", fmt.Errorf("models: record failed outbox row: %w", err)
	}
	return status, nil
}

// outboxReason keeps a failure's reason short and on one line. Callers
// write it without personal data; this is a guard, not a sanitiser.
func outboxReason(reason string) string {
	reason = collapseSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, reason))
	if r := []rune(reason); len(r) > 200 {
		reason = string(r[:200]) + "…"
	}
	if reason == "" {
		reason = "error"
	}
	return reason
}

// OutboxGiveUpAfter is how long a row is retried before it is given up.
const OutboxGiveUpAfter = 7 * 24 * time.Hour

// CountEvent counts an anonymous event (see Store.Count), for the
// packages beside models: "webhook.sent", "ils.koha.writeback".
func (s *Store) CountEvent(name string) { s.count(name) }

// OutboxBacklog counts rows not yet sent, by target.
func (s *Store) OutboxBacklog(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Target string
		N      int64
	}
	err := s.db(ctx).Model(&OutboxRow{}).Select("target, COUNT(*) AS n").Where("status = ?", OutboxPending).
		Group("target").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: outbox backlog: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Target] = r.N
	}
	return out, nil
}

// ConsentDeliveries says, for the given ledger entries of one patron, how
// far each went to Koha (TargetKoha): the key is the ledger entry's ID.
// Entries with no Koha row are absent.
func (s *Store) ConsentDeliveries(ctx context.Context, patronID int64, consentIDs []int64) (map[int64]OutboxState, error) {
	out := map[int64]OutboxState{}
	if len(consentIDs) == 0 {
		return out, nil
	}
	var rows []OutboxRow
	err := s.db(ctx).Select("consent_id, target, status, sent_at").
		Where("patron_id = ? AND target = ? AND consent_id IN ?", patronID, TargetKoha, consentIDs).
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: consent deliveries: %w", err)
	}
	for _, r := range rows {
		out[r.ConsentID] = OutboxState{Target: r.Target, Status: r.Status, SentAt: r.SentAt}
	}
	return out, nil
}

// SetILSPrivacy records the Koha privacy value the portal last wrote to
// or read from the ILS for a patron, so that a later sign-in can tell
// whether the patron changed it in the catalog since. It is bookkeeping,
// not a change the patron made: updated_at stays. A patron who no longer
// exists is ErrNotFound.
func (s *Store) SetILSPrivacy(ctx context.Context, patronID int64, privacy int) error {
	res := s.db(ctx).Model(&Patron{}).Where("id = ?", patronID).UpdateColumn("ils_privacy", privacy)
	if res.Error != nil {
		return fmt.Errorf("models: set ils privacy: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
