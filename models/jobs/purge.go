package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/carrel-library/carrel/models"
)

// PurgeDelay is the wait before the first purge after start.
const PurgeDelay = time.Minute

// Purge runs the retention purge every `every`, the first PurgeDelay after
// start. Another instance purging at the same moment is not an error: it
// simply wins.
func Purge(store *models.Store, limits models.SessionLimits, every time.Duration, log *slog.Logger) Job {
	return Job{Name: "retention purge", Delay: PurgeDelay, Every: every, Run: func(ctx context.Context) {
		PurgeOnce(ctx, store, limits, log)
	}}
}

// PurgeOnce runs one daily purge, logs a signed checkpoint of the audit
// log (ids and chain values only, no personal data), so the logs keep
// the log's end outside the database, and verifies the audit log, whose
// result the privacy officer's page shows.
func PurgeOnce(ctx context.Context, store *models.Store, limits models.SessionLimits, log *slog.Logger) {
	rep, err := store.Purge(ctx, false, 1000, limits)
	switch {
	case errors.Is(err, models.ErrPurgeBusy):
		log.Info("purge skipped: another instance is purging")
		return
	case err != nil && !errors.Is(err, context.Canceled):
		log.Error("purge failed", "err", err)
		return
	case err != nil:
		return
	}
	log.Info("purge done", "deleted", rep.Total(), "counts", rep.String())
	log.Info("audit checkpoint", "checkpoint", rep.Checkpoint.String())
	check, err := store.VerifyAudit(ctx, nil, "daily purge")
	switch {
	case err != nil:
		log.Error("audit verification failed", "err", err)
	case check.Intact():
		log.Info("audit verified", "result", check.Summary())
	default:
		log.Error("audit log broken", "result", check.Summary())
	}
}
