package web_test

import (
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/static"
	"github.com/carrel-library/carrel/web"
)

func TestEveryPageCarriesTheSecurityHeaders(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		for _, path := range []string{"/", "/login", "/data", "/policy", "/no-such-page"} {
			r := c.get(path)
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %q", path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s: CSP allows inline code", path)
			}
			for name, want := range map[string]string{
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: %s = %q, want %q", path, name, got, want)
				}
			}
			if h.Get("Permissions-Policy") == "" {
				t.Errorf("%s: no Permissions-Policy", path)
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("%s: HSTS on plain HTTP", path)
			}
			// Nothing on the page comes from another origin.
			r.doc(t).Find("[src], link[href], form[action]").Each(func(_ int, s *goquery.Selection) {
				for _, attr := range []string{"src", "href", "action"} {
					if v, ok := s.Attr(attr); ok && (strings.Contains(v, "//") || strings.HasPrefix(v, "http")) {
						t.Errorf("%s: %s=%q loads from another origin", path, attr, v)
					}
				}
			})
		}
	})
}

func TestAssetsAreServedFromThePortalAndCached(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		href, _ := c.get("/").doc(t).Find(`link[rel="stylesheet"]`).Attr("href")
		r := c.get(href)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.Header.Get("Content-Type"), "text/css") || !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
			t.Fatalf("stylesheet headers: %v", r.Header)
		}
		wantStatus(t, c.get("/static/css/"), http.StatusNotFound)
		wantStatus(t, c.get("/static/css"), http.StatusNotFound)
		wantStatus(t, c.get("/static/../go.mod"), http.StatusNotFound)
		if len(a.cookies.all()) != 0 {
			t.Fatal("public pages and assets must not start a session")
		}
	})
}

func TestTheLogHoldsNothingAboutThePatron(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosalind", "Franklin")
		c := a.client()
		c.signIn(card, "9876")
		c.signIn(card, pin, "next", "/data?card="+card)
		c.get("/data")
		c.get("/login?next=/data%3Fcard%3D" + card)
		c.get("/policy")
		c.get("/nowhere/" + card)
		c.post("/logout", url.Values{"csrf_token": {c.csrf("/data")}})
		logs := a.logs.String()
		if !strings.Contains(logs, "route=/login") || !strings.Contains(logs, "status=303") {
			t.Fatalf("the access log should record routes and statuses:\n%s", logs)
		}
		for _, secret := range []string{card, pin, "9876", p.GivenName, p.FamilyName, p.Email, "127.0.0.1", c.sessionCookie(), "Go-http-client"} {
			if secret != "" && strings.Contains(logs, secret) {
				t.Fatalf("the log holds %q:\n%s", secret, logs)
			}
		}
	})
}

func TestFriendlyErrorPages(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		r := c.get("/no-such-page")
		wantStatus(t, r, http.StatusNotFound)
		if !strings.Contains(r.doc(t).Find("h1").Text(), "could not find") {
			t.Fatal("404 should explain itself")
		}
		req, _ := http.NewRequest(http.MethodDelete, a.server.URL+"/data", nil)
		wantStatus(t, c.do(req), http.StatusForbidden)
	})
}

func TestDatabaseOutageIsA503AndReadyzSaysSo(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		wantStatus(t, c.get("/readyz"), http.StatusOK)
		wantStatus(t, c.get("/healthz"), http.StatusOK)
		sqlDB, _ := a.store.DB.DB()
		sqlDB.Close()
		r := c.get("/data")
		wantStatus(t, r, http.StatusServiceUnavailable)
		if r.doc(t).Find(`[data-testid="error-page"]`).Length() != 1 || strings.Contains(strings.ToLower(r.doc(t).Find("body").Text()), "sql") {
			t.Fatalf("503 should be the friendly page without internals: %s", excerpt(r.body))
		}
		wantStatus(t, c.get("/readyz"), http.StatusServiceUnavailable)
		wantStatus(t, c.get("/healthz"), http.StatusOK)
	})
}

