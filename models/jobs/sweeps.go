package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/carrel-library/carrel/models"
)

// The sweeps, every SweepEvery from start: each forgets or records what
// time has made due.

// SweepEvery is how often the sweeps run.
const SweepEvery = 5 * time.Minute

// SessionSweep deletes the sessions past their idle or absolute limit,
// recording the end of any assistance they carried: an assistance whose
// session expired ends here.
func SessionSweep(store *models.Store, limits models.SessionLimits, log *slog.Logger) Job {
	return Job{Name: "session sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		n, err := store.DeleteExpiredSessions(ctx, limits)
		report(log, err, "session sweep failed", n, "expired sessions deleted")
	}}
}

// RetentionReload puts in force the retention schedule privacy officers
// saved, so that every instance follows a change within minutes.
func RetentionReload(store *models.Store, log *slog.Logger) Job {
	return Job{Name: "retention reload", Every: SweepEvery, Run: func(ctx context.Context) {
		report(log, store.ReloadRetention(ctx), "retention reload failed", 0, "")
	}}
}

// HandoffTokenSweep forgets the catalog's used hand-off token IDs once
// they have expired.
func HandoffTokenSweep(store *models.Store, log *slog.Logger) Job {
	return Job{Name: "hand-off token sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		report(log, store.SweepHandoffTokens(ctx), "hand-off token sweep failed", 0, "")
	}}
}

// SigninCounterSweep deletes the sign-in failure counts that no longer
// matter.
func SigninCounterSweep(store *models.Store, log *slog.Logger) Job {
	return Job{Name: "sign-in counter sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		report(log, store.SweepSigninCounters(ctx), "sign-in counter sweep failed", 0, "")
	}}
}

// NondisclosureSweep records the nondisclosure orders that ran out on
// their date: each covered patron's staff-access list records, once, what
// it kept from them (and the outbox then tells them by email).
func NondisclosureSweep(store *models.Store, loc *time.Location, log *slog.Logger) Job {
	return Job{Name: "ended nondisclosure sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		n, err := store.SweepEndedNondisclosure(ctx, loc)
		report(log, err, "ended nondisclosure sweep failed", int64(n), "ended nondisclosure orders recorded")
	}}
}

// report logs a sweep's outcome: a failure as a warning (not the scheduler
// stopping, which cancels it), else how many things it did, if any.
func report(log *slog.Logger, err error, failed string, n int64, done string) {
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Warn(failed, "err", err)
	} else if n > 0 {
		log.Info(done, "count", n)
	}
}

// StaffOIDCSweep deletes the staff sign-ins through the identity provider
// that were never finished before they expired.
func StaffOIDCSweep(store *models.Store, log *slog.Logger) Job {
	return Job{Name: "staff sign-in sweep", Every: SweepEvery, Run: func(ctx context.Context) {
		n, err := store.SweepStaffOIDC(ctx)
		report(log, err, "staff sign-in sweep failed", n, "expired staff sign-ins deleted")
	}}
}
