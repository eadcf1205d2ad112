package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
	"gorm.io/gorm"
)

// What a patron's own pages show under legal process.
//
// The purge keeps every record of a patron under a legal hold. Were the
// patron's pages to show those records once their retention has run out,
// a patron under a nondisclosure order could tell they are held: their
// old records stay while everyone else's go. So the patron's pages (the
// overview, the detail pages, the print view, the export) never show a
// record the purge would delete now (purgeRulesAt, the one definition of
// "due"), except to a patron under a hold they may be told of: then the
// records stay in view and every deletion date reads "Deletion paused by
// a court order". Under a nondisclosure order in force, the pages are
// exactly what they would be with no hold: the held records are hidden
// from the patron, not deleted.

// PatronView is what a patron's own pages may show of their records.
type PatronView struct {
	// Paused is set while a legal hold the patron may be told of (one
	// with no request, or whose request is under no nondisclosure order
	// in force) keeps their records: records past retention stay in view
	// and deletion dates read "Deletion paused by a court order".
	Paused bool
	// PausedSince is when the earliest such hold was placed.
	PausedSince time.Time

	patronID int64
	now      time.Time
	r        Retention
	// legal is set when legal process ever touched the patron: a hold,
	// in force or released, or a production.
	legal bool
	// historyKeep is the patron's choice to keep only the last months of
	// their reading history (0: all of it), read in the same round trip.
	historyKeep int
}

// PatronView works out what patron patronID's own pages may show now.
func (s *Store) PatronView(ctx context.Context, patronID int64) (PatronView, error) {
	return s.patronView(s.db(ctx), patronID)
}

func (s *Store) patronView(db *gorm.DB, patronID int64) (PatronView, error) {
	v := PatronView{patronID: patronID, now: s.Now(), r: s.RetentionNow()}
	// One round trip tells both whether any hold is in force and whether
	// legal process ever touched the patron (a hold, released or not, or
	// a production): for nearly every patron it has not, and the
	// overview then asks nothing more about it.
	// The same round trip reads the patron's reading-history choice.
	rows, err := db.Raw(`SELECT 0, id, request_id, placed_at, released_at FROM legal_holds WHERE patron_id = ?
		UNION ALL SELECT 1, production_id, NULL, NULL, NULL FROM legal_production_patrons WHERE patron_id = ?
		UNION ALL SELECT 2, history_keep_months, NULL, NULL, NULL FROM patrons WHERE id = ?`, patronID, patronID, patronID).Rows()
	if err != nil {
		return v, fmt.Errorf("models: patron view: %w", err)
	}
	var holds []LegalHold
	for rows.Next() {
		var (
			production       int
			h                LegalHold
			placed, released any
		)
		if err := rows.Scan(&production, &h.ID, &h.RequestID, &placed, &released); err != nil {
			rows.Close()
			return v, fmt.Errorf("models: patron view: %w", err)
		}
		if production == 2 {
			v.historyKeep = int(h.ID)
			continue
		}
		v.legal = true
		if production == 1 {
			continue
		}
		gone, err := parseDBTime(released)
		if err == nil && gone != nil {
			continue
		}
		var at *time.Time
		if err == nil {
			at, err = parseDBTime(placed)
		}
		if err != nil {
			rows.Close()
			return v, fmt.Errorf("models: patron view: hold %d: %w", h.ID, err)
		}
		if at != nil {
			h.PlacedAt = *at
		}
		holds = append(holds, h)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return v, fmt.Errorf("models: patron view: %w", err)
	}
	if len(holds) == 0 {
		return v, nil
	}
	sort.Slice(holds, func(i, j int) bool { return holds[i].PlacedAt.Before(holds[j].PlacedAt) })
	reqs, err := legalRequestsByID(db, holds)
	if err != nil {
		return v, err
	}
	for _, h := range holds {
		if h.RequestID != nil {
			if r, ok := reqs[*h.RequestID]; ok && r.NondisclosureInForce(v.now) {
				continue
			}
		}
		if !v.Paused || h.PlacedAt.Before(v.PausedSince) {
			v.Paused, v.PausedSince = true, h.PlacedAt
		}
	}
	return v, nil
}