func TestSignInFloodFromOneClientIsSlowed(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		tok := c.csrf("/login")
		limited := false
		for i := 0; i < 200 && !limited; i++ {
			r := c.post("/login", url.Values{"card": {"2100000000" + strings.Repeat("1", 4)}, "pin": {"1"}, "csrf_token": {tok}})
			if r.StatusCode == http.StatusTooManyRequests && strings.Contains(r.body, "too many requests") {
				limited = true
			}
		}
		if !limited {
			t.Fatal("a flood of sign-ins from one client should be slowed down")
		}
	})
}

func TestPolicyPageShowsTheConfiguredPolicy(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		r := a.client().get("/policy")
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		if !strings.Contains(doc.Find("h2").Text(), "Confidentiality of Library Records") {
			t.Fatal("the default policy's sections should be headings")
		}
		if !strings.Contains(doc.Text(), "twelve months") || !strings.Contains(doc.Text(), "test-1") {
			t.Fatal("the policy text and its version should be shown")
		}
		if items := doc.Find("article li"); items.Length() < 4 || !strings.HasPrefix(items.First().Text(), "Patron log-in totals") {
			t.Fatal("the policy's bulleted lines should be a list")
		}
	})
}

func TestForwardedHeadersAreBelievedOnlyFromTrustedProxies(t *testing.T) {
	t.Run("untrusted peer", func(t *testing.T) {
		forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
			a.patron(card, pin, "Rosa", "Parks")
			c := a.client()
			c.header.Set("X-Forwarded-Proto", "https")
			tok := c.csrf("/login")
			wantRedirect(t, c.post("/login", url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok}}), "/data")
			if h := a.cookies.all(); len(h) != 1 || strings.Contains(h[0], "Secure") {
				t.Fatalf("an untrusted X-Forwarded-Proto must not change the cookie: %v", h)
			}
			// Inventing a new address for every request does not escape the
			// per-client limit.
			limited := false
			for i := 0; i < 200 && !limited; i++ {
				c.header.Set("X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
				r := c.post("/login", url.Values{"card": {"21000000001111"}, "pin": {"1"}, "csrf_token": {tok}})
				limited = r.StatusCode == http.StatusTooManyRequests && strings.Contains(r.body, "too many requests")
			}
			if !limited {
				t.Fatal("X-Forwarded-For from an untrusted peer must be ignored")
			}
		})
	})
	t.Run("trusted proxy", func(t *testing.T) {
		cfg := demoConfig()
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
		cfg.TrustedProxies = []*net.IPNet{loopback}
		forEachDB(t, cfg, func(t *testing.T, a *app) {
			a.patron(card, pin, "Rosa", "Parks")
			c := a.client()
			c.header.Set("X-Forwarded-Proto", "https")
			r := c.get("/login")
			wantRedirect(t, c.signIn(card, pin), "/data")
			h := a.cookies.all()
			if len(h) != 1 || !strings.HasPrefix(h[0], "__Host-carrel_session=") || !strings.Contains(h[0], "Secure") {
				t.Fatalf("behind a trusted TLS proxy the cookie must be Secure: %v", h)
			}
			if r.Header.Get("Strict-Transport-Security") == "" {
				t.Fatal("HSTS should be sent when the visitor came over HTTPS")
			}
		})
	})
}

func TestOversizedBodiesAreRefused(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		tok := c.csrf("/login")
		r := c.post("/login", url.Values{"card": {strings.Repeat("1", 2<<20)}, "pin": {"1"}, "csrf_token": {tok}})
		wantStatus(t, r, http.StatusRequestEntityTooLarge)
	})
}

