package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// pollTimeout bounds waits for something on a page that is already loaded.
const pollTimeout = 3 * time.Second

// wantPage checks where a step landed: status (when known), path and query,
// and the page's main heading.
func wantPage(t *testing.T, st *pageState, status int64, path, h1 string) {
	t.Helper()
	if st.Status != 0 && st.Status != status {
		t.Errorf("%s: want status %d, got %d", st.Path(), status, st.Status)
	}
	if st.Path() != path {
		t.Fatalf("want to be on %s, the browser is on %s (status %d)\n%s", path, st.Path(), st.Status, st.Text)
	}
	if !strings.Contains(st.Text, h1) {
		t.Errorf("%s: want the heading %q on the page, got:\n%s", st.Path(), h1, st.Text)
	}
}

// wantText checks that the page shows each text.
func wantText(t *testing.T, st *pageState, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(st.Text, s) {
			t.Errorf("%s: want %q on the page, got:\n%s", st.Path(), s, st.Text)
		}
	}
}

// wantNoPatronData checks that neither the page's text nor its HTML holds
// anything that identifies the patron.
func (tb *tab) wantNoPatronData(st *pageState, p patron) {
	tb.t.Helper()
	html := eval[string](tb, `document.documentElement.outerHTML`)
	for _, id := range p.identifiers() {
		if strings.Contains(st.Text, id) || strings.Contains(html, id) {
			tb.t.Errorf("%s shows the patron's %q after sign-out:\n%s", st.Path(), id, st.Text)
		}
	}
	if strings.Contains(st.Text, "Signed in as") {
		tb.t.Errorf("%s says someone is signed in after sign-out", st.Path())
	}
}

