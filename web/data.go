package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
)

// notKept are the things this software never records, each backed by the
// code and by a test (web/data_test.go, TestWhatWeDoNotKeepIsTrue), in
// t's language.
func notKept(t *i18n.Tr) []string {
	return []string{t.S("datapages.not_kept.address"), t.S("datapages.not_kept.searches"),
		t.S("datapages.not_kept.cookies"), t.S("datapages.not_kept.vendors")}
}

// DataOverview is "What we hold about you": one card per category.
func (s *Server) DataOverview(c echo.Context) error {
	p := currentPatron(c)
	ctx := c.Request().Context()
	t := tr(c)
	// The notices below show what happened up to now; "I have read
	// this" dismisses that much, and nothing that comes after.
	rendered := s.Store.Now().Truncate(time.Microsecond)
	view, err := s.Store.PatronView(ctx, p.ID)
	if err != nil {
		return err
	}
	sums, err := s.Store.OverviewWith(ctx, *p, s.Config.Sessions, view)
	if err != nil {
		return err
	}
	for i := range sums {
		sums[i].Category = sums[i].Category.In(t)
	}
	o := views.Overview{FullName: p.FullName(), CardEnding: last(p.CardNumber, 4), NotKept: notKept(t),
		Assisted: currentAssist(c) != nil, SeenUntil: strconv.FormatInt(rendered.UnixMicro(), 10)}
	if !o.Assisted {
		// Legal process comes first: what was produced, or since when
		// deletion is paused. Nothing under a nondisclosure order.
		legal, err := s.Store.LegalNoticesFor(ctx, view, p.AssistSeenAt)
		if err != nil {
			return err
		}
		for _, n := range legal {
			o.LegalNotices = append(o.LegalNotices, s.legalNoticeView(t, n))
		}
	}
	if !o.Assisted && staffTouchedSince(sums, p.AssistSeenAt) {
		notices, err := s.Store.AssistNoticesFor(ctx, *p, view)
		if err != nil {
			return err
		}
		for _, n := range notices {
			line := t.S("datapages.assist.notice", "When", s.dateTimeIn(t, n.CreatedAt),
				"Staff", orDefault(n.StaffName, t.S("datapages.assist.staff")), "Action", auditDid(t, n.Action))
			if n.Reason != "" {
				line = t.S("datapages.assist.reason", "Line", line, "Reason", models.StoredWordsIn(t, n.Reason))
			}
			if n.Detail != "" {
				line = t.S("datapages.assist.detail", "Line", line, "Detail", models.StoredWordsIn(t, n.Detail))
			}
			o.AssistNotices = append(o.AssistNotices, line)
		}
	}
	if o.Choices, err = s.choices(c, *p, view, sums); err != nil {
		return err
	}
	for _, sum := range sums {
		o.Cards = append(o.Cards, views.CategoryCard{
			Slug: sum.Slug, Title: sum.Title, Count: sum.Count, Purpose: sum.Purpose, Retention: sum.Retention,
			SharedWith: sum.SharedWith, Shared: sum.SharedWithOthers(),
			Held: s.heldLine(c, sum, o.Assisted), NextDelete: s.dueLine(t, sum),
		})
	}
	return s.render(c, http.StatusOK, views.DataOverview(s.page(c, t.S("datapages.overview.title")), o))
}

// choices are the patron's privacy choices as the overview opens with
// them, read from the patron's row and the overview's summaries; only
// staff access since the last visit may cost a query, and only when the
// newest access is later than that visit.
func (s *Server) choices(c echo.Context, p models.Patron, view models.PatronView, sums []models.CategorySummary) (views.Choices, error) {
	ch := views.Choices{HistoryOn: p.ReadingHistoryEnabled, HistoryCount: p.HistoryCount,
		FavoritesLinked: p.FavoritesLinked, Notices: p.FavoritesNotice}
	var staff models.CategorySummary
	for _, sum := range sums {
		switch sum.Slug {
		case "favorites":
			ch.Favorites = sum.Count
		case "mailing-lists":
			ch.Lists = sum.Count
		case "staff-access":
			staff = sum
		}
	}
	ch.StaffAccess = staff.Count
	since, ok := session(c).LastVisit()
	if !ok || currentAssist(c) != nil {
		return ch, nil
	}
	ch.LastVisit = s.dateIn(tr(c), since)
	if staff.Newest == nil || !staff.Newest.After(since) {
		ch.StaffAccess = 0
		return ch, nil
	}
	n, err := s.Store.StaffAccessSince(c.Request().Context(), p.ID, view, since)
	ch.StaffAccess = n
	return ch, err
}

// dismissNotices records that the patron read the overview's notices as
// the page showed them: it posts when it was rendered (seen_until, in
// microseconds since 1970), which must lie within this sign-in and not in
// the future. Anything else dismisses nothing: the overview, shown
// again, has the notices and a fresh button.
func (s *Server) dismissNotices(c echo.Context) error {
	us, err := strconv.ParseInt(c.FormValue("seen_until"), 10, 64)
	if err != nil {
		return s.redirect(c, "/data")
	}
	seen := time.UnixMicro(us).UTC()
	if start := session(c).CreatedAt(); start.IsZero() || seen.Before(start.Truncate(time.Microsecond)) {
		return s.redirect(c, "/data")
	}
	err = s.Store.DismissAssistNotices(c.Request().Context(), currentPatron(c).ID, seen)
	if errors.Is(err, models.ErrSeenUntil) {
		return s.redirect(c, "/data")
	} else if err != nil {
		return err
	}
	return s.redirect(c, "/data")
}

