package web

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/csvout"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Context keys for staff.
const (
	ctxStaff  = "carrel.staff"
	ctxAssist = "carrel.assist"
)

// assistance is a staff member acting for a patron, at their request.
type assistance struct {
	Patron  *models.Patron
	Reason  string // desk, phone, email, other
	Note    string
	Started time.Time
	Left    time.Duration
}

func (a *assistance) reasonLabel() string { return models.AssistReasonLabel(a.Reason, a.Note) }

func currentStaff(c echo.Context) *models.Staff {
	st, _ := c.Get(ctxStaff).(*models.Staff)
	return st
}

func currentAssist(c echo.Context) *assistance {
	a, _ := c.Get(ctxAssist).(*assistance)
	return a
}

// loadAssistance restores an assistance in progress, or ends it when its
// time is up: it lasts at most Config.AssistLimit.
func (s *Server) loadAssistance(c echo.Context, sess *Session, st *models.Staff) error {
	pid, reason, note, startedText, ok := sess.Assistance()
	if !ok {
		return nil
	}
	ctx := c.Request().Context()
	started, _ := time.Parse(time.RFC3339Nano, startedText)
	a := &assistance{Reason: reason, Note: note, Started: started}
	elapsed := s.Store.Now().Sub(started)
	if elapsed >= s.Config.AssistLimit || started.IsZero() {
		detail := "ended automatically after " + models.SpokenDuration(i18n.For(i18n.English), s.Config.AssistLimit)
		if _, err := s.Store.EndAssist(ctx, models.HashToken(sess.Token()), detail); err != nil {
			return err
		}
		if err := s.endAssistance(c, sess); err != nil {
			return err
		}
		// This request's page says so, once (assistEndedNow).
		s.noteAssistEnded(c, pid)
		// Send the new token now: the handler may fail before saving.
		return s.Sessions.Save(c.Request(), c.Response(), sess)
	}
	p, err := s.Store.Patron(ctx, pid)
	if errors.Is(err, models.ErrNotFound) {
		return s.endAssistance(c, sess)
	} else if err != nil {
		return err
	}
	a.Patron, a.Left = &p, s.Config.AssistLimit-elapsed
	c.Set(ctxPatron, &p)
	c.Set(ctxAssist, a)
	return nil
}

// endAssistance returns a staff session to the console, on a new token.
// The end of the assistance is recorded first, by models.Store.EndAssist.
// A session that went meanwhile (swept, or its token rotated by another
// request) is not brought back: the visitor goes on signed out.
func (s *Server) endAssistance(c echo.Context, sess *Session) error {
	sess.EndAssistance()
	c.Set(ctxPatron, nil)
	c.Set(ctxAssist, nil)
	err := s.Sessions.Rotate(c.Request().Context(), sess)
	if errors.Is(err, models.ErrNotFound) {
		c.Set(ctxStaff, nil)
		return s.Sessions.End(c.Request().Context(), sess, models.AssistEndedSession)
	}
	return err
}

// StaffLoginPage shows the staff sign-in form.
func (s *Server) StaffLoginPage(c echo.Context) error {
	next := localPath(c.QueryParam("next"))
	if currentStaff(c) != nil {
		return s.redirect(c, orDefault(next, "/staff"))
	}
	f := views.StaffLoginForm{Next: next, SignedOut: c.QueryParam("signed_out") == "1", Ended: s.endedMessage(c, next)}
	return s.renderStaffLogin(c, http.StatusOK, tr(c).S("staff.login.title"), f)
}

// renderStaffLogin shows the staff sign-in form with a fresh form token.
func (s *Server) renderStaffLogin(c echo.Context, status int, title string, f views.StaffLoginForm) error {
	f.FormToken = s.signinFormToken()
	s.staffLoginChoices(&f)
	return s.render(c, status, views.StaffLogin(s.page(c, title), f))
}

// staffLoginFormAgain shows the staff sign-in form again after a refused
// post, with the username and the page asked for, never the password.
func (s *Server) staffLoginFormAgain(c echo.Context, status int, msg string) error {
	r := c.Request()
	f := views.StaffLoginForm{Username: strings.TrimSpace(r.PostFormValue("username")), Next: localPath(r.PostFormValue("next")), Message: msg}
	return s.renderStaffLogin(c, status, staffErrorTitle(c, tr(c).S("staff.login.title")), f)
}

