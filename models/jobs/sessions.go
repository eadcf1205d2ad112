package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/carrel-library/carrel/models"
)

// SessionSweep deletes the sessions past their idle or absolute limit,
// recording the end of any assistance they carried: an assistance whose
// session expired ends here.
func SessionSweep(store *models.Store, limits models.SessionLimits, log *slog.Logger) Job {
	return Job{Name: "session sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		if n, err := store.DeleteExpiredSessions(ctx, limits); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("session sweep failed", "err", err)
		} else if n > 0 {
			log.Info("expired sessions deleted", "count", n)
		}
	}}
}