// staffTouchedSince says whether the newest staff access the overview
// found is later than the patron's last dismissal of the assistance
// notice: only then can there be anything new to tell, so most overviews
// skip that query.
func staffTouchedSince(sums []models.CategorySummary, seen *time.Time) bool {
	for _, sum := range sums {
		if sum.Slug == "staff-access" {
			return sum.Newest != nil && (seen == nil || sum.Newest.After(*seen))
		}
	}
	return true
}

// dateIn and dateTimeIn write a time in t's language, in the library's
// time zone.
func (s *Server) dateIn(t *i18n.Tr, when time.Time) string { return t.Date(when, s.Config.Location) }

func (s *Server) dateTimeIn(t *i18n.Tr, when time.Time) string {
	return t.DateTime(when, s.Config.Location)
}

// heldLine says, in a sentence, what is held in a category.
//
// Staff assisting a patron read the reading history's count only, never
// a title, here as on the detail page.
func (s *Server) heldLine(c echo.Context, sum models.CategorySummary, assisted bool) string {
	t := tr(c)
	held := sum.Counted(t, sum.Count)
	if sum.Fields != nil {
		return t.S("datapages.held.fields", "Held", held)
	}
	if sum.Count == 0 {
		return t.S("datapages.held.nothing")
	}
	if assisted && sum.CountOnlyForStaff || sum.Newest == nil {
		return t.S("datapages.held.count", "Held", held)
	}
	label := sum.NewestLabel
	switch sum.Category.NewestLabel {
	case models.LabelConsentSubject:
		label = s.consentSubject(c, label)
	case models.LabelAuditAction:
		label = auditAction(t, label)
	case models.LabelChannel:
		label = channelName(t, label)
	}
	if label != "" {
		return t.S("datapages.held.newest", "Held", held, "Label", label, "Date", s.dateIn(t, *sum.Newest))
	}
	return t.S("datapages.held.newest_from", "Held", held, "Date", s.dateIn(t, *sum.Newest))
}

// paused is what a patron under a hold they may be told of reads wherever
// a deletion date would be: "Deletion paused by a court order".
func paused(t *i18n.Tr) string { return t.S("datapages.paused") }

// isPaused says whether when is paused's words rather than a date, in
// any language.
func isPaused(when string) bool {
	for _, l := range i18n.Languages {
		if when == paused(i18n.For(l.Tag)) {
			return true
		}
	}
	return when == paused(i18n.For(i18n.Pseudo))
}

func (s *Server) dueLine(t *i18n.Tr, sum models.CategorySummary) string {
	if sum.OldestDue == nil {
		return ""
	}
	if sum.Paused {
		return t.S("datapages.due.paused")
	}
	return t.S("datapages.due.oldest", "Date", s.dateIn(t, *sum.OldestDue))
}

// DataDetail shows one category's records.
func (s *Server) DataDetail(c echo.Context) error {
	cat, ok := s.Store.Category(c.Param("category"))
	if !ok {
		return echo.ErrNotFound
	}
	tl := tr(c)
	cat = cat.In(tl)
	p := currentPatron(c)
	d := views.Detail{Slug: cat.Slug, Title: cat.Title, Purpose: cat.Purpose, Retention: cat.Retention,
		SharedWith: cat.SharedWith, Empty: cat.Empty}
	ctx := c.Request().Context()
	if cat.Fields != nil {
		d.Fields = fields(cat.Fields(*p))
		return s.render(c, http.StatusOK, views.DataDetail(s.page(c, cat.Title), d))
	}
	req, err := pageRequest(c)
	if err != nil {
		return err
	}
	assisted := currentAssist(c) != nil
	view, err := s.Store.PatronView(ctx, p.ID)
	if err != nil {
		return err
	}
	if view.PausedFor(cat.Table) {
		d.Paused = tl.S("datapages.detail.paused")
	}
	var t views.Table
	var older, newer *models.Cursor
	// The reading history's own page is searched and filtered by date;
	// its links keep the search (query).
	var hs historySearch
	query := url.Values{}
	if cat.Controls == models.HistoryControls && !assisted {
		hs = s.readHistorySearch(c)
		cat.Records = models.HistoryRecords(hs.filter)
		query = hs.query()
	}
	// Staff assisting a patron never see history titles, so none are read.
	if !(assisted && cat.CountOnlyForStaff) {
		if t, older, newer, err = s.records(ctx, c, cat, p, view, req, !assisted); err != nil {
			return err
		}
	}
	d.Table = &t
	base := "/data/" + cat.Slug
	// The reading history's page number travels in its pager's links
	// (page), so that no page counts the entries before it, which would
	// make page 200 cost what two hundred pages of rows do. The first page
	// is 1; a link without one (an old bookmark) is counted once.
	pageNo := 1
	if req.After != nil || req.Before != nil {
		pageNo, _ = strconv.Atoi(c.QueryParam("page"))
		pageNo = max(pageNo, 0)
	}
	numbered := cat.Controls == models.HistoryControls && !assisted
	link := func(cursor string, at *models.Cursor, n int) string {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if at != nil {
			q.Set(cursor, at.String())
			if numbered && n > 0 {
				q.Set("page", strconv.Itoa(n))
			}
		}
		if len(q) == 0 {
			return base
		}
		return base + "?" + q.Encode()
	}
	if older != nil {
		d.OlderURL = link("after", older, pageNo+1)
	}
	if newer != nil {
		d.NewerURL = link("before", newer, pageNo-1)
		d.NewestURL = link("", nil, 0)
	}
	switch cat.Controls {
	case models.HistoryControls:
		n := p.HistoryCount // kept on the patron's row, read with the session
		d.History = &views.HistoryControls{Enabled: p.ReadingHistoryEnabled, Count: n, Staff: assisted,
			Keep: p.HistoryKeepMonths, KeepChoices: models.HistoryKeepChoices}
		if p.HistoryKeepMonths == 0 {
			// Nothing here falls due by time unless the patron chose so.
			d.Paused = ""
		}
		if assisted {
			d.Table = nil // the count only
		} else if err := s.historyPlace(ctx, tl, p, view, hs, newer, int64(pageNo), &d); err != nil {
			return err
		}
		if !p.ReadingHistoryEnabled && n == 0 {
			d.Empty = tl.S("datapages.history.off_empty")
			d.History.Search = nil
		}
	case models.SignInControls:
		if !assisted {
			d.Sessions = &views.SessionControls{Others: len(t.Rows) - 1}
		}
	}
	if cat.ManageURL != "" {
		d.ManageURL, d.ManageLabel = cat.ManageURL, cat.ManageLabel
	}
	if d.Parts, err = s.categoryParts(ctx, cat, p.ID, view); err != nil {
		return err
	}
	status := http.StatusOK
	if len(hs.errs) > 0 {
		// A date that is not one: the form's errors, as every form's are
		// (the rest of the search still applies).
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, views.DataDetail(s.page(c, cat.Title), d))
}

