package web

// The HTTP side of the library's system (issue 19): what a sign-in
// through the ILS tells the patron, the connectors' state on the staff
// console and in /metrics, and how far a consent change went to Koha.

import (
	"context"
	"slices"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/prometheus/client_golang/prometheus"
)

// kohaWriteBack reports whether reading-history choices are written back
// to Koha, so the consent history says whether Koha has each one.
func (s *Server) kohaWriteBack() bool {
	return slices.Contains(s.Store.ConsentTargets, models.TargetKoha)
}

// ilsRetryAfter is how long a visitor turned away because the library's
// system is down is asked to wait, in seconds.
const ilsRetryAfter = "120"

// followedNotice tells a patron, in their words, which choice made in the
// library's catalog since their last visit the portal followed at this
// sign-in. It names nothing of theirs but a count, so it may wait in the
// session.
func followedNotice(t *i18n.Tr, f *models.ILSFollow) string {
	if f == nil || f.Subject != models.ConsentReadingHistory {
		return ""
	}
	if f.NewValue == "on" {
		return t.S("signin.followed.on")
	}
	if f.Erased == 0 {
		return t.S("signin.followed.off_nothing")
	}
	return t.N("signin.followed.off_erased", f.Erased)
}

// catalogToldToo reports whether this patron's reading-history changes
// are written back to Koha, so that a confirmation says the catalog hears
// of it shortly and the consent history says when (withCatalogToldToo).
func (s *Server) catalogToldToo(p *models.Patron) bool {
	return p != nil && p.ILSID != nil && s.kohaWriteBack()
}

// connectorRows lays out every connector this instance knows, with what
// waits for it in the consent outbox; nil when none is configured.
func (s *Server) connectorRows(ctx context.Context) []views.ConnectorRow {
	if s.Store.Connectors == nil {
		return nil
	}
	snap := s.Store.Connectors.Snapshot()
	if len(snap) == 0 {
		return nil
	}
	waiting, known := s.outboxByConnector(ctx)
	sends := map[string]bool{} // the connectors the outbox sends through
	for _, t := range s.Store.ConsentTargets {
		sends[models.ConnectorOf(t)] = true
	}
	t := i18n.From(ctx)
	rows := make([]views.ConnectorRow, 0, len(snap))
	for _, st := range snap {
		r := views.ConnectorRow{Name: st.Name, Attempts: st.Attempts, Failures: st.Failures,
			LastSuccess: t.S("staff.connectors.never"), LastError: t.S("staff.connectors.none"), Waiting: t.S("staff.connectors.unknown")}
		if !st.LastSuccess.IsZero() {
			r.LastSuccess = s.dateTimeIn(t, st.LastSuccess)
		}
		if !st.LastError.IsZero() {
			r.LastError = s.dateTimeIn(t, st.LastError)
			r.LastErrorText = st.LastErrorText
			r.Failing = st.LastError.After(st.LastSuccess)
		}
		if st.Attempts > 0 {
			r.Latency = st.Latency.Round(time.Millisecond).String()
		} else {
			r.Latency = "—"
		}
		switch {
		case !sends[st.Name] && waiting[st.Name] == 0:
			r.Waiting = "—" // sign-in only (SIP2): nothing is sent through it
		case known:
			r.Waiting = t.Count(waiting[st.Name])
		}
		rows = append(rows, r)
	}
	return rows
}

// outboxByConnector counts the consent changes not yet sent, by the
// connector that sends them; known is false when they could not be
// counted.
func (s *Server) outboxByConnector(ctx context.Context) (map[string]int64, bool) {
	backlog, err := s.Store.OutboxBacklog(ctx)
	if err != nil {
		s.Log.Warn("outbox backlog unreadable", "err", logError(err))
		return nil, false
	}
	out := map[string]int64{}
	for target, n := range backlog {
		out[models.ConnectorOf(target)] += n
	}
	return out, true
}

var outboxDesc = prometheus.NewDesc("carrel_outbox_pending",
	"Consent changes waiting to be sent to the library's systems, by target (koha, or webhook and the receiver's host).",
	[]string{"target"}, nil)

// outboxCollector reports the consent outbox's backlog: every configured
// target, 0 when nothing waits.
type outboxCollector struct{ s *Server }

func (oc *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

func (oc *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	targets := oc.s.Store.ConsentTargets
	if len(targets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opsQueryTimeout)
	defer cancel()
	waiting, known := oc.s.outboxByConnector(ctx)
	if !known {
		// Left out rather than failing the scrape: the other metrics
		// still count, and the absent series is what an alert sees.
		return
	}
	seen := map[string]bool{}
	for _, t := range targets {
		seen[models.ConnectorOf(t)] = true
	}
	for name := range waiting {
		seen[name] = true
	}
	for name := range seen {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(waiting[name]), name)
	}
}

// kohaDeliveries reads, when choices are written back to Koha and rows
// holds consent entries, how far each went to Koha; nil otherwise (the
// consent history then has no "Library catalog" column).
func (s *Server) kohaDeliveries(ctx context.Context, patronID int64, rows []any) (map[int64]models.OutboxState, error) {
	if !s.kohaWriteBack() {
		return nil, nil
	}
	var ids []int64
	for _, rec := range rows {
		if r, ok := rec.(models.ConsentEntry); ok {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	got, err := s.Store.ConsentDeliveries(ctx, patronID, ids)
	if err != nil {
		return nil, err
	}
	if got == nil {
		got = map[int64]models.OutboxState{}
	}
	return got, nil
}

// kohaDelivery says how far a consent change went to Koha, for the
// consent history's "Library catalog" column, in t's language.
func (s *Server) kohaDelivery(t *i18n.Tr, st models.OutboxState, ok bool) string {
	if !ok {
		return "—"
	}
	switch st.Status {
	case models.OutboxSent:
		if st.SentAt != nil {
			return t.S("pages.catalog.sent_on", "When", t.DateTime(*st.SentAt, s.Config.Location))
		}
		return t.S("pages.catalog.sent")
	case models.OutboxGivenUp:
		return t.S("pages.catalog.given_up")
	}
	return t.S("pages.catalog.waiting")
}