func legalRequestsByID(db *gorm.DB, holds []LegalHold) (map[int64]LegalRequest, error) {
	var ids []int64
	for _, h := range holds {
		if h.RequestID != nil {
			ids = append(ids, *h.RequestID)
		}
	}
	out := map[int64]LegalRequest{}
	if len(ids) == 0 {
		return out, nil
	}
	var rs []LegalRequest
	if err := db.Where("id IN ?", ids).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("models: legal requests: %w", err)
	}
	for _, r := range rs {
		out[r.ID] = r
	}
	return out, nil
}

// dueRule is the purge's rule for table at the view's time, or false
// when its records never fall due by time (they go with a choice).
func (v PatronView) dueRule(table string) (purgeRule, bool) {
	if table == "audit_entries" {
		return purgeRule{table: table, key: "id", where: "created_at < ?", args: []any{auditCutoff(v.now, v.r)}, patronScoped: true}, true
	}
	if table == "reading_history" {
		// The purge's rule covers every patron's choice at once; this
		// patron's is one cutoff, or none when they keep all of it (nearly
		// everyone, whose pages then leave nothing out and count nothing).
		if v.historyKeep <= 0 {
			return purgeRule{}, false
		}
		return purgeRule{category: "reading_history", table: table, key: "id", where: "returned_at < ?",
			args: []any{HistoryKeepCutoff(v.now, v.historyKeep)}, patronScoped: true}, true
	}
	return purgeRuleFor(v.now, v.r, table)
}

// PausedFor says whether a hold the patron may be told of keeps the
// records of table past their retention: the table's records fall due by
// time, and deletion is paused.
func (v PatronView) PausedFor(table string) bool {
	if !v.Paused {
		return false
	}
	_, ok := v.dueRule(table)
	return ok
}

// Hidden is a set of a patron's records their pages leave out: a query
// over the IDs of the records the purge would delete now.
type Hidden struct {
	sql  string
	args []any
}

// Hide is what the patron's pages leave out of table, or nil when they
// show all of it (nothing there falls due, or deletion is paused).
func (v PatronView) Hide(table string) *Hidden {
	if v.Paused {
		return nil
	}
	rule, ok := v.dueRule(table)
	if !ok {
		return nil
	}
	return &Hidden{sql: "SELECT id FROM " + table + " WHERE patron_id = ? AND (" + rule.where + ")",
		args: append([]any{v.patronID}, rule.args...)}
}

// apply leaves the hidden records out of q, whose records' ID is idCol.
func (h *Hidden) apply(q *gorm.DB, idCol string) *gorm.DB {
	if h == nil {
		return q
	}
	return q.Where(idCol+" NOT IN ("+h.sql+")", h.args...)
}

// CountHidden counts the records h leaves out (0 for nil): those past
// their retention that the purge has not deleted yet.
func (s *Store) CountHidden(ctx context.Context, h *Hidden) (int64, error) {
	if h == nil {
		return 0, nil
	}
	var n int64
	if err := s.DB.WithContext(ctx).Raw("SELECT COUNT(*) FROM ("+h.sql+") hidden", h.args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count hidden records: %w", err)
	}
	return n, nil
}

// HideFrom leaves out of q the patron's records of table that their
// pages do not show (see Hide); idCol names the records' ID in q.
func (v PatronView) HideFrom(q *gorm.DB, table, idCol string) *gorm.DB {
	return v.Hide(table).apply(q, idCol)
}

// mayBeDue says whether a category whose least due-from time is oldest
// could hold records the purge would delete now, so that the overview
// must count them again without those.
func (v PatronView) mayBeDue(table string, oldest time.Time) bool {
	rule, ok := v.dueRule(table)
	if !ok || len(rule.args) == 0 {
		return false
	}
	cutoff, ok := rule.args[0].(time.Time)
	return ok && oldest.Before(cutoff)
}

