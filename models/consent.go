package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Actor is who makes a change to a patron's choices, and how: the patron
// on the web or from the catalog, or a staff member at their request.
// TextVersion names the consent or policy text they were shown.
type Actor struct {
	StaffID     *int64
	Channel     string
	TextVersion string
	// Reason is why staff are assisting, for the audit entry.
	Reason string
}

func (a Actor) kind() string {
	if a.StaffID != nil {
		return ActorStaff
	}
	return ActorPatron
}

// recordConsent appends one entry to the consent ledger inside tx, so the
// entry and the change it records commit or roll back together, and
// writes the entry's consent outbox rows (enqueueConsent) in the same tx.
func (s *Store) recordConsent(tx *gorm.DB, patronID int64, subject, oldValue, newValue string, a Actor) error {

	e := ConsentEntry{
		PatronID: patronID, Subject: subject, OldValue: oldValue, NewValue: newValue,
		Actor: a.kind(), StaffID: a.StaffID, Channel: a.Channel, TextVersion: a.TextVersion,
	}
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("models: consent ledger: %w", err)
	}
	if err := s.enqueueConsent(tx, e); err != nil {
		return fmt.Errorf("models: consent outbox: %w", err)
	}
	what := DescribeConsent(subject, newValue)
	if slug, ok := strings.CutPrefix(subject, ConsentListPrefix); ok && a.StaffID != nil {
		// The patron reads this entry: the list by its name, not its slug.
		var l MailingList
		if err := tx.Where("slug = ?", slug).Take(&l).Error; err != nil {
			return fmt.Errorf("models: consent ledger: list %q: %w", slug, err)
		}
		what = DescribeConsent(ConsentListPrefix+"“"+l.Name+"”", newValue)
	}
	return s.auditAssisted(tx, patronID, a, what)
}

