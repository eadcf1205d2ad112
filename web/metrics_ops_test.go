package web_test

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
)

const opsMetricsToken = "a-long-metrics-bearer-token"

// scrape reads /metrics through the router with the bearer token, as
// Prometheus does, and returns every series ("name{labels}") with its
// value.
func (a *app) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+opsMetricsToken)
	r := a.client().do(req)
	wantStatus(t, r, http.StatusOK)
	out := map[string]float64{}
	for _, line := range strings.Split(r.body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("metrics line %q does not parse", line)
		}
		out[line[:i]] = v
	}
	return out
}

// wantMetric fails unless the series has the value (within a second, for
// a timestamp taken from a running call).
func wantMetric(t *testing.T, got map[string]float64, series string, want float64) {
	t.Helper()
	v, ok := got[series]
	switch {
	case !ok:
		t.Errorf("metrics lack %s", series)
	case math.Abs(v-want) > 1:
		t.Errorf("%s = %v, want %v", series, v, want)
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// TestOpsMetricsPurge: the last real purge's time is on /metrics, from
// the audit log, so the run of `carrel purge` or of another instance
// counts too; 0 before any, unchanged by a dry run, moved by the next run.
func TestOpsMetricsPurge(t *testing.T) {
	forEachDB(t, web.Config{MetricsToken: opsMetricsToken}, func(t *testing.T, a *app) {
		ctx := context.Background()
		const series = "carrel_purge_last_success_timestamp_seconds"
		wantMetric(t, a.scrape(t), series, 0)

		if _, err := a.store.Purge(ctx, false, 100, models.SessionLimits{}); err != nil {
			t.Fatal(err)
		}
		first := a.clock.Now()
		wantMetric(t, a.scrape(t), series, unix(first))

		a.clock.Advance(26 * time.Hour)
		if _, err := a.store.Purge(ctx, true, 100, models.SessionLimits{}); err != nil {
			t.Fatal(err)
		}
		wantMetric(t, a.scrape(t), series, unix(first))

		a.clock.Advance(time.Hour)
		if _, err := a.store.Purge(ctx, false, 100, models.SessionLimits{}); err != nil {
			t.Fatal(err)
		}
		wantMetric(t, a.scrape(t), series, unix(a.clock.Now()))
		// Later scrapes read back only the last hour, and keep it.
		last := a.clock.Now()
		a.clock.Advance(30 * time.Hour)
		wantMetric(t, a.scrape(t), series, unix(last))
		// An instance started since finds it too, a day and more later.
		other, err := web.New(a.store, web.Config{MetricsToken: opsMetricsToken, LibraryName: "Test Library", PolicyVersion: "test-1"}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+opsMetricsToken)
		rec := httptest.NewRecorder()
		other.ServeHTTP(rec, req)
		if want := series + " " + strconv.FormatFloat(unix(last), 'g', -1, 64); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("a new instance's /metrics: status %d, lacks %q:\n%s", rec.Code, want, excerpt(rec.Body.String()))
		}
	})
}

// TestOpsMetricsSignin: wrong PINs through the sign-in form show as
// recent failures, and the card they lock as a locked account; the slow
// lane's threshold is the store's.
func TestOpsMetricsSignin(t *testing.T) {
	forEachDB(t, web.Config{MetricsToken: opsMetricsToken}, func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		m := a.scrape(t)
		wantMetric(t, m, "carrel_signin_failures_recent", 0)
		wantMetric(t, m, "carrel_signin_locked_accounts", 0)
		wantMetric(t, m, "carrel_signin_slow_lane_waiting", 0)
		wantMetric(t, m, "carrel_signin_slow_lane_threshold", float64(a.store.Limits.SpikeFailures))

		c := a.client()
		for i := range a.store.Limits.MaxFailures {
			r := c.signIn(card, "0000")
			if r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("wrong PIN %d: status %d", i+1, r.StatusCode)
			}
		}
		m = a.scrape(t)
		wantMetric(t, m, "carrel_signin_failures_recent", float64(a.store.Limits.MaxFailures))
		wantMetric(t, m, "carrel_signin_locked_accounts", 1)

		a.clock.Advance(a.store.Limits.Lockout + time.Minute)
		m = a.scrape(t)
		wantMetric(t, m, "carrel_signin_failures_recent", 0)
		wantMetric(t, m, "carrel_signin_locked_accounts", 0)
	})
}

