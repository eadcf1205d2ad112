package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/carrel-library/carrel/models"
)

// SigninCounterSweep deletes the sign-in failure counts that no longer
// matter.
func SigninCounterSweep(store *models.Store, log *slog.Logger) Job {
	return Job{Name: "sign-in counter sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		if err := store.SweepSigninCounters(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("sign-in counter sweep failed", "err", err)
		}
	}}
}
