package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// sessionCookie is the portal's one cookie on plain-HTTP demo mode (it is
// __Host-carrel_session over HTTPS).
const sessionCookie = "carrel_session"

// axeTags are the rule sets every page must pass: WCAG 2.0, 2.1 and 2.2,
// A and AA. (axe-core has no wcag22a tag: WCAG 2.2's new level A criteria
// have no automated rule.)
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// phoneWidth and phoneHeight are the phone every page is audited on as
// well: a 390 px wide viewport, as on most phones sold today.
const (
	phoneWidth  = 390
	phoneHeight = 844
)

// axeKnownViolations are axe rule ids that are reported but do not fail the
// tests yet, each with the page and element it was seen on. It must only
// ever hold real, known portal bugs waiting for a fix in views/ or static/;
// remove each entry with its fix.
var axeKnownViolations = map[string]string{}

// audit runs every per-page audit on the page the tab shows now, saves its
// screenshot as <journey>-<nn>-<page>.png and returns its state. resp is the
// response that loaded it, if known. The page is then shown on a phone
// (phoneWidth): saved as <journey>-<nn>-<page>-390.png, checked for sideways
// scrolling and by axe-core again, and put back at the desktop width.
func (tb *tab) audit(page string, resp *network.Response) *pageState {
	tb.t.Helper()
	tb.n++
	name := fmt.Sprintf("%s-%02d-%s", tb.journey, tb.n, page)
	st := tb.state()
	recordAudited(st.URL.Path)
	if resp != nil {
		st.Status = resp.Status
		// On a shared computer, Back after sign-out must find nothing.
		if cc := header(resp.Headers, "Cache-Control"); !strings.Contains(cc, "no-store") {
			tb.t.Errorf("%s (%s): want Cache-Control: no-store, got %q", st.Path(), name, cc)
		}
	}
	tb.checkEvents()
	tb.checkCookies(name)
	if trimmed := tb.trimLongTables(); trimmed > 0 {
		tb.t.Logf("%s (%s) has %d table rows more than the first %d of each table; the screenshot and axe-core see only those first rows",
			st.Path(), name, trimmed, sampleRows)
		defer tb.restoreLongTables()
	}
	tb.screenshot(name)
	if tb.noJS {
		tb.setScripts(true)
		defer tb.setScripts(false)
	}
	tb.checkAxe(name, st)

	// A journey that emulates a small screen itself (the zoom test) has
	// just audited the page on it.
	if eval[float64](tb, `document.documentElement.clientWidth`) <= phoneWidth {
		return st
	}
	phone := fmt.Sprintf("%s-%d", name, phoneWidth)
	tb.setPhone(true)
	defer tb.setPhone(false)
	tb.screenshot(phone)
	tb.wantNoHorizontalScroll(st.URL.Path, fmt.Sprintf("%s (%s) on a phone", st.Path(), phone))
	tb.wantCellLabels(phone, st)
	tb.checkAxe(phone, st)
	return st
}

// wantCellLabels checks that every body cell of every table carries its
// column's name in data-label, which a phone shows beside the value (the
// table's header row is out of sight there).
func (tb *tab) wantCellLabels(name string, st *pageState) {
	tb.t.Helper()
	missing := eval[[]string](tb, `Array.from(document.querySelectorAll("tbody td, tbody th"))
		.filter(c => !c.getAttribute("data-label") && c.textContent.trim() !== "")
		.slice(0, 5)
		.map(c => (c.closest("table").dataset.testid || "a table") + ": " + c.outerHTML.slice(0, 100))`)
	for _, m := range missing {
		tb.t.Errorf("phone: %s (%s): a table cell has no data-label, so a phone shows it without its column's name: %s", st.Path(), name, m)
	}
}

// setPhone shows the page on a phone (phoneWidth by phoneHeight, with its
// viewport meta tag and overlay scrollbars), or back at the window's size.
func (tb *tab) setPhone(on bool) {
	tb.t.Helper()
	do(tb, fmt.Sprintf("emulate a phone=%v", on), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if !on {
			_, err := cdp.Call(ctx, t, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: phoneWidth, Height: phoneHeight, DeviceScaleFactor: 1, Mobile: true})
		return err
	}))
}

// state reads the page's address, title and visible text.
func (tb *tab) state() *pageState {
	tb.t.Helper()
	loc := run(tb, "read the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		tb.t.Fatalf("the page's location %q: %v", loc, err)
	}
	return &pageState{
		URL:   u,
		Title: run(tb, "read the title", chromedp.Title()),
		Text:  eval[string](tb, `document.body ? document.body.innerText : ""`),
	}
}

