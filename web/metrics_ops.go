package web

// The metrics an operator's alerts watch (issue 23; the rules are in
// deploy/prometheus/alerts.yml, explained in docs/operations.md): when the
// retention purge last succeeded, failed sign-ins and locks, the state of
// the connectors to the library's systems, and the digest emails waiting.
// The consent outbox's backlog is carrel_outbox_pending (ils.go) and the
// anonymous event counters carrel_events_total (stats.go).

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	purgeLastDesc = prometheus.NewDesc("carrel_purge_last_success_timestamp_seconds",
		"When the last real retention purge finished (carrel purge or the daily job, on any instance), as a Unix time; 0 when the audit log records none.",
		nil, nil)
	signinFailuresDesc = prometheus.NewDesc("carrel_signin_failures_recent",
		"Failed sign-ins (wrong card or PIN, staff password or second step) across all accounts and instances in the current and the previous minute.",
		nil, nil)
	signinLaneThresholdDesc = prometheus.NewDesc("carrel_signin_slow_lane_threshold",
		"How many recent failed sign-ins switch sign-in to the slow lane (carrel_signin_failures_recent at or above it).",
		nil, nil)
	signinLaneWaitingDesc = prometheus.NewDesc("carrel_signin_slow_lane_waiting",
		"Sign-ins waiting in this instance's slow lane now.",
		nil, nil)
	signinLockedDesc = prometheus.NewDesc("carrel_signin_locked_accounts",
		"Sign-in accounts (cards, staff usernames, staff second steps) locked now after too many failures, across all instances.",
		nil, nil)
	connectorUpDesc = prometheus.NewDesc("carrel_connector_up",
		"1 when this instance's last call to the connector succeeded or none was made yet, 0 when the last call failed.",
		[]string{"connector"}, nil)
	connectorCallsDesc = prometheus.NewDesc("carrel_connector_calls_total",
		"Calls this instance made to the connector since it started.",
		[]string{"connector"}, nil)
	connectorErrorsDesc = prometheus.NewDesc("carrel_connector_errors_total",
		"Calls to the connector that failed (no answer, an error; a refused PIN is not one) since this instance started.",
		[]string{"connector"}, nil)
	connectorLastSuccessDesc = prometheus.NewDesc("carrel_connector_last_success_timestamp_seconds",
		"When this instance's last successful call to the connector ended, as a Unix time; absent before the first.",
		[]string{"connector"}, nil)
	connectorLastErrorDesc = prometheus.NewDesc("carrel_connector_last_error_timestamp_seconds",
		"When this instance's last failed call to the connector ended, as a Unix time; absent before the first.",
		[]string{"connector"}, nil)
	digestsPendingDesc = prometheus.NewDesc("carrel_digests_pending",
		"Digest emails waiting to be sent, retries included.",
		nil, nil)
	digestsFailedDesc = prometheus.NewDesc("carrel_digests_failed",
		"Digest emails given up on, kept until the retention purge deletes them.",
		nil, nil)
)

// opsQueryTimeout bounds the database reads of one scrape, so that a
// database that hangs leaves series out instead of holding the scrape.
const opsQueryTimeout = 5 * time.Second

// purgeRescan is how far back each scrape looks again for a purge's audit
// entry: wide enough for a transaction that committed late, or an
// instance whose clock is behind, narrow enough to stay cheap.
const purgeRescan = time.Hour

// opsCollector reports the metrics of this file. A value the database
// could not give is left out of the scrape (and logged), as the outbox's
// is: the other metrics still count, and an alert sees the gap.
type opsCollector struct {
	s *Server

	mu sync.Mutex
	// lastPurge is the newest purge found so far; scanned says that the
	// audit log was read once in full, so that later scrapes need only
	// read back purgeRescan.
	lastPurge time.Time
	scanned   bool
}

func (oc *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{purgeLastDesc, signinFailuresDesc, signinLaneThresholdDesc,
		signinLaneWaitingDesc, signinLockedDesc, connectorUpDesc, connectorCallsDesc, connectorErrorsDesc,
		connectorLastSuccessDesc, connectorLastErrorDesc, digestsPendingDesc, digestsFailedDesc} {
		ch <- d
	}
}

func (oc *opsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), opsQueryTimeout)
	defer cancel()
	store := oc.s.Store
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if at, err := oc.purgeTime(ctx); err != nil {
		oc.s.Log.Warn("metrics: last purge unreadable", "err", logError(err))
	} else {
		gauge(purgeLastDesc, unixSeconds(at))
	}

	if n, err := store.RecentFailures(ctx); err != nil {
		oc.s.Log.Warn("metrics: recent sign-in failures unreadable", "err", logError(err))
	} else {
		gauge(signinFailuresDesc, float64(n))
	}
	gauge(signinLaneThresholdDesc, float64(store.Limits.SpikeFailures))
	gauge(signinLaneWaitingDesc, float64(store.SigninLaneWaiting()))
	if n, err := store.LockedSignins(ctx); err != nil {
		oc.s.Log.Warn("metrics: sign-in locks unreadable", "err", logError(err))
	} else {
		gauge(signinLockedDesc, float64(n))
	}

	if store.Connectors != nil {
		for _, st := range store.Connectors.Snapshot() {
			up := 1.0
			if !st.LastError.IsZero() && !st.LastError.Before(st.LastSuccess) {
				up = 0
			}
			gauge(connectorUpDesc, up, st.Name)
			ch <- prometheus.MustNewConstMetric(connectorCallsDesc, prometheus.CounterValue, float64(st.Attempts), st.Name)
			ch <- prometheus.MustNewConstMetric(connectorErrorsDesc, prometheus.CounterValue, float64(st.Failures), st.Name)
			if !st.LastSuccess.IsZero() {
				gauge(connectorLastSuccessDesc, unixSeconds(st.LastSuccess), st.Name)
			}
			if !st.LastError.IsZero() {
				gauge(connectorLastErrorDesc, unixSeconds(st.LastError), st.Name)
			}
		}
	}

	if pending, failed, err := store.DigestBacklog(ctx); err != nil {
		oc.s.Log.Warn("metrics: digest backlog unreadable", "err", logError(err))
	} else {
		gauge(digestsPendingDesc, float64(pending))
		gauge(digestsFailedDesc, float64(failed))
	}
}

// purgeTime is when the last real purge finished, or the zero time when
// the audit log has none. The first scrape reads the whole log, newest
// first; later ones read only the last purgeRescan, and keep what was
// found before when that holds no newer purge.
func (oc *opsCollector) purgeTime(ctx context.Context) (time.Time, error) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	var since time.Time
	if oc.scanned {
		since = oc.s.Store.Now().Add(-purgeRescan)
	}
	at, ok, err := oc.s.Store.LastPurgeSince(ctx, since)
	if err != nil {
		return time.Time{}, err
	}
	oc.scanned = true
	if ok && at.After(oc.lastPurge) {
		oc.lastPurge = at
	}
	return oc.lastPurge, nil
}

// unixSeconds is t as a Prometheus timestamp value; 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