// historySearch is the reading-history page's search form as sent: the
// words and dates as typed, the filter made of the valid ones, and what
// is wrong with the others, by field.
type historySearch struct {
	text, from, to string
	filter         models.HistoryFilter
	errs           map[string]string
}

// readHistorySearch reads q (title or author), from and to (dates of
// return, in the library's time zone, both days included) from the
// address. A date that is not one is left out of the filter and named
// in errs.
func (s *Server) readHistorySearch(c echo.Context) historySearch {
	t := tr(c)
	hs := historySearch{text: strings.TrimSpace(c.QueryParam("q")), from: strings.TrimSpace(c.QueryParam("from")),
		to: strings.TrimSpace(c.QueryParam("to")), errs: map[string]string{}}
	if len([]rune(hs.text)) > 200 {
		hs.text = string([]rune(hs.text)[:200])
	}
	hs.filter.Text = hs.text
	day := func(field, v string) *time.Time {
		if v == "" {
			return nil
		}
		when, err := time.ParseInLocation("2006-01-02", v, s.Config.Location)
		if err != nil {
			hs.errs[field] = t.S("datapages.history.bad_" + field)
			return nil
		}
		return &when
	}
	hs.filter.From = day("from", hs.from)
	if to := day("to", hs.to); to != nil {
		end := to.AddDate(0, 0, 1) // the whole of the last day
		hs.filter.To = &end
	}
	if hs.filter.From != nil && hs.filter.To != nil && !hs.filter.From.Before(*hs.filter.To) {
		hs.errs["to"] = t.S("datapages.history.to_before_from")
		hs.filter.To = nil
	}
	return hs
}

// query is the search as it goes in the page's links, as typed.
func (hs historySearch) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": hs.text, "from": hs.from, "to": hs.to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// historyPlace fills in the reading-history page's search form, its page
// count ("Page 2 of 100") and the count of what the search found; newer
// is the cursor of the page's first entry (nil on the first page), page
// its number from the link (0: unknown, then counted).
//
// The whole history's size is the count kept on the patron's row, less
// what the page leaves out until the purge runs (a handful of rows, found
// by index): only a search counts the entries it matches.
func (s *Server) historyPlace(ctx context.Context, t *i18n.Tr, p *models.Patron, view models.PatronView, hs historySearch, newer *models.Cursor, page int64, d *views.Detail) error {
	h := d.History
	h.Search = &views.HistorySearch{Q: hs.text, From: hs.from, To: hs.to, Errors: hs.errs, Active: hs.filter.Active(),
		Problems: views.Problems(hs.errs, "from", "to")}
	hide := view.Hide("reading_history")
	var total int64
	if page == 0 || hs.filter.Active() {
		n, before, err := s.Store.HistoryPlace(ctx, p.ID, hs.filter, models.PageRequest{Hide: hide}, newer)
		if err != nil {
			return err
		}
		total = n
		if page == 0 {
			page = before/models.DefaultPageSize + 1
		}
	} else {
		hidden, err := s.Store.CountHidden(ctx, hide)
		if err != nil {
			return err
		}
		total = max(p.HistoryCount-hidden, 0)
	}
	if !hs.filter.Active() {
		h.Count = total // what the page shows: the daily purge may not have run yet
	} else {
		h.Search.Found = t.N("datapages.history.found", total)
		d.Empty = t.S("datapages.history.no_match")
	}
	pages := (total + models.DefaultPageSize - 1) / models.DefaultPageSize
	if pages > 1 {
		page = min(page, pages)
		d.PageOf = t.S("datapages.history.page_of", "Page", t.Count(page), "Pages", t.Count(pages))
	}
	return nil
}

func fields(fs []models.Field) []views.Field {
	out := make([]views.Field, len(fs))
	for i, f := range fs {
		out[i] = views.Field{Label: f.Label, Value: f.Value}
	}
	return out
}

// pageRequest reads the keyset cursor from the address; a malformed one
// is a 400, not a silent first page.
func pageRequest(c echo.Context) (models.PageRequest, error) {
	var req models.PageRequest
	for name, dst := range map[string]**models.Cursor{"after": &req.After, "before": &req.Before} {
		if v := c.QueryParam(name); v != "" {
			cur, ok := models.ParseCursor(v)
			if !ok {
				return req, echo.NewHTTPError(http.StatusBadRequest, "bad cursor")
			}
			*dst = &cur
		}
	}
	return req, nil
}

