package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// The outbox of new-arrival emails. A patron who chose daily or weekly
// notices gets one digest per period: the notifications still waiting for
// them (sent_at and digest_id NULL) are gathered into one digests row whose
// idempotency key names the patron, the period and its date, so however
// many instances assemble at once there is one digest per patron per
// period. Sending claims a digest with a conditional UPDATE, so only one
// instance sends it; the SMTP server's acceptance is recorded afterwards.
// SMTP cannot promise exactly-once: docs/email.md says what can happen.

// DigestMaxAttempts is how many tries a digest gets before it is given up.
const DigestMaxAttempts = 6

// digestBackoff is how long to wait after the nth failed try (1-based).
var digestBackoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour}

// DigestBackoff is the wait before the next try after attempts failures.
func DigestBackoff(attempts int) time.Duration {
	if attempts < 1 {
		return 0
	}
	if attempts > len(digestBackoff) {
		return digestBackoff[len(digestBackoff)-1]
	}
	return digestBackoff[attempts-1]
}

// DigestSchedule says when digests fall due, in the library's time zone:
// daily ones every day at Hour, weekly ones on Weekday at Hour.
type DigestSchedule struct {
	Location *time.Location
	Hour     int
	Weekday  time.Weekday
}

// Period is the date (YYYY-MM-DD, local) of the latest scheduled moment
// of kind ("daily" or "weekly") at or before now. Notifications waiting at
// any time go into that period's digest, unless it was already assembled;
// then they wait for the next one.
func (sc DigestSchedule) Period(kind string, now time.Time) string {
	loc := sc.Location
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	at := time.Date(local.Year(), local.Month(), local.Day(), sc.Hour, 0, 0, 0, loc)
	for i := 0; i < 8 && (local.Before(at) || (kind == NoticeWeekly && at.Weekday() != sc.Weekday)); i++ {
		at = time.Date(at.Year(), at.Month(), at.Day()-1, sc.Hour, 0, 0, 0, loc)
	}
	return at.Format("2006-01-02")
}

// DigestKey is a digest's idempotency key: one per patron, kind and period.
func DigestKey(patronID int64, kind, period string) string {
	return "digest-" + strconv.FormatInt(patronID, 10) + "-" + kind + "-" + period
}

// ParseDigestKey reads the kind ("daily", "weekly") and period date back
// from an idempotency key; ok is false for anything else.
func ParseDigestKey(key string) (kind, period string, ok bool) {
	rest, found := strings.CutPrefix(key, "digest-")
	if !found {
		return "", "", false
	}
	_, rest, found = strings.Cut(rest, "-")
	if !found {
		return "", "", false
	}
	kind, period, found = strings.Cut(rest, "-")
	if !found || (kind != NoticeDaily && kind != NoticeWeekly) {
		return "", "", false
	}
	if _, err := time.Parse("2006-01-02", period); err != nil {
		return "", "", false
	}
	return kind, period, true
}

// AssembleDigests gathers every waiting notification of every patron whose
// daily or weekly period has come into one digest per patron, set-based:
// for each kind, one INSERT ... SELECT of the digests and one UPDATE that
// ties the notifications to them, in one transaction per range of
// assembleBatch patron IDs (so that no transaction holds SQLite's one
// writer for long). A digest whose key exists already (assembled by
// another instance, or earlier in this period) conflicts and is left
// alone; its latecomers wait for the next period. Patrons with notices
// off, unlinked favorites or no email address get no digest. It returns
// how many digests it created.
func (s *Store) AssembleDigests(ctx context.Context, sched DigestSchedule) (int64, error) {
	now := s.Now()
	var maxID int64
	if err := s.db(ctx).Model(&Patron{}).Select("COALESCE(MAX(id), 0)").Scan(&maxID).Error; err != nil {
		return 0, fmt.Errorf("models: assemble digests: %w", err)
	}
	var total int64
	for _, kind := range []string{NoticeDaily, NoticeWeekly} {
		suffix := "-" + kind + "-" + sched.Period(kind, now)
		for lo := int64(0); lo < maxID; lo += assembleBatch {
			n, err := s.assembleRange(ctx, kind, suffix, now, lo, lo+assembleBatch)
			total += n
			if err != nil {
				return total, fmt.Errorf("models: assemble %s digests: %w", kind, err)
			}
		}
	}
	return total, nil
}

// assembleBatch is how many patron IDs one assembly transaction covers.
const assembleBatch = 2000

