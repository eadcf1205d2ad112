package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Steps and checks shared by the privacy journeys (history, favorites,
// mailing lists, export, staff assistance, catalog hand-off).

// Selectors of the portal's pages that several journeys use.
const (
	selNotice       = `[data-testid="notice"]`
	selRecords      = `[data-testid="records"]`
	selConfirm      = `[data-testid="confirm"]`
	selAssistBanner = `[data-testid="assist-banner"]`
	selUsername     = `#username`
	selPassword     = `#password`
)

// journeyKnownFailures are portal bugs that the privacy journeys found, by
// id: each is logged as KNOWN instead of failing the tests. It must only
// ever hold real, known portal bugs waiting for a fix outside e2e/; remove
// each entry with its fix.
var journeyKnownFailures = map[string]string{}

// knownFailure fails t with the message, unless id is listed in
// journeyKnownFailures: then it only logs it as a known portal bug.
func knownFailure(t *testing.T, id, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if why, ok := journeyKnownFailures[id]; ok {
		t.Logf("KNOWN portal bug (allowed by journeyKnownFailures[%q]: %s):\n%s", id, why, msg)
		return
	}
	t.Errorf("%s", msg)
}

// carrel runs the carrel binary with args the way an operator on the
// server would: the same data folder and database as the running portal,
// in demo mode so that it finds the demo secret key. It returns standard
// output and fails t when the command fails.
func (p *portal) carrel(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(carrelBin, args...)
	cmd.Env = append(slices.Clone(p.env), "CARREL_DEMO=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("carrel %s on %s: %v\n%s%s", args[0], p.DB, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// local rewrites an absolute link a carrel command printed (under the
// configured public URL) onto the test server: same path and query, the
// portal's scheme and host.
func (p *portal) local(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("want an absolute link, got %q", link)
	}
	return p.Base + u.RequestURI()
}

// visit navigates the tab to an absolute address (e.g. a link from an
// email or the catalog) and audits the page it lands on.
func (tb *tab) visit(address, page string) *pageState {
	tb.t.Helper()
	resp := run(tb, "open "+page, chromedp.NavigateResponse(address))
	return tb.audit(page, resp)
}

// signIn signs a patron in on the sign-in page the tab shows now and
// returns the page the portal sends them to.
func (tb *tab) signIn(p patron, page string) *pageState {
	tb.t.Helper()
	return tb.follow(page,
		chromedp.SendKeys(chromedp.CSS(selCard), p.Card),
		chromedp.SendKeys(chromedp.CSS(selPIN), p.PIN+kb.Enter))
}

// signInFresh opens the sign-in page and signs the patron in; they land on
// "What we hold about you".
func (tb *tab) signInFresh(p patron) *pageState {
	tb.t.Helper()
	login := tb.open("/login", "login")
	wantPage(tb.t, login, http.StatusOK, "/login", "Sign in")
	data := tb.signIn(p, "data")
	wantPage(tb.t, data, http.StatusOK, "/data", "What we hold about you")
	wantText(tb.t, data, p.Short)
	return data
}

// signInTo opens the sign-in page on its way to a page of the portal (as a
// bookmark of that page would), signs the patron in and returns that page.
func (tb *tab) signInTo(p patron, next, page string) *pageState {
	tb.t.Helper()
	path := "/login?next=" + url.QueryEscape(next)
	login := tb.open(path, "login")
	wantPage(tb.t, login, http.StatusOK, path, "Sign in")
	st := tb.signIn(p, page)
	if st.Path() != next {
		tb.t.Fatalf("after sign-in want to be back on %s, the browser is on %s (status %d)\n%s", next, st.Path(), st.Status, st.Text)
	}
	wantText(tb.t, st, p.Short)
	return st
}

// staffSignIn signs a staff member in at /staff/login on the way to next,
// a staff page, and returns that page.
func (tb *tab) staffSignIn(who staffAccount, next, page string) *pageState {
	tb.t.Helper()
	path := "/staff/login?next=" + url.QueryEscape(next)
	login := tb.open(path, "staff-login")
	wantPage(tb.t, login, http.StatusOK, path, "Staff sign-in")
	st := tb.follow(page,
		chromedp.SendKeys(chromedp.CSS(selUsername), who.Username),
		chromedp.SendKeys(chromedp.CSS(selPassword), who.Password+kb.Enter))
	if tb.has(`form[action="/staff/login/code"]`) {
		// The demo officer and admin have the demo's authenticator key:
		// the second step takes its code.
		wantText(tb.t, st, "Enter your code")
		st = tb.follow(page, chromedp.SendKeys(chromedp.CSS("#code"), nextDemoCode(who.Username)+kb.Enter))
	}
	if st.Path() != next {
		tb.t.Fatalf("after staff sign-in want to be on %s, the browser is on %s (status %d)\n%s", next, st.Path(), st.Status, st.Text)
	}
	wantText(tb.t, st, "Signed in as "+who.Name)
	return st
}

// click presses a link or a form's button and audits the page that loads.
func (tb *tab) click(sel, page string) *pageState {
	tb.t.Helper()
	return tb.follow(page, chromedp.Click(chromedp.CSS(sel)))
}

// has reports whether the page holds an element matching sel.
func (tb *tab) has(sel string) bool {
	tb.t.Helper()
	return eval[bool](tb, fmt.Sprintf(`!!document.querySelector(%q)`, sel))
}

// textOf is the visible text of the first element matching sel, or "".
func (tb *tab) textOf(sel string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? el.innerText.trim() : ""; })()`, sel))
}

// attr is an attribute of the first element matching sel, or "".
func (tb *tab) attr(sel, name string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? (el.getAttribute(%q) || "") : ""; })()`, sel, name))
}