// enqueueConsent writes, inside tx, one consent_outbox row per target of
// s.ConsentTargets that must hear of ledger entry e: every webhook target
// for every change; Koha only for a reading-history change of a patron
// with an ILS id that did not come from the ILS itself (following the
// catalog's choice must not echo it back). The payload is fixed now, so
// every try sends the same document.
func (s *Store) enqueueConsent(tx *gorm.DB, e ConsentEntry) error {
	if len(s.ConsentTargets) == 0 {
		return nil
	}
	var p struct {
		CardNumber string
		ILSID      *string `gorm:"column:ils_id"`
	}
	if err := tx.Model(&Patron{}).Select("card_number, ils_id").Where("id = ?", e.PatronID).Take(&p).Error; err != nil {
		return notFound(err)
	}
	ilsID := ""
	if p.ILSID != nil {
		ilsID = *p.ILSID
	}
	payload, err := json.Marshal(OutboxPayload{Card: p.CardNumber, ILSID: ilsID, Subject: e.Subject,
		OldValue: e.OldValue, NewValue: e.NewValue, Actor: e.Actor, Channel: e.Channel, At: e.CreatedAt.UTC(), ConsentID: e.ID})
	if err != nil {
		return err
	}
	now := s.Now()
	var rows []OutboxRow
	for _, target := range s.ConsentTargets {
		switch {
		case target == TargetKoha:
			if e.Subject != ConsentReadingHistory || e.Channel == ChannelILS || ilsID == "" {
				continue
			}
		case strings.HasPrefix(target, TargetWebhookPrefix):
		default:
			continue // not a kind of target this version sends to
		}
		rows = append(rows, OutboxRow{PatronID: e.PatronID, ConsentID: e.ID, Target: target, Status: OutboxPending,
			Payload: string(payload), NextAttemptAt: now, CreatedAt: now})
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.Create(&rows).Error
}

// DescribeConsent says a consent change in the patron's words:
// "turned reading history off", "subscribed to the list events".
func DescribeConsent(subject, newValue string) string {
	switch {
	case subject == ConsentReadingHistory:
		return "turned reading history " + newValue
	case subject == ConsentHistoryKeep && newValue == HistoryKeepAll:
		return "chose to keep all of your reading history"
	case subject == ConsentHistoryKeep:
		return "chose to keep only the last " + newValue + " months of your reading history"
	case subject == ConsentFavoritesLink && newValue == "on":
		return "linked your favorites to your record"
	case subject == ConsentFavoritesLink:
		return "unlinked and erased your favorites"
	case subject == ConsentFavoritesNotice && newValue == NoticeNone:
		return "stopped the emails about your favorite authors and subjects"
	case subject == ConsentFavoritesNotice:
		return "chose " + newValue + " emails about your favorite authors and subjects"
	case strings.HasPrefix(subject, ConsentListPrefix) && newValue == "on":
		return "subscribed you to the mailing list " + strings.TrimPrefix(subject, ConsentListPrefix)
	case strings.HasPrefix(subject, ConsentListPrefix):
		return "unsubscribed you from the mailing list " + strings.TrimPrefix(subject, ConsentListPrefix)
	}
	return "changed " + subject + " to " + newValue
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// SetReadingHistory turns a patron's reading history on or off. Turning
// it off erases every stored entry, in the same transaction as the ledger
// entry that records the change. The switch is a conditional update, so
// two tabs flipping it at once produce exactly one ledger entry per real
// change, and the ledger always ends in the patron's final state.
// changed is false, and nothing is written, when it was already so.
func (s *Store) SetReadingHistory(ctx context.Context, patronID int64, on bool, a Actor) (erased int64, changed bool, err error) {
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		erased, changed, err = s.setReadingHistoryTx(tx, patronID, on, a)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("models: set reading history: %w", err)
	}
	s.countConsent(err, changed, ConsentReadingHistory, onOff(on))
	return erased, changed, err
}

// setReadingHistoryTx is SetReadingHistory's change inside tx, for a
// caller that makes it part of a transaction of its own (a sign-in that
// follows the library's catalog). The caller counts it once tx commits.
func (s *Store) setReadingHistoryTx(tx *gorm.DB, patronID int64, on bool, a Actor) (erased int64, changed bool, err error) {
	res := tx.Model(&Patron{}).Where("id = ? AND reading_history_enabled = ?", patronID, !on).
		UpdateColumns(map[string]any{"reading_history_enabled": on, "updated_at": s.Now()})
	if res.Error != nil {
		return 0, false, res.Error
	}
	if res.RowsAffected == 0 {
		var n int64
		if err := tx.Model(&Patron{}).Where("id = ?", patronID).Count(&n).Error; err != nil {
			return 0, false, err
		}
		if n == 0 {
			return 0, false, ErrNotFound
		}
		return 0, false, nil
	}
	if !on {
		del := tx.Where("patron_id = ?", patronID).Delete(&HistoryEntry{})
		if del.Error != nil {
			return 0, true, del.Error
		}
		erased = del.RowsAffected
	}
	return erased, true, s.recordConsent(tx, patronID, ConsentReadingHistory, onOff(!on), onOff(on), a)
}

// HistoryKeepAll is the ledger's value for keeping all of a reading
// history; the other values are numbers of months (HistoryKeepChoices).
const HistoryKeepAll = "all"

// HistoryKeepChoices are the numbers of months of reading history a
// patron may choose to keep; anything else is refused.
var HistoryKeepChoices = []int{3, 6, 12, 24}

// ErrHistoryKeepChoice says a number of months is not one of
// HistoryKeepChoices (or 0, all of it).
var ErrHistoryKeepChoice = errors.New("models: not a choice of months to keep")

// historyKeepValue is the ledger's value for keeping months months.
func historyKeepValue(months int) string {
	if months == 0 {
		return HistoryKeepAll
	}
	return strconv.Itoa(months)
}

// SetHistoryKeep records the patron's choice to keep only the last
// months months of their reading history (0: all of it), with its ledger
// entry in the same transaction, which also erases the entries returned
// before that (erased says how many). From then on the purge deletes
// entries as they grow older than that (see historyKeepRule). changed is
// false, and nothing is written, when it was already so.
func (s *Store) SetHistoryKeep(ctx context.Context, patronID int64, months int, a Actor) (erased int64, changed bool, err error) {
	if months != 0 && !slices.Contains(HistoryKeepChoices, months) {
		return 0, false, ErrHistoryKeepChoice
	}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var old []int
		if err := tx.Model(&Patron{}).Where("id = ?", patronID).Pluck("history_keep_months", &old).Error; err != nil {
			return err
		}
		if len(old) == 0 {
			return ErrNotFound
		}
		if old[0] == months {
			return nil
		}
		// Conditional on the value read, so two tabs at once write one
		// ledger entry per real change.
		res := tx.Model(&Patron{}).Where("id = ? AND history_keep_months = ?", patronID, old[0]).
			UpdateColumns(map[string]any{"history_keep_months": months, "updated_at": s.Now()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		changed = true
		if months > 0 {
			del := tx.Where("patron_id = ? AND returned_at < ?", patronID, HistoryKeepCutoff(s.Now(), months)).Delete(&HistoryEntry{})
			if del.Error != nil {
				return del.Error
			}
			erased = del.RowsAffected
		}
		return s.recordConsent(tx, patronID, ConsentHistoryKeep, historyKeepValue(old[0]), historyKeepValue(months), a)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("models: set history keep: %w", err)
	}
	s.countConsent(err, changed, ConsentHistoryKeep, historyKeepValue(months))
	return erased, changed, err
}

// HistoryKeepCutoff is the time before which a reading-history entry is
// older than months months at now: the patron's choice erases, and the
// purge deletes, the entries returned before it.
func HistoryKeepCutoff(now time.Time, months int) time.Time { return now.AddDate(0, -months, 0) }

// DeleteHistoryEntry deletes one entry of a patron's reading history. An
// entry that does not exist or is someone else's is ErrNotFound.
func (s *Store) DeleteHistoryEntry(ctx context.Context, patronID, entryID int64) error {
	res := s.db(ctx).Where("patron_id = ? AND id = ?", patronID, entryID).Delete(&HistoryEntry{})
	if res.Error != nil {
		return fmt.Errorf("models: delete history entry: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ClearHistory deletes every entry of a patron's reading history and
// leaves the setting as it is.
func (s *Store) ClearHistory(ctx context.Context, patronID int64) (int64, error) {
	res := s.db(ctx).Where("patron_id = ?", patronID).Delete(&HistoryEntry{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: clear history: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// CountRecords counts a patron's records in one category's table.
func (s *Store) CountRecords(ctx context.Context, patronID int64, slug string, limits SessionLimits) (int64, error) {
	c, ok := CategoryBySlug(slug)
	if !ok || c.Table == "" {
		return 0, ErrNotFound
	}
	var n int64
	if c.CountColumn != "" {
		err := s.db(ctx).Model(&Patron{}).Where("id = ?", patronID).Pluck(c.CountColumn, &n).Error
		if err != nil {
			return 0, fmt.Errorf("models: count %s: %w", c.Table, err)
		}
		return n, nil
	}
	where, args := c.scope(patronID, s.Now(), limits)
	if err := s.db(ctx).Table(c.Table).Where(where, args...).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count %s: %w", c.Table, err)
	}
	return n, nil
}

// countConsent counts a consent change that committed, by kind and
// direction only: "consent.reading_history.off", "consent.mailing_list.on".
func (s *Store) countConsent(err error, changed bool, subject, newValue string) {
	if err == nil && changed {
		kind := subject
		if strings.HasPrefix(subject, ConsentListPrefix) {
			kind = "mailing_list"
		}
		s.count("consent." + kind + "." + newValue)
	}
}
