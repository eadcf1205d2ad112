package models

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The slow lane, and why it looks the way it does.
//
// When failed sign-ins across all accounts spike (a PIN sprayed across many
// cards, which no per-card lock can stop), each instance lets sign-ins
// start only one per SpikeDelay. That bounds how fast a sprayer can guess,
// however many addresses it uses. An unbounded queue in front of that gate
// would let one address stall every patron (issue 16: a real sign-in took
// 40 s behind one sprayer), so the lane here:
//
//   - holds at most one waiting sign-in per client address: a second one
//     from the same address is turned away at once, so a sprayer can only
//     ever slow itself down;
//   - lets the waiter whose address has the fewest recent failures go
//     first, so a patron who has not been failing goes ahead of every
//     sprayer and waits at most about one SpikeDelay;
//   - holds at most SpikeQueue waiters; a newcomer with fewer failures
//     than the worst waiter takes its place, and that waiter is turned away;
//   - turns away a waiter after SpikeWait, and one whose client gave up;
//     a sign-in turned away never has its secret checked, then or later.
//
// Addresses and their failure counts live only in this process's memory,
// for at most the throttle window, and are never written to the database
// or the log. Several instances each run a lane of their own.

// BusyError says a sign-in was turned away unchecked by the slow lane.
// PerClient is true when the same client address already had a sign-in
// waiting, and false when the lane was full or the wait ran out.
// RetryAfter is a fair guess at when a new try could get through.
type BusyError struct {
	RetryAfter time.Duration
	PerClient  bool
}

func (e *BusyError) Error() string {
	if e.PerClient {
		return fmt.Sprintf("sign-in busy for this client, retry after %v", e.RetryAfter)
	}
	return fmt.Sprintf("sign-in busy, retry after %v", e.RetryAfter)
}

type clientKey struct{}

// WithClient returns ctx carrying the address of the client that asks to
// sign in, so the slow lane can keep one client from stalling the others.
// The address is used in memory only and never stored or logged.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

func clientOf(ctx context.Context) string {
	addr, _ := ctx.Value(clientKey{}).(string)
	return addr
}

// maxRememberedClients bounds the memory of failing addresses: past it,
// entries older than the window go, and if that is not enough, all go.
const maxRememberedClients = 100_000

type signinLane struct {
	mu       sync.Mutex
	last     time.Time     // when the lane last let a sign-in start
	waiting  []*laneWaiter // best first
	seq      uint64
	changed  chan struct{} // closed and replaced whenever the lane changes
	failures map[string]clientFailures
}

type laneWaiter struct {
	addr     string
	failures int
	seq      uint64
	shed     bool // turned away by a better newcomer
}

type clientFailures struct {
	n    int
	last time.Time
}

func newSigninLane() *signinLane {
	return &signinLane{changed: make(chan struct{}), failures: map[string]clientFailures{}}
}

// before reports whether a goes ahead of b: fewer recent failures first,
// then first come.
func (a *laneWaiter) before(b *laneWaiter) bool {
	if a.failures != b.failures {
		return a.failures < b.failures
	}
	return a.seq < b.seq
}

// wake tells every waiter to look again; the caller holds mu.
func (l *signinLane) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// remove takes w out of the queue if it is still there; the caller holds mu.
func (l *signinLane) remove(w *laneWaiter) {
	for i, x := range l.waiting {
		if x == w {
			l.waiting = append(l.waiting[:i], l.waiting[i+1:]...)
			l.wake()
			return
		}
	}
}

// recentFailures is how many sign-ins from addr failed within window; the
// caller holds mu.
func (l *signinLane) recentFailures(addr string, now time.Time, window time.Duration) int {
	f, ok := l.failures[addr]
	if !ok || now.Sub(f.last) > window {
		return 0
	}
	return f.n
}

// noteFailure remembers that a sign-in from addr failed or hit a lock at
// now (the store's clock: failures are counted in its time, while the lane
// itself paces in real time).
func (l *signinLane) noteFailure(addr string, now time.Time, window time.Duration) {
	if addr == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures[addr] = clientFailures{n: l.recentFailures(addr, now, window) + 1, last: now}
	if len(l.failures) > maxRememberedClients {
		for a, f := range l.failures {
			if now.Sub(f.last) > window {
				delete(l.failures, a)
			}
		}
		if len(l.failures) > maxRememberedClients {
			clear(l.failures)
		}
	}
}

// waitingNow is how many sign-ins wait in the lane.
func (l *signinLane) waitingNow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiting)
}

// enter waits for the lane to let one sign-in from addr start, or turns it
// away with a *BusyError (or ctx's error when the client gave up). An empty
// addr (a caller with no client, such as a test) is a client of its own.
// now is the store's clock, for addr's recent failures; the waiting itself
// is in real time.
func (l *signinLane) enter(ctx context.Context, addr string, now time.Time, lim SigninLimits) error {
	l.mu.Lock()
	if addr != "" {
		for _, x := range l.waiting {
			if x.addr == addr {
				l.mu.Unlock()
				return &BusyError{RetryAfter: lim.SpikeDelay, PerClient: true}
			}
		}
	}
	l.seq++
	w := &laneWaiter{addr: addr, failures: l.recentFailures(addr, now, lim.Window), seq: l.seq}
	pos := len(l.waiting)
	for i, x := range l.waiting {
		if w.before(x) {
			pos = i
			break
		}
	}
	if len(l.waiting) >= max(lim.SpikeQueue, 1) {
		if pos == len(l.waiting) {
			l.mu.Unlock()
			return &BusyError{RetryAfter: lim.SpikeWait}
		}
		worst := l.waiting[len(l.waiting)-1]
		worst.shed = true
		l.waiting = l.waiting[:len(l.waiting)-1]
	}
	l.waiting = append(l.waiting, nil)
	copy(l.waiting[pos+1:], l.waiting[pos:])
	l.waiting[pos] = w
	l.wake()

	deadline := time.NewTimer(lim.SpikeWait)
	defer deadline.Stop()
	var turnTimer *time.Timer
	defer func() {
		if turnTimer != nil {
			turnTimer.Stop()
		}
	}()
	for {
		if w.shed {
			l.mu.Unlock()
			return &BusyError{RetryAfter: lim.SpikeWait}
		}
		var turn <-chan time.Time
		if l.waiting[0] == w {
			now := time.Now() // real time: this is the wait itself
			at := l.last.Add(lim.SpikeDelay)
			if !now.Before(at) {
				l.waiting = l.waiting[1:]
				l.last = now
				l.wake()
				l.mu.Unlock()
				return nil
			}
			if turnTimer != nil {
				turnTimer.Stop()
			}
			turnTimer = time.NewTimer(at.Sub(now))
			turn = turnTimer.C
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-turn:
		case <-deadline.C:
			l.mu.Lock()
			l.remove(w)
			l.mu.Unlock()
			return &BusyError{RetryAfter: lim.SpikeWait}
		case <-ctx.Done():
			l.mu.Lock()
			l.remove(w)
			l.mu.Unlock()
			return ctx.Err()
		}
		l.mu.Lock()
	}
}
