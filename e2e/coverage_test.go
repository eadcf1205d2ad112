package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
)

// Route coverage: every page of the portal that a patron or a staff member
// can open is audited (axe-core at 1280 and 390 px, sideways scrolling,
// cookies, off-site requests) by some journey. audit records the path of
// each page it audits; after a whole run, TestMain compares them with the
// GET routes of the route table (web.Server.RouteTable), matched the way
// the portal's router matches them, so a new page
// without a journey fails the suite.

// auditedPaths are the paths of the pages audited in this run, on either
// database.
var auditedPaths = struct {
	sync.Mutex
	seen map[string]bool
}{seen: map[string]bool{}}

// recordAudited notes that the page at path was audited.
func recordAudited(path string) {
	auditedPaths.Lock()
	defer auditedPaths.Unlock()
	auditedPaths.seen[path] = true
}

// notPages are the GET routes that serve no HTML page, each with the
// reason it needs no page audit.
var notPages = map[string]string{
	"/data/export.json":    "a JSON download (TestExportJourney checks its content)",
	"/staff/stats.csv":     "a CSV download",
	"/staff/oidc/callback": "redirects after single sign-on, which the demo portal has no identity provider for",
	"/metrics":             "Prometheus text for the operator",
	"/healthz":             "plain text for the load balancer",
	"/readyz":              "plain text for the load balancer",
	"/static/*":            "style sheets, scripts and images",
	"/library-logo":        "an image",
}

// routeCoverageProblems lists what the suite left unaudited: each GET
// route of the route table that serves a page and matched no audited path,
// and each category of "What we hold about you" whose page was not
// audited. It also flags a notPages entry that is no longer a route.
func routeCoverageProblems(seen map[string]bool) []string {
	var problems []string
	table := (&web.Server{}).RouteTable()
	audited := auditedRoutes(table, seen)
	gets := map[string]bool{}
	for _, r := range table {
		if r.Method != http.MethodGet {
			continue
		}
		gets[r.Path] = true
		if _, ok := notPages[r.Path]; ok || audited[r.Path] {
			continue
		}
		problems = append(problems, fmt.Sprintf("GET %s (route %q) serves a page that no journey audits: add a journey (e2e/coverage_test.go) or, if it is no HTML page, list it in notPages with the reason", r.Path, r.Name))
	}
	for path := range notPages {
		if !gets[path] {
			problems = append(problems, fmt.Sprintf("notPages names %s, which is no GET route of the route table any more", path))
		}
	}
	for _, c := range models.Categories() {
		if !seen["/data/"+c.Slug] {
			problems = append(problems, fmt.Sprintf("the page of the category %q (/data/%s) is never audited", c.Title, c.Slug))
		}
	}
	slices.Sort(problems)
	return problems
}

// auditedRoutes are the route patterns of the audited paths, as the
// portal's router matches them (a static route before one with a
// parameter: /staff/lists/new is not /staff/lists/:slug).
func auditedRoutes(table []web.Route, paths map[string]bool) map[string]bool {
	e := echo.New()
	for _, r := range table {
		e.Add(r.Method, r.Path, func(echo.Context) error { return nil })
	}
	out := map[string]bool{}
	for path := range paths {
		c := e.NewContext(nil, nil)
		e.Router().Find(http.MethodGet, path, c)
		out[c.Path()] = true
	}
	return out
}

// checkRouteCoverage runs after the tests: when the whole suite ran (no
// -run, -skip, -list or -short) with a browser and axe-core, and passed, it
// reports every page no journey audited, and fails the run if there is one.
func checkRouteCoverage(code int) int {
	if code != 0 || chromiumPath == "" || axeJS == "" || testingShort() {
		return code
	}
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return code
		}
	}
	auditedPaths.Lock()
	problems := routeCoverageProblems(auditedPaths.seen)
	auditedPaths.Unlock()
	if len(problems) == 0 {
		return code
	}
	fmt.Printf("--- FAIL: route coverage: %d page(s) of the portal are never audited:\n", len(problems))
	for _, p := range problems {
		fmt.Printf("    %s\n", p)
	}
	fmt.Println("FAIL")
	return 1
}