// records loads one page of a category and lays it out as a table. With
// actions, rows carry their buttons (e.g. delete a history entry).
//
// It shows what view lets the patron's own pages show: records past their
// retention are left out, unless a hold the patron may be told of keeps
// them, and then every deletion date reads Paused.
func (s *Server) records(ctx context.Context, c echo.Context, cat models.Category, p *models.Patron, view models.PatronView, req models.PageRequest, actions bool) (views.Table, *models.Cursor, *models.Cursor, error) {
	patronID := p.ID
	tl := tr(c)
	t := views.Table{Caption: cat.Title}
	if cat.Table != "" {
		req.Hide = view.Hide(cat.Table)
	}
	due := func(slug string, from time.Time) string {
		if view.Paused {
			return paused(tl)
		}
		return s.due(tl, slug, from)
	}
	dueTime := func(slug string, from time.Time) string {
		if view.Paused {
			return paused(tl)
		}
		return s.dueTime(tl, slug, from)
	}
	for i, l := range cat.Columns {
		t.Columns = append(t.Columns, views.Column{Label: l, Numeric: cat.NumericColumn(i)})
	}
	if actions && cat.Deletable {
		t.Columns = append(t.Columns, views.Column{Label: tl.S("datapages.delete")})
	}
	if cat.Records == nil {
		return t, nil, nil, fmt.Errorf("web: no table for category %q", cat.Slug)
	}
	pg, err := cat.Records(ctx, s.Store, patronID, req, s.Config.Sessions)
	if err != nil {
		return t, nil, nil, err
	}
	current := ""
	if sess := session(c); sess != nil && sess.Token() != "" {
		current = models.HashToken(sess.Token())
	}
	koha, err := s.kohaDeliveries(ctx, patronID, pg.Rows)
	if err != nil {
		return t, nil, nil, err
	}
	if koha != nil {
		t.Columns = append(t.Columns, views.Column{Label: tl.S("datapages.column.catalog")})
	}
	for _, rec := range pg.Rows {
		row, err := s.recordRow(c, p, rec, due, dueTime, current)
		if err != nil {
			return t, nil, nil, err
		}
		if r, ok := rec.(models.ConsentEntry); ok && koha != nil {
			st, sent := koha[r.ID]
			row.Cells = append(row.Cells, s.kohaDelivery(tr(c), st, sent))
		}
		if h, ok := rec.(models.HistoryEntry); ok && actions && cat.Deletable {
			row.Action = &views.RowAction{Label: tl.S("datapages.delete"), Name: tl.S("datapages.history.delete_name", "Title", h.Title),
				URL: "/data/" + cat.Slug + "/" + strconv.FormatInt(h.ID, 10) + "/delete" + historyBack(c.QueryParams())}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, pg.Older, pg.Newer, nil
}

// recordRow lays out one record of a detail page's table, by its type
// (each category reads one: see models.Category.Records). due and dueTime
// say when a record counting down from a time is deleted, by slug;
// current is the hashed token of the session asking; p is the patron.
func (s *Server) recordRow(c echo.Context, p *models.Patron, rec any, due, dueTime func(string, time.Time) string, current string) (views.Row, error) {
	t := tr(c)
	date := func(when time.Time) string { return s.dateIn(t, when) }
	dateTime := func(when time.Time) string { return s.dateTimeIn(t, when) }
	var cells []string
	switch r := rec.(type) {
	case models.Loan:
		dueAt := date(r.DueAt)
		if r.DueAt.Before(s.Store.Now()) {
			dueAt = t.S("datapages.loan.overdue", "Date", dueAt)
		}
		cells = []string{r.Title, r.Author, date(r.CheckedOutAt), dueAt, t.Count(int64(r.Renewals)), r.Branch}
	case models.HistoryEntry:
		cells = []string{r.Title, r.Author, r.Format, date(r.CheckedOutAt), date(r.ReturnedAt)}
	case models.Hold:
		cells = []string{r.Title, r.Author, r.PickupBranch, date(r.PlacedAt), s.holdStatus(t, r, due)}
	case models.Fine:
		status := statusWords(t, "datapages.fine.", r.Status)
		if r.SettledAt != nil {
			status = s.closedStatus(t, "datapages.fine.", r.Status, *r.SettledAt, due("fines", *r.SettledAt))
		}
		cells = []string{r.Description, r.Title, money(r.AmountCents), date(r.AssessedAt), status}
	case models.ILLRequest:
		status := statusWords(t, "datapages.ill.", r.Status)
		if r.CompletedAt != nil {
			status = t.S("datapages.status_deleted", "Status", status, "Deletion", deletedOnIn(t, due("ill", *r.CompletedAt)))
		}
		cells = []string{r.Title, r.Author, r.LendingLibrary, date(r.RequestedAt), status}
	case models.ReferenceQuestion:
		answered := t.S("datapages.reference.not_yet")
		if r.AnsweredAt != nil {
			answered = date(*r.AnsweredAt)
		}
		cells = []string{orDefault(r.Subject, t.S("datapages.reference.no_subject")), r.Question, date(r.AskedAt), answered, due("reference", r.AskedAt)}
	case models.ComputerSession:
		ended := t.S("datapages.computer.in_use")
		if r.EndedAt != nil {
			ended = dateTime(*r.EndedAt)
		}
		cells = []string{dateTime(r.StartedAt), ended, r.Branch, r.Station, dueTime("computer-sessions", r.StartedAt)}
	case models.SubscriptionRecord:
		cells = []string{r.ListName, r.Frequency, r.Sender, date(r.SubscribedAt)}
	case models.Favorite:
		cells = []string{r.Display, statusWords(t, "datapages.favorite.", r.Kind), date(r.CreatedAt)}
	case models.NotificationDelivery:
		cells = []string{r.Title, r.Reason, date(r.CreatedAt), s.deliveryStatus(t, p, r, due)}
	case models.ConsentEntry:
		by := t.S("datapages.consent.by_you")
		if r.Actor == models.ActorStaff {
			by = t.S("datapages.consent.by_staff")
		}
		old, nw := consentValue(t, r.OldValue), consentValue(t, r.NewValue)
		if r.Subject == models.ConsentHistoryKeep {
			old, nw = keepValue(t, r.OldValue), keepValue(t, r.NewValue)
		}
		cells = []string{s.consentSubject(c, r.Subject), old, nw, by, channelName(t, r.Channel), dateTime(r.CreatedAt)}
	case models.StaffAccessRecord:
		what := auditAction(t, r.Action)
		if d := accessDetail(r); d != "" {
			what = t.S("datapages.access.detail", "Action", what, "Detail", models.StoredWordsIn(t, d))
		}
		cells = []string{what, orDefault(r.StaffName, t.S("datapages.access.system")), models.StoredWordsIn(t, r.Reason), dateTime(r.CreatedAt)}
	case models.SessionRecord:
		where := t.S("datapages.session.other")
		if r.TokenHash == current {
			where = t.S("datapages.session.this")
		}
		cells = []string{dateTime(r.CreatedAt), dateTime(r.LastSeenAt), channelName(t, r.Channel), where}
	default:
		return views.Row{}, fmt.Errorf("web: no layout for a record of type %T", rec)
	}
	return views.Row{Cells: cells}, nil
}

// statusWords names a record's status (or kind) in t's language: the
// message prefix+status ("datapages.fine.paid" is "Paid"), or the status
// as stored, capitalised, when the catalog has no words for it (a status
// an ILS sent that the portal does not know).
func statusWords(t *i18n.Tr, prefix, status string) string {
	if i18n.Has(prefix + status) {
		return t.S(prefix + status)
	}
	return titleCase(strings.ReplaceAll(status, "_", " "))
}

// closedStatus is the status of a record that was closed on a date, with
// when it is deleted: "Paid March 1, 2026; will be deleted on May 30,
// 2026". The catalog has prefix+status+".on" for the statuses it knows.
func (s *Server) closedStatus(t *i18n.Tr, prefix, status string, on time.Time, due string) string {
	deletion := deletedOnIn(t, due)
	if id := prefix + status + ".on"; i18n.Has(id) {
		return t.S("datapages.status_deleted", "Status", t.S(id, "Date", s.dateIn(t, on)), "Deletion", deletion)
	}
	return t.S("datapages.status_deleted", "Status", statusWords(t, prefix, status)+" "+s.dateIn(t, on), "Deletion", deletion)
}

// accessDetail is what the patron reads of a staff access's detail. A
// legal hold's entries name the library's own request number, which means
// nothing to the patron: the action says what happened, with the reason a
// hold was released, when one was given. (The entry that a nondisclosure
// order ended is written for the patron, and shown whole.)
func accessDetail(r models.StaffAccessRecord) string {
	switch r.Action {
	case models.AuditLegalHold:
		return ""
	case models.AuditLegalRelease:
		if _, why, ok := strings.Cut(r.Detail, "): "); ok {
			return why
		}
		return ""
	}
	return r.Detail
}

func (s *Server) due(t *i18n.Tr, slug string, from time.Time) string {
	d, _ := s.Store.RetentionNow().Due(slug, from)
	return s.dateIn(t, d)
}

func (s *Server) dueTime(t *i18n.Tr, slug string, from time.Time) string {
	d, _ := s.Store.RetentionNow().Due(slug, from)
	return s.dateTimeIn(t, d)
}

// deletedOnIn says when a record goes: "will be deleted on April 1, 2027",
// or that deletion is paused. The date is always ahead: a record whose
// date has come is the purge's to delete, and the patron's pages leave it
// out (models.PatronView.Hide) unless a court order pauses deletion.
func deletedOnIn(t *i18n.Tr, when string) string {
	if isPaused(when) {
		return t.S("datapages.deletion_paused")
	}
	return t.S("datapages.deleted_on", "Date", when)
}

func (s *Server) holdStatus(t *i18n.Tr, h models.Hold, due func(string, time.Time) string) string {
	switch h.Status {
	case models.HoldReady:
		if h.ReadyUntil != nil {
			return t.S("datapages.hold.ready_until", "Date", s.dateIn(t, *h.ReadyUntil))
		}
		return t.S("datapages.hold.ready")
	case models.HoldInTransit:
		return t.S("datapages.hold.in_transit")
	case models.HoldWaiting:
		return t.S("datapages.hold.waiting")
	case models.HoldFilled, models.HoldCancelled:
		if h.ClosedAt != nil {
			return s.closedStatus(t, "datapages.hold.", h.Status, *h.ClosedAt, due("holds", *h.ClosedAt))
		}
		return statusWords(t, "datapages.hold.", h.Status)
	}
	return statusWords(t, "datapages.hold.", h.Status)
}

// money writes an amount in US dollars as the library's receipts do in
// either language: "$1,234.50", "-$2.00".
func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	whole := strconv.FormatInt(cents/100, 10)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return fmt.Sprintf("%s$%s.%02d", sign, whole, cents%100)
}

// titleCase capitalises s's first letter, for a status no catalog knows
// (one an ILS sent).
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// consentSubject names what a consent entry is about in the patron's
// words; a mailing list by the name the patron subscribed to, not its
// slug.
func (srv *Server) consentSubject(c echo.Context, s string) string {
	t := tr(c)
	switch {
	case s == models.ConsentReadingHistory:
		return t.S("datapages.consent.reading_history")
	case s == models.ConsentHistoryKeep:
		return t.S("datapages.consent.history_keep")
	case s == models.ConsentFavoritesLink:
		return t.S("datapages.consent.favorites_link")
	case s == models.ConsentFavoritesNotice:
		return t.S("datapages.consent.favorites_notice")
	case strings.HasPrefix(s, models.ConsentListPrefix):
		slug := strings.TrimPrefix(s, models.ConsentListPrefix)
		if name := srv.listNames(c)[slug]; name != "" {
			return t.S("datapages.consent.list", "Name", name)
		}
		return t.S("datapages.consent.list_slug", "Slug", slug)
	}
	return s
}

// listNames maps every mailing list's slug (retired lists too) to its
// name, read once a request. Should the read fail, the pages name a list
// by its slug rather than fail.
func (s *Server) listNames(c echo.Context) map[string]string {
	if m, ok := c.Get(ctxListNames).(map[string]string); ok {
		return m
	}
	m := map[string]string{}
	if lists, err := s.Store.AllLists(c.Request().Context()); err == nil {
		for _, l := range lists {
			m[l.Slug] = l.Name
		}
	}
	c.Set(ctxListNames, m)
	return m
}

// ctxListNames keeps listNames for the rest of the request.
const ctxListNames = "carrel.list_names"

// consentValue says a consent's value: "On", "Off", "No notices",
// "Daily", "Weekly"; a value the catalog does not know as it is stored.
func consentValue(t *i18n.Tr, v string) string {
	return statusWords(t, "datapages.consent.value.", v)
}

// keepValue says a choice of how much reading history to keep: "All of
// it", "The last 3 months".
func keepValue(t *i18n.Tr, v string) string {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return t.N("datapages.keep.value", int64(n))
	}
	return t.S("datapages.keep.all_value")
}

