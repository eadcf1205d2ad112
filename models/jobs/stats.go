package jobs

import (
	"context"
	"log/slog"
	"time"
)

// StatsEvery is how often the page-view and event counters are written.
const StatsEvery = 30 * time.Second

// StatsFlush writes the HTTP side's counters every StatsEvery, and once
// more when the scheduler stops, so that none counted is lost.
func StatsFlush(flush func(context.Context) error, log *slog.Logger) Job {
	run := func(ctx context.Context) {
		if err := flush(ctx); err != nil {
			log.Warn("statistics flush failed", "err", err)
		}
	}
	return Job{Name: "statistics flush", Delay: StatsEvery, Every: StatsEvery, Run: run, Stop: run}
}