// VisibleDigests leaves out the digest emails and the notification IDs
// in them that the patron's pages do not show: a notification past its
// retention, and a digest none of whose notifications is shown (the
// purge deletes it with its last notification).
func (s *Store) VisibleDigests(ctx context.Context, v PatronView, rows []DigestRecord) ([]DigestRecord, error) {
	return visibleDigests(s.db(ctx), v, rows)
}

func visibleDigests(db *gorm.DB, v PatronView, rows []DigestRecord) ([]DigestRecord, error) {
	h := v.Hide("notifications")
	if h == nil {
		return rows, nil
	}
	var hidden []int64
	if err := db.Raw(h.sql, h.args...).Scan(&hidden).Error; err != nil {
		return nil, fmt.Errorf("models: visible digests: %w", err)
	}
	gone := map[int64]bool{}
	for _, id := range hidden {
		gone[id] = true
	}
	out := rows[:0]
	for _, d := range rows {
		ids := make([]int64, 0, len(d.NotificationIDs))
		for _, id := range d.NotificationIDs {
			if !gone[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		d.NotificationIDs = ids
		out = append(out, d)
	}
	return out, nil
}

// recount sums up category c for the overview from its rows, leaving out
// what the patron's pages do not show.
func (s *Store) recount(ctx context.Context, v PatronView, c Category, limits SessionLimits) (CategorySummary, *time.Time, error) {
	var sum CategorySummary
	where, args := c.scope(v.patronID, v.now, limits)
	q := func() *gorm.DB {
		return v.HideFrom(s.db(ctx).Table(c.Table).Where(where, args...), c.Table, c.Table+".id")
	}
	oldestCol := c.TimeColumn
	if c.DueFrom != "" {
		oldestCol = c.DueFrom
	}
	var agg struct {
		N              int64
		Newest, Oldest any
	}
	rows, err := q().Select("COUNT(*), MAX(" + c.TimeColumn + "), MIN(" + oldestCol + ")").Rows()
	if err != nil {
		return sum, nil, fmt.Errorf("models: overview %s: %w", c.Slug, err)
	}
	for rows.Next() {
		err = rows.Scan(&agg.N, &agg.Newest, &agg.Oldest)
	}
	if err == nil {
		err = rows.Err()
	}
	rows.Close()
	if err != nil {
		return sum, nil, fmt.Errorf("models: overview %s: %w", c.Slug, err)
	}
	sum.Count = agg.N
	if agg.N == 0 {
		return sum, nil, nil
	}
	if sum.Newest, err = parseDBTime(agg.Newest); err != nil {
		return sum, nil, fmt.Errorf("models: overview %s: %w", c.Slug, err)
	}
	var label []*string
	if err := q().Order(c.TimeColumn+" DESC, id DESC").Limit(1).Pluck(c.Label, &label).Error; err != nil {
		return sum, nil, fmt.Errorf("models: overview %s: %w", c.Slug, err)
	}
	if len(label) > 0 && label[0] != nil {
		sum.NewestLabel = *label[0]
	}
	oldest, err := parseDBTime(agg.Oldest)
	if err != nil {
		return sum, nil, fmt.Errorf("models: overview %s: %w", c.Slug, err)
	}
	return sum, oldest, nil
}

// LegalEvent is one thing that happened to a patron's records under a
// legal request, as the patron is told it.
type LegalEvent struct {
	At   time.Time
	What string // "hold placed", "hold released", "produced"
	// For a production: the categories' titles (in English; keys are
	// their export keys, for Words in another language) and the dates
	// they covered (either end open when nil).
	Categories []string
	keys       []string
	From, To   *time.Time
}

// Legal events.
const (
	LegalEventHold     = "hold placed"
	LegalEventRelease  = "hold released"
	LegalEventProduced = "produced"
)

// LegalNotice is what a patron may be told of one legal request: the
// court, the kind of process and its reference, and what happened to the
// patron's records under it, oldest first. A hold placed with no request
// is a notice with no court.
type LegalNotice struct {
	RequestID int64
	Court     string
	Kind      string // the kind's label, as LegalKinds names it (in English)
	kind      string // the kind itself (LegalKinds' Value), for Words
	Reference string
	Events    []LegalEvent
	// NondisclosureEnded is when a nondisclosure order on the request
	// ended, lifted or run out; nil when there was none.
	NondisclosureEnded *time.Time
	// TellableAt is when the patron could first be told of the latest
	// event: the latest event, or the end of the nondisclosure order.
	TellableAt time.Time
}

// LegalNotices lists what patron p may be told of legal process touching
// their records: every request whose nondisclosure order (if any) is no
// longer in force, with its events for p, newest first. With since set,
// only those with something the patron could not have been told before
// since (their last visit's notice).
func (s *Store) LegalNotices(ctx context.Context, patronID int64, since *time.Time) ([]LegalNotice, error) {
	return s.legalNotices(s.db(ctx), patronID, since)
}

// LegalNoticesFor is LegalNotices for the patron of a PatronView the
// caller has worked out: when no legal process ever touched them, it
// asks the database nothing.
func (s *Store) LegalNoticesFor(ctx context.Context, v PatronView, since *time.Time) ([]LegalNotice, error) {
	if !v.legal {
		return nil, nil
	}
	return s.legalNotices(s.db(ctx), v.patronID, since)
}

func (s *Store) legalNotices(db *gorm.DB, patronID int64, since *time.Time) ([]LegalNotice, error) {
	now := s.Now()
	var holds []LegalHold
	if err := db.Where("patron_id = ?", patronID).Order("placed_at, id").Find(&holds).Error; err != nil {
		return nil, fmt.Errorf("models: legal notices: %w", err)
	}
	var prods []LegalProduction
	if err := db.Where("id IN (SELECT production_id FROM legal_production_patrons WHERE patron_id = ?)", patronID).
		Order("produced_at, id").Find(&prods).Error; err != nil {
		return nil, fmt.Errorf("models: legal notices: %w", err)
	}
	if len(holds) == 0 && len(prods) == 0 {
		return nil, nil // nothing happened to the patron's records
	}
	var reqIDs []int64
	for _, h := range holds {
		if h.RequestID != nil {
			reqIDs = append(reqIDs, *h.RequestID)
		}
	}
	for _, p := range prods {
		reqIDs = append(reqIDs, p.RequestID)
	}
	reqs := map[int64]LegalRequest{}
	if len(reqIDs) > 0 {
		var rs []LegalRequest
		if err := db.Where("id IN ?", reqIDs).Find(&rs).Error; err != nil {
			return nil, fmt.Errorf("models: legal notices: %w", err)
		}
		for _, r := range rs {
			reqs[r.ID] = r
		}
	}
	notices := map[int64]*LegalNotice{}
	get := func(id int64) *LegalNotice {
		if n := notices[id]; n != nil {
			return n
		}
		n := &LegalNotice{RequestID: id}
		if r, ok := reqs[id]; ok {
			n.Court, n.Reference, n.Kind, n.kind = r.Issuer, r.Reference, LegalKindLabel(r.Kind), r.Kind
		}
		notices[id] = n
		return n
	}
	for _, h := range holds {
		var id int64
		if h.RequestID != nil {
			id = *h.RequestID
		}
		n := get(id)
		n.Events = append(n.Events, LegalEvent{At: h.PlacedAt, What: LegalEventHold})
		if h.ReleasedAt != nil {
			n.Events = append(n.Events, LegalEvent{At: *h.ReleasedAt, What: LegalEventRelease})
		}
	}
	for _, p := range prods {
		e := LegalEvent{At: p.ProducedAt, What: LegalEventProduced, From: p.ScopeFrom, To: p.ScopeTo,
			Categories: CategoryTitles(categoryKeys(p.Categories)), keys: categoryKeys(p.Categories)}
		get(p.RequestID).Events = append(get(p.RequestID).Events, e)
	}
	var out []LegalNotice
	for id, n := range notices {
		r, known := reqs[id]
		if known && r.NondisclosureInForce(now) {
			continue // the policy: the patron cannot be told
		}
		sort.SliceStable(n.Events, func(i, j int) bool { return n.Events[i].At.Before(n.Events[j].At) })
		n.TellableAt = n.Events[len(n.Events)-1].At
		if known && r.Nondisclosure {
			end := r.NondisclosureUntil
			if r.NondisclosureLiftedAt != nil && (end == nil || r.NondisclosureLiftedAt.Before(*end)) {
				end = r.NondisclosureLiftedAt
			}
			if end != nil {
				n.NondisclosureEnded = end
				if end.After(n.TellableAt) {
					n.TellableAt = *end
				}
			}
		}
		if since != nil && !n.TellableAt.After(*since) {
			continue
		}
		out = append(out, *n)
	}
	// Productions first, then the newest.
	sort.Slice(out, func(i, j int) bool {
		pi, pj := out[i].Produced(), out[j].Produced()
		if pi != pj {
			return pi
		}
		return out[i].TellableAt.After(out[j].TellableAt)
	})
	return out, nil
}

// KindIn is the kind of process in t's language ("Court order", "Orden
// judicial"), "" when the notice names none.
func (n LegalNotice) KindIn(t *i18n.Tr) string {
	if n.kind != "" && i18n.Has("legal.kind."+n.kind) {
		return t.S("legal.kind." + n.kind)
	}
	return n.Kind
}

// CategoriesIn names the categories a production covered in t's
// language, each in quotation marks: "“Holds” and “Current loans”".
func (e LegalEvent) CategoriesIn(t *i18n.Tr) string {
	titles := e.Categories
	if e.keys != nil {
		titles = make([]string, len(e.keys))
		for i, k := range e.keys {
			titles[i] = k
			if id := "models." + k + ".title"; i18n.Has(id) {
				titles[i] = t.S(id)
			}
		}
	}
	q := make([]string, len(titles))
	for i, title := range titles {
		q[i] = t.S("legal.quoted", "Title", title)
	}
	return t.List(q)
}

// SpanIn names the dates a production covered, in t's language, each
// written by date: "dated March 1, 2026 to June 30, 2026", or "of every
// date".
func (e LegalEvent) SpanIn(t *i18n.Tr, date func(time.Time) string) string {
	switch {
	case e.From != nil && e.To != nil:
		return t.S("legal.span.between", "From", date(*e.From), "To", date(*e.To))
	case e.From != nil:
		return t.S("legal.span.from", "From", date(*e.From))
	case e.To != nil:
		return t.S("legal.span.to", "To", date(*e.To))
	}
	return t.S("legal.span.every")
}

// Words is what the patron's overview tells of the notice, in t's
// language, days in loc: a title, then a line for the court and the
// process and one for each thing done to their records (the categories
// and dates produced, never a record).
func (n LegalNotice) Words(t *i18n.Tr, loc *time.Location) (title string, lines []string) {
	date := func(at time.Time) string { return t.Date(at, loc) }
	title = t.S("legal.page.title")
	switch {
	case n.Produced():
		title = t.S("legal.page.title_produced")
	case n.PausedNow():
		title = t.S("legal.page.title_paused")
	}
	if n.Court != "" {
		kind := n.KindIn(t)
		id := "legal.page.issued"
		switch {
		case kind != "" && n.Reference != "":
			id = "legal.page.issued_kind_reference"
		case kind != "":
			id = "legal.page.issued_kind"
		case n.Reference != "":
			id = "legal.page.issued_reference"
		}
		lines = append(lines, sentence(t.S(id, "Court", n.Court, "Kind", kind, "Reference", n.Reference)))
	}
	to := n.Court
	if to == "" {
		to = t.S("legal.page.the_court")
	}
	for _, e := range n.Events {
		switch e.What {
		case LegalEventHold:
			lines = append(lines, t.S("legal.page.hold", "Date", date(e.At)))
		case LegalEventRelease:
			lines = append(lines, t.S("legal.page.release", "Date", date(e.At)))
		case LegalEventProduced:
			id := "legal.page.produced_all"
			if len(e.Categories) > 0 || len(e.keys) > 0 {
				id = "legal.page.produced"
			}
			lines = append(lines, t.S(id, "Date", date(e.At), "Categories", e.CategoriesIn(t), "Span", e.SpanIn(t, date), "Court", to))
		}
	}
	if n.NondisclosureEnded != nil {
		lines = append(lines, t.S("legal.page.nondisclosure_ended", "Date", date(*n.NondisclosureEnded)))
	}
	return title, lines
}

// sentence ends s with a full stop, unless it ends with one already (a
// reference typed with one) or with a question or exclamation mark.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}

// Produced says whether records were produced under the request.
func (n LegalNotice) Produced() bool {
	for _, e := range n.Events {
		if e.What == LegalEventProduced {
			return true
		}
	}
	return false
}

// PausedNow says whether a hold under the request still pauses deletion.
func (n LegalNotice) PausedNow() bool {
	held := 0
	for _, e := range n.Events {
		switch e.What {
		case LegalEventHold:
			held++
		case LegalEventRelease:
			held--
		}
	}
	return held > 0
}

// LegalTold is one patron to be told by email, once, of a request whose
// nondisclosure order has ended.
type LegalTold struct {
	RequestID int64
	Patron    Patron
	Notice    LegalNotice
}

// UntoldLegalNotices lists, at most limit, the patrons covered by a
// request whose nondisclosure order has ended (lifted, or run out) and who
// have not yet been told (legal_request_patrons.told_at is NULL).
func (s *Store) UntoldLegalNotices(ctx context.Context, limit int) ([]LegalTold, error) {
	return s.UntoldLegalNoticesAfter(ctx, 0, 0, limit)
}

// UntoldLegalNoticesAfter is UntoldLegalNotices from after the request
// and patron given, in (request, patron) order, so that one pass can go
// past patrons it could not tell (their email is to be tried again).
func (s *Store) UntoldLegalNoticesAfter(ctx context.Context, requestID, patronID int64, limit int) ([]LegalTold, error) {
	db := s.db(ctx)
	now := s.Now()
	var rows []LegalRequestPatron
	err := db.Where("told_at IS NULL AND request_id IN (SELECT id FROM legal_requests WHERE nondisclosure = ? AND "+
		"(nondisclosure_lifted_at IS NOT NULL OR (nondisclosure_until IS NOT NULL AND nondisclosure_until <= ?)))", true, now).
		Where("(request_id > ? OR (request_id = ? AND patron_id > ?))", requestID, requestID, patronID).
		Order("request_id, patron_id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: untold legal notices: %w", err)
	}
	var out []LegalTold
	for _, row := range rows {
		var p Patron
		if err := db.Where("id = ?", row.PatronID).Take(&p).Error; err != nil {
			return nil, fmt.Errorf("models: untold legal notices: %w", err)
		}
		notices, err := s.legalNotices(db, row.PatronID, nil)
		if err != nil {
			return nil, err
		}
		t := LegalTold{RequestID: row.RequestID, Patron: p, Notice: LegalNotice{RequestID: row.RequestID}}
		for _, n := range notices {
			if n.RequestID == row.RequestID {
				t.Notice = n
			}
		}
		if t.Notice.Court == "" {
			var r LegalRequest
			if err := db.Where("id = ?", row.RequestID).Take(&r).Error; err == nil {
				t.Notice.Court, t.Notice.Kind, t.Notice.kind, t.Notice.Reference = r.Issuer, LegalKindLabel(r.Kind), r.Kind, r.Reference
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// ClaimLegalTold marks a patron told of a request, if no one has yet: it
// reports whether this caller is the one to tell them.
func (s *Store) ClaimLegalTold(ctx context.Context, requestID, patronID int64) (bool, error) {
	res := s.db(ctx).Model(&LegalRequestPatron{}).Where("request_id = ? AND patron_id = ? AND told_at IS NULL", requestID, patronID).
		UpdateColumn("told_at", s.Now())
	if res.Error != nil {
		return false, fmt.Errorf("models: claim legal told: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// UnclaimLegalTold undoes a claim whose email could not be sent, so the
// next pass tries again.
func (s *Store) UnclaimLegalTold(ctx context.Context, requestID, patronID int64) error {
	return s.db(ctx).Model(&LegalRequestPatron{}).Where("request_id = ? AND patron_id = ?", requestID, patronID).
		UpdateColumn("told_at", nil).Error
}