// squash collapses runs of white space into one space.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// policyLines are the non-blank lines of a policy text, without their
// list markers: what a reader must find on the page, in this order.
func policyLines(text string) []string {
	marker := regexp.MustCompile(`^([-*•–]|\d{1,3}[.)])\s+`)
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = squash(marker.ReplaceAllString(strings.TrimSpace(line), ""))
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// libraryBlocks are the page's elements that carry the library's own
// words (headings, paragraphs, list items), in document order.
func libraryBlocks(doc *goquery.Document) []*goquery.Selection {
	var out []*goquery.Selection
	doc.Find(`[data-testid="library-text"]`).Find("h2, h3, p, li").Each(func(_ int, s *goquery.Selection) {
		out = append(out, s)
	})
	return out
}

// wantFaithful checks that the page shows every line of text, in order,
// each line inside one element, and nothing else as the library's words.
func wantFaithful(t *testing.T, doc *goquery.Document, text string) {
	t.Helper()
	blocks := libraryBlocks(doc)
	var shown []string
	for _, b := range blocks {
		shown = append(shown, squash(b.Text()))
	}
	lines := policyLines(text)
	if got, want := strings.Join(shown, " "), strings.Join(lines, " "); got != want {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("the page's policy text differs from the file at %q (file: %q)",
			got[max(0, i-60):min(len(got), i+60)], want[max(0, i-60):min(len(want), i+60)])
	}
	// No line of the file is cut across two elements.
	at := 0
	for _, line := range lines {
		for at < len(shown) && !strings.Contains(shown[at], line) {
			at++
		}
		if at == len(shown) {
			t.Fatalf("the line %q is split across elements (or out of order)", line)
		}
	}
}

// wantNoEmptyHeading checks that every heading of the library's text has
// words and is followed by something before the next heading of its level.
func wantNoEmptyHeading(t *testing.T, doc *goquery.Document) {
	t.Helper()
	blocks := libraryBlocks(doc)
	for i, b := range blocks {
		name := goquery.NodeName(b)
		if name != "h2" && name != "h3" {
			continue
		}
		if squash(b.Text()) == "" {
			t.Fatalf("an empty %s", name)
		}
		if i+1 == len(blocks) {
			t.Fatalf("%s %q ends the policy with nothing under it", name, b.Text())
		}
		next := goquery.NodeName(blocks[i+1])
		if next == "h2" || (next == "h3" && name == "h3") {
			t.Fatalf("%s %q has nothing under it before %q", name, b.Text(), blocks[i+1].Text())
		}
	}
}

// wantWorkingContents checks that the table of contents lists every
// section heading and that each link leads to one element on the page.
func wantWorkingContents(t *testing.T, doc *goquery.Document) {
	t.Helper()
	toc := doc.Find(`nav[data-testid="policy-toc"]`)
	if toc.Length() != 1 {
		t.Fatal("the policy page should have one table of contents")
	}
	links := toc.Find(`a`)
	targets := map[string]bool{}
	links.Each(func(_ int, a *goquery.Selection) {
		href := a.AttrOr("href", "")
		id, ok := strings.CutPrefix(href, "#")
		if !ok || id == "" {
			t.Fatalf("contents link %q is not a link within the page", href)
		}
		if n := doc.Find(`[id="` + id + `"]`).Length(); n != 1 {
			t.Fatalf("contents link %q finds %d elements", href, n)
		}
		target := doc.Find(`[id="` + id + `"]`)
		if strings.TrimSuffix(squash(target.Text()), ":") != squash(a.Text()) {
			t.Fatalf("contents link %q reads %q but leads to %q", href, a.Text(), target.Text())
		}
		targets[id] = true
	})
	doc.Find(`[data-testid="library-text"] h2`).Each(func(_ int, h *goquery.Selection) {
		if !targets[h.AttrOr("id", "")] {
			t.Fatalf("section %q is not in the contents", h.Text())
		}
	})
}

func TestPolicyPageIsTheLibrarysTextInOrder(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		r := a.client().get("/policy")
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		wantFaithful(t, doc, static.DefaultPolicy)
		wantNoEmptyHeading(t, doc)
		// The supporting policies are a list of titles, each whole.
		refs := doc.Find(`[data-testid="library-text"] h2`).FilterFunction(func(_ int, h *goquery.Selection) bool {
			return strings.HasPrefix(h.Text(), "Supporting Policies and Codes")
		}).Parent().Find("li")
		var titles []string
		refs.Each(func(_ int, li *goquery.Selection) { titles = append(titles, squash(li.Text())) })
		want := []string{
			"American Library Association's Code of Ethics",
			"American Library Association's Policy of Confidentiality of Library Records",
			"American Library Association's Policy Concerning Confidentiality of Personally Identifiable Information about Library Users",
			"State of California's Government Code Regarding Library Records",
		}
		if strings.Join(titles, "|") != strings.Join(want, "|") {
			t.Fatalf("supporting policies listed as %q, want %q", titles, want)
		}
		// The catalog's statistics are a labelled list inside their section.
		if h3 := doc.Find(`[data-testid="library-text"] h3`); squash(h3.Text()) != "Library Online Catalog" {
			t.Fatalf("sub-headings %q, want the catalog's list label", h3.Text())
		}
	})
}