// longPageRows and sampleRows keep the audits affordable on the rare page
// with thousands of table rows (the printable record of a 5,000-item reading
// history, where axe-core alone takes a quarter of a minute and a screenshot
// several seconds): when a page has more than longPageRows table body rows
// in all, the rows after the first sampleRows of each table are taken out
// of the page while the screenshot and axe-core run, and put back after.
// Those rows repeat the same markup with other text. The page's text, read
// before, and everything a journey checks afterwards see every row.
const (
	longPageRows = 400
	sampleRows   = 50
)

// trimLongTables takes the rows after the first sampleRows of each table
// out of a page with more than longPageRows rows, keeping them to put back
// with restoreLongTables. It returns how many rows it took out.
func (tb *tab) trimLongTables() int {
	tb.t.Helper()
	return eval[int](tb, fmt.Sprintf(`(() => {
		if (document.querySelectorAll("tbody > tr").length <= %d) return 0;
		let n = 0;
		window.__carrelTrimmed = Array.from(document.querySelectorAll("tbody")).map(tbody => {
			const extra = document.createDocumentFragment();
			while (tbody.rows.length > %d) { extra.prepend(tbody.lastElementChild); n++; }
			return [tbody, extra];
		});
		return n;
	})()`, longPageRows, sampleRows))
}

// restoreLongTables puts back what trimLongTables took out.
func (tb *tab) restoreLongTables() {
	tb.t.Helper()
	eval[bool](tb, `(() => {
		for (const [tbody, extra] of window.__carrelTrimmed || []) tbody.append(extra);
		delete window.__carrelTrimmed;
		return true;
	})()`)
}

// header finds a response header by name, whatever its case.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// --- cookies ---

// cookies is the tab's whole cookie jar (its browser context), for every
// site, as DevTools sees it.
func (tb *tab) cookies() []*network.Cookie {
	tb.t.Helper()
	id := chromedp.FromContext(tb.ctx).BrowserContextID
	res := run(tb, "read the cookie jar", func(ctx context.Context, _ *chromedp.Target) (storage.GetCookiesResult, error) {
		return chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: id})
	})
	return res.Cookies
}

// checkCookies is the cookie audit of the tab's jar; it returns the
// portal's session cookie, or nil when the jar is empty.
func (tb *tab) checkCookies(where string) *network.Cookie {
	tb.t.Helper()
	host, _, _ := strings.Cut(tb.portal.Host, ":")
	problems, session := cookieProblems(tb.cookies(), host)
	for _, p := range problems {
		tb.t.Errorf("cookie audit at %s: %s", where, p)
	}
	return session
}

// cookieProblems is the cookie audit: at most one cookie, the portal's
// session cookie for host, kept only for the browser session, out of reach
// of scripts, SameSite=Lax, and holding nothing that identifies a patron.
// It also returns that cookie, if the jar holds it.
func cookieProblems(jar []*network.Cookie, host string) (problems []string, session *network.Cookie) {
	if len(jar) > 1 {
		var names []string
		for _, c := range jar {
			names = append(names, c.Name+" ("+c.Domain+")")
		}
		problems = append(problems, fmt.Sprintf("want at most one cookie, the browser holds %d: %s",
			len(jar), strings.Join(names, ", ")))
	}
	for _, c := range jar {
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("cookie %q: ", c.Name)+fmt.Sprintf(format, args...))
		}
		if c.Name != sessionCookie {
			bad("the portal sets only %q", sessionCookie)
			continue
		}
		session = c
		if !c.Session || c.Expires > 0 {
			bad("want a session cookie (no Expires, no Max-Age), it expires at %v", c.Expires)
		}
		if !c.HTTPOnly {
			bad("want HttpOnly")
		}
		if c.SameSite != network.CookieSameSiteLax {
			bad("want SameSite=Lax, got %q", c.SameSite)
		}
		if c.Path != "/" {
			bad("want Path=/, got %q", c.Path)
		}
		if c.Domain != host {
			bad("want a host-only cookie for %s, got domain %q", host, c.Domain)
		}
		decoded, _ := url.QueryUnescape(c.Value)
		for _, p := range demoPatrons {
			for _, id := range p.identifiers() {
				id := strings.ToLower(id)
				if strings.Contains(strings.ToLower(c.Value), id) || strings.Contains(strings.ToLower(decoded), id) {
					bad("its value holds the patron identifier %q", id)
				}
			}
		}
	}
	return problems, session
}