// assembleRange assembles the digests of kind for patrons with lo < id <= hi.
func (s *Store) assembleRange(ctx context.Context, kind, suffix string, now time.Time, lo, hi int64) (int64, error) {
	// The marker picks out the rows this transaction inserted; no one else
	// ever sees it, because it is cleared before the commit. Each
	// notification finds its digest by the unique key (an index lookup),
	// and the marker is cleared through digests_due, so no statement scans
	// the whole outbox. Inserting in patron order keeps two assemblers on
	// PostgreSQL from deadlocking on each other's keys.
	marker := "assembling " + RandomToken()
	const key = `'digest-' || CAST(notifications.patron_id AS TEXT) || ?`
	// Only notifications the purge would keep go out: one past its
	// retention is deleted for a patron with no hold, so emailing it to a
	// held patron (and showing it again as recent) would tell them of the
	// hold. CASE, because the rule is NULL, not false, for unsent rows.
	due := notificationsDueAt(now, s.RetentionNow())
	keep := ` AND (CASE WHEN (` + due.where + `) THEN 1 ELSE 0 END) = 0`
	var made int64
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO digests (patron_id, idempotency_key, status, attempts, next_attempt_at, claimed_by, last_error, created_at)
			SELECT patrons.id, 'digest-' || CAST(patrons.id AS TEXT) || ?, ?, 0, ?, ?, '', ?
			FROM patrons
			WHERE patrons.id > ? AND patrons.id <= ?
			AND patrons.favorites_notice = ? AND patrons.favorites_linked = ? AND TRIM(patrons.email) <> ''
			AND EXISTS (SELECT 1 FROM notifications WHERE notifications.patron_id = patrons.id
				AND notifications.sent_at IS NULL AND notifications.digest_id IS NULL`+keep+`)
			ORDER BY patrons.id
			ON CONFLICT (idempotency_key) DO NOTHING`,
			append([]any{suffix, DigestPending, now, marker, now, lo, hi, kind, true}, due.args...)...)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		if err := tx.Exec(`UPDATE notifications SET digest_id =
				(SELECT digests.id FROM digests WHERE digests.idempotency_key = `+key+` AND digests.claimed_by = ?)
			WHERE patron_id > ? AND patron_id <= ? AND sent_at IS NULL AND digest_id IS NULL`+keep+`
			AND EXISTS (SELECT 1 FROM digests WHERE digests.idempotency_key = `+key+` AND digests.claimed_by = ?)`,
			append(append([]any{suffix, marker, lo, hi}, due.args...), suffix, marker)...).Error; err != nil {
			return err
		}
		clear := tx.Exec(`UPDATE digests SET claimed_by = '' WHERE status = ? AND next_attempt_at = ? AND claimed_by = ?`,
			DigestPending, now, marker)
		if clear.Error == nil && clear.RowsAffected != res.RowsAffected {
			return fmt.Errorf("assembled %d digests but released %d", res.RowsAffected, clear.RowsAffected)
		}
		made = clear.RowsAffected
		return clear.Error
	})
	if err != nil {
		return 0, err
	}
	return made, nil
}

// notificationsDueAt is the purge's rule for notifications at time n
// (purgeRulesAt, the one definition of "due").
func notificationsDueAt(n time.Time, r Retention) purgeRule {
	rule, ok := purgeRuleFor(n, r, "notifications")
	if !ok {
		panic("models: the purge has no rule for notifications")
	}
	return rule
}

// DueDigest names a digest that is due to be sent.
type DueDigest struct {
	ID       int64
	PatronID int64
}

// DueDigests lists up to limit digests due now, oldest due first: pending,
// their next try come, and not claimed (or their claim expired).
func (s *Store) DueDigests(ctx context.Context, limit int) ([]DueDigest, error) {
	now := s.Now()
	var out []DueDigest
	err := s.db(ctx).Model(&Digest{}).Select("id, patron_id").
		Where("status = ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)", DigestPending, now, now).
		Order("next_attempt_at, id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: due digests: %w", err)
	}
	return out, nil
}

// interruptedError is what a digest's last error says when its sender
// claimed it and never reported back (it crashed, or lost the database).
const interruptedError = "interrupted: the sender stopped before it could record the outcome"

// ClaimDigest claims a due digest for instance for lease. Only the
// instance whose conditional UPDATE changed the row may send it. A claim
// that had expired counts as a failed try, so a digest that crashes its
// sender cannot be retried for ever.
func (s *Store) ClaimDigest(ctx context.Context, patronID, digestID int64, instance string, lease time.Duration) (bool, error) {
	now := s.Now()
	res := s.db(ctx).Exec(`UPDATE digests SET claimed_by = ?, claimed_until = ?,
			attempts = attempts + CASE WHEN claimed_until IS NULL THEN 0 ELSE 1 END,
			last_error = CASE WHEN claimed_until IS NULL THEN last_error ELSE ? END
		WHERE id = ? AND patron_id = ? AND status = ? AND next_attempt_at <= ?
		AND (claimed_until IS NULL OR claimed_until < ?)`,
		instance, now.Add(lease), interruptedError, digestID, patronID, DigestPending, now, now)
	if res.Error != nil {
		return false, fmt.Errorf("models: claim digest: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// DigestMail is everything needed to write one digest email.
type DigestMail struct {
	Digest        Digest
	Patron        Patron
	Notifications []Notification
}

// DigestMail loads a digest, its patron and the notifications it carries,
// oldest first.
func (s *Store) DigestMail(ctx context.Context, patronID, digestID int64) (DigestMail, error) {
	var m DigestMail
	db := s.db(ctx)
	if err := db.Where("id = ? AND patron_id = ?", digestID, patronID).Take(&m.Digest).Error; err != nil {
		return m, notFound(err)
	}
	if err := db.Where("id = ?", patronID).Take(&m.Patron).Error; err != nil {
		return m, notFound(err)
	}
	err := db.Where("patron_id = ? AND digest_id = ?", patronID, digestID).Order("created_at, id").Find(&m.Notifications).Error
	if err != nil {
		return m, fmt.Errorf("models: digest notifications: %w", err)
	}
	return m, nil
}

// Deliverable reports whether the digest may still be emailed: the
// patron still wants notices, has an address, and something is in it.
func (m DigestMail) Deliverable() bool {
	return m.Patron.FavoritesLinked && (m.Patron.FavoritesNotice == NoticeDaily || m.Patron.FavoritesNotice == NoticeWeekly) &&
		strings.TrimSpace(m.Patron.Email) != "" && len(m.Notifications) > 0
}

// WithdrawDigest deletes a digest that must not be sent after all (the
// patron turned notices off, or their address or notifications went since
// it was assembled) and frees its notifications, which the patron still
// sees in the portal. Only the instance holding the claim may do it.
func (s *Store) WithdrawDigest(ctx context.Context, patronID, digestID int64, instance string) error {
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM digests WHERE id = ? AND patron_id = ? AND status = ? AND claimed_by = ?`,
			digestID, patronID, DigestPending, instance)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		// The foreign key sets digest_id NULL on delete; say it anyway, for
		// clarity and for databases where the constraint is deferred.
		return tx.Model(&Notification{}).Where("patron_id = ? AND digest_id = ?", patronID, digestID).
			UpdateColumn("digest_id", nil).Error
	})
	if err != nil {
		return fmt.Errorf("models: withdraw digest: %w", err)
	}
	return nil
}