func TestPolicyPageContentsLeadToEverySection(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		doc := a.client().get("/policy").doc(t)
		wantWorkingContents(t, doc)
		if n := doc.Find(`nav[data-testid="policy-toc"] a`).Length(); n < 12 {
			t.Fatalf("contents has %d links, want every section of the default policy", n)
		}
	})
}

func TestPolicyPageNotesAreThePortalsOwnWords(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		doc := a.client().get("/policy").doc(t)
		notes := doc.Find(`aside[data-testid="portal-note"]`)
		if notes.Length() < 3 {
			t.Fatalf("%d portal notes, want at least the address, cookie and log notes", notes.Length())
		}
		var library []string
		for _, b := range libraryBlocks(doc) {
			library = append(library, squash(b.Text()))
		}
		libraryText := strings.Join(library, " ")
		notes.Each(func(_ int, n *goquery.Selection) {
			text := squash(n.Text())
			if !strings.HasPrefix(text, "About this portal:") || n.AttrOr("role", "") != "note" {
				t.Fatalf("a note must say whose words it holds: %q", text)
			}
			if n.Closest(`[data-testid="library-text"]`).Length() != 0 || n.Find(`[data-testid="library-text"]`).Length() != 0 {
				t.Fatalf("note %q is mixed into the library's text", text)
			}
			if strings.Contains(libraryText, strings.TrimPrefix(text, "About this portal: ")) {
				t.Fatalf("note %q is counted as the library's words", text)
			}
		})
		// Each note follows the paragraph it speaks of.
		for _, c := range []struct{ paragraph, note string }{
			{"Internet protocol (IP) address", "does not store your IP address"},
			{"Cookies are small text files", "one cookie"},
			{"logged automatically", "daily counts"},
		} {
			note := notes.FilterFunction(func(_ int, n *goquery.Selection) bool { return strings.Contains(n.Text(), c.note) })
			if note.Length() != 1 {
				t.Fatalf("want one note saying %q, found %d", c.note, note.Length())
			}
			before := note.Prev().Find("p").Last()
			if !strings.Contains(before.Text(), c.paragraph) {
				t.Fatalf("the note %q should follow the paragraph on %q, follows %q", c.note, c.paragraph, excerpt(before.Text()))
			}
		}
	})
}

