package models

import (
	"context"
	"time"
)

// sessionsCategory: the patron's active sign-ins. Which are active depends
// on the time of asking, so the overview reads them live (Kept is nil).
var sessionsCategory = Category{
	Slug: "sessions", Key: "sessions",
	Table: "sessions", TimeColumn: "last_seen_at", Label: "channel",
	columns: []string{"signed_in", "last_active", "how", "where"},
	Records: func(ctx context.Context, s *Store, patronID int64, _ PageRequest, limits SessionLimits) (RecordPage, error) {
		rows, err := s.ActiveSessions(ctx, patronID, limits)
		out := make([]any, len(rows))
		for i, r := range rows {
			out[i] = r
		}
		return RecordPage{Rows: out}, err
	},
	Controls:    SignInControls,
	NewestLabel: LabelChannel,
	Purge: func(n time.Time, _ Retention, limits SessionLimits) []purgeRule {
		// Expired sessions go through endSessions, which records the end of
		// an assistance one carried ("timed out").
		return []purgeRule{{"sessions", "sessions", "token_hash", "(last_seen_at <= ? OR created_at <= ?)", []any{n.Add(-limits.Idle), n.Add(-limits.Absolute)}, false}}
	},
	write: func(x recordScope) error {
		rows, err := x.s.activeSessions(x.tx, x.patron.ID, x.limits)
		if err != nil {
			return err
		}
		return writeKept(x, rows, func(r SessionRecord) time.Time { return r.LastSeenAt })
	},
}
