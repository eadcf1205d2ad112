// Package jobs runs Carrel's background work. One Scheduler, started by
// `carrel serve`, runs every periodic Job in its own goroutine until the
// server's context ends. Each job is a named constructor: the sweeps in
// sweeps.go, the retention purge in purge.go, the outbox in outbox.go, the
// consent outbox in consent_outbox.go, the statistics flush in stats.go;
// All lists them.
//
// Adding a job: write a constructor returning a Job, in a file of its own
// unless it is one more sweep, and add it to All. A job logs its own
// outcome, without personal data.
//
// It may import models, models/mail and models/ils; never web or views: the HTTP side
// hands in what only it holds (its statistics) as a function.
package jobs

import (
	"context"
	"sync"
	"time"
)

// Job is one piece of periodic work.
type Job struct {
	// Name says what the job does, in a few words.
	Name string
	// Delay is the wait before the first run; zero runs it at once.
	Delay time.Duration
	// Every is the interval between runs after the first.
	Every time.Duration
	// Run does the work once. It sees the scheduler's context, and
	// returns soon after it ends.
	Run func(ctx context.Context)
	// Stop, when set, runs once after the scheduler's context ends, on a
	// context that is not cancelled: last words, such as a final flush.
	Stop func(ctx context.Context)
}

// Scheduler runs jobs until its context ends.
type Scheduler struct {
	jobs []Job
	wg   sync.WaitGroup
}

// NewScheduler builds a scheduler for jobs.
func NewScheduler(jobs ...Job) *Scheduler { return &Scheduler{jobs: jobs} }

// Jobs lists the scheduler's jobs, in order.
func (s *Scheduler) Jobs() []Job { return append([]Job(nil), s.jobs...) }

// Start runs every job in its own goroutine until ctx ends.
func (s *Scheduler) Start(ctx context.Context) {
	for _, j := range s.jobs {
		s.wg.Go(func() { loop(ctx, j) })
	}
}

// Wait returns once every job has stopped (after ctx ended, each job's run
// in progress finished and its Stop ran).
func (s *Scheduler) Wait() { s.wg.Wait() }

// loop runs one job: after its Delay, then every Every, until ctx ends.
func loop(ctx context.Context, j Job) {
	if j.Stop != nil {
		defer j.Stop(context.WithoutCancel(ctx))
	}
	if j.Delay > 0 {
		wait := time.NewTimer(j.Delay)
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
	}
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		j.Run(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