// StaffLoginSubmit checks a staff member's password and signs them in on
// a fresh session, or, for an account with a second factor or whose role
// needs one, goes on to that step (web/staff_totp.go) without signing in.
func (s *Server) StaffLoginSubmit(c echo.Context) error {
	username, password := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	f := views.StaffLoginForm{Username: username, Next: localPath(c.FormValue("next")), Errors: views.FieldErrors{}}
	if username == "" {
		f.Errors["username"] = tr(c).S("staff.login.error.username")
	}
	if password == "" {
		f.Errors["password"] = tr(c).S("staff.login.error.password")
	}
	if len(f.Errors) > 0 {
		return s.renderStaffLogin(c, http.StatusUnprocessableEntity, staffErrorTitle(c, tr(c).S("staff.login.title")), f)
	}
	st, err := s.Store.StaffPasswordStep(signinContext(c), username, password)
	var locked *models.LockedError
	var busy *models.BusyError
	switch {
	case errors.As(err, &busy):
		f.Message = busyMessage(tr(c), busy, "username")
		return s.renderStaffLogin(c, busyStatus(c, busy), staffErrorTitle(c, tr(c).S("staff.login.title")), f)
	case errors.As(err, &locked):
		f.Message = tr(c).S("staff.login.locked", "Time", tr(c).TimeZone(locked.Until, s.Config.Location))
		s.retryAfterLock(c, locked)
		return s.renderStaffLogin(c, http.StatusTooManyRequests, staffErrorTitle(c, tr(c).S("staff.login.title")), f)
	case errors.Is(err, models.ErrBadCredentials):
		f.Message = tr(c).S("staff.login.bad")
		return s.renderStaffLogin(c, http.StatusUnauthorized, staffErrorTitle(c, tr(c).S("staff.login.title")), f)
	case err != nil:
		return err
	}
	// The password alone signs in only an account that needs no second
	// factor; the others go on to their code, or to set one up.
	return s.afterPassword(c, st, f.Next)
}

// StaffLogout ends the staff session, and any assistance with it.
func (s *Server) StaffLogout(c echo.Context) error {
	sess := session(c)
	if sess.SignedIn() && !sess.validCSRF(formToken(c)) {
		return echo.NewHTTPError(http.StatusForbidden, "missing or wrong form token")
	}
	if sess != nil {
		if err := s.declineHandoff(c); err != nil {
			return err
		}
		// An assistance in progress is recorded as ended in the same
		// transaction.
		if err := s.Sessions.End(c.Request().Context(), sess, models.AssistEndedSignOut); err != nil {
			return err
		}
	}
	c.Response().Header().Set("Clear-Site-Data", `"cache", "cookies"`)
	return c.Redirect(http.StatusSeeOther, "/staff/login?signed_out=1")
}

// StaffConsole is the staff start page: a patron search, and the patrons
// this staff member opened or helped since they signed in.
func (s *Server) StaffConsole(c echo.Context) error {
	st := currentStaff(c)
	h := views.StaffHome{
		Name: st.DisplayName, Role: roleName(tr(c), st.Role),
		CanAudit: models.RoleRank(st.Role) >= models.RoleRank(models.RolePrivacyOfficer),
		CanAdmin: models.RoleRank(st.Role) >= models.RoleRank(models.RoleAdmin),
		// Every role sees the connectors: they hold no patron's data.
		Connectors: s.connectorRows(c.Request().Context()),
	}
	if start := session(c).CreatedAt(); !start.IsZero() {
		recent, err := s.Store.RecentPatrons(c.Request().Context(), st.ID, start, recentPatrons)
		if err != nil {
			return err
		}
		for _, r := range recent {
			h.Recent = append(h.Recent, views.RecentPatronRow{ID: r.ID, Name: r.FullName(), CardEnding: last(r.CardNumber, 4)})
		}
	}
	return s.render(c, http.StatusOK, views.StaffConsole(s.page(c, tr(c).S("staff.console.title")), h))
}

// recentPatrons is how many patrons the console lists under "Recent
// patrons".
const recentPatrons = 10

// lookupLimit keeps name searches small: staff look up the patron in
// front of them, they do not browse.
const lookupLimit = 10