// channelNames name the channels of a choice or a sign-in by the
// message that says them ("This portal", "With staff help").
var channelNames = map[string]string{
	models.ChannelWeb:           "datapages.channel.web",
	models.ChannelCatalog:       "datapages.channel.catalog",
	models.ChannelStaffAssisted: "datapages.channel.staff_assisted",
	models.ChannelEmailOneClick: "datapages.channel.email_one_click",
	models.ChannelILS:           "datapages.channel.ils",
}

// channelName says where a choice was made or a session started.
func channelName(t *i18n.Tr, ch string) string {
	if id, ok := channelNames[ch]; ok {
		return t.S(id)
	}
	return ch
}

// auditActions name what staff (or the library's system) did, by the
// suffix of two messages: datapages.audit.X as a record's description
// ("Looked up your record"), datapages.audit_did.X after the staff
// member's name ("Ana Ruiz looked up your record").
var auditActions = map[string]string{
	models.AuditPatronLookup:            "lookup",
	models.AuditAssistStart:             "assist_start",
	models.AuditAssistEnd:               "assist_end",
	models.AuditAssistAction:            "assist_action",
	models.AuditDeskPrint:               "desk_print",
	models.AuditLegalProduce:            "legal_produce",
	models.AuditLegalHold:               "legal_hold",
	models.AuditLegalRelease:            "legal_release",
	models.AuditLegalNondisclosureEnded: "nondisclosure_ended",
	models.AuditExport:                  "export",
}

