package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds every browser step, so that a page that never loads
// fails the test instead of hanging it.
const stepTimeout = 30 * time.Second

// browser is one headless Chromium, shared by the subtests of one test;
// each journey gets a tab of its own in a fresh browser context (its own
// cookie jar and cache).
type browser struct {
	ctx    context.Context
	output *syncBuffer
}

// newBrowser starts Chromium for t and closes it when t ends. Without a
// browser t is skipped (fails in CI); in CI axe-core must be there too.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if chromiumPath == "" {
		required(t, "Chromium", "Install it (apt-get install chromium) or set CARREL_CHROMIUM.",
			errors.New("no chromium on PATH and CARREL_CHROMIUM not set"))
	}
	if axeJS == "" && inCI {
		t.Fatalf("e2e: axe-core is required in CI (CI=true): run `make axe` (npm) or set CARREL_AXE_JS")
	}
	profile, err := os.MkdirTemp("", "carrel-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{output: &syncBuffer{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(b.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit
		_ = os.RemoveAll(profile)
	})
	// The first Do starts the browser, whose life is bound to ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v\n%s", chromiumPath, err, b.output)
	}
	b.ctx = ctx
	if axeJS == "" {
		t.Logf("\n\n*** WARNING: axe-core is not installed (run `make axe`, which needs npm, or set CARREL_AXE_JS).\n" +
			"*** The accessibility check was SKIPPED in this test.\n\n")
	}
	return b
}

// tab is one journey's browser tab on one portal, with its audits.
type tab struct {
	t       *testing.T
	ctx     context.Context
	portal  *portal
	journey string // names the screenshots: <journey>-<nn>-<page>.png
	shots   string // the screenshot folder
	n       int    // pages audited so far

	// noJS is set by disablePageScripts: the page's own scripts stay off,
	// and are switched on only while the audits run DevTools code.
	noJS bool

	// The audits' findings, gathered by the event listener.
	mu        sync.Mutex
	documents map[network.RequestID]bool // page loads, whose status a journey checks itself
	offsite   []string                   // requests to anywhere but the portal
	console   []string                   // uncaught exceptions and browser log errors
	reported  int                        // offsite entries already reported
	creported int                        // console entries already reported
}

// newTab opens a tab in a fresh browser context (an empty cookie jar and
// cache) for one journey on portal p. It is closed when t ends.
func (b *browser) newTab(t *testing.T, p *portal, journey string) *tab {
	t.Helper()
	tb := &tab{t: t, portal: p, journey: journey,
		shots: filepath.Join(moduleRoot, "e2e", "screenshots", p.DB)}
	if err := os.MkdirAll(tb.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(tb.shots, journey+"-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	t.Cleanup(func() {
		cancel()
		tb.checkEvents() // anything that arrived after the last page
	})
	tb.ctx = ctx
	// The first Do creates the browser context and the tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tb
}

// listen runs in the tab's event loop: it must be quick and send nothing.
func (tb *tab) listen(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if ev.Type == network.ResourceTypeDocument {
			if tb.documents == nil {
				tb.documents = map[network.RequestID]bool{}
			}
			tb.documents[ev.RequestID] = true
		}
		if !tb.portalURL(ev.Request.URL) {
			tb.offsite = append(tb.offsite, fmt.Sprintf("%s %s (%s, from %s)",
				ev.Request.Method, ev.Request.URL, ev.Type, ev.DocumentURL))
		}
	case *runtime.EventExceptionThrown:
		tb.mu.Lock()
		tb.console = append(tb.console, "uncaught exception: "+exceptionText(ev.ExceptionDetails))
		tb.mu.Unlock()
	case *cdplog.EventEntryAdded:
		if ev.Entry != nil && ev.Entry.Level == cdplog.EntryLevelError {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			// A page answered 401 or 422 on purpose is logged as a failed
			// load; the journeys check page statuses themselves.
			if ev.Entry.Source == cdplog.EntrySourceNetwork && tb.documents[ev.Entry.NetworkRequestID] {
				return
			}
			tb.console = append(tb.console, fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// portalURL reports whether a request stays on the portal: its own
// scheme, host and port, or a data: URL.
func (tb *tab) portalURL(raw string) bool {
	if strings.HasPrefix(raw, "data:") {
		return true
	}
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && u.Host == tb.portal.Host
}

// checkEvents fails the test on requests off the portal and on console
// errors seen since the last check.
func (tb *tab) checkEvents() {
	tb.t.Helper()
	tb.mu.Lock()
	offsite, console := tb.offsite[tb.reported:], tb.console[tb.creported:]
	tb.reported, tb.creported = len(tb.offsite), len(tb.console)
	tb.mu.Unlock()
	for _, r := range offsite {
		tb.t.Errorf("origin audit: the browser requested something outside the portal (%s): %s", tb.portal.Host, r)
	}
	for _, c := range console {
		tb.t.Errorf("console audit: %s", c)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s at %s:%d", s, d.URL, d.LineNumber+1)
}

// run runs one action in the tab within stepTimeout, and fails t if it
// does not succeed.
func run[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs actions that return nothing, like run.
func do(tb *tab, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	run(tb, what, chromedp.Steps(actions...))
}

// eval evaluates a JavaScript expression in the page (through DevTools,
// so the page's Content-Security-Policy does not apply) and decodes it.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	return run(tb, "evaluate "+firstLine(expr), chromedp.Evaluate[T](expr))
}

// open navigates to a path on the portal and audits the page it lands on.
func (tb *tab) open(path, page string) *pageState {
	tb.t.Helper()
	resp := run(tb, "open "+path, chromedp.NavigateResponse(tb.portal.URL(path)))
	return tb.audit(page, resp)
}

// follow runs an action that makes the browser load a page (a click, a
// key press that submits a form), waits for that page, and audits it.
func (tb *tab) follow(page string, trigger ...chromedp.Action[chromedp.Void]) *pageState {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, trigger...)
	if err != nil {
		tb.t.Fatalf("%s: waiting for the page to load: %v", page, err)
	}
	return tb.audit(page, resp)
}

// back navigates back in the tab's history and audits the page shown.
func (tb *tab) back(page string) *pageState {
	tb.t.Helper()
	do(tb, "navigate back", chromedp.NavigateBack())
	return tb.audit(page, nil)
}

// pageState is what a test usually asserts about the page it is on.
type pageState struct {
	URL    *url.URL
	Status int64 // 0 when the page was not loaded by a request of ours
	Title  string
	Text   string // document.body.innerText
}

// Path is the page's path and query.
func (s *pageState) Path() string { return s.URL.RequestURI() }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
