package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/carrel-library/carrel/models"
)

// RetentionReload puts in force the retention schedule privacy officers
// saved, so that every instance follows a change within minutes.
func RetentionReload(store *models.Store, log *slog.Logger) Job {
	return Job{Name: "retention reload", Every: SweepEvery, Run: func(ctx context.Context) {
		if err := store.ReloadRetention(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("retention reload failed", "err", err)
		}
	}}
}