// TestPolicyNotesAreTrue checks what the portal's notes say against what
// the portal does: the log line of a request holds the time, the method,
// the route pattern, the status and the duration and nothing else; the
// only cookie comes with sign-in and has no expiry; the statistics are a
// day, a name and a number.
func TestPolicyNotesAreTrue(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.header.Set("Referer", "https://referrer.example/from-here")
		c.header.Set("User-Agent", "NoteCheckBrowser/1.0 (PolicyOS)")
		doc := c.get("/policy").doc(t)
		notes := squash(doc.Find(`aside[data-testid="portal-note"]`).Text())
		for _, claim := range []string{"does not store your IP address", "only when you sign in", "15 minutes without use"} {
			if !strings.Contains(notes, claim) {
				t.Fatalf("the notes should say %q: %s", claim, notes)
			}
		}
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("reading the policy set a cookie: %q", got)
		}
		wantRedirect(t, c.signIn(card, pin), "/data")
		c.get("/data")
		got := a.cookies.all()
		if len(got) != 1 || strings.Contains(strings.ToLower(got[0]), "expires") || strings.Contains(strings.ToLower(got[0]), "max-age") {
			t.Fatalf("one cookie without an expiry should come with sign-in, got %q", got)
		}
		key := regexp.MustCompile(`(\w+)=`)
		for _, line := range strings.Split(strings.TrimSpace(a.logs.String()), "\n") {
			if !strings.Contains(line, "msg=request") {
				continue
			}
			var keys []string
			for _, m := range key.FindAllStringSubmatch(line, -1) {
				keys = append(keys, m[1])
			}
			if strings.Join(keys, ",") != "time,level,msg,method,route,status,duration_ms" {
				t.Fatalf("a request's log line holds more than the note says: %s", line)
			}
			for _, leak := range []string{"127.0.0.1", "referrer.example", "NoteCheckBrowser", "PolicyOS"} {
				if strings.Contains(line, leak) {
					t.Fatalf("the log holds %q: %s", leak, line)
				}
			}
		}
		cols, err := a.store.DB.Migrator().ColumnTypes("usage_counters")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, col := range cols {
			names = append(names, col.Name())
		}
		if strings.Join(names, ",") != "day,name,count" {
			t.Fatalf("statistics hold %v, the note says a day, a name and a number", names)
		}
	})
}

// ownPolicy is a library's own policy file, written the way people write
// plain text: a title, wrapped lines, lists of several kinds, a heading
// broken over two blocks and a list of references.
const ownPolicy = `Riverside Library Privacy Notice

Who We Are

Riverside Library lends books, runs this portal and keeps the public
computers in its branches. This notice says what we collect
and why.

What we collect:

- Your name, address and phone number, so that we can reach you
  about loans and holds.
- What you have borrowed, until you return it.
* Fines you owe.

Handling Requests from Law Enforcement and

Other Government Agencies

1. Staff ask for identification.
2) The director reviews the request with county counsel.

Cookies and Logs

We use cookies only to keep you signed in.
Our web servers log the IP address of each visitor for 30 days.

Related Documents and Laws:

ALA Library Bill of Rights

ALA Policy on Confidentiality of Personally Identifiable Information about
Library Users

California Government Code section 7927.105, on library circulation and
registration records

Contact Us

Write to privacy@riverside.example or ask at any desk.
`