// TestOpsMetricsConnectors: a connector that stops answering shows as
// down, with its errors and when the last one was; its next good answer
// brings it up again.
func TestOpsMetricsConnectors(t *testing.T) {
	forEachDB(t, web.Config{MetricsToken: opsMetricsToken}, func(t *testing.T, a *app) {
		ils := newFakeILS("sip2")
		ils.add(card, pin, models.ILSPatron{GivenName: "Rosa", FamilyName: "Parks"})
		a.withILS(ils)
		m := a.scrape(t)
		wantMetric(t, m, `carrel_connector_up{connector="sip2"}`, 1)
		wantMetric(t, m, `carrel_connector_calls_total{connector="sip2"}`, 0)
		if _, ok := m[`carrel_connector_last_error_timestamp_seconds{connector="sip2"}`]; ok {
			t.Error("a connector never called has a last error")
		}

		ils.setDown(true)
		wantStatus(t, a.client().signIn(card, pin), http.StatusServiceUnavailable)
		m = a.scrape(t)
		wantMetric(t, m, `carrel_connector_up{connector="sip2"}`, 0)
		wantMetric(t, m, `carrel_connector_calls_total{connector="sip2"}`, 1)
		wantMetric(t, m, `carrel_connector_errors_total{connector="sip2"}`, 1)
		wantMetric(t, m, `carrel_connector_last_error_timestamp_seconds{connector="sip2"}`, unix(a.clock.Now()))
		wantMetric(t, m, `carrel_events_total{counter="signin.ils_unavailable"}`, 1)

		ils.setDown(false)
		a.clock.Advance(time.Minute)
		wantRedirect(t, a.client().signIn(card, pin), "/data")
		m = a.scrape(t)
		wantMetric(t, m, `carrel_connector_up{connector="sip2"}`, 1)
		wantMetric(t, m, `carrel_connector_errors_total{connector="sip2"}`, 1)
		wantMetric(t, m, `carrel_connector_last_success_timestamp_seconds{connector="sip2"}`, unix(a.clock.Now()))
	})
}

// TestOpsMetricsDigests: digest emails waiting and given up on are
// counted; sent ones are not.
func TestOpsMetricsDigests(t *testing.T) {
	forEachDB(t, web.Config{MetricsToken: opsMetricsToken}, func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		m := a.scrape(t)
		wantMetric(t, m, "carrel_digests_pending", 0)
		wantMetric(t, m, "carrel_digests_failed", 0)
		for i, st := range []string{models.DigestPending, models.DigestPending, models.DigestFailed, models.DigestSent} {
			d := models.Digest{PatronID: p.ID, IdempotencyKey: "test-" + strconv.Itoa(i), Status: st,
				NextAttemptAt: testNow, CreatedAt: testNow}
			if err := a.store.DB.Create(&d).Error; err != nil {
				t.Fatal(err)
			}
		}
		m = a.scrape(t)
		wantMetric(t, m, "carrel_digests_pending", 2)
		wantMetric(t, m, "carrel_digests_failed", 1)
	})
}

// TestAHungDatabaseDoesNotHoldTheScrape: with the event counters' table
// locked by another transaction (a database that hangs), /metrics still
// answers, leaving out what it could not read, instead of waiting for the
// lock as long as it is held and piling scrapes up behind it.
func TestAHungDatabaseDoesNotHoldTheScrape(t *testing.T) {
	forEachDB(t, web.Config{MetricsToken: opsMetricsToken}, func(t *testing.T, a *app) {
		if models.DialectOfDB(a.store.DB) != models.Postgres {
			return // SQLite has one connection: a transaction holding a lock holds every request, not only the scrape
		}
		tx := a.store.DB.Begin()
		if err := tx.Exec("LOCK TABLE usage_counters IN ACCESS EXCLUSIVE MODE").Error; err != nil {
			t.Fatal(err)
		}
		released := make(chan struct{})
		go func() {
			time.Sleep(15 * time.Second)
			tx.Rollback()
			close(released)
		}()
		req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+opsMetricsToken)
		start := time.Now()
		if r := a.client().do(req); r.StatusCode == 0 {
			t.Fatal("no answer")
		}
		if waited := time.Since(start); waited > 12*time.Second {
			t.Errorf("/metrics waited %v, as long as the database held the lock", waited.Round(time.Second))
		}
		<-released
	})
}
