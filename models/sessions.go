package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// SessionLimits are the server-side lifetimes of a sign-in. They are
// separate from the cookie, which never has an expiry of its own and dies
// with the browser session.
type SessionLimits struct {
	Idle     time.Duration // since the last request
	Absolute time.Duration // since sign-in
}

// describe is the active sign-ins' retention text for these limits, in
// t's language.
func (l SessionLimits) describe(t *i18n.Tr) string {
	return t.S("models.sessions.retention_limits", "Idle", SpokenDuration(t, l.Idle), "Absolute", SpokenDuration(t, l.Absolute))
}

// SpokenDuration says a duration in whole hours when it is one, else in
// minutes, in t's language: "8 hours", "1 hour", "15 minutes", "90
// minutes"; "8 horas".
func SpokenDuration(t *i18n.Tr, d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return t.N("models.duration.hours", int64(d/time.Hour))
	}
	return t.N("models.duration.minutes", int64(d.Round(time.Minute)/time.Minute))
}

// Expired reports whether a session has outlived its limits at time t.
func (l SessionLimits) Expired(s Session, t time.Time) bool {
	return !t.Before(s.LastSeenAt.Add(l.Idle)) || !t.Before(s.CreatedAt.Add(l.Absolute))
}

// MaxPatronSessions is how many sessions a patron may hold at once. A
// patron signs in on a few devices; a script signing in over and over
// with a known card could otherwise fill the table.
const MaxPatronSessions = 20

// CreateSession stores a new session row. A patron's session beyond
// MaxPatronSessions ends their oldest ones, in the same transaction.
func (s *Store) CreateSession(ctx context.Context, sess *Session) error {
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if sess.PatronID != nil && DialectOfDB(tx) == Postgres {
			// One patron's sign-ins take turns here, on every instance, so
			// that two at once cannot both keep twenty others. SQLite
			// writes one transaction at a time already.
			if err := tx.Exec("SELECT 1 FROM patrons WHERE id = ? FOR NO KEY UPDATE", *sess.PatronID).Error; err != nil {
				return err
			}
		}
		if err := tx.Create(sess).Error; err != nil {
			return err
		}
		if sess.PatronID == nil {
			return nil
		}
		// The new row is kept whatever the clock says; of the others, the
		// newest MaxPatronSessions-1 stay.
		limit := MaxPatronSessions
		if s.SessionCap > 0 {
			limit = s.SessionCap
		}
		keep := tx.Model(&Session{}).Select("token_hash").
			Where("patron_id = ? AND token_hash <> ?", *sess.PatronID, sess.TokenHash).
			Order("created_at DESC, token_hash").Limit(limit - 1)
		return tx.Where("patron_id = ? AND token_hash <> ? AND token_hash NOT IN (?)", *sess.PatronID, sess.TokenHash, keep).
			Delete(&Session{}).Error
	})
	if err != nil {
		return fmt.Errorf("models: create session: %w", err)
	}
	return nil
}

// SessionByTokenHash loads a session by the hash of its cookie token.
func (s *Store) SessionByTokenHash(ctx context.Context, hash string) (Session, error) {
	sess, _, err := s.SessionAndPatron(ctx, hash)
	return sess, err
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

// Why an assistance ended along with the staff session that carried it,
// as the patron reads it under "Staff access".
const (
	AssistEndedSignOut  = "ended by signing out"
	AssistEndedDisabled = "ended because the staff account was disabled"
	AssistEndedTimeout  = "ended because the staff session timed out"
	AssistEndedPassword = "ended because the staff password was reset"
	AssistEndedSession  = "ended when the staff session ended"
)

// Session data keys of an assistance in progress, beside AssistPatronID:
// the web side writes them, and ending a session reads the reason back.
const (
	SessionAssistReason  = "assist_reason"
	SessionAssistNote    = "assist_note"
	SessionAssistStarted = "assist_started"
)

// assistReason is the stated reason of the assistance a session carries.
func (s Session) assistReason() string {
	var v map[string]any
	if err := json.Unmarshal([]byte(s.Data), &v); err != nil {
		return ""
	}
	reason, _ := v[SessionAssistReason].(string)
	note, _ := v[SessionAssistNote].(string)
	return AssistReasonLabel(reason, note)
}

// endSessions deletes the sessions matching where and records, in tx, the
// end of any assistance they carried, with its cause. The rows come back
// from the DELETE itself (RETURNING, on both engines), so only the
// transaction that deleted a session records its end: a sweep and a
// request that notice the same expiry record it once.
func (s *Store) endSessions(tx *gorm.DB, cause, where string, args ...any) (int64, error) {
	var gone []Session
	res := tx.Clauses(clause.Returning{Columns: []clause.Column{{Name: "token_hash"}, {Name: "staff_id"}, {Name: "assist_patron_id"}, {Name: "data"}}}).
		Where(where, args...).Delete(&gone)
	if res.Error != nil {
		return 0, res.Error
	}
	for _, g := range gone {
		if g.StaffID == nil || g.AssistPatronID == nil {
			continue
		}
		err := s.AppendAudit(tx, &AuditEntry{StaffID: g.StaffID, PatronID: g.AssistPatronID, Action: AuditAssistEnd,
			Reason: g.assistReason(), Detail: cause})
		if err != nil {
			return 0, err
		}
	}
	return res.RowsAffected, nil
}

// EndAssist ends the assistance a staff session carries, the session
// going on as the staff member's own, and records its end with cause, in
// one transaction. It reports whether there was an assistance to end.
// Only the UPDATE that clears the assistance records its end (it names
// the patron it read, so it changes nothing if anything ended it first):
// "End assistance", the time limit and a sweep taking the expired session
// at the same moment record it once. The caller then gives the session a
// new token.
func (s *Store) EndAssist(ctx context.Context, hash, cause string) (bool, error) {
	ended := false
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var sess Session
		err := tx.Select("staff_id", "assist_patron_id", "data").
			Where("token_hash = ? AND assist_patron_id IS NOT NULL", hash).Take(&sess).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		// RETURNING would give the row as updated, without the patron:
		// the patron read above is the condition instead.
		res := tx.Model(&Session{}).Where("token_hash = ? AND assist_patron_id = ?", hash, *sess.AssistPatronID).
			UpdateColumns(map[string]any{"assist_patron_id": nil, "channel": ""})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		ended = true
		return s.AppendAudit(tx, &AuditEntry{StaffID: sess.StaffID, PatronID: sess.AssistPatronID, Action: AuditAssistEnd,
			Reason: sess.assistReason(), Detail: cause})
	})
	if err != nil {
		return false, fmt.Errorf("models: end assistance: %w", err)
	}
	return ended, nil
}