// MarkDigestSent records that the SMTP server accepted a digest: the
// digest is sent and so is every notification in it, in one transaction.
// It does not ask who holds the claim: the acceptance is a fact, whoever
// reports it. It returns false when the digest was already marked.
func (s *Store) MarkDigestSent(ctx context.Context, patronID, digestID int64) (bool, error) {
	now := s.Now()
	marked := false
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Digest{}).Where("id = ? AND patron_id = ? AND status = ?", digestID, patronID, DigestPending).
			UpdateColumns(map[string]any{"status": DigestSent, "sent_at": now, "claimed_by": "", "claimed_until": nil})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		marked = true
		return tx.Model(&Notification{}).Where("patron_id = ? AND digest_id = ? AND sent_at IS NULL", patronID, digestID).
			UpdateColumn("sent_at", now).Error
	})
	if err != nil {
		return false, fmt.Errorf("models: mark digest sent: %w", err)
	}
	return marked, nil
}

// FailDigest records a failed try by the instance holding the claim:
// one more attempt, the (already sanitised) reason, and the next try
// after the backoff; after DigestMaxAttempts, or at once when final, the
// digest is given up. An empty reason gives it up as it stands, without
// counting a try (its earlier tries already reached the limit). The claim
// is released. It returns the digest's new status, or "" when the
// instance no longer held the claim.
func (s *Store) FailDigest(ctx context.Context, patronID, digestID int64, instance, reason string, final bool) (string, error) {
	now := s.Now()
	status := ""
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var d Digest
		err := tx.Where("id = ? AND patron_id = ? AND status = ? AND claimed_by = ?", digestID, patronID, DigestPending, instance).
			Take(&d).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		attempts := d.Attempts + 1
		if reason == "" {
			attempts, reason, final = d.Attempts, d.LastError, true
		}
		next, st := now.Add(DigestBackoff(attempts)), DigestPending
		if final || attempts >= DigestMaxAttempts {
			// A failed digest's next_attempt_at is when it was given up:
			// its notifications' retention counts from there.
			next, st = now, DigestFailed
		}
		res := tx.Model(&Digest{}).Where("id = ? AND claimed_by = ? AND status = ?", d.ID, instance, DigestPending).
			UpdateColumns(map[string]any{"attempts": attempts, "last_error": reason, "next_attempt_at": next,
				"status": st, "claimed_by": "", "claimed_until": nil})
		if res.Error == nil && res.RowsAffected == 1 {
			status = st
		}
		return res.Error
	})
	if err != nil {
		return "", fmt.Errorf("models: record failed digest: %w", err)
	}
	return status, nil
}