func testingShort() bool {
	f := flag.Lookup("test.short")
	return f != nil && f.Value.String() == "true"
}

// TestPageStatesJourney audits the page states that the other journeys do
// not reach: the desk (the console's search and recent patrons, a refused
// page, the desk printout and its error, the assistance form sent without
// a reason, an assistance that ran out), the privacy officer's audit log
// with a bad date, the second-factor page and the legal request form with
// their errors, an administrator's mailing-list forms with their errors,
// and the patron's reading-history search with a bad date, the keep and
// clear confirmations, a favorite without a name, weekly notices, a page
// that does not exist, the hand-off question, a wrong staff password, the sign-in pages after an idle timeout and a notice
// unsubscribe link that does not work. The timeouts are real: the journey
// moves the sessions' clocks back in the database (see agePatronSessions),
// as waiting for them would take minutes.
func TestPageStatesJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		p := startPortal(t, db)
		p.carrel(t, "opac", "add", "--id", "koha", "--origin", catalogOrigin)

		// The desk: an assistant opens Blake's record, goes back to the
		// console, prints for Blake and starts assisting them.
		desk := b.newTab(t, p, "states-desk")
		desk.staffSignIn(demoAssistant, "/staff/patrons", "find-patron")
		desk.follow("patron-search", chromedp.SendKeys(chromedp.CSS(`#q`), "Sample"+kb.Enter))
		record := desk.follow("patron-record", chromedp.Click(chromedp.JSPath(
			`Array.from(document.querySelectorAll('[data-testid="results"] a')).find(a => a.innerText.trim() === "Blake Sample")`)))
		wantPage(t, record, http.StatusOK, record.URL.Path, blake.FullName)
		recordPath := record.URL.Path

		console := desk.open("/staff", "console")
		wantPage(t, console, http.StatusOK, "/staff", "Staff console")
		desk.wantElement(console, `[data-testid="console-search"]`)
		desk.wantElement(console, `[data-testid="recent-patrons"]`, blake.FullName)

		refused := desk.open("/staff/audit", "role-refused")
		wantPage(t, refused, http.StatusForbidden, "/staff/audit", "")

		desk.open(recordPath, "patron-record-again")
		eval[bool](desk, `(() => { document.querySelectorAll('[data-testid="desk-print"] input[type="checkbox"]').forEach(c => c.checked = false); return true; })()`)
		none := desk.click(`[data-testid="desk-print-submit"]`, "desk-print-none")
		wantPage(t, none, http.StatusUnprocessableEntity, recordPath+"/print", blake.FullName)
		desk.wantElement(none, `[data-testid="print-error"]`, "Choose at least one section to print.")
		do(desk, "tick the first section", chromedp.Click(chromedp.CSS(`[data-testid="desk-print"] input[type="checkbox"]`)))
		do(desk, "say the library card was seen", chromedp.Click(chromedp.CSS(`[data-testid="desk-print"] input[name="identity"][value="card"]`)))
		printout := desk.click(`[data-testid="desk-print-submit"]`, "desk-printout")
		wantPage(t, printout, http.StatusOK, recordPath+"/print", blake.FullName)

		desk.open(recordPath, "patron-record-assist")
		unsaid := desk.click(`[data-testid="start-assist"]`, "assist-without-reason")
		wantPage(t, unsaid, http.StatusUnprocessableEntity, recordPath+"/assist", blake.FullName)
		desk.wantVisible(selFormError)
		desk.wantElement(unsaid, `[data-testid="reason-error"]`)
		desk.wantElement(unsaid, `[data-testid="identity-error"]`)
		do(desk, "choose At the desk", chromedp.Click(chromedp.CSS(`input[name="reason"][value="desk"]`)))
		do(desk, "choose Library card seen", chromedp.Click(chromedp.CSS(`input[name="identity"][value="card"]`)))
		assisting := desk.click(`[data-testid="start-assist"]`, "assist-data")
		wantPage(t, assisting, http.StatusOK, "/data", "What we hold about you")

		// The patron's own pages.
		pt := b.newTab(t, p, "states-patron")
		pt.signInFresh(alex)
		badDate := pt.open("/data/reading-history?q=&from=2026-02-30&to=", "history-search-bad-date")
		wantPage(t, badDate, http.StatusUnprocessableEntity, "/data/reading-history?q=&from=2026-02-30&to=", "Reading history")
		pt.wantVisible(selFormError)
		pt.open("/data/reading-history", "reading-history")
		do(pt, "choose to keep 12 months", chromedp.Click(chromedp.CSS(`[data-testid="history-keep"] input[value="12"]`)))
		keep := pt.click(`[data-testid="history-keep-save"]`, "history-keep-confirm")
		wantPage(t, keep, http.StatusOK, "/data/reading-history/keep", "Keep only the last")
		clear := pt.open("/data/reading-history/clear", "history-clear-confirm")
		wantPage(t, clear, http.StatusOK, "/data/reading-history/clear", "")
		pt.open("/favorites", "favorites")
		unnamed := pt.click(`[data-testid="add"]`, "favorites-add-empty")
		wantPage(t, unnamed, http.StatusUnprocessableEntity, "/favorites/add", "Favorite authors and subjects")
		pt.wantVisible(selFormError)
		do(pt, "choose weekly notices", chromedp.Click(chromedp.CSS(`input[name="notice"][value="weekly"]`)))
		weekly := pt.click(`[data-testid="save-notice"]`, "favorites-weekly")
		wantPage(t, weekly, http.StatusOK, "/favorites", "Favorite authors and subjects")
		pt.wantElement(weekly, `[data-testid="notice-schedule"]`, "Weekly, on")
		missing := pt.open("/no-such-page", "not-found")
		wantPage(t, missing, http.StatusNotFound, "/no-such-page", "")
		// A catalog link for another patron, while Alex is signed in: the
		// portal asks before it switches.
		minted := strings.TrimSpace(p.carrel(t, "opac", "mint", "--id", "koha", "--card", blake.Card,
			"--to", "/favorites", "--return", catalogOrigin+"/x"))
		ask := pt.visit(p.local(t, minted), "handoff-confirm")
		wantPage(t, ask, http.StatusOK, "/opac/handoff/confirm", "")

		// The privacy officer: the audit log with a date that does not
		// exist, and the second factor.
		officer := b.newTab(t, p, "states-officer")
		officer.staffSignIn(demoOfficer, "/staff/2fa", "staff-2fa")
		const auditBad = "/staff/audit?action=&staff=&card=&from=2026-02-30&to="
		audit := officer.open(auditBad, "audit-bad-date")
		wantPage(t, audit, http.StatusUnprocessableEntity, auditBad, "Audit log")
		officer.wantVisible(selFormError)
		officer.open("/staff/2fa", "staff-2fa-again")
		noCodes := officer.click(`main form button[type="submit"]`, "staff-2fa-errors")
		wantPage(t, noCodes, http.StatusUnauthorized, "/staff/2fa", "Set up your second factor")
		officer.wantVisible(selFormError)
		officer.open("/staff/legal/new", "legal-new")
		noLegal := officer.click(`form[action="/staff/legal/new"] button[type="submit"]`, "legal-new-errors")
		wantPage(t, noLegal, http.StatusUnprocessableEntity, "/staff/legal/new", "Record a legal request")
		officer.wantVisible(selFormError)

		// An administrator: a new mailing list sent empty, and a list's
		// edit form sent without a name.
		admin := b.newTab(t, p, "states-admin")
		admin.staffSignIn(demoAdmin, "/staff/lists/new", "list-new")
		empty := admin.click(`main form button[type="submit"]`, "list-new-errors")
		wantPage(t, empty, http.StatusUnprocessableEntity, "/staff/lists/new", "New mailing list")
		admin.wantVisible(selFormError)
		admin.open("/staff/lists/events", "list-edit")
		do(admin, "clear the name", chromedp.Clear(chromedp.CSS(`#name`)))
		noName := admin.click(`main form button[type="submit"]`, "list-edit-errors")
		wantPage(t, noName, http.StatusUnprocessableEntity, "/staff/lists/events", "Edit")
		admin.wantVisible(selFormError)

		// Idle timeouts. The patron's form, sent after it, is not carried
		// out; signing in leads back to the page it was on.
		pt.open("/favorites", "favorites-before-idle")
		direct := p.database(t)
		ageSessions(t, direct, "staff_id IS NULL", time.Hour)
		do(pt, "choose daily notices", chromedp.Click(chromedp.CSS(`input[name="notice"][value="daily"]`)))
		idle := pt.click(`[data-testid="save-notice"]`, "login-after-idle")
		wantPage(t, idle, http.StatusOK, "/login?next=%2Ffavorites&ended=idle&form=1", "Sign in")
		wantText(t, idle, "You were signed out after 15 minutes without activity; nothing was changed.")
		back := pt.signIn(alex, "favorites-after-idle")
		wantPage(t, back, http.StatusOK, "/favorites", "Favorite authors and subjects")
		pt.wantElement(back, `[data-testid="notice-schedule"]`, "Weekly, on")
		// The officer's session (no assistance) times out too.
		ageSessions(t, direct, "staff_id IS NOT NULL AND assist_patron_id IS NULL", time.Hour)
		staffIdle := officer.open("/staff/audit", "staff-login-after-idle")
		wantPage(t, staffIdle, http.StatusOK, "/staff/login?next=%2Fstaff%2Faudit&ended=idle", "Staff sign-in")
		officer.wantVisible(`[data-testid="session-ended"]`)

		// A notice unsubscribe link that does not work, and a wrong
		// staff password.
		out := b.newTab(t, p, "states-signed-out")
		out.open("/staff/login", "staff-login")
		wrong := out.follow("staff-login-wrong-password",
			chromedp.SendKeys(chromedp.CSS(selUsername), demoAssistant.Username),
			chromedp.SendKeys(chromedp.CSS(selPassword), "not-the-password"+kb.Enter))
		wantPage(t, wrong, http.StatusUnauthorized, "/staff/login", "Staff sign-in")
		out.wantVisible(selFormError)
		badLink := out.open("/unsubscribe/notices/not-a-token", "notices-unsubscribe-bad-link")
		wantPage(t, badLink, http.StatusNotFound, "/unsubscribe/notices/not-a-token", "This link does not work")
		// The link of a new-arrival email to Alex: its question, and its
		// answer.
		stop := out.visit(p.URL(noticeLink(t, p, direct, alex)), "notices-unsubscribe")
		wantText(t, stop, "Stop emails about your favorite authors and subjects?")
		out.wantEmptyJar("the notice unsubscribe link's page")
		stopped := out.click(`[data-testid="confirm-stop-notices"]`, "notices-unsubscribed")
		wantText(t, stopped, "No more emails about your favorite authors and subjects")

		// Back at the desk once the assistance has run out.
		ageAssistance(t, direct, 16*time.Minute)
		ended := desk.open("/data/fines", "assistance-ended")
		wantPage(t, ended, http.StatusOK, "/data/fines", "Assistance has ended")
		desk.wantNoElement(ended, selAssistBanner, "the assistance has ended")
	})
}