// count is how many elements match sel.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	return eval[int](tb, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// wantElement checks that the page holds an element matching sel whose
// text contains each of texts.
func (tb *tab) wantElement(st *pageState, sel string, texts ...string) {
	tb.t.Helper()
	if !tb.has(sel) {
		tb.t.Errorf("%s: want %s on the page, it is not there:\n%s", st.Path(), sel, st.Text)
		return
	}
	got := tb.textOf(sel)
	for _, s := range texts {
		if !strings.Contains(got, s) {
			tb.t.Errorf("%s: want %s to say %q, it says %q", st.Path(), sel, s, got)
		}
	}
}

// wantNoElement checks that the page holds nothing matching sel.
func (tb *tab) wantNoElement(st *pageState, sel, why string) {
	tb.t.Helper()
	if tb.has(sel) {
		tb.t.Errorf("%s: %s, but %s is on the page: %q", st.Path(), why, sel, tb.textOf(sel))
	}
}

// wantNotice checks the one-line message a change leaves on the next page.
func (tb *tab) wantNotice(st *pageState, texts ...string) {
	tb.t.Helper()
	tb.wantElement(st, selNotice, texts...)
}

// wantEmptyJar checks that the tab's browser context holds no cookie at
// all (the cookie audit allows one; some pages must set none).
func (tb *tab) wantEmptyJar(where string) {
	tb.t.Helper()
	if jar := tb.cookies(); len(jar) != 0 {
		var names []string
		for _, c := range jar {
			names = append(names, c.Name+" ("+c.Domain+")")
		}
		tb.t.Errorf("%s: want an empty cookie jar, the browser holds %s", where, strings.Join(names, ", "))
	}
}

// wantNoIdentifiers checks that neither the page's text nor its HTML holds
// anything that identifies the patron.
func (tb *tab) wantNoIdentifiers(st *pageState, p patron, why string) {
	tb.t.Helper()
	html := eval[string](tb, `document.documentElement.outerHTML`)
	for _, id := range p.identifiers() {
		if strings.Contains(st.Text, id) || strings.Contains(html, id) {
			tb.t.Errorf("%s shows the patron's %q (%s):\n%s", st.Path(), id, why, st.Text)
		}
	}
}

// tableRows reads the cells of the rows of the first table matching sel,
// as the page shows them.
func (tb *tab) tableRows(sel string) [][]string {
	tb.t.Helper()
	return eval[[][]string](tb, fmt.Sprintf(`(() => {
		const t = document.querySelector(%q);
		if (!t) return [];
		return Array.from(t.tBodies[0] ? t.tBodies[0].rows : []).map(r => Array.from(r.cells).map(c => c.innerText.trim()));
	})()`, sel))
}

// formActions are the action addresses of the forms inside sel, in order:
// on a reading-history page they name the entries shown.
func (tb *tab) formActions(sel string) []string {
	tb.t.Helper()
	return eval[[]string](tb, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(f => f.getAttribute("action"))`, sel+" form"))
}

// demoCodes remembers the last time step each demo account signed in
// with: the portal accepts a code once, and journeys sign the same
// account in again within seconds.
var demoCodes = struct {
	sync.Mutex
	last map[string]int64
}{last: map[string]int64{}}

// nextDemoCode is a code of the demo's authenticator key that the portal
// has not seen for username: the current step's, or a later one within
// the step either side of now that the portal accepts; when those are
// used up, it waits for the next step to begin.
func nextDemoCode(username string) string {
	demoCodes.Lock()
	defer demoCodes.Unlock()
	step := max(time.Now().Unix()/30-1, demoCodes.last[username]+1)
	// It must still be accepted when the portal checks it, a moment later:
	// the step before this one stops being accepted as the next begins.
	step = max(step, time.Now().Add(2*time.Second).Unix()/30-1)
	if wait := time.Until(time.Unix((step-1)*30, 0)); wait > 0 {
		time.Sleep(wait + 100*time.Millisecond) // the clock is the signal
	}
	demoCodes.last[username] = step
	code, err := models.TOTPCode(models.DemoTOTPSecret, time.Unix(step*30, 0))
	if err != nil {
		panic(err)
	}
	return code
}