// lookupLimiter paces each staff member's look-ups, searches and records
// opened alike, so that nobody can list the whole directory a few letters
// at a time or walk it by record number (patron IDs are sequential, and
// the record page shows contact details whole). The buckets live
// in memory: each instance keeps its own, and a restart refills them. Time
// comes from the store's clock.
type lookupLimiter struct {
	mu    sync.Mutex
	burst int
	every time.Duration
	by    map[int64]*rate.Limiter
}

func newLookupLimiter(burst int, every time.Duration) *lookupLimiter {
	return &lookupLimiter{burst: burst, every: every, by: map[int64]*rate.Limiter{}}
}

// allow takes one look-up from the staff member's allowance, or says how
// long until the next one.
func (l *lookupLimiter) allow(staffID int64, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[staffID]
	if !ok {
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.by[staffID] = lim
	}
	r := lim.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return false, wait
	}
	return true, 0
}

// StaffPatrons finds patrons by card number or name. Every patron shown is
// audited; contact details are shown masked here, whole on the patron's
// own (audited) record page. Searches are paced per staff member.
func (s *Server) StaffPatrons(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	v := views.PatronSearch{Query: q}
	status := http.StatusOK
	switch {
	case q == "":
	case len([]rune(q)) < 2 || len(q) > 100 || strings.IndexFunc(q, unicode.IsControl) >= 0:
		v.Error = tr(c).S("staff.patrons.error.q")
		status = http.StatusUnprocessableEntity
	default:
		st := currentStaff(c)
		if v.PausedFor = s.lookupPaused(c); v.PausedFor != "" {
			status = http.StatusTooManyRequests
			break
		}
		found, err := s.Store.LookupPatrons(c.Request().Context(), st.ID, q, lookupLimit+1)
		if err != nil {
			return err
		}
		v.Searched = true
		if len(found) > lookupLimit {
			found, v.More = found[:lookupLimit], true
		}
		for _, p := range found {
			v.Results = append(v.Results, views.PatronRow{ID: p.ID, Name: p.FullName(), Card: p.CardNumber,
				Email: maskEmail(p.Email), Phone: maskPhone(p.Phone), Branch: p.HomeBranch})
		}
	}
	return s.render(c, status, views.StaffPatrons(s.page(c, tr(c).S("staff.patrons.title")), v))
}

// lookupPaused takes one look-up from the staff member's allowance. When
// none is left it sets Retry-After and says how long until the next, and
// the caller looks up and records nothing.
func (s *Server) lookupPaused(c echo.Context) string {
	ok, wait := s.lookups.allow(currentStaff(c).ID, s.Store.Now())
	if ok {
		return ""
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return tr(c).N("staff.patrons.seconds", int64(secs))
}

// maskEmail keeps an address's first letter and its domain:
// r•••@example.org, enough to tell two Rosa Parkses apart.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		if email == "" {
			return ""
		}
		return "•••"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "•••@" + domain
}

// maskPhone keeps a number's last four digits: •••-•••-1234.
func maskPhone(phone string) string {
	var digits []rune
	for _, r := range phone {
		if unicode.IsDigit(r) {
			digits = append(digits, r)
		}
	}
	switch {
	case phone == "":
		return ""
	case len(digits) < 7:
		return "•••"
	}
	return "•••-•••-" + string(digits[len(digits)-4:])
}

// StaffPatron shows one patron's contact details and counts, never a PIN
// or a record's contents, and offers to start assistance.
func (s *Server) StaffPatron(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	return s.renderStaffPatron(c, id, http.StatusOK, views.StaffPatronView{})
}