// setting is the value of one of portal p's settings, or "".
func (p *portal) setting(name string) string {
	var value string
	for _, kv := range p.env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			value = v
		}
	}
	return value
}

// database opens the database of portal p directly, as its operator could.
func (p *portal) database(t *testing.T) *gorm.DB {
	t.Helper()
	dbURL := p.setting("CARREL_DATABASE_URL")
	if dbURL == "" {
		dbURL = filepath.Join(p.setting("CARREL_DATA_DIR"), "carrel.db") // cmd/carrel's default
	}
	return openDatabase(t, dbURL)
}

// noticeLink is the path of the unsubscribe link in the new-arrival emails
// to pt, made with the demo portal's secret key as the portal makes it
// (no carrel command prints it, and the demo portal sends no email).
func noticeLink(t *testing.T, p *portal, db *gorm.DB, pt patron) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(p.setting("CARREL_DATA_DIR"), "demo-secret.key"))
	if err != nil {
		t.Fatalf("the demo secret key: %v", err)
	}
	keys, err := models.ParseKeys(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.NewStore(db, models.SystemClock{}, keys, 0)
	if err != nil {
		t.Fatal(err)
	}
	who, err := store.PatronByCard(context.Background(), pt.Card)
	if err != nil {
		t.Fatalf("find %s: %v", pt.FullName, err)
	}
	return "/unsubscribe/notices/" + store.NoticeToken(who.ID)
}