func auditAction(t *i18n.Tr, a string) string {
	if k, ok := auditActions[a]; ok {
		return t.S("datapages.audit." + k)
	}
	return a
}

func auditDid(t *i18n.Tr, a string) string {
	if k, ok := auditActions[a]; ok {
		return t.S("datapages.audit_did." + k)
	}
	return a
}

// HistoryOn turns reading history on. It is an explicit choice: a button
// the patron presses, never a default.
func (s *Server) HistoryOn(c echo.Context) error {
	p := currentPatron(c)
	if _, _, err := s.Store.SetReadingHistory(c.Request().Context(), p.ID, true, s.actor(c)); err != nil {
		return err
	}
	s.flash(c, s.withCatalogToldToo(tr(c), p, tr(c).S("datapages.history.on_flash")))
	return s.redirect(c, "/data/reading-history")
}

// withCatalogToldToo adds to msg, when this patron's reading-history
// choice is written back to the library's catalog (see catalogToldToo),
// that the catalog will be told too.
func (s *Server) withCatalogToldToo(t *i18n.Tr, p *models.Patron, msg string) string {
	if !s.catalogToldToo(p) {
		return msg
	}
	return t.S("datapages.sentences", "First", msg, "Second", t.S("datapages.history.catalog_told"))
}

// HistoryKeep records the patron's choice of how much reading history to
// keep: "all", or one of models.HistoryKeepChoices months. A choice that
// would erase entries is asked about first, with how many and the
// download offered, like turning history off. Anything the form does not
// offer is a 400.
func (s *Server) HistoryKeep(c echo.Context) error {
	months := 0
	if v := c.FormValue("keep"); v != models.HistoryKeepAll {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(models.HistoryKeepChoices, n) {
			return echo.NewHTTPError(http.StatusBadRequest, "not a choice")
		}
		months = n
	}
	p := currentPatron(c)
	ctx := c.Request().Context()
	cut := models.HistoryKeepCutoff(s.Store.Now(), months)
	if months > 0 && months != p.HistoryKeepMonths && c.FormValue("confirm") != "yes" {
		older, _, err := s.Store.HistoryPlace(ctx, p.ID, models.HistoryFilter{To: &cut}, models.PageRequest{}, nil)
		if err != nil {
			return err
		}
		if older > 0 {
			t, m := tr(c), int64(months)
			conf := views.Confirm{
				Title:     t.N("datapages.keep.confirm_title", m),
				Message:   t.N("datapages.keep.confirm_message", m),
				Warning:   t.N("datapages.keep.confirm_warning", older, "Date", s.dateIn(t, cut)),
				Action:    "/data/reading-history/keep?keep=" + strconv.Itoa(months),
				Button:    t.N("datapages.keep.confirm_button", m),
				CancelURL: "/data/reading-history",
			}
			if currentAssist(c) == nil {
				conf.DownloadURL, conf.DownloadLabel = "/data/export.json", t.S("datapages.history.download")
			}
			return s.render(c, http.StatusOK, views.ConfirmPage(s.page(c, t.N("datapages.keep.page_title", m)), conf))
		}
	}
	erased, changed, err := s.Store.SetHistoryKeep(ctx, p.ID, months, s.actor(c))
	if errors.Is(err, models.ErrHistoryKeepChoice) {
		return echo.NewHTTPError(http.StatusBadRequest, "not a choice")
	} else if err != nil {
		return err
	}
	t := tr(c)
	switch {
	case !changed:
		s.flash(c, t.S("datapages.keep.unchanged"))
	case months == 0:
		s.flash(c, t.S("datapages.keep.all"))
	default:
		msg := t.N("datapages.keep.kept", int64(months))
		if erased > 0 {
			msg = t.S("datapages.sentences", "First", msg, "Second", t.N("datapages.keep.erased", erased, "Date", s.dateIn(t, cut)))
		}
		s.flash(c, msg)
	}
	return s.redirect(c, "/data/reading-history")
}