// renderStaffPatron shows a patron's record, which is a look-up like a
// search: it takes from the same allowance (whichever route shows it, the
// page or a form of it shown again with an error), before anything is
// read, so that an unknown number costs the same as a known one. form is
// what a form sent back carries (its choices and Errors); the rest of the
// view is filled in here.
//
// A GET of the page is a visit, recorded as the record opened; the page
// shown again under a form sent back with an error is the same visit, and
// adds no entry, unless this staff member has not opened the record since
// they signed in (a form posted on its own).
func (s *Server) renderStaffPatron(c echo.Context, id int64, status int, form views.StaffPatronView) error {
	if paused := s.lookupPaused(c); paused != "" {
		return s.render(c, http.StatusTooManyRequests, views.StaffPatrons(s.page(c, tr(c).S("staff.patrons.title")), views.PatronSearch{PausedFor: paused}))
	}
	var openedSince *time.Time
	if c.Request().Method != http.MethodGet {
		start := session(c).CreatedAt()
		openedSince = &start
	}
	sum, err := s.Store.ViewPatron(c.Request().Context(), currentStaff(c).ID, id, s.Config.Sessions, openedSince)
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	t := tr(c)
	v := form
	v.ID, v.Name, v.Card, v.AssistMinutes = id, sum.FullName(), sum.CardNumber, int(s.Config.AssistLimit.Minutes())
	if v.Errors == nil {
		v.Errors = views.FieldErrors{}
	}
	// The categories kept on the patron's own row (contact, card) are
	// shown whole, the others counted.
	for _, cnt := range sum.Counts {
		cat := cnt.In(t)
		switch {
		case cnt.Table != "":
			v.Counts = append(v.Counts, views.CategoryCount{Label: cat.Title, Count: cnt.Count})
		case cat.Fields != nil:
			for _, f := range cat.Fields(sum.Patron) {
				v.Fields = append(v.Fields, views.Field{Label: f.Label, Value: f.Value})
			}
		}
	}
	for _, r := range models.AssistReasons {
		v.Reasons = append(v.Reasons, views.Option{Value: r.Value, Label: t.S("staff.assist.reason." + r.Value)})
	}
	for _, r := range models.IdentityChecks {
		v.Checks = append(v.Checks, views.Option{Value: r.Value, Label: t.S("staff.identity.check." + r.Value)})
	}
	// The desk printout's sections: all but the reading history, which
	// can run to hundreds of pages, unless ticked.
	for _, cat := range s.Store.Categories() {
		v.PrintChoices = append(v.PrintChoices, views.PrintChoice{Slug: cat.Slug, Title: cat.In(t).Title, Checked: cat.Controls != models.HistoryControls})
	}
	title := sum.FullName()
	if len(v.Errors) > 0 {
		title = staffErrorTitle(c, title)
	}
	return s.render(c, status, views.StaffPatron(s.page(c, title), v))
}