// ageSessions moves the last request of the sessions matching where back
// by ago, as if their browsers had been left alone that long.
func ageSessions(t *testing.T, db *gorm.DB, where string, ago time.Duration) {
	t.Helper()
	res := db.Model(&models.Session{}).Where(where).Update("last_seen_at", time.Now().Add(-ago))
	if res.Error != nil || res.RowsAffected == 0 {
		t.Fatalf("age the sessions where %s: %v (%d rows)", where, res.Error, res.RowsAffected)
	}
}

// ageAssistance moves the start of every assistance in progress back by
// ago, as if it had begun that long before.
func ageAssistance(t *testing.T, db *gorm.DB, ago time.Duration) {
	t.Helper()
	var rows []models.Session
	if err := db.Where("assist_patron_id IS NOT NULL").Find(&rows).Error; err != nil || len(rows) == 0 {
		t.Fatalf("find the assistance in progress: %v (%d sessions)", err, len(rows))
	}
	for _, row := range rows {
		data := map[string]any{}
		if err := json.Unmarshal([]byte(row.Data), &data); err != nil {
			t.Fatalf("a session's data: %v", err)
		}
		data[models.SessionAssistStarted] = time.Now().Add(-ago).UTC().Format(time.RFC3339Nano)
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Model(&models.Session{}).Where("token_hash = ?", row.TokenHash).Update("data", string(b)).Error; err != nil {
			t.Fatalf("age the assistance: %v", err)
		}
	}
}

