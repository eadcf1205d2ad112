package web

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrel-library/carrel/models"
)

// storageWindow is how long after the database last refused to store
// something /readyz keeps saying not ready. A full disk is not found by
// the write probe (it grows nothing), only by the writes that fail: a
// load balancer then sends traffic elsewhere for this long, and tries
// again.
const storageWindow = 30 * time.Second

// health is what the readiness check knows besides the database's own
// answers.
type health struct {
	// draining: serve was asked to stop and is finishing; /readyz says
	// so while requests are still served.
	draining atomic.Bool
	// storageFailed is when (Unix nanoseconds, wall clock) the database
	// last refused a write for a storage reason; 0: never.
	storageFailed atomic.Int64
	// probeFailing: the last write probe failed (logged once, when it
	// starts failing, not at every probe).
	probeFailing atomic.Bool
	// probedAt is when (Unix nanoseconds) the write probe last ran: it
	// runs at most once per probeEvery, and /readyz in between answers
	// from its last result, so that /readyz stays one ping under load
	// (it is the benchmarks' baseline) and a busy balancer does not take
	// SQLite's write lock at every check.
	probedAt atomic.Int64
}

// probeEvery is how often the write probe runs at most.
const probeEvery = time.Second

// writable runs the write probe, or answers from its last result when it
// ran less than probeEvery ago (or is running now).
func (s *Server) writable(ctx context.Context) bool {
	h := &s.health
	last := h.probedAt.Load()
	now := time.Now().UnixNano()
	if now-last < int64(probeEvery) || !h.probedAt.CompareAndSwap(last, now) {
		return !h.probeFailing.Load()
	}
	if err := models.ProbeWrite(ctx, s.Store.DB); err != nil {
		if !h.probeFailing.Swap(true) {
			s.Log.Warn("readiness: the database refuses writes", "err", logError(err))
		}
		return false
	}
	if h.probeFailing.Swap(false) {
		s.Log.Info("readiness: the database accepts writes again")
	}
	return true
}

// noteStorage remembers err if it is the database refusing to store
// anything (models.IsStorageFailure).
func (h *health) noteStorage(err error) {
	if models.IsStorageFailure(err) {
		h.storageFailed.Store(time.Now().UnixNano())
	}
}

// recentStorageFailure is how long ago the database last refused a write,
// if within storageWindow.
func (h *health) recentStorageFailure() (ago time.Duration, ok bool) {
	at := h.storageFailed.Load()
	if at == 0 {
		return 0, false
	}
	ago = time.Since(time.Unix(0, at))
	return ago, ago < storageWindow
}

// Drain makes /readyz answer 503 from now on while everything else is
// still served: serve calls it on SIGTERM, then waits for the load
// balancer to notice before it stops listening.
func (s *Server) Drain() { s.health.draining.Store(true) }

// Healthz answers while the process is up.
func (s *Server) Healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// Readyz answers 200 when the portal can do its work, and 503, saying
// why, when a load balancer should send requests elsewhere: it is
// shutting down; the database does not answer; it refuses writes (the
// probe, models.ProbeWrite, at most once a second); or it refused one in the last
// storageWindow (a full disk).
//
// Its Carrel-Seen-As header is the address as this request reached the
// portal, scheme and host, after the trusted proxies' X-Forwarded-Proto:
// carrel doctor compares it with CARREL_PUBLIC_URL.
func (s *Server) Readyz(c echo.Context) error {
	c.Response().Header().Set("Carrel-Seen-As", s.seenAs(c.Request()))
	ctx := c.Request().Context()
	notReady := func(why string) error {
		c.Response().Header().Set("Retry-After", "5")
		return c.String(http.StatusServiceUnavailable, why+"\n")
	}
	if s.health.draining.Load() {
		return notReady("shutting down")
	}
	if err := models.Ping(ctx, s.Store.DB); err != nil {
		return notReady("database unreachable")
	}
	if !s.writable(ctx) {
		return notReady("database refuses writes")
	}
	if ago, ok := s.health.recentStorageFailure(); ok {
		return notReady("database refused a write " + strconv.Itoa(int(ago.Seconds())) + "s ago")
	}
	return c.String(http.StatusOK, "ready\n")
}

// seenAs is scheme://host as a request reached the portal.
func (s *Server) seenAs(r *http.Request) string {
	scheme := "http"
	if s.isHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
