package models

import (
	"context"
	"fmt"
	"time"
)

// SessionLimits are the server-side lifetimes of a sign-in. They are
// separate from the cookie, which never has an expiry of its own and dies
// with the browser session.
type SessionLimits struct {
	Idle     time.Duration // since the last request
	Absolute time.Duration // since sign-in
}

// Expired reports whether a session has outlived its limits at time t.
func (l SessionLimits) Expired(s Session, t time.Time) bool {
	return !t.Before(s.LastSeenAt.Add(l.Idle)) || !t.Before(s.CreatedAt.Add(l.Absolute))
}

// CreateSession stores a new session row.
func (s *Store) CreateSession(ctx context.Context, sess *Session) error {
	if err := s.db(ctx).Create(sess).Error; err != nil {
		return fmt.Errorf("models: create session: %w", err)
	}
	return nil
}

// SessionByTokenHash loads a session by the hash of its cookie token.
func (s *Store) SessionByTokenHash(ctx context.Context, hash string) (Session, error) {
	var sess Session
	err := s.db(ctx).Where("token_hash = ?", hash).Take(&sess).Error
	return sess, notFound(err)
}

// SaveSession writes a session's principal, values and activity time.
func (s *Store) SaveSession(ctx context.Context, sess *Session) error {
	err := s.db(ctx).Model(&Session{}).Where("token_hash = ?", sess.TokenHash).UpdateColumns(map[string]any{
		"patron_id":        sess.PatronID,
		"staff_id":         sess.StaffID,
		"assist_patron_id": sess.AssistPatronID,
		"channel":          sess.Channel,
		"csrf_token":       sess.CSRFToken,
		"data":             sess.Data,
		"last_seen_at":     sess.LastSeenAt.UTC(),
	}).Error
	if err != nil {
		return fmt.Errorf("models: save session: %w", err)
	}
	return nil
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	err := s.db(ctx).Model(&Session{}).Where("token_hash = ?", hash).UpdateColumn("last_seen_at", at.UTC()).Error
	if err != nil {
		return fmt.Errorf("models: touch session: %w", err)
	}
	return nil
}

// RotateSession gives a session a new token: the row keeps its values and
// the old token stops working at once.
func (s *Store) RotateSession(ctx context.Context, oldHash, newHash string) error {
	res := s.db(ctx).Model(&Session{}).Where("token_hash = ?", oldHash).UpdateColumn("token_hash", newHash)
	if res.Error != nil {
		return fmt.Errorf("models: rotate session: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("models: rotate session: %w", ErrNotFound)
	}
	return nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if err := s.db(ctx).Where("token_hash = ?", hash).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("models: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes every session past its idle or absolute
// limit, and reports how many went.
func (s *Store) DeleteExpiredSessions(ctx context.Context, l SessionLimits) (int64, error) {
	n := s.Now()
	res := s.db(ctx).Where("last_seen_at <= ? OR created_at <= ?", n.Add(-l.Idle), n.Add(-l.Absolute)).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: sweep sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