// StaffAssist starts assisting a patron: a stated reason, how the staff
// member checked the patron's identity, a new token, an audit entry (which
// the patron sees, with both), and the patron's own portal with a banner
// on every page.
func (s *Server) StaffAssist(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	reason, note := c.FormValue("reason"), strings.TrimSpace(c.FormValue("note"))
	check, checkNote := c.FormValue("identity"), strings.TrimSpace(c.FormValue("identity_note"))
	errs := views.FieldErrors{}
	if models.AssistReasonLabel(reason, note) == reason {
		errs["reason"] = tr(c).S("staff.assist.error.reason")
	} else if reason == "other" && note == "" {
		errs["note"] = tr(c).S("staff.assist.error.note")
	}
	if !oneLine(note) {
		errs["note"] = tr(c).S("staff.error.note_line")
	}
	checkIdentity(tr(c), errs, "identity", check, checkNote)
	if len(errs) > 0 {
		return s.renderStaffPatron(c, id, http.StatusUnprocessableEntity,
			views.StaffPatronView{Reason: reason, Note: note, Check: check, CheckNote: checkNote, Errors: errs})
	}
	st := currentStaff(c)
	p, err := s.Store.Patron(c.Request().Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	if reason != "other" {
		note = ""
	}
	if err := s.Store.RecordAssist(c.Request().Context(), st.ID, p.ID, models.AuditAssistStart, models.AssistReasonLabel(reason, note),
		models.IdentityCheckDetail(check, checkNote)); err != nil {
		return err
	}
	s.stats.Inc("assist.start")
	sess := session(c)
	sess.StartAssistance(p.ID, reason, note, s.Store.Now())
	if err := s.Sessions.Rotate(c.Request().Context(), sess); err != nil {
		return err
	}
	return s.redirect(c, "/data")
}

// checkIdentity puts in errs, under field and field+"_note", what is
// wrong with how a staff member says they checked that the person before
// them is the patron (a choice of models.IdentityChecks; "other" needs a
// one-line note), as assisting and the desk printout ask it, in t's words.
func checkIdentity(t *i18n.Tr, errs views.FieldErrors, field, check, note string) {
	if !slices.ContainsFunc(models.IdentityChecks, func(ic models.IdentityCheck) bool { return ic.Value == check }) {
		errs[field] = t.S("staff.identity.error")
	} else if check == "other" && note == "" {
		errs[field+"_note"] = t.S("staff.identity.error")
	}
	if !oneLine(note) {
		errs[field+"_note"] = t.S("staff.error.note_line")
	}
}

// oneLine says whether a note typed on a form is one line of at most 200
// characters.
func oneLine(note string) bool {
	return len([]rune(note)) <= 200 && strings.IndexFunc(note, unicode.IsControl) < 0
}

// deskPrintReason is the reason of a desk printout's audit entry.
const deskPrintReason = models.ReasonDeskPrint

// StaffPatronPrint prints the sections of a patron's record that the
// patron asks for at the desk (section=slug, one per category; the
// reading history's titles only while the patron keeps one). It is one
// audit entry naming the sections, which the patron sees among staff
// access, written before anything is read.
func (s *Server) StaffPatronPrint(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	p, err := s.Store.Patron(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad form")
	}
	chosen := map[string]bool{}
	var titles []string
	for _, cat := range s.Store.Categories() {
		if slices.Contains(form["section"], cat.Slug) {
			chosen[cat.Slug] = true
			titles = append(titles, cat.Title)
		}
	}
	// As for assisting: the record goes only to the patron, so staff say
	// how they checked that the person before them is the patron.
	check, checkNote := c.FormValue("identity"), strings.TrimSpace(c.FormValue("identity_note"))
	errs := views.FieldErrors{}
	if len(titles) == 0 {
		errs["print"] = tr(c).S("staff.print.error")
	}
	checkIdentity(tr(c), errs, "print_identity", check, checkNote)
	if len(errs) > 0 {
		return s.renderStaffPatron(c, id, http.StatusUnprocessableEntity,
			views.StaffPatronView{PrintCheck: check, PrintCheckNote: checkNote, Errors: errs})
	}
	st := currentStaff(c)
	detail := strings.Join(titles, ", ") + "; " + models.IdentityCheckDetail(check, checkNote)
	if err := s.Store.RecordAssist(ctx, st.ID, p.ID, models.AuditDeskPrint, deskPrintReason, detail); err != nil {
		return err
	}
	v, err := s.printView(c, &p, chosen, true)
	if err != nil {
		return err
	}
	s.stats.Inc("export.print_desk")
	return s.render(c, http.StatusOK, views.DataPrint(s.page(c, tr(c).S("staff.print.title", "Name", p.FullName())), v))
}

// AssistEnd ends the assistance and returns to the staff console.
func (s *Server) AssistEnd(c echo.Context) error {
	a, sess := currentAssist(c), session(c)
	if _, err := s.Store.EndAssist(c.Request().Context(), models.HashToken(sess.Token()), ""); err != nil {
		return err
	}
	if err := s.endAssistance(c, sess); err != nil {
		return err
	}
	s.flashRecord(c, "assist.ended", a.Patron.ID)
	return s.redirect(c, "/staff")
}

// DismissAssistNotice records that the patron read what staff did (see
// dismissNotices, web/data.go).
func (s *Server) DismissAssistNotice(c echo.Context) error { return s.dismissNotices(c) }

// StaffAudit lets privacy officers read and filter the audit log, shows
// the last verification of its chain, and offers the filtered entries as
// CSV.
func (s *Server) StaffAudit(c echo.Context) error {
	req, err := pageRequest(c)
	if err != nil {
		return err
	}
	v, f := s.auditFilter(tr(c), c.QueryParam)
	return s.auditPage(c, v, f, req)
}

// auditPage renders the audit page for the filter v and f: with its
// entries, or 422 and the filter's errors.
func (s *Server) auditPage(c echo.Context, v views.AuditView, f models.AuditFilter, req models.PageRequest) error {
	ctx := c.Request().Context()
	t := tr(c)
	check, ran, err := s.Store.LastAuditCheck(ctx)
	switch {
	case errors.Is(err, models.ErrAuditCheckUntrusted):
		// Someone who can write to the database may have planted it.
		v.CheckUntrusted = true
	case err != nil:
		return err
	case ran:
		since, err := s.Store.AuditEntriesSince(ctx, check)
		if err != nil {
			return err
		}
		v.Check = &views.AuditCheckView{Headline: auditCheckHeadline(t, check), When: s.dateTimeIn(t, check.At), By: check.By, Intact: check.Intact()}
		if !check.Intact() || check.Legacy > 0 || check.CheckpointID != 0 {
			// The whole sentence says what the headline cannot: why it
			// broke, or what else it checked.
			v.Check.Summary = auditCheckSummary(t, check)
		}
		if since > 0 {
			v.Check.Unchecked = t.N("staff.audit.unchecked", since)
		}
	}
	if len(v.Errors) > 0 {
		return s.render(c, http.StatusUnprocessableEntity, views.StaffAudit(s.page(c, t.S("staff.audit.title")), v))
	}
	pg, err := s.Store.AuditLog(ctx, f, req)
	if err != nil {
		return err
	}
	for _, r := range pg.Rows {
		v.Rows = append(v.Rows, views.AuditRow{When: s.dateTimeIn(t, r.CreatedAt), Staff: staffLabel(t, r.StaffName, r.Username),
			Patron: r.PatronCard, Action: auditActionLabel(t, r.Action), Reason: r.Reason, Detail: r.Detail, Restricted: r.Restricted})
	}
	base := "/staff/audit?" + auditQuery(v)
	if pg.Older != nil {
		v.OlderURL = base + "&after=" + pg.Older.String()
	}
	if pg.Newer != nil {
		v.NewerURL = base + "&before=" + pg.Newer.String()
	}
	return s.render(c, http.StatusOK, views.StaffAudit(s.page(c, t.S("staff.audit.title")), v))
}

// auditCheckHeadline is a verification's result in a few words.
func auditCheckHeadline(t *i18n.Tr, check models.AuditCheck) string {
	switch {
	case check.Intact() && check.Checked == 0:
		return t.S("staff.audit.headline.empty")
	case check.Intact():
		return t.N("staff.audit.headline.intact", int64(check.Checked))
	case check.BrokenID != 0:
		return t.S("staff.audit.headline.broken", "Entry", strconv.FormatInt(check.BrokenID, 10))
	}
	return t.S("staff.audit.headline.failed")
}

// auditCheckSummary is a verification's result in one sentence, as
// models.AuditCheck.Summary writes it for the command line and the logs,
// in t's words. What went wrong (Problem) is the verifier's own text.
func auditCheckSummary(t *i18n.Tr, check models.AuditCheck) string {
	entry := strconv.FormatInt(check.CheckpointID, 10)
	switch {
	case check.Intact():
		s := t.N("staff.audit.summary.intact", int64(check.Checked))
		if check.CheckpointID != 0 {
			s = t.N("staff.audit.summary.intact_checkpoint", int64(check.Checked), "Entry", entry)
		}
		if check.Legacy > 0 {
			s += " " + t.N("staff.audit.summary.legacy", int64(check.Legacy))
		}
		return s
	case check.BrokenID != 0:
		return t.S("staff.audit.summary.broken", "Entry", strconv.FormatInt(check.BrokenID, 10), "Problem", check.Problem)
	}
	return t.S("staff.audit.summary.failed", "Problem", check.Problem)
}

// auditActionLabel is an audit action in words, from the staff catalog;
// an action no message names (one an older version wrote) is shown as it
// is stored.
func auditActionLabel(t *i18n.Tr, action string) string {
	if id := "staff.audit.label." + action; i18n.Has(id) {
		return t.S(id)
	}
	return models.AuditActionLabel(action)
}

// roleName is a staff role in words.
func roleName(t *i18n.Tr, role string) string {
	if id := "staff.role." + role; i18n.Has(id) {
		return t.S(id)
	}
	return models.RoleName(role)
}

// staffErrorTitle is the title of a page shown again with what went wrong.
func staffErrorTitle(c echo.Context, title string) string {
	return tr(c).S("staff.error_title", "Page", title)
}

// auditFilter reads the audit page's filter through get (the query, or
// the export's form): the view's values and the filter they make, with
// an error next to each date that is not one. The dates are days in the
// library's time zone, both included. The words are t's.
func (s *Server) auditFilter(t *i18n.Tr, get func(string) string) (views.AuditView, models.AuditFilter) {
	v := views.AuditView{Action: get("action"), Staff: strings.TrimSpace(get("staff")), Card: strings.TrimSpace(get("card")),
		From: strings.TrimSpace(get("from")), To: strings.TrimSpace(get("to")), Errors: views.FieldErrors{}}
	for _, a := range models.AuditActions() {
		v.Actions = append(v.Actions, views.Option{Value: a, Label: auditActionLabel(t, a)})
	}
	f := models.AuditFilter{Action: v.Action, Staff: v.Staff, PatronCard: v.Card}
	for _, d := range []struct {
		field, raw string
		dst        **time.Time
		add        int
	}{{"from", v.From, &f.From, 0}, {"to", v.To, &f.To, 1}} {
		if d.raw == "" {
			continue
		}
		day, err := time.ParseInLocation("2006-01-02", d.raw, s.Config.Location)
		if err != nil {
			v.Errors[d.field] = t.S("staff.audit.error." + d.field)
			continue
		}
		day = day.AddDate(0, 0, d.add)
		*d.dst = &day
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		v.Errors["to"] = t.S("staff.audit.error.order")
	}
	return v, f
}

// StaffAuditCSV downloads the audit entries the page's filter chooses, all
// of them, as CSV through the formula-safe writer. It is a POST with the
// form token, since the entries name patrons and staff, and the download
// is itself an audit entry, written in the same transaction as the read.
func (s *Server) StaffAuditCSV(c echo.Context) error {
	v, f := s.auditFilter(tr(c), c.FormValue)
	if len(v.Errors) > 0 {
		return s.auditPage(c, v, f, models.PageRequest{})
	}
	st := currentStaff(c)
	var buf strings.Builder
	w := csvout.NewWriter(&buf)
	_ = w.Write([]string{"entry", "when", "staff", "staff_username", "patron_card", "action", "action_code", "reason", "detail", "restricted"})
	_, err := s.Store.ExportAuditLog(c.Request().Context(), st.ID, f, func(r models.AuditRecord) error {
		restricted := "no"
		if r.Restricted {
			restricted = "yes"
		}
		return w.Write([]string{strconv.FormatInt(r.ID, 10), r.CreatedAt.In(s.Config.Location).Format(time.RFC3339), r.StaffName, r.Username,
			r.PatronCard, models.AuditActionLabel(r.Action), r.Action, r.Reason, r.Detail, restricted})
	})
	if err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	name := "carrel-audit-log-" + s.Store.Now().In(s.Config.Location).Format("2006-01-02") + ".csv"
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	if err := s.saveSession(c); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(buf.String()))
}

