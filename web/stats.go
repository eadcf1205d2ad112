package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/csvout"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
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

// StaffStats shows the counters over a date range as bar charts, each
// with its numbers as a table.
func (s *Server) StaffStats(c echo.Context) error {
	from, to, errs := s.statsRange(c)
	v := views.StatsView{From: from, To: to, Errors: errs}
	title := tr(c).S("staffops.stats.heading")
	if len(errs) > 0 {
		return s.render(c, http.StatusUnprocessableEntity, views.StaffStats(s.page(c, title), v))
	}
	if err := s.stats.Flush(c.Request().Context()); err != nil {
		return err
	}
	rows, err := s.Store.Counters(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	v.Charts = statsCharts(tr(c), rows, from, to)
	v.CSVURL = "/staff/stats.csv?" + url.Values{"from": {from}, "to": {to}}.Encode()
	return s.render(c, http.StatusOK, views.StaffStats(s.page(c, title), v))
}

// StaffStatsCSV downloads the counters over a date range.
func (s *Server) StaffStatsCSV(c echo.Context) error {
	from, to, errs := s.statsRange(c)
	for _, f := range []string{"from", "to"} {
		if errs[f] != "" {
			return echo.NewHTTPError(http.StatusBadRequest, errs[f])
		}
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

// statsRange reads the days to show, both included: the last 30 by
// default, at most a year; errs holds an error next to each field that
// is wrong.
func (s *Server) statsRange(c echo.Context) (from, to string, errs views.FieldErrors) {
	today := s.Store.Now().In(s.Config.Location)
	from, to = strings.TrimSpace(c.QueryParam("from")), strings.TrimSpace(c.QueryParam("to"))
	if to == "" {
		to = today.Format("2006-01-02")
	}
	if from == "" {
		from = today.AddDate(0, 0, -29).Format("2006-01-02")
	}
	errs = views.FieldErrors{}
	words := tr(c)
	f, err1 := time.Parse("2006-01-02", from)
	t, err2 := time.Parse("2006-01-02", to)
	if err1 != nil {
		errs["from"] = words.S("staffops.stats.error.from")
	}
	if err2 != nil {
		errs["to"] = words.S("staffops.stats.error.to")
	}
	switch {
	case len(errs) > 0:
	case t.Before(f):
		errs["to"] = words.S("staffops.stats.error.backwards")
	case t.Sub(f) > 366*24*time.Hour:
		errs["from"] = words.S("staffops.stats.error.too_long")
	}
	return from, to, errs
}

// The layout of a chart, in the SVG's own units: the plot inside its
// margins, which hold the axes' labels.
const (
	chartWidth, chartHeight = 360, 190
	chartLeft, chartRight   = 40, 342
	chartTop, chartBottom   = 12, 160
	chartMaxXTicks          = 5
	chartDayFormat          = "2006-01-02"
)

// statsCharts groups the counters by name into one bar chart each, with
// dates along the x axis, counts up the y axis, and every day's count as
// a table.
func statsCharts(words *i18n.Tr, rows []models.UsageCounter, from, to string) []views.Chart {
	byName := map[string]map[string]int64{}
	for _, r := range rows {
		if byName[r.Name] == nil {
			byName[r.Name] = map[string]int64{}
		}
		byName[r.Name][r.Day] += r.Count
	}
	f, _ := time.Parse(chartDayFormat, from)
	t, _ := time.Parse(chartDayFormat, to)
	var days []time.Time
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	span := words.S("staffops.stats.range", "From", words.Date(f, time.UTC), "To", words.Date(t, time.UTC))
	plotW, plotH := float64(chartRight-chartLeft), float64(chartBottom-chartTop)
	bw := plotW / float64(len(days))
	// The x axis: the first day, then every step-th, as "Nov 4" (a short
	// month name and the day).
	var xTicks []views.Tick
	step := (len(days) + chartMaxXTicks - 1) / chartMaxXTicks
	for i := 0; i < len(days); i += step {
		xTicks = append(xTicks, views.Tick{At: fmt.Sprintf("%.1f", chartLeft+(float64(i)+0.5)*bw), Label: words.S("staffops.stats.tick", "Month", words.S(fmt.Sprintf("staffops.stats.month.%d", int(days[i].Month()))), "Day", days[i].Day())})
	}
	var charts []views.Chart
	for i, n := range names {
		ch := views.Chart{ID: fmt.Sprintf("chart-%d", i+1), Name: n, Label: counterLabel(words, n), Range: span,
			Width: chartWidth, Height: chartHeight, Left: chartLeft, Right: chartRight, Top: chartTop, Bottom: chartBottom, XTicks: xTicks}
		var peak time.Time
		for _, d := range days {
			v := byName[n][d.Format(chartDayFormat)]
			if v > ch.Max {
				ch.Max, peak = v, d
			}
			ch.Total += v
		}
		if ch.Max > 0 {
			ch.Summary = words.S("staffops.stats.summary_peak", "Total", words.Count(ch.Total), "Range", span,
				"Max", words.Count(ch.Max), "Day", words.Date(peak, time.UTC))
		} else {
			ch.Summary = words.S("staffops.stats.summary", "Total", words.Count(ch.Total), "Range", span)
		}
		top, tickStep := niceScale(ch.Max)
		for v := int64(0); v <= top; v += tickStep {
			y := float64(chartBottom) - float64(v)/float64(top)*plotH
			ch.YTicks = append(ch.YTicks, views.Tick{At: fmt.Sprintf("%.1f", y), Label: words.Count(v)})
		}
		for j, d := range days {
			v := byName[n][d.Format(chartDayFormat)]
			ch.Days = append(ch.Days, views.ChartDay{Day: words.Date(d, time.UTC), Count: words.Count(v)})
			if v == 0 {
				continue
			}
			h := float64(v) / float64(top) * plotH
			ch.Bars = append(ch.Bars, views.Bar{X: fmt.Sprintf("%.1f", chartLeft+float64(j)*bw+bw*0.1), Y: fmt.Sprintf("%.1f", float64(chartBottom)-h),
				W: fmt.Sprintf("%.1f", math.Max(bw*0.8, 0.5)), H: fmt.Sprintf("%.1f", h),
				Label: words.S("staffops.stats.bar", "Day", words.Date(d, time.UTC), "Count", words.Count(v))})
		}
		charts = append(charts, ch)
	}
	return charts
}

// niceScale is the top of a y axis that holds max (1, 2 or 5 times a
// power of ten) and the whole-number step between its labels.
func niceScale(max int64) (top, step int64) {
	top = 1
	for top < max {
		switch d := top; {
		case leading(d) == 1:
			top = d * 2
		case leading(d) == 2:
			top = d / 2 * 5
		default:
			top = d * 2
		}
	}
	for _, div := range []int64{5, 4, 2, 1} {
		if top%div == 0 {
			return top, top / div
		}
	}
	return top, top
}

// leading is the first digit of n > 0.
func leading(n int64) int64 {
	for n >= 10 {
		n /= 10
	}
	return n
}

// counterLabels are the counters with a name in words: each has the
// message staffops.stats.counter.NAME; counterLabel builds the names of
// those with a variable part.
var counterLabels = map[string]bool{
	"pageview.home": true, "pageview.policy": true, "pageview.sign_in": true, "pageview.data": true,
	"pageview.favorites": true, "pageview.mailing_lists": true, "pageview.follow": true,
	"signin.patron": true, "signin.staff": true, "signin.catalog": true, "signin.ils_unavailable": true,
	"assist.start": true, "export.json": true, "export.print": true,
	"ils.koha.writeback": true, "ils.koha.writeback_failed": true, "webhook.sent": true, "webhook.failed": true,
}

// counterLabel is a counter's name in words, or its code when it has none.
func counterLabel(words *i18n.Tr, name string) string {
	if counterLabels[name] {
		return words.S("staffops.stats.counter." + name)
	}
	parts := strings.Split(name, ".")
	switch {
	case len(parts) == 3 && parts[0] == "consent":
		return words.S("staffops.stats.counter.consent", "What", strings.ReplaceAll(parts[1], "_", " "), "Choice", strings.ReplaceAll(parts[2], "_", " "))
	case len(parts) == 3 && parts[0] == "ils" && parts[2] == "attempt":
		return words.S("staffops.stats.counter.ils_attempt", "System", parts[1])
	case len(parts) == 3 && parts[0] == "ils" && parts[2] == "failure":
		return words.S("staffops.stats.counter.ils_failure", "System", parts[1])
	}
	return name
}

// metricsHandler exposes the counters' totals in Prometheus format.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&counterCollector{s: s}, &outboxCollector{s: s})
	reg.MustRegister(&opsCollector{s: s})
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
	ctx, cancel := context.WithTimeout(context.Background(), opsQueryTimeout)
	defer cancel()
	totals, err := cc.s.Store.CounterTotals(ctx)
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