// EndSession ends a session and, in the same transaction, records the
// end of any assistance it carried, with cause.
func (s *Store) EndSession(ctx context.Context, hash, cause string) error {
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := s.endSessions(tx, cause, "token_hash = ?", hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("models: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes every session past its idle or absolute
// limit, recording the end of any assistance they carried; it reports how
// many went. A disabled staff account's sessions are not its business:
// DisableStaff ends them in its own transaction, and the request
// middleware ends one left by an account disabled behind the portal's back.
func (s *Store) DeleteExpiredSessions(ctx context.Context, l SessionLimits) (int64, error) {
	n := s.Now()
	var total int64
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		total, err = s.endSessions(tx, AssistEndedTimeout, "last_seen_at <= ? OR created_at <= ?", n.Add(-l.Idle), n.Add(-l.Absolute))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("models: sweep sessions: %w", err)
	}
	return total, nil
}

// sessionPatronQuery is the SELECT of SessionAndPatron, with the struct
// field each column is scanned into, built once from the models.
var sessionPatronQuery = sync.OnceValues(func() (joinedQuery, error) {
	var q joinedQuery
	cols := []string{}
	for _, part := range []struct {
		model  any
		table  string
		fields *[]*schema.Field
	}{{&Session{}, "sessions", &q.session}, {&Patron{}, "patrons", &q.patron}} {
		sch, err := schema.Parse(part.model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			return q, err
		}
		for _, f := range sch.Fields {
			if f.DBName == "" || !f.Readable {
				continue
			}
			cols = append(cols, part.table+"."+f.DBName)
			*part.fields = append(*part.fields, f)
		}
	}
	sql := "SELECT " + strings.Join(cols, ", ") +
		" FROM sessions LEFT JOIN patrons ON patrons.id = sessions.patron_id WHERE sessions.token_hash = ?"
	q.sql = map[Dialect]string{Postgres: numberPlaceholders(sql, "$"), SQLite: sql}
	return q, nil
})

type joinedQuery struct {
	sql             map[Dialect]string // as each engine numbers its placeholders
	session, patron []*schema.Field
}

// SessionAndPatron loads a session by the hash of its cookie token and,
// in the same query, the patron it belongs to (nil for a staff member's
// or an anonymous session): the two reads every signed-in request starts
// with, in one round trip.
func (s *Store) SessionAndPatron(ctx context.Context, hash string) (Session, *Patron, error) {
	var (
		sess Session
		p    Patron
	)
	q, err := sessionPatronQuery()
	if err != nil {
		return sess, nil, fmt.Errorf("models: session query: %w", err)
	}
	// Every request runs this: straight to the pool, past gorm's
	// statement building.
	rows, err := s.DB.Statement.ConnPool.QueryContext(ctx, q.sql[DialectOfDB(s.DB)], hash)
	if err != nil {
		return sess, nil, fmt.Errorf("models: load session: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return sess, nil, fmt.Errorf("models: load session: %w", err)
		}
		return sess, nil, ErrNotFound
	}
	sv, pv := reflect.ValueOf(&sess).Elem(), reflect.ValueOf(&p).Elem()
	dest := make([]any, 0, len(q.session)+len(q.patron))
	for _, f := range q.session {
		dest = append(dest, sv.FieldByIndex(f.StructField.Index).Addr().Interface())
	}
	// The patron's columns are NULL when the join found none: each is read
	// into a pointer first.
	held := make([]reflect.Value, len(q.patron))
	for i, f := range q.patron {
		held[i] = reflect.New(reflect.PointerTo(f.FieldType))
		dest = append(dest, held[i].Interface())
	}
	if err := rows.Scan(dest...); err != nil {
		return sess, nil, fmt.Errorf("models: load session: %w", err)
	}
	if sess.PatronID == nil {
		return sess, nil, nil
	}
	found := false
	for i, f := range q.patron {
		if v := held[i].Elem(); !v.IsNil() {
			pv.FieldByIndex(f.StructField.Index).Set(v.Elem())
			found = found || f.DBName == "id"
		}
	}
	if !found {
		return sess, nil, nil // the patron is gone; the caller ends the session
	}
	return sess, &p, nil
}
