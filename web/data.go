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
// code and by a test (web/data_test.go, TestWhatWeDoNotKeepIsTrue).
var notKept = []string{
	"Your IP address, or anything else that tells where you connected from. Our logs hold only which page was asked for and how long it took.",
	"What you search for in the catalog. The portal never receives your searches.",
	"Tracking or advertising cookies. We set one cookie that keeps you signed in, and it is deleted when you close your browser.",
	"Anything sent to database vendors or other companies. This portal loads nothing from other sites and sends your data to no company; the emails you choose go through the library's mail service.",
}

// DataOverview is "What we hold about you": one card per category.
func (s *Server) DataOverview(c echo.Context) error {
	p := currentPatron(c)
	ctx := c.Request().Context()
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
	o := views.Overview{FullName: p.FullName(), CardEnding: last(p.CardNumber, 4), NotKept: notKept,
		Assisted: currentAssist(c) != nil, SeenUntil: strconv.FormatInt(rendered.UnixMicro(), 10)}
	if !o.Assisted {
		// Legal process comes first: what was produced, or since when
		// deletion is paused. Nothing under a nondisclosure order.
		legal, err := s.Store.LegalNoticesFor(ctx, view, p.AssistSeenAt)
		if err != nil {
			return err
		}
		for _, n := range legal {
			o.LegalNotices = append(o.LegalNotices, s.legalNoticeView(tr(c), n))
		}
	}
	if !o.Assisted && staffTouchedSince(sums, p.AssistSeenAt) {
		notices, err := s.Store.AssistNoticesFor(ctx, *p, view)
		if err != nil {
			return err
		}
		for _, n := range notices {
			line := s.dateTime(n.CreatedAt) + ": " + orDefault(n.StaffName, "Library staff") + " " + strings.ToLower(auditAction(n.Action))
			if n.Reason != "" {
				line += " (" + n.Reason + ")"
			}
			if n.Detail != "" {
				line += ": " + n.Detail
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
			SharedWith: sum.SharedWith, Shared: sum.SharedWith != models.CourtOrder,
			Held: s.heldLine(c, sum, o.Assisted), NextDelete: s.dueLine(sum),
		})
	}
	return s.render(c, http.StatusOK, views.DataOverview(s.page(c, "What we hold about you"), o))
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
	ch.LastVisit = s.date(since)
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

func (s *Server) date(t time.Time) string { return views.FormatDate(t, s.Config.Location) }

func (s *Server) dateTime(t time.Time) string {
	return views.FormatDate(t, s.Config.Location) + ", " + views.FormatTime(t, s.Config.Location)
}

// plural is views.Plural, the one plural helper, under the short name the
// handlers use.
func plural(n int64, one, many string) string { return views.Plural(n, one, many) }

// heldLine says, in a sentence, what is held in a category.
//
// Staff assisting a patron read the reading history's count only, never
// a title, here as on the detail page.
func (s *Server) heldLine(c echo.Context, sum models.CategorySummary, assisted bool) string {
	if sum.Fields != nil {
		return plural(sum.Count, sum.One, sum.Many) + " on your record."
	}
	if sum.Count == 0 {
		return "Nothing."
	}
	line := plural(sum.Count, sum.One, sum.Many)
	if assisted && sum.CountOnlyForStaff {
		return line + "."
	}
	if sum.Newest != nil {
		label := sum.NewestLabel
		switch sum.Category.NewestLabel {
		case models.LabelConsentSubject:
			label = s.consentSubject(c, label)
		case models.LabelAuditAction:
			label = auditAction(label)
		case models.LabelChannel:
			label = channelName(label)
		}
		if label != "" {
			line += "; the newest: " + label + ", " + s.date(*sum.Newest)
		} else {
			line += "; the newest from " + s.date(*sum.Newest)
		}
	}
	return line + "."
}

// Paused is what a patron under a hold they may be told of reads
// wherever a deletion date would be.
const Paused = "Deletion paused by a court order"

func (s *Server) dueLine(sum models.CategorySummary) string {
	if sum.OldestDue == nil {
		return ""
	}
	if sum.Paused {
		return Paused + "."
	}
	return "The oldest will be deleted on " + s.date(*sum.OldestDue) + "."
}

// DataDetail shows one category's records.
func (s *Server) DataDetail(c echo.Context) error {
	cat, ok := s.Store.Category(c.Param("category"))
	if !ok {
		return echo.ErrNotFound
	}
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
		d.Paused = Paused + ": nothing here is deleted while it lasts."
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
		} else if err := s.historyPlace(ctx, p, view, hs, newer, int64(pageNo), &d); err != nil {
			return err
		}
		if !p.ReadingHistoryEnabled && n == 0 {
			d.Empty = "Reading history is off, so nothing is kept: when you return an item, the record of the loan is deleted."
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
	hs := historySearch{text: strings.TrimSpace(c.QueryParam("q")), from: strings.TrimSpace(c.QueryParam("from")),
		to: strings.TrimSpace(c.QueryParam("to")), errs: map[string]string{}}
	if len([]rune(hs.text)) > 200 {
		hs.text = string([]rune(hs.text)[:200])
	}
	hs.filter.Text = hs.text
	day := func(field, v, what string) *time.Time {
		if v == "" {
			return nil
		}
		t, err := time.ParseInLocation("2006-01-02", v, s.Config.Location)
		if err != nil {
			hs.errs[field] = "Enter the " + what + " date as year, month and day, for example 2026-03-14."
			return nil
		}
		return &t
	}
	hs.filter.From = day("from", hs.from, "first")
	if to := day("to", hs.to, "last"); to != nil {
		end := to.AddDate(0, 0, 1) // the whole of the last day
		hs.filter.To = &end
	}
	if hs.filter.From != nil && hs.filter.To != nil && !hs.filter.From.Before(*hs.filter.To) {
		hs.errs["to"] = "The last date must be on or after the first date."
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
func (s *Server) historyPlace(ctx context.Context, p *models.Patron, view models.PatronView, hs historySearch, newer *models.Cursor, page int64, d *views.Detail) error {
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
		h.Search.Found = "Found " + plural(total, "item", "items") + "."
		d.Empty = "Nothing in your reading history matches this search."
	}
	pages := (total + models.DefaultPageSize - 1) / models.DefaultPageSize
	if pages > 1 {
		page = min(page, pages)
		d.PageOf = "Page " + views.FormatCount(page) + " of " + views.FormatCount(pages)
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
	t := views.Table{Caption: cat.Title}
	if cat.Table != "" {
		req.Hide = view.Hide(cat.Table)
	}
	due := func(slug string, from time.Time) string {
		if view.Paused {
			return Paused
		}
		return s.due(slug, from)
	}
	dueTime := func(slug string, from time.Time) string {
		if view.Paused {
			return Paused
		}
		return s.dueTime(slug, from)
	}
	cols := func(labels ...string) {
		for _, l := range labels {
			t.Columns = append(t.Columns, views.Column{Label: l, Numeric: l == "Amount" || l == "Renewals"})
		}
	}
	cols(cat.Columns...)
	if actions && cat.Deletable {
		t.Columns = append(t.Columns, views.Column{Label: "Delete"})
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
		t.Columns = append(t.Columns, views.Column{Label: "Library catalog"})
	}
	for _, rec := range pg.Rows {
		row, err := s.recordRow(c, p, rec, due, dueTime, current)
		if err != nil {
			return t, nil, nil, err
		}
		if r, ok := rec.(models.ConsentEntry); ok && koha != nil {
			st, sent := koha[r.ID]
			row.Cells = append(row.Cells, s.kohaDelivery(st, sent))
		}
		if h, ok := rec.(models.HistoryEntry); ok && actions && cat.Deletable {
			row.Action = &views.RowAction{Label: "Delete", Name: "Delete " + h.Title + " from your history",
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
	var cells []string
	switch r := rec.(type) {
	case models.Loan:
		dueAt := s.date(r.DueAt)
		if r.DueAt.Before(s.Store.Now()) {
			dueAt += " (overdue)"
		}
		cells = []string{r.Title, r.Author, s.date(r.CheckedOutAt), dueAt, strconv.Itoa(r.Renewals), r.Branch}
	case models.HistoryEntry:
		cells = []string{r.Title, r.Author, r.Format, s.date(r.CheckedOutAt), s.date(r.ReturnedAt)}
	case models.Hold:
		cells = []string{r.Title, r.Author, r.PickupBranch, s.date(r.PlacedAt), s.holdStatus(r, due)}
	case models.Fine:
		status := titleCase(r.Status)
		if r.SettledAt != nil {
			status += " " + s.date(*r.SettledAt) + "; " + deletedOn(due("fines", *r.SettledAt))
		}
		cells = []string{r.Description, r.Title, money(r.AmountCents), s.date(r.AssessedAt), status}
	case models.ILLRequest:
		status := titleCase(strings.ReplaceAll(r.Status, "_", " "))
		if r.CompletedAt != nil {
			status += "; " + deletedOn(due("ill", *r.CompletedAt))
		}
		cells = []string{r.Title, r.Author, r.LendingLibrary, s.date(r.RequestedAt), status}
	case models.ReferenceQuestion:
		answered := "Not yet"
		if r.AnsweredAt != nil {
			answered = s.date(*r.AnsweredAt)
		}
		cells = []string{orDefault(r.Subject, "(no subject)"), r.Question, s.date(r.AskedAt), answered, due("reference", r.AskedAt)}
	case models.ComputerSession:
		ended := "Still in use"
		if r.EndedAt != nil {
			ended = s.dateTime(*r.EndedAt)
		}
		cells = []string{s.dateTime(r.StartedAt), ended, r.Branch, r.Station, dueTime("computer-sessions", r.StartedAt)}
	case models.SubscriptionRecord:
		cells = []string{r.ListName, r.Frequency, r.Sender, s.date(r.SubscribedAt)}
	case models.Favorite:
		cells = []string{r.Display, titleCase(r.Kind), s.date(r.CreatedAt)}
	case models.NotificationDelivery:
		cells = []string{r.Title, r.Reason, s.date(r.CreatedAt), s.deliveryStatus(p, r, due)}
	case models.ConsentEntry:
		by := "You"
		if r.Actor == models.ActorStaff {
			by = "Library staff, at your request"
		}
		old, nw := consentValue(r.OldValue), consentValue(r.NewValue)
		if r.Subject == models.ConsentHistoryKeep {
			old, nw = keepValue(r.OldValue), keepValue(r.NewValue)
		}
		cells = []string{s.consentSubject(c, r.Subject), old, nw, by, channelName(r.Channel), s.dateTime(r.CreatedAt)}
	case models.StaffAccessRecord:
		what := auditAction(r.Action)
		if d := accessDetail(r); d != "" {
			what += ": " + d
		}
		cells = []string{what, orDefault(r.StaffName, "Library system"), r.Reason, s.dateTime(r.CreatedAt)}
	case models.SessionRecord:
		where := "Another device or browser"
		if r.TokenHash == current {
			where = "This device"
		}
		cells = []string{s.dateTime(r.CreatedAt), s.dateTime(r.LastSeenAt), channelName(r.Channel), where}
	default:
		return views.Row{}, fmt.Errorf("web: no layout for a record of type %T", rec)
	}
	return views.Row{Cells: cells}, nil
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

func (s *Server) due(slug string, from time.Time) string {
	d, _ := s.Store.RetentionNow().Due(slug, from)
	return s.date(d)
}

func (s *Server) dueTime(slug string, from time.Time) string {
	d, _ := s.Store.RetentionNow().Due(slug, from)
	return s.dateTime(d)
}

// deletedOn says when a record goes: "will be deleted on April 1, 2027",
// or that deletion is paused. The date is always ahead: a record whose
// date has come is the purge's to delete, and the patron's pages leave it
// out (models.PatronView.Hide) unless a court order pauses deletion.
func deletedOn(when string) string {
	if when == Paused {
		return "deletion paused by a court order"
	}
	return "will be deleted on " + when
}

func (s *Server) holdStatus(h models.Hold, due func(string, time.Time) string) string {
	switch h.Status {
	case models.HoldReady:
		if h.ReadyUntil != nil {
			return "Ready to pick up until " + s.date(*h.ReadyUntil)
		}
		return "Ready to pick up"
	case models.HoldInTransit:
		return "On its way"
	case models.HoldWaiting:
		return "Waiting for a copy"
	case models.HoldFilled, models.HoldCancelled:
		st := titleCase(h.Status)
		if h.ClosedAt != nil {
			st += " " + s.date(*h.ClosedAt) + "; " + deletedOn(due("holds", *h.ClosedAt))
		}
		return st
	}
	return titleCase(h.Status)
}

func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s$%s.%02d", sign, views.FormatCount(cents/100), cents%100)
}

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
	switch {
	case s == models.ConsentReadingHistory:
		return "Reading history"
	case s == models.ConsentHistoryKeep:
		return "How much reading history to keep"
	case s == models.ConsentFavoritesLink:
		return "Favorites linked to your record"
	case s == models.ConsentFavoritesNotice:
		return "Emails about your favorite authors and subjects"
	case strings.HasPrefix(s, models.ConsentListPrefix):
		slug := strings.TrimPrefix(s, models.ConsentListPrefix)
		if name := srv.listNames(c)[slug]; name != "" {
			return "Mailing list “" + name + "”"
		}
		return "Mailing list " + slug
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

func consentValue(v string) string {
	switch v {
	case "on":
		return "On"
	case "off":
		return "Off"
	case "none":
		return "No notices"
	}
	return titleCase(v)
}

// keepValue says a choice of how much reading history to keep: "All of
// it", "The last 3 months".
func keepValue(v string) string {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return "The last " + plural(int64(n), "month", "months")
	}
	return "All of it"
}

func channelName(ch string) string {
	switch ch {
	case models.ChannelWeb:
		return "This portal"
	case models.ChannelCatalog:
		return "From the catalog"
	case models.ChannelStaffAssisted:
		return "With staff help"
	case models.ChannelEmailOneClick:
		return "Unsubscribe link in an email"
	case models.ChannelILS:
		return "The library's catalog"
	}
	return ch
}

func auditAction(a string) string {
	switch a {
	case models.AuditPatronLookup:
		return "Looked up your record"
	case models.AuditAssistStart:
		return "Started helping you"
	case models.AuditAssistEnd:
		return "Finished helping you"
	case models.AuditAssistAction:
		return "Made a change at your request"
	case models.AuditDeskPrint:
		return "Printed your record at your request"
	case models.AuditLegalProduce:
		return "Produced your records for a court order"
	case models.AuditLegalHold:
		return "Suspended deletion of your records for a court order"
	case models.AuditLegalRelease:
		return "Resumed deletion of your records"
	case models.AuditLegalNondisclosureEnded:
		return "Recorded that a court's order not to tell you has ended"
	case models.AuditExport:
		return "Downloaded the record of staff access to your data"
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
	s.flash(c, "Reading history is on. Items you return from now on will be kept here."+s.catalogToldToo(p))
	return s.redirect(c, "/data/reading-history")
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
			keep := plural(int64(months), "month", "months")
			conf := views.Confirm{
				Title:     "Keep only the last " + keep + "?",
				Message:   "From now on, items are deleted from your reading history as they grow older than " + keep + ".",
				Warning:   titleCase(plural(older, "item", "items")) + " returned before " + s.date(cut) + " will be erased for good. This cannot be undone.",
				Action:    "/data/reading-history/keep?keep=" + strconv.Itoa(months),
				Button:    "Keep " + keep + ", erase the rest",
				CancelURL: "/data/reading-history",
			}
			if currentAssist(c) == nil {
				conf.DownloadURL, conf.DownloadLabel = "/data/export.json", "Download all your data, your reading history included (JSON)"
			}
			return s.render(c, http.StatusOK, views.ConfirmPage(s.page(c, "Keep only the last "+keep), conf))
		}
	}
	erased, changed, err := s.Store.SetHistoryKeep(ctx, p.ID, months, s.actor(c))
	if errors.Is(err, models.ErrHistoryKeepChoice) {
		return echo.NewHTTPError(http.StatusBadRequest, "not a choice")
	} else if err != nil {
		return err
	}
	switch {
	case !changed:
		s.flash(c, "Nothing changed: that was already your choice.")
	case months == 0:
		s.flash(c, "All of your reading history is kept while it is on.")
	default:
		msg := "From now on only the last " + plural(int64(months), "month", "months") + " of your reading history are kept."
		if erased > 0 {
			msg += " " + titleCase(plural(erased, "item", "items")) + " returned before " + s.date(cut)
			if erased == 1 {
				msg += " was erased."
			} else {
				msg += " were erased."
			}
		}
		s.flash(c, msg)
	}
	return s.redirect(c, "/data/reading-history")
}

// HistoryOffConfirm says how much will be erased before turning history
// off, and offers to download it first.
func (s *Server) HistoryOffConfirm(c echo.Context) error {
	p := currentPatron(c)
	n := p.HistoryCount
	conf := views.Confirm{
		Title:     "Turn off reading history?",
		Message:   "From now on, when you return an item the record of the loan will be deleted.",
		Warning:   erasedWarning(n),
		Action:    "/data/reading-history/off",
		Button:    "Turn off and erase",
		CancelURL: "/data/reading-history",
	}
	if n > 0 && currentAssist(c) == nil {
		// Staff assisting may not download the patron's data.
		conf.DownloadURL, conf.DownloadLabel = "/data/export.json", "Download all your data, your reading history included (JSON)"
	}
	return s.render(c, http.StatusOK, views.ConfirmPage(s.page(c, "Turn off reading history"), conf))
}

func erasedWarning(n int64) string {
	if n == 0 {
		return "Nothing is stored in your history, so nothing will be erased."
	}
	return "All " + plural(n, "item", "items") + " in your reading history will be erased for good. This cannot be undone."
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
	s.flash(c, "Reading history is off. "+titleCase(plural(erased, "item was", "items were"))+" erased."+s.catalogToldToo(p))
	return s.redirect(c, "/data/reading-history")
}

// HistoryClearConfirm asks before deleting every history entry.
func (s *Server) HistoryClearConfirm(c echo.Context) error {
	p := currentPatron(c)
	n := p.HistoryCount
	return s.render(c, http.StatusOK, views.ConfirmPage(s.page(c, "Delete your reading history"), views.Confirm{
		Title:     "Delete your whole reading history?",
		Message:   "Reading history stays on: items you return from now on will still be kept.",
		Warning:   erasedWarning(n),
		Action:    "/data/reading-history/clear",
		Button:    "Delete all of it",
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
	s.flash(c, titleCase(plural(n, "item was", "items were"))+" deleted from your reading history.")
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
	s.flash(c, "The item was deleted from your reading history.")
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
	s.flash(c, "Signed out of "+plural(n, "other session", "other sessions")+".")
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
		Library: s.Config.LibraryName, PolicyVersion: s.Config.PolicyVersion, Limits: s.Config.Sessions,
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
	return s.render(c, http.StatusOK, views.DataPrint(s.page(c, "Your library record"), v))
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
	v := views.PrintView{FullName: p.FullName(), GeneratedAt: s.dateTime(s.Store.Now()), Desk: desk}
	view, err := s.Store.PatronView(ctx, p.ID)
	if err != nil {
		return v, err
	}
	for _, cat := range s.Store.Categories() {
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
			sec.Empty = "Reading history is off, so nothing is kept."
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