// Kinds of delivery failure, the first word of a digest's last error.
const (
	FailureUnreachable = "unreachable" // the library's mail server could not be reached or spoken to
	FailureBusy        = "busy"        // a server answered "try again later" (4xx)
	FailureRefused     = "refused"     // a server refused the message for good (5xx)
	FailureInterrupted = "interrupted" // the connection broke, or the sender stopped, mid-way
	FailureAddress     = "address"     // the address on file cannot be written to
	FailureOther       = "error"
)

// FailureKind is the kind of a digest's last error.
func FailureKind(lastError string) string {
	kind, _, _ := strings.Cut(lastError, ":")
	switch kind {
	case FailureUnreachable, FailureBusy, FailureRefused, FailureInterrupted, FailureAddress:
		return kind
	}
	return FailureOther
}

var emailLike = regexp.MustCompile(`[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+`)

// SanitizeDeliveryError turns an error from sending into a digest's last
// error: its kind, then the server's words with every email address
// replaced (the patron's above all) and control characters dropped,
// at most 300 characters. Logs and the database never get an address.
func SanitizeDeliveryError(kind string, err error, addresses ...string) string {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, a := range addresses {
		if a = strings.TrimSpace(a); a != "" {
			msg = strings.ReplaceAll(msg, a, "<address>")
			msg = strings.ReplaceAll(msg, strings.ToLower(a), "<address>")
		}
	}
	msg = emailLike.ReplaceAllString(msg, "<address>")
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	msg = collapseSpace(msg)
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return kind + ": " + msg
}

// NotificationDelivery is a notification with the state of the email
// that carries it, for the patron's notifications page.
type NotificationDelivery struct {
	ID                  int64
	Title               string
	Author              string
	CatalogURL          string
	Reason              string
	CreatedAt           time.Time
	SentAt              *time.Time
	DigestID            *int64
	DigestStatus        *string
	DigestAttempts      *int
	DigestNextAttemptAt *time.Time
	DigestLastError     *string
}

// NotificationDeliveries lists a patron's notifications, newest first,
// each with its digest's status.
func (s *Store) NotificationDeliveries(ctx context.Context, patronID int64, req PageRequest) (Page[NotificationDelivery], error) {
	q := s.db(ctx).Table("notifications").
		Select("notifications.id, notifications.title, notifications.author, notifications.catalog_url, notifications.reason, "+
			"notifications.created_at, notifications.sent_at, notifications.digest_id, digests.status AS digest_status, "+
			"digests.attempts AS digest_attempts, digests.next_attempt_at AS digest_next_attempt_at, "+
			"digests.last_error AS digest_last_error").
		Joins("LEFT JOIN digests ON digests.id = notifications.digest_id AND digests.patron_id = notifications.patron_id").
		Where("notifications.patron_id = ?", patronID)
	p, err := keyset(q, "notifications.created_at", "notifications.id", req,
		func(r NotificationDelivery) Cursor { return Cursor{r.CreatedAt, r.ID} })
	if err != nil {
		return p, fmt.Errorf("models: list notifications: %w", err)
	}
	return p, nil
}

// DigestRecord is one digest email as the patron sees and exports it.
type DigestRecord struct {
	ID              int64      `json:"id"`
	Period          string     `json:"period"`      // daily or weekly
	PeriodDate      string     `json:"period_date"` // the day it was due, YYYY-MM-DD
	Status          string     `json:"status"`      // pending, sent or failed
	Attempts        int        `json:"attempts"`    // failed tries so far
	LastError       string     `json:"last_error,omitempty"`
	NextAttemptAt   *time.Time `json:"next_attempt_at,omitempty"` // while pending
	CreatedAt       time.Time  `json:"created_at"`
	SentAt          *time.Time `json:"sent_at"`
	NotificationIDs []int64    `json:"notification_ids"`
}

