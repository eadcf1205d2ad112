package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/csvout"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// counterName is what a counter may be called: words, dots and
// underscores, and after the first dot digits too (a connector's name:
// ils.sip2.attempt); longNumber is what it may never hold, a number long
// enough to be a card or an ID.
var (
	counterName = regexp.MustCompile(`^[a-z_]+(\.[a-z0-9_-]+)*$`)
	longNumber  = regexp.MustCompile(`[0-9]{4}`)
)

// validCounter reports whether name may be counted.
func validCounter(name string) bool {
	return len(name) <= 100 && counterName.MatchString(name) && !longNumber.MatchString(name)
}

// stats gathers the anonymous daily counters in memory and writes them
// now and then, so counting a page view never costs a database write.
type stats struct {
	mu      sync.Mutex
	pending map[[2]string]int64
	store   *models.Store
	loc     *time.Location
}

func newStats(store *models.Store, loc *time.Location) *stats {
	return &stats{pending: map[[2]string]int64{}, store: store, loc: loc}
}

// Inc counts one event today (in the library's time zone).
func (s *stats) Inc(name string) {
	if !validCounter(name) {
		return
	}
	day := s.store.Now().In(s.loc).Format("2006-01-02")
	s.mu.Lock()
	s.pending[[2]string{day, name}]++
	s.mu.Unlock()
}