// HistoryOffConfirm says how much will be erased before turning history
// off, and offers to download it first.
func (s *Server) HistoryOffConfirm(c echo.Context) error {
	p := currentPatron(c)
	t := tr(c)
	n := p.HistoryCount
	conf := views.Confirm{
		Title:     t.S("datapages.off.confirm_title"),
		Message:   t.S("datapages.off.confirm_message"),
		Warning:   erasedWarning(t, n),
		Action:    "/data/reading-history/off",
		Button:    t.S("datapages.off.confirm_button"),
		CancelURL: "/data/reading-history",
	}
	if n > 0 && currentAssist(c) == nil {
		// Staff assisting may not download the patron's data.
		conf.DownloadURL, conf.DownloadLabel = "/data/export.json", t.S("datapages.history.download")
	}
	return s.render(c, http.StatusOK, views.ConfirmPage(s.page(c, t.S("datapages.off.page_title")), conf))
}

func erasedWarning(t *i18n.Tr, n int64) string {
	if n == 0 {
		return t.S("datapages.history.nothing_to_erase")
	}
	return t.N("datapages.history.all_erased", n)
}

// HistoryOff turns reading history off and erases it, after confirmation.
func (s *Server) HistoryOff(c echo.Context) error {
	if c.FormValue("confirm") != "yes" {
		return s.redirect(c, "/data/reading-history/off")
	}
	p := currentPatron(c)
	erased, _, err := s.Store.SetReadingHistory(c.Request().Context(), p.ID, false, s.actor(c))
	if err != nil {
		return err
	}
	s.flash(c, s.withCatalogToldToo(tr(c), p, tr(c).N("datapages.off.flash", erased)))
	return s.redirect(c, "/data/reading-history")
}

// HistoryClearConfirm asks before deleting every history entry.
func (s *Server) HistoryClearConfirm(c echo.Context) error {
	p := currentPatron(c)
	t := tr(c)
	n := p.HistoryCount
	return s.render(c, http.StatusOK, views.ConfirmPage(s.page(c, t.S("datapages.clear.page_title")), views.Confirm{
		Title:     t.S("datapages.clear.confirm_title"),
		Message:   t.S("datapages.clear.confirm_message"),
		Warning:   erasedWarning(t, n),
		Action:    "/data/reading-history/clear",
		Button:    t.S("datapages.clear.confirm_button"),
		CancelURL: "/data/reading-history",
	}))
}

// HistoryClear deletes every history entry and leaves the setting on.
func (s *Server) HistoryClear(c echo.Context) error {
	if c.FormValue("confirm") != "yes" {
		return s.redirect(c, "/data/reading-history/clear")
	}
	p := currentPatron(c)
	n, err := s.Store.ClearHistory(c.Request().Context(), p.ID)
	if err != nil {
		return err
	}
	s.flash(c, tr(c).N("datapages.clear.flash", n))
	return s.redirect(c, "/data/reading-history")
}

// HistoryDelete deletes one entry. Someone else's entry is a 404, the same
// as one that never existed.
func (s *Server) HistoryDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	p := currentPatron(c)
	if err := s.Store.DeleteHistoryEntry(c.Request().Context(), p.ID, id); errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	s.flash(c, tr(c).S("datapages.history.deleted_one"))
	return s.redirect(c, "/data/reading-history"+historyBack(c.QueryParams()))
}