// DigestRecords lists every digest email of a patron, newest first, with
// the notifications each carried. A patron has at most one a day, and
// they go with their notifications, so the list is short.
func (s *Store) DigestRecords(ctx context.Context, patronID int64) ([]DigestRecord, error) {
	return digestRecords(s.db(ctx), patronID)
}

func digestRecords(db *gorm.DB, patronID int64) ([]DigestRecord, error) {
	var ds []Digest
	if err := db.Where("patron_id = ?", patronID).Order("created_at DESC, id DESC").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("models: list digests: %w", err)
	}
	var links []struct {
		ID       int64
		DigestID int64
	}
	if err := db.Model(&Notification{}).Select("id, digest_id").
		Where("patron_id = ? AND digest_id IS NOT NULL", patronID).Order("id").Find(&links).Error; err != nil {
		return nil, fmt.Errorf("models: list digests: %w", err)
	}
	carried := map[int64][]int64{}
	for _, l := range links {
		carried[l.DigestID] = append(carried[l.DigestID], l.ID)
	}
	out := make([]DigestRecord, 0, len(ds))
	for _, d := range ds {
		kind, period, _ := ParseDigestKey(d.IdempotencyKey)
		r := DigestRecord{ID: d.ID, Period: kind, PeriodDate: period, Status: d.Status, Attempts: d.Attempts,
			LastError: d.LastError, CreatedAt: d.CreatedAt, SentAt: d.SentAt, NotificationIDs: carried[d.ID]}
		if r.NotificationIDs == nil {
			r.NotificationIDs = []int64{}
		}
		if d.Status == DigestPending {
			next := d.NextAttemptAt
			r.NextAttemptAt = &next
		}
		out = append(out, r)
	}
	return out, nil
}

// ErrBadNoticeToken refuses a notice unsubscribe link that was not minted
// by NoticeToken under the current key.
var ErrBadNoticeToken = errors.New("notice unsubscribe link not valid")

// noticeToken seals a patron ID for the unsubscribe link in digest
// emails, with the sealing of the mailing-list links but its own key and
// purpose, so that one kind of link cannot be replayed as the other.
var noticeToken = tokenPurpose{key: "notice-unsubscribe-token", ad: "carrel-notice-unsubscribe"}

// NoticeToken mints the unsubscribe token for a patron's new-arrival
// emails.
func (s *Store) NoticeToken(patronID int64) string { return s.sealIDs(noticeToken, patronID) }

// CheckNoticeToken reports whether a notice unsubscribe token is valid,
// for its confirmation page, which says nothing about whose it is.
func (s *Store) CheckNoticeToken(token string) error {
	if _, err := s.openIDs(noticeToken, token, 1); err != nil {
		return ErrBadNoticeToken
	}
	return nil
}

// StopNoticesByToken carries out the unsubscribe link of a digest email:
// the patron's notice preference becomes none, with a consent-ledger
// entry (channel email_one_click), through the same path as the choice on
// /favorites. A patron who already gets none, or no longer exists,
// succeeds quietly, so the answer reveals nothing.
func (s *Store) StopNoticesByToken(ctx context.Context, token string) error {
	ids, err := s.openIDs(noticeToken, token, 1)
	if err != nil {
		return ErrBadNoticeToken
	}
	_, err = s.SetFavoritesNotice(ctx, ids[0], NoticeNone,
		Actor{Channel: ChannelEmailOneClick, TextVersion: FavoritesConsentVersion})
	if errors.Is(err, ErrNotLinked) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// DigestMessageID is the Message-ID of a digest's email, derived from its
// idempotency key: every try of the same digest carries the same one, so
// receiving systems can drop a duplicate. It is a keyed hash, so it names
// neither the patron nor their record. (Rotating the server key between a
// crash and its retry changes it.)
func (s *Store) DigestMessageID(d Digest, domain string) string {
	return "digest." + s.Keys.MAC("digest-message-id", d.IdempotencyKey)[:32] + "@" + domain
}

// DigestCounts counts the outbox's digests by status, for operators.
func (s *Store) DigestCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := s.db(ctx).Model(&Digest{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error
	out := map[string]int64{DigestPending: 0, DigestSent: 0, DigestFailed: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, err
}