// replayCookie puts a cookie value back into the jar as the portal's
// session cookie, as someone who copied it before sign-out would.
func (tb *tab) replayCookie(value string) {
	tb.t.Helper()
	httpOnly := true
	do(tb, "set the old session cookie", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{
			Name: sessionCookie, Value: value, URL: tb.portal.URL("/"), Path: "/",
			HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
		})
		return err
	}))
}

// --- screenshots ---

// maxShotHeight bounds a screenshot's height in CSS pixels. Chromium
// refuses to capture a much taller page ("Page is too large"): such a page
// is captured from the top down to this height, and the log says so.
const maxShotHeight = 16000

// screenshot saves a full-page PNG under e2e/screenshots/<db>/. It asks
// Chromium to encode for speed rather than size: most of a screenshot's
// cost is the PNG encoding, and the files are not kept.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	yes := true
	params := page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: &yes, FromSurface: &yes, OptimizeForSpeed: &yes}
	size := eval[[2]float64](tb, `[document.documentElement.scrollWidth, document.documentElement.scrollHeight]`)
	if size[1] > maxShotHeight {
		tb.t.Logf("screenshot %s: the page is %.0f CSS px tall; saving its top %d px", name, size[1], maxShotHeight)
		params.Clip = &page.Viewport{Width: size[0], Height: maxShotHeight, Scale: 1}
	}
	png := run(tb, "take a screenshot", func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, params)
		return res.Data, err
	})
	path := filepath.Join(tb.shots, safeName(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Errorf("save screenshot: %v", err)
	}
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "-") }

// --- accessibility ---

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(axeJS)
	return string(b), err
})

type axeResults struct {
	Violations []axeViolation `json:"violations"`
	Incomplete []string       `json:"incomplete"`
}

type axeViolation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"`
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []axeNode `json:"nodes"`
}

type axeNode struct {
	Target  []string `json:"target"`
	HTML    string   `json:"html"`
	Summary string   `json:"summary"`
}

// axeRun runs axe in the page and returns plain data only.
var axeRun = `axe.run(document, {
	runOnly: {type: "tag", values: ` + jsStrings(axeTags) + `},
	resultTypes: ["violations"]
}).then(r => ({
	violations: r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, summary: n.failureSummary || ""}))
	})),
	incomplete: r.incomplete.map(v => v.id)
}))`

func jsStrings(ss []string) string {
	return `["` + strings.Join(ss, `", "`) + `"]`
}

// checkAxe injects axe-core into the page through DevTools (not a page
// script, so the page's CSP does not block it) and fails on any violation
// of axeTags, rule by rule and element by element.
func (tb *tab) checkAxe(name string, st *pageState) {
	tb.t.Helper()
	if axeJS == "" {
		return // newBrowser said so, loudly
	}
	res := tb.axe()
	for _, v := range res.Violations {
		report := formatViolation(v, st.Path(), name)
		if why, ok := axeKnownViolations[v.ID]; ok {
			tb.t.Logf("KNOWN accessibility violation (allowed by axeKnownViolations: %s):\n%s", why, report)
			continue
		}
		tb.t.Errorf("accessibility: %s", report)
	}
	if len(res.Incomplete) > 0 {
		tb.t.Logf("axe on %s (%s): needs a human review: %s", st.Path(), name, strings.Join(res.Incomplete, ", "))
	}
}

// axe injects axe-core into the page if it is not there yet and runs it.
func (tb *tab) axe() axeResults {
	tb.t.Helper()
	src, err := axeSource()
	if err != nil {
		tb.t.Fatalf("read axe-core: %v", err)
	}
	if !eval[bool](tb, `typeof window.axe === "object"`) {
		eval[chromedp.Void](tb, src+"\n;true")
	}
	return run(tb, "run axe-core", chromedp.Evaluate[axeResults](axeRun, chromedp.EvalAwaitPromise))
}

func formatViolation(v axeViolation, path, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) on %s [%s]: %s\n    %s\n", v.ID, v.Impact, path, name, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "    at %s\n      %s\n", strings.Join(n.Target, " "), n.HTML)
		for _, line := range strings.Split(strings.TrimSpace(n.Summary), "\n") {
			fmt.Fprintf(&b, "      %s\n", strings.TrimSpace(line))
		}
	}
	return b.String()
}