// StaffAuditVerify verifies the audit log's chain now, for the privacy
// officer who asked, and records that they did. The result shows on the
// audit page.
func (s *Server) StaffAuditVerify(c echo.Context) error {
	st := currentStaff(c)
	check, err := s.Store.VerifyAuditAsStaff(c.Request().Context(), st.ID, st.Username)
	if err != nil {
		return err
	}
	if check.Intact() {
		s.flash(c, tr(c).S("staff.audit.verified_intact"))
	} else {
		s.Log.Error("audit log broken", "result", check.Summary())
		s.flash(c, tr(c).S("staff.audit.verified_broken"))
	}
	return s.redirect(c, "/staff/audit")
}

func staffLabel(t *i18n.Tr, name, username string) string {
	if username == "" {
		return t.S("staff.audit.system")
	}
	return name + " (" + username + ")"
}

func auditQuery(v views.AuditView) string {
	q := url.Values{}
	for k, val := range map[string]string{"action": v.Action, "staff": v.Staff, "card": v.Card, "from": v.From, "to": v.To} {
		if val != "" {
			q.Set(k, val)
		}
	}
	return q.Encode()
}

// StaffAccounts lists staff accounts for administrators.
func (s *Server) StaffAccounts(c echo.Context) error {
	all, err := s.Store.AllStaff(c.Request().Context())
	if err != nil {
		return err
	}
	t := tr(c)
	var rows []views.StaffRow
	for _, st := range all {
		status := t.S("staff.accounts.active")
		if st.DisabledAt != nil {
			status = t.S("staff.accounts.disabled", "Date", t.Date(*st.DisabledAt, s.Config.Location))
		}
		rows = append(rows, views.StaffRow{Username: st.Username, Name: st.DisplayName, Role: roleName(t, st.Role), Status: status})
	}
	return s.render(c, http.StatusOK, views.StaffAccounts(s.page(c, t.S("staff.accounts.title")), rows))
}