// sessionCookie is the value of the portal's session cookie, or "".
func (tb *tab) sessionCookie() string {
	tb.t.Helper()
	for _, c := range tb.cookies() {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// disablePageScripts switches the page's own JavaScript off for the tab:
// pages load and forms submit with no script running. axe-core cannot run
// with scripts off, so audits switch them on just for their DevTools code,
// once the page has loaded (a page's skipped scripts do not run then).
func (tb *tab) disablePageScripts() {
	tb.t.Helper()
	tb.noJS = true
	tb.setScripts(false)
}

func (tb *tab) setScripts(on bool) {
	tb.t.Helper()
	do(tb, fmt.Sprintf("set page scripts on=%v", on), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}

// wantVisible checks that an element is on the page and rendered.
func (tb *tab) wantVisible(sel string) {
	tb.t.Helper()
	ok := eval[bool](tb, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) return false;
		const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
		return r.width > 0 && r.height > 0 && cs.visibility === "visible" && cs.display !== "none";
	})()`, sel))
	if !ok {
		tb.t.Errorf("want %s visible on the page", sel)
	}
}

// fieldInfo is what assistive technology learns about a form field.
type fieldInfo struct {
	ID          string   `json:"id"`
	Label       string   `json:"label"`
	Invalid     string   `json:"invalid"`
	DescribedBy []string `json:"describedBy"` // the texts of the aria-describedby targets
	Missing     []string `json:"missing"`     // aria-describedby ids with no element
}

// wantLabelledFields checks that the card and PIN fields each have a
// visible label, that their hints (and errors) are tied to them with
// aria-describedby, and that aria-invalid is set exactly when invalid.
func (tb *tab) wantLabelledFields(invalid bool) {
	tb.t.Helper()
	fields := eval[[]fieldInfo](tb, `["card", "pin"].map(id => {
		const el = document.getElementById(id);
		if (!el) return {id: id, label: "", invalid: "", describedBy: [], missing: ["(no field)"]};
		const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
		return {
			id: id,
			label: Array.from(el.labels || []).map(l => l.innerText.trim()).join(" "),
			invalid: el.getAttribute("aria-invalid") || "",
			describedBy: ids.filter(i => document.getElementById(i)).map(i => document.getElementById(i).innerText.trim()),
			missing: ids.filter(i => !document.getElementById(i)),
		};
	})`)
	for _, f := range fields {
		if f.Label == "" {
			tb.t.Errorf("field #%s has no label", f.ID)
		}
		if len(f.Missing) > 0 {
			tb.t.Errorf("field #%s: aria-describedby names missing elements %v", f.ID, f.Missing)
		}
		if len(f.DescribedBy) == 0 {
			tb.t.Errorf("field #%s: no hint tied to it with aria-describedby", f.ID)
		}
		if got := f.Invalid == "true"; got != invalid {
			tb.t.Errorf("field #%s: aria-invalid=%q, want invalid=%v", f.ID, f.Invalid, invalid)
		}
		if invalid && len(f.DescribedBy) < 2 {
			tb.t.Errorf("field #%s is invalid but its error is not tied to it with aria-describedby (%q)", f.ID, f.DescribedBy)
		}
	}
}

// focusInfo describes the focused element and where it is drawn.
type focusInfo struct {
	Tag, Text, Href          string
	Top, Left, Bottom, Right float64
	Width, Height            float64
	ViewW, ViewH             float64
	Visibility               string
	Opacity                  string
}

// wantSkipLinkFocused checks that the focused element is the skip link and
// that it is drawn inside the viewport.
func (tb *tab) wantSkipLinkFocused(path string) {
	tb.t.Helper()
	f := eval[focusInfo](tb, `(() => {
		const el = document.activeElement, r = el.getBoundingClientRect(), cs = getComputedStyle(el);
		return {Tag: el.tagName, Text: (el.innerText || "").trim(), Href: el.getAttribute("href") || "",
			Top: r.top, Left: r.left, Bottom: r.bottom, Right: r.right, Width: r.width, Height: r.height,
			ViewW: innerWidth, ViewH: innerHeight, Visibility: cs.visibility, Opacity: cs.opacity};
	})()`)
	if f.Tag != "A" || f.Text != "Skip to main content" || f.Href != "#main" {
		tb.t.Errorf("%s: the first Tab press focuses <%s href=%q> %q, want the skip link \"Skip to main content\" to #main",
			path, strings.ToLower(f.Tag), f.Href, f.Text)
		return
	}
	visible := f.Width >= 1 && f.Height >= 1 && f.Top >= 0 && f.Left >= 0 &&
		f.Bottom <= f.ViewH && f.Right <= f.ViewW && f.Visibility == "visible" && f.Opacity != "0"
	if !visible {
		tb.t.Errorf("%s: the focused skip link is not visible: %+v", path, f)
	}
	tb.screenshot(fmt.Sprintf("%s-%02d-%s-skip-link-focused", tb.journey, tb.n, pageName(path)))
}

// overflow is the page's horizontal extent and what sticks out.
type overflow struct {
	ScrollWidth float64  `json:"scrollWidth"`
	ClientWidth float64  `json:"clientWidth"`
	Culprits    []string `json:"culprits"`
}

// reflowKnownFailures are page paths that are known to scroll sideways at
// 320 CSS pixels or on a phone: reported but not failing yet. It must only
// ever hold real, known portal bugs waiting for a fix in views/ or static/;
// remove each entry with its fix.
var reflowKnownFailures = map[string]string{}

// wantNoHorizontalScroll checks that the page at path does not scroll
// sideways, and names the elements that stick out if it does: those that
// reach past the viewport's right edge and either stick out of their parent
// or hold nothing that does, the ones to fix, widest first, at most six.
func (tb *tab) wantNoHorizontalScroll(path, what string) {
	tb.t.Helper()
	o := tb.horizontalOverflow()
	if o.ScrollWidth <= o.ClientWidth {
		return
	}
	msg := fmt.Sprintf("%s scrolls sideways at %v CSS px: it is %v px wide. Sticking out:\n    %s",
		what, o.ClientWidth, o.ScrollWidth, strings.Join(o.Culprits, "\n    "))
	if why, ok := reflowKnownFailures[path]; ok {
		tb.t.Logf("KNOWN reflow failure (allowed by reflowKnownFailures: %s): %s", why, msg)
		return
	}
	tb.t.Errorf("%s", msg)
}

// horizontalOverflow measures the page's width against the viewport's and,
// when it is wider, names what sticks out (see wantNoHorizontalScroll).
func (tb *tab) horizontalOverflow() overflow {
	tb.t.Helper()
	return eval[overflow](tb, `(() => {
		const de = document.documentElement, vw = de.clientWidth;
		const res = {scrollWidth: de.scrollWidth, clientWidth: vw, culprits: []};
		if (de.scrollWidth <= vw) return res;
		// An element's right edge, or its content's if that spills out of
		// it (a long word, a line of code).
		const right = el => {
			const r = el.getBoundingClientRect();
			const spill = getComputedStyle(el).overflowX === "visible" ? r.left + el.scrollWidth : 0;
			return Math.max(r.right, spill) + window.scrollX;
		};
		const past = el => right(el) > vw + 0.5;
		const found = [];
		for (const el of document.body.querySelectorAll("*")) {
			if (!past(el)) continue;
			const parent = el.parentElement;
			const sticksOut = parent && right(el) > right(parent) + 0.5;
			const leaf = !Array.from(el.children).some(past);
			if (!sticksOut && !leaf) continue;
			let d = el.tagName.toLowerCase();
			if (el.id) d += "#" + el.id;
			for (const c of el.classList) d += "." + c;
			if (el.dataset.testid) d += '[data-testid="' + el.dataset.testid + '"]';
			const text = (el.innerText || "").trim().replace(/\s+/g, " ");
			if (text) d += ' "' + (text.length > 40 ? text.slice(0, 40) + "..." : text) + '"';
			found.push([right(el), Math.round(right(el) - vw) + " px past: " + d]);
		}
		found.sort((a, b) => b[0] - a[0]);
		res.culprits = found.slice(0, 6).map(f => f[1]);
		return res;
	})()`)
}