func TestPolicyPageRendersALibrarysOwnPolicySensibly(t *testing.T) {
	cfg := demoConfig()
	cfg.Policy = ownPolicy
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		r := a.client().get("/policy")
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		wantFaithful(t, doc, ownPolicy)
		wantNoEmptyHeading(t, doc)
		wantWorkingContents(t, doc)
		lib := doc.Find(`[data-testid="library-text"]`)
		var h2 []string
		lib.Find("h2").Each(func(_ int, h *goquery.Selection) { h2 = append(h2, squash(h.Text())) })
		want := []string{"Who We Are", "Handling Requests from Law Enforcement and Other Government Agencies",
			"Cookies and Logs", "Related Documents and Laws:", "Contact Us"}
		if strings.Join(h2, "|") != strings.Join(want, "|") {
			t.Fatalf("sections %q, want %q", h2, want)
		}
		if title := squash(lib.Find(`.policy-title`).Text()); title != "Riverside Library Privacy Notice" {
			t.Fatalf("the policy's own title is %q", title)
		}
		// A wrapped paragraph is one paragraph; lines that each end a
		// sentence stay separate paragraphs.
		if p := lib.Find("p").FilterFunction(func(_ int, p *goquery.Selection) bool {
			return strings.HasPrefix(p.Text(), "Riverside Library lends")
		}); p.Length() != 1 || !strings.HasSuffix(squash(p.Text()), "what we collect and why.") {
			t.Fatal("a wrapped paragraph should be one paragraph")
		}
		if lib.Find("p").FilterFunction(func(_ int, p *goquery.Selection) bool {
			return strings.HasPrefix(p.Text(), "Our web servers log")
		}).Length() != 1 {
			t.Fatal("a line that ends a sentence, in a block of such lines, is its own paragraph")
		}
		if items := lib.Find("ul").First().Find("li"); items.Length() != 3 || !strings.HasSuffix(squash(items.First().Text()), "about loans and holds.") {
			t.Fatalf("bulleted items, wrapped or not, should be one list: %q", items.Text())
		}
		if items := lib.Find("ol li"); items.Length() != 2 {
			t.Fatalf("numbered items should be a numbered list, found %d", items.Length())
		}
		refs := lib.Find("h2").FilterFunction(func(_ int, h *goquery.Selection) bool {
			return strings.HasPrefix(h.Text(), "Related Documents")
		}).Parent().Find("li")
		if refs.Length() != 3 || squash(refs.Eq(1).Text()) != "ALA Policy on Confidentiality of Personally Identifiable Information about Library Users" {
			t.Fatalf("references should be a list of whole titles: %q", refs.Text())
		}
		// Notes follow the topics this policy has, and only those.
		notes := doc.Find(`aside[data-testid="portal-note"]`)
		if !strings.Contains(notes.Text(), "one cookie") || !strings.Contains(notes.Text(), "does not store your IP address") {
			t.Fatalf("the cookie and address notes should follow this policy's paragraph: %q", notes.Text())
		}
		if notes.Length() != 2 {
			t.Fatalf("%d notes on a policy with two of the topics", notes.Length())
		}
	})
	// Numbered section headings stay headings, numbers and all.
	cfg.Policy = "1. Introduction\n\nWe care about your privacy.\n\n2. What We Collect\n\n1. Your name.\n2. Your address.\n"
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		doc := a.client().get("/policy").doc(t)
		var h2 []string
		doc.Find(`[data-testid="library-text"] h2`).Each(func(_ int, h *goquery.Selection) { h2 = append(h2, h.Text()) })
		if strings.Join(h2, "|") != "1. Introduction|2. What We Collect" {
			t.Fatalf("numbered headings %q", h2)
		}
		if items := doc.Find(`[data-testid="library-text"] ol li`); items.Length() != 2 || items.First().Text() != "Your name." {
			t.Fatalf("a numbered list under a numbered heading: %q", items.Text())
		}
		wantNoEmptyHeading(t, doc)
		wantWorkingContents(t, doc)
	})
	// A policy without any of the topics has no notes.
	cfg.Policy = "Our Promise\n\nWe keep your records confidential.\n"
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		doc := a.client().get("/policy").doc(t)
		if n := doc.Find(`aside[data-testid="portal-note"]`).Length(); n != 0 {
			t.Fatalf("%d notes on a policy that does not speak of their topics", n)
		}
		wantFaithful(t, doc, cfg.Policy)
	})
}

