package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/jobs"
	"github.com/carrel-library/carrel/models/mail"
)

// TestSchedulerRunsEachJobUntilItsContextEnds: a job with no delay runs at
// once and then every interval; one whose delay has not passed never runs;
// once the context ends every job stops, Stop runs once on a live context,
// and Wait returns.
func TestSchedulerRunsEachJobUntilItsContextEnds(t *testing.T) {
	var often, late, stops atomic.Int32
	var stopCtxErr atomic.Value
	s := jobs.NewScheduler(
		jobs.Job{Name: "often", Every: 5 * time.Millisecond, Run: func(context.Context) { often.Add(1) }},
		jobs.Job{Name: "late", Delay: time.Hour, Every: time.Hour, Run: func(context.Context) { late.Add(1) },
			Stop: func(ctx context.Context) { stops.Add(1); stopCtxErr.Store(ctx.Err() == nil) }},
	)
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	for deadline := time.Now().Add(10 * time.Second); often.Load() < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if often.Load() < 3 {
		t.Fatalf("the job every 5ms ran %d times in 10s", often.Load())
	}
	cancel()
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler did not stop with its context")
	}
	if late.Load() != 0 {
		t.Errorf("the job an hour away ran %d times", late.Load())
	}
	if stops.Load() != 1 || stopCtxErr.Load() != true {
		t.Errorf("Stop ran %d times (on a live context: %v), want once", stops.Load(), stopCtxErr.Load())
	}
	n := often.Load()
	if s.Wait(); often.Load() != n {
		t.Error("a job ran after Wait returned")
	}
}

// TestAllIsEveryPeriodicJob lists what serve runs, with the intervals the
// loops it replaced had: the five sweeps every five minutes from start,
// the purge a minute after start and then every PurgeEvery, the counters
// every half minute (and at the end), the outbox every minute, the
// consent outbox every half minute when there is somewhere to send it.
func TestAllIsEveryPeriodicJob(t *testing.T) {
	type want struct {
		name         string
		delay, every time.Duration
		stop         bool
	}
	sweeps := []want{
		{"session sweep", 0, 5 * time.Minute, false},
		{"retention reload", 0, 5 * time.Minute, false},
		{"hand-off token sweep", 0, 5 * time.Minute, false},
		{"sign-in counter sweep", 0, 5 * time.Minute, false},
		{"ended nondisclosure sweep", 0, 5 * time.Minute, false},
		{"staff sign-in sweep", 0, 5 * time.Minute, false},
	}
	limits := models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour}
	for _, tc := range []struct {
		name string
		cfg  jobs.Config
		want []want
	}{
		{"everything on", jobs.Config{Sessions: limits, PurgeEvery: 24 * time.Hour,
			Mail:       mail.Config{Host: "smtp.library.example", From: "news@library.example"},
			FlushStats: func(context.Context) error { return nil }, ILS: &ils.Sender{}},
			append(append([]want(nil), sweeps...),
				want{"retention purge", time.Minute, 24 * time.Hour, false},
				want{"statistics flush", 30 * time.Second, 30 * time.Second, true},
				want{"outbox", 0, time.Minute, false},
				want{"consent outbox", 0, 30 * time.Second, false})},
		{"no purge, no SMTP, no counters", jobs.Config{Sessions: limits}, sweeps},
		{"the outbox at its own pace", jobs.Config{Sessions: limits,
			Mail: mail.Config{Host: "smtp.library.example", From: "news@library.example", Every: 10 * time.Second}},
			append(append([]want(nil), sweeps...), want{"outbox", 0, 10 * time.Second, false})},
		{"the consent outbox at its own pace", jobs.Config{Sessions: limits, ILS: &ils.Sender{}, ILSEvery: 5 * time.Second},
			append(append([]want(nil), sweeps...), want{"consent outbox", 0, 5 * time.Second, false})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := jobs.All(nil, tc.cfg, nil)
			if len(all) != len(tc.want) {
				t.Fatalf("%d jobs, want %d", len(all), len(tc.want))
			}
			for i, j := range all {
				got := want{j.Name, j.Delay, j.Every, j.Stop != nil}
				if got != tc.want[i] || j.Run == nil {
					t.Errorf("job %d: %+v, want %+v", i, got, tc.want[i])
				}
			}
		})
	}
}
