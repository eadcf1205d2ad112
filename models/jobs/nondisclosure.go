package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/carrel-library/carrel/models"
)

// NondisclosureSweep records the nondisclosure orders that ran out on
// their date: each covered patron's staff-access list records, once, what
// it kept from them (and the outbox then tells them by email).
func NondisclosureSweep(store *models.Store, loc *time.Location, log *slog.Logger) Job {
	return Job{Name: "ended nondisclosure sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		if n, err := store.SweepEndedNondisclosure(ctx, loc); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("ended nondisclosure sweep failed", "err", err)
		} else if n > 0 {
			log.Info("ended nondisclosure orders recorded", "count", n)
		}
	}}
}