// TestThePortalAsksForNoSensitiveNumbers backs the policy's "The Library
// does not require sensitive information such as social security numbers
// or credit card numbers": no table has a column for one, and no form a
// patron or staff member fills in asks for one.
func TestThePortalAsksForNoSensitiveNumbers(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		sensitive := regexp.MustCompile(`(?i)(ssn|social|credit|debit|cvv|cvc|iban|bank|payment|passport|driver|licen[cs]e|tax)`)
		tables, err := a.store.DB.Migrator().GetTables()
		if err != nil || len(tables) < 10 {
			t.Fatalf("tables %v: %v", tables, err)
		}
		for _, table := range tables {
			cols, err := a.store.DB.Migrator().ColumnTypes(table)
			if err != nil {
				t.Fatal(err)
			}
			for _, col := range cols {
				if sensitive.MatchString(col.Name()) {
					t.Errorf("%s.%s looks like a sensitive number the library never asks for", table, col.Name())
				}
			}
		}
		a.patron(card, pin, "Rosa", "Parks")
		a.staff("olive", "privacy_officer")
		anon, patron, staff := a.client(), a.client(), a.client()
		patron.signIn(card, pin)
		staff.staffSignIn("olive", staffPassword)
		fields := 0
		for _, v := range []struct {
			c     *client
			paths []string
		}{
			{anon, []string{"/login", "/staff/login"}},
			{patron, []string{"/data", "/favorites", "/mailing-lists", "/data/reading-history/off"}},
			{staff, []string{"/staff/patrons", "/staff/legal/new", "/staff/retention"}},
		} {
			for _, path := range v.paths {
				r := v.c.get(path)
				wantStatus(t, r, http.StatusOK)
				r.doc(t).Find("input, select, textarea").Each(func(_ int, f *goquery.Selection) {
					fields++
					label := f.AttrOr("name", "") + " " + f.AttrOr("id", "") + " " + f.AttrOr("autocomplete", "")
					if sensitive.MatchString(label) {
						t.Errorf("%s asks for %q", path, label)
					}
				})
			}
		}
		if fields < 10 {
			t.Fatalf("only %d form fields seen: the pages did not load as expected", fields)
		}
	})
}

// TestPolicyPageKeepsEveryWordOfAnyText renders many policies made of
// awkward pieces (lists of every kind, lead-ins, broken titles, headings
// with nothing under them, closing lines) through the real router: every
// word appears in order, only list markers may go, no heading is empty and
// every contents link leads to its heading.
func TestPolicyPageKeepsEveryWordOfAnyText(t *testing.T) {
	pieces := []string{"Privacy", "Who We Are", "we keep it.", "- item one", "* item two", "1. First",
		"2) second thing", "3. Third Heading", "Related Laws:", "Examples include:", "of the", "Library Users",
		"  continued line", "A sentence. Another.", `"Quoted."`, "", "", "Title Of Things", "and more", "x",
		"ALA Code", "What is this?"}
	marker := regexp.MustCompile(`^([-*•–]|\d{1,3}[.)])$`)
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		rng := rand.New(rand.NewPCG(17, 2026))
		for n := 0; n < 1500; n++ {
			var lines []string
			for range 1 + rng.IntN(24) {
				lines = append(lines, pieces[rng.IntN(len(pieces))])
			}
			text := strings.Join(lines, "\n")
			if strings.TrimSpace(text) == "" {
				continue
			}
			cfg := demoConfig()
			cfg.Policy = text
			srv, err := web.New(a.store, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/policy", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d for %q", rec.Code, text)
			}
			doc, err := goquery.NewDocumentFromReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			var shown []string
			for _, b := range libraryBlocks(doc) {
				shown = append(shown, strings.Fields(b.Text())...)
			}
			i := 0
			for _, word := range strings.Fields(text) {
				switch {
				case i < len(shown) && shown[i] == word:
					i++
				case !marker.MatchString(word):
					t.Fatalf("%q is missing or out of order in the page for %q\nshown: %q", word, text, shown)
				}
			}
			if i != len(shown) {
				t.Fatalf("the page adds words to %q: %q", text, shown[i:])
			}
			wantNoEmptyHeading(t, doc)
			if doc.Find(`[data-testid="library-text"] h2`).Length() > 0 {
				wantWorkingContents(t, doc)
			}
		}
	})
}
