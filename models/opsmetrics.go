package models

// Read-only counts for the operators' metrics (web/metrics_ops.go) and
// the alert rules built on them (deploy/prometheus/alerts.yml). Each is
// one cheap, indexed query: /metrics is scraped every few seconds.

import (
	"context"
	"fmt"
	"time"
)

// LastPurgeSince returns when the newest real purge run recorded since
// since finished (its "purge.run" audit entry, which `carrel purge` and
// the daily job both write in the transaction that ends the run); ok is
// false when there is none. A zero since looks through the whole audit
// log; the newest entries are read first, through the created_at index,
// so a purge that ran lately is found at once.
func (s *Store) LastPurgeSince(ctx context.Context, since time.Time) (at time.Time, ok bool, err error) {
	var e AuditEntry
	q := s.db(ctx).Select("id, created_at").Where("action = ?", AuditPurgeRun)
	if !since.IsZero() {
		q = q.Where("created_at >= ?", since)
	}
	if err := q.Order("created_at DESC, id DESC").Limit(1).Find(&e).Error; err != nil {
		return time.Time{}, false, fmt.Errorf("models: last purge: %w", err)
	}
	if e.ID == 0 {
		return time.Time{}, false, nil
	}
	return e.CreatedAt, true, nil
}

// LockedSignins counts the sign-in accounts (cards, staff usernames,
// staff second steps) locked right now after too many failures, on every
// instance: the locks live in the database.
func (s *Store) LockedSignins(ctx context.Context) (int64, error) {
	var n int64
	err := s.db(ctx).Model(&SigninThrottle{}).Where("locked_until > ?", s.Now()).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("models: locked sign-ins: %w", err)
	}
	return n, nil
}

// DigestBacklog counts the digest emails waiting to be sent (pending,
// retries included) and those given up on (failed, kept until the purge
// takes them), through the digests_due index; sent digests are not read.
func (s *Store) DigestBacklog(ctx context.Context) (pending, failed int64, err error) {
	var rows []struct {
		Status string
		N      int64
	}
	err = s.db(ctx).Model(&Digest{}).Select("status, COUNT(*) AS n").
		Where("status IN ?", []string{DigestPending, DigestFailed}).Group("status").Scan(&rows).Error
	if err != nil {
		return 0, 0, fmt.Errorf("models: digest backlog: %w", err)
	}
	for _, r := range rows {
		switch r.Status {
		case DigestPending:
			pending = r.N
		case DigestFailed:
			failed = r.N
		}
	}
	return pending, failed, nil
}