// TestRouteCoverageCheck: the check after a whole run names a page route
// that nothing audited, matches paths to patterns with parameters, and
// is content when every page was audited. It needs no browser.
func TestRouteCoverageCheck(t *testing.T) {
	everything := map[string]bool{"/staff/lists/events": true, "/unsubscribe/notices/x": true}
	for _, r := range (&web.Server{}).RouteTable() {
		if r.Method == http.MethodGet && !strings.Contains(r.Path, ":") {
			everything[r.Path] = true
		}
	}
	for _, c := range models.Categories() {
		everything["/data/"+c.Slug] = true
	}
	everything["/unsubscribe/x"] = true
	everything["/staff/patrons/7"], everything["/staff/legal/3"] = true, true
	if got := routeCoverageProblems(everything); len(got) != 0 {
		t.Errorf("every page audited: want no problems, got:\n%s", strings.Join(got, "\n"))
	}
	// /staff/lists/new, still audited, is a route of its own: it does not
	// stand for /staff/lists/:slug.
	delete(everything, "/staff/lists/events")
	delete(everything, "/data/fines")
	got := strings.Join(routeCoverageProblems(everything), "\n")
	for _, want := range []string{`GET /staff/lists/:slug (route "staff.lists.edit")`, "(/data/fines) is never audited"} {
		if !strings.Contains(got, want) {
			t.Errorf("want a problem naming %s, got:\n%s", want, got)
		}
	}
}