// historyBack is the part of a reading-history address that leads back
// to the same page of the same search ("?q=…&after=…&page=3"), from the
// parameters in; "" for the first page of all of it.
func historyBack(in url.Values) string {
	q := url.Values{}
	for _, k := range []string{"q", "from", "to", "after", "before", "page"} {
		if v := in.Get(k); v != "" && len(v) <= 200 {
			if k == "page" {
				if n, err := strconv.Atoi(v); err != nil || n < 1 {
					continue
				}
			}
			if k == "after" || k == "before" {
				if _, ok := models.ParseCursor(v); !ok {
					continue
				}
			}
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// EndOtherSessions signs the patron out everywhere but here.
func (s *Server) EndOtherSessions(c echo.Context) error {
	p := currentPatron(c)
	sess := session(c)
	n, err := s.Store.EndOtherSessions(c.Request().Context(), p.ID, models.HashToken(sess.Token()))
	if err != nil {
		return err
	}
	s.flash(c, tr(c).N("datapages.sessions.ended", n))
	return s.redirect(c, "/data/sessions")
}

// DataExport sends everything held about the patron as one JSON file.
func (s *Server) DataExport(c echo.Context) error {
	p := currentPatron(c)
	// The document is written to a temporary file inside the export's
	// read transaction, which then ends, and only then sent: a slow or
	// stalled download never holds a database connection (SQLite's only
	// one, with its write lock) or a snapshot open. The file is unlinked
	// as soon as it is created, so the record never has a name on disk and
	// is gone when the file is closed, whatever happens. Memory stays flat.
	f, err := os.CreateTemp("", "carrel-export-*")
	if err != nil {
		return fmt.Errorf("web: export: %w", err)
	}
	os.Remove(f.Name())
	defer f.Close()
	err = s.Store.Export(c.Request().Context(), p.ID, models.ExportMeta{
		Library: s.Config.LibraryName, PolicyVersion: s.Config.PolicyVersion, Limits: s.Config.Sessions, Words: tr(c),
	}, f)
	if err != nil {
		return err // nothing is sent yet: the visitor gets the error page
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("web: export: %w", err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/json; charset=utf-8")
	h.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
	h.Set(echo.HeaderContentDisposition, `attachment; filename="library-record-`+s.Store.Now().In(s.Config.Location).Format("2006-01-02")+`.json"`)
	if err := s.saveSession(c); err != nil {
		return err
	}
	c.Response().WriteHeader(http.StatusOK)
	s.stats.Inc("export.json")
	if _, err := io.Copy(c.Response(), f); err != nil {
		// The status is sent, so the only honest signal left is to break
		// the connection: the browser then reports a failed download
		// instead of keeping a truncated file that looks complete.
		s.Log.Error("export failed mid-stream", "route", c.Path(), "err", logError(err))
		panic(http.ErrAbortHandler)
	}
	return nil
}

// DataPrint lays out the patron's record for paper: the sections they
// tick in its form (GET, section=slug, one per category), and by default
// every one but the reading history, which is printed only when ticked.
func (s *Server) DataPrint(c echo.Context) error {
	p := currentPatron(c)
	chosen := printChoice(c.QueryParams(), s.Store.Categories())
	v, err := s.printView(c, p, chosen, false)
	if err != nil {
		return err
	}
	v.ChooseURL = "/data/print"
	s.stats.Inc("export.print")
	return s.render(c, http.StatusOK, views.DataPrint(s.page(c, tr(c).S("datapages.print.title")), v))
}

// printChoice reads which sections to print: the slugs named by section
// when the form was sent (chosen=1), else every category but the reading
// history.
func printChoice(q url.Values, cats []models.Category) map[string]bool {
	chosen := map[string]bool{}
	if q.Get("chosen") == "" && len(q["section"]) == 0 {
		for _, cat := range cats {
			chosen[cat.Slug] = cat.Controls != models.HistoryControls
		}
		return chosen
	}
	for _, slug := range q["section"] {
		chosen[slug] = true
	}
	return chosen
}

// printView lays out the chosen categories of p's record for paper, and
// names those left out. At the desk (desk), the reading history's titles
// are printed only while the patron keeps one.
func (s *Server) printView(c echo.Context, p *models.Patron, chosen map[string]bool, desk bool) (views.PrintView, error) {
	ctx := c.Request().Context()
	t := tr(c)
	v := views.PrintView{FullName: p.FullName(), GeneratedAt: s.dateTimeIn(t, s.Store.Now()), Desk: desk}
	view, err := s.Store.PatronView(ctx, p.ID)
	if err != nil {
		return v, err
	}
	for _, cat := range s.Store.Categories() {
		cat = cat.In(t)
		v.Choices = append(v.Choices, views.PrintChoice{Slug: cat.Slug, Title: cat.Title, Checked: chosen[cat.Slug]})
		if !chosen[cat.Slug] {
			v.LeftOut = append(v.LeftOut, cat.Title)
			continue
		}
		sec := views.PrintSection{Title: cat.Title, Purpose: cat.Purpose, Retention: cat.Retention, Empty: cat.Empty}
		switch {
		case cat.Fields != nil:
			sec.Fields = fields(cat.Fields(*p))
		case desk && cat.Controls == models.HistoryControls && !p.ReadingHistoryEnabled:
			sec.Table = &views.Table{}
			sec.Empty = t.S("datapages.print.history_off")
		default:
			all := views.Table{}
			req := models.PageRequest{Limit: 500}
			for {
				t, older, _, err := s.records(ctx, c, cat, p, view, req, false)
				if err != nil {
					return v, err
				}
				all.Caption, all.Columns = t.Caption, t.Columns
				all.Rows = append(all.Rows, t.Rows...)
				if older == nil {
					break
				}
				req.After = older
			}
			sec.Table = &all
			var err error
			if sec.Parts, err = s.categoryParts(ctx, cat, p.ID, view); err != nil {
				return v, err
			}
		}
		v.Sections = append(v.Sections, sec)
	}
	return v, nil
}

// legalNoticeView writes what the patron is told of one legal request:
// the court and the process, then what happened to their records, with
// the categories and dates produced (never a record itself).
func (s *Server) legalNoticeView(t *i18n.Tr, n models.LegalNotice) views.LegalNotice {
	title, lines := n.Words(t, s.Config.Location)
	return views.LegalNotice{Title: title, Lines: lines}
}
