package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/carrel-library/carrel/models"
)

// HandoffTokenSweep forgets the catalog's used hand-off token IDs once
// they have expired.
func HandoffTokenSweep(store *models.Store, log *slog.Logger) Job {
	return Job{Name: "hand-off token sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		if err := store.SweepHandoffTokens(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("hand-off token sweep failed", "err", err)
		}
	}}
}