// Flush writes what was counted since the last flush. On failure the
// counts are kept for the next try.
func (s *stats) Flush(ctx context.Context) error {
	s.mu.Lock()
	batch := s.pending
	s.pending = map[[2]string]int64{}
	s.mu.Unlock()
	if err := s.store.AddCounts(ctx, batch); err != nil {
		s.mu.Lock()
		for k, v := range batch {
			s.pending[k] += v
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

// unflushed returns the counts not yet written, by name.
func (s *stats) unflushed() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for k, v := range s.pending {
		out[k[1]] += v
	}
	return out
}

// FlushStats writes the counters counted since the last flush; the
// scheduler (models/jobs.StatsFlush) calls it every half minute and once
// at shutdown.
func (s *Server) FlushStats(ctx context.Context) error { return s.stats.Flush(ctx) }

// sections name the parts of the site whose page views are counted.
var sections = map[string]string{
	"/": "home", "/policy": "policy", "/login": "sign_in", "/data": "data", "/data/:category": "data",
	"/favorites": "favorites", "/mailing-lists": "mailing_lists", "/opac/follow": "follow",
}

// countPageView counts successful page views by section, nothing else.
func (s *Server) countPageView(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if c.Request().Method == http.MethodGet && !isHead(c) && err == nil && c.Response().Status < 400 {
			if sec, ok := sections[c.Path()]; ok {
				s.stats.Inc("pageview." + sec)
			}
		}
		return err
	}
}

// StaffStats shows the counters over a date range as bar charts.
func (s *Server) StaffStats(c echo.Context) error {
	from, to, errText := s.statsRange(c)
	v := views.StatsView{From: from, To: to, Error: errText}
	status := http.StatusOK
	if errText != "" {
		status = http.StatusUnprocessableEntity
	} else {
		if err := s.stats.Flush(c.Request().Context()); err != nil {
			return err
		}
		rows, err := s.Store.Counters(c.Request().Context(), from, to)
		if err != nil {
			return err
		}
		v.Charts = statsCharts(rows, from, to)
	}
	return s.render(c, status, views.StaffStats(s.page(c, "Statistics"), v))
}

// StaffStatsCSV downloads the counters over a date range.
func (s *Server) StaffStatsCSV(c echo.Context) error {
	from, to, errText := s.statsRange(c)
	if errText != "" {
		return echo.NewHTTPError(http.StatusBadRequest, errText)
	}
	if err := s.stats.Flush(c.Request().Context()); err != nil {
		return err
	}
	rows, err := s.Store.Counters(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	var b strings.Builder
	w := csvout.NewWriter(&b)
	_ = w.Write([]string{"day", "counter", "count"})
	for _, r := range rows {
		_ = w.Write([]string{r.Day, r.Name, fmt.Sprint(r.Count)})
	}
	w.Flush()
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="carrel-statistics-`+from+`-to-`+to+`.csv"`)
	if err := s.saveSession(c); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

func (s *Server) statsRange(c echo.Context) (from, to, errText string) {
	today := s.Store.Now().In(s.Config.Location)
	from, to = c.QueryParam("from"), c.QueryParam("to")
	if to == "" {
		to = today.Format("2006-01-02")
	}
	if from == "" {
		from = today.AddDate(0, 0, -29).Format("2006-01-02")
	}
	f, err1 := time.Parse("2006-01-02", from)
	t, err2 := time.Parse("2006-01-02", to)
	switch {
	case err1 != nil || err2 != nil:
		return from, to, "Dates are written like 2026-11-27."
	case t.Before(f):
		return from, to, "The end of the range comes before its start."
	case t.Sub(f) > 366*24*time.Hour:
		return from, to, "Choose at most one year at a time."
	}
	return from, to, ""
}

// statsCharts groups the counters by name into one bar chart each.
func statsCharts(rows []models.UsageCounter, from, to string) []views.Chart {
	byName := map[string]map[string]int64{}
	for _, r := range rows {
		if byName[r.Name] == nil {
			byName[r.Name] = map[string]int64{}
		}
		byName[r.Name][r.Day] += r.Count
	}
	f, _ := time.Parse("2006-01-02", from)
	t, _ := time.Parse("2006-01-02", to)
	var days []string
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("2006-01-02"))
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var charts []views.Chart
	for _, n := range names {
		ch := views.Chart{Name: n, Width: 640, Height: 160}
		var max int64
		for _, d := range days {
			if byName[n][d] > max {
				max = byName[n][d]
			}
			ch.Total += byName[n][d]
		}
		bw := float64(ch.Width) / float64(len(days))
		for i, d := range days {
			v := byName[n][d]
			h := 0.0
			if max > 0 {
				h = math.Round(float64(v) / float64(max) * float64(ch.Height-20))
			}
			ch.Bars = append(ch.Bars, views.Bar{X: fmt.Sprintf("%.1f", float64(i)*bw+1), Y: fmt.Sprintf("%.0f", float64(ch.Height)-h),
				W: fmt.Sprintf("%.1f", math.Max(bw-2, 1)), H: fmt.Sprintf("%.0f", h), Label: fmt.Sprintf("%s: %d", d, v)})
		}
		ch.Max = max
		charts = append(charts, ch)
	}
	return charts
}

// metricsHandler exposes the counters' totals in Prometheus format.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&counterCollector{s: s}, &outboxCollector{s: s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// Metrics serves /metrics to holders of the configured bearer token; with
// none configured, there is no such page.
func (s *Server) Metrics(c echo.Context) error {
	if s.Config.MetricsToken == "" {
		return echo.ErrNotFound
	}
	got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	if !ok || !equalTokens(got, s.Config.MetricsToken) {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="carrel-metrics"`)
		return c.String(http.StatusUnauthorized, "bearer token required\n")
	}
	s.metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}

type counterCollector struct{ s *Server }

var counterDesc = prometheus.NewDesc("carrel_events_total", "Anonymous events counted by Carrel, by counter name.", []string{"counter"}, nil)

func (cc *counterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- counterDesc }

func (cc *counterCollector) Collect(ch chan<- prometheus.Metric) {
	totals, err := cc.s.Store.CounterTotals(context.Background())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(counterDesc, err)
		return
	}
	for n, v := range cc.s.stats.unflushed() {
		totals[n] += v
	}
	for n, v := range totals {
		ch <- prometheus.MustNewConstMetric(counterDesc, prometheus.CounterValue, float64(v), n)
	}
}
