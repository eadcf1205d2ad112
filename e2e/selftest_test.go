package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestAuditsCatchProblems makes sure the audits are not vacuous: each one
// must flag a problem planted on purpose. It is not a journey, so it runs
// on SQLite only.
func TestAuditsCatchProblems(t *testing.T) {
	t.Run("cookies", func(t *testing.T) {
		good := &network.Cookie{Name: sessionCookie, Value: "q2VzdC10b2tlbi1yYW5kb20tMjU2LWJpdHMtaGVyZQ", Domain: "127.0.0.1",
			Path: "/", Expires: -1, Session: true, HTTPOnly: true, SameSite: network.CookieSameSiteLax}
		if problems, session := cookieProblems([]*network.Cookie{good}, "127.0.0.1"); len(problems) != 0 || session != good {
			t.Errorf("a good session cookie: got problems %q, session %v", problems, session)
		}
		for name, mutate := range map[string]func(c *network.Cookie){
			"persistent":      func(c *network.Cookie) { c.Session, c.Expires = false, float64(time.Now().Add(time.Hour).Unix()) },
			"script-readable": func(c *network.Cookie) { c.HTTPOnly = false },
			"no SameSite":     func(c *network.Cookie) { c.SameSite = "" },
			"another name":    func(c *network.Cookie) { c.Name = "_ga" },
			"domain-wide":     func(c *network.Cookie) { c.Domain = ".example.org" },
			"card number":     func(c *network.Cookie) { c.Value = "v1|" + alex.Card },
			"email, escaped":  func(c *network.Cookie) { c.Value = "alex.demo%40example.org" },
			"name":            func(c *network.Cookie) { c.Value = "user=Alex+Demo" },
		} {
			c := *good
			mutate(&c)
			if problems, _ := cookieProblems([]*network.Cookie{&c}, "127.0.0.1"); len(problems) == 0 {
				t.Errorf("the cookie audit passed a %s cookie: %+v", name, c)
			}
		}
		second := *good
		second.Name = "carrel_prefs"
		if problems, _ := cookieProblems([]*network.Cookie{good, &second}, "127.0.0.1"); len(problems) == 0 {
			t.Errorf("the cookie audit passed two cookies")
		}
	})

	t.Run("browser", func(t *testing.T) {
		b := newBrowser(t)
		p := startPortal(t, "sqlite")
		tb := b.newTab(t, p, "self-test")
		tb.open("/login", "login")

		// axe: a field without its label and an image without alt text.
		if axeJS != "" {
			eval[chromedp.Void](tb, `(() => {
				document.querySelector('label[for="card"]').remove();
				const img = document.createElement("img");
				img.src = "/static/img/favicon.svg";
				document.querySelector("main").append(img);
			})()`)
			var ids []string
			for _, v := range tb.axe().Violations {
				ids = append(ids, v.ID)
			}
			for _, want := range []string{"label", "image-alt"} {
				if !slices.Contains(ids, want) {
					t.Errorf("axe missed the planted %q violation; it found %v", want, ids)
				}
			}
		}

		// phone: a page wider than the phone, and what makes it so.
		tb.setPhone(true)
		eval[chromedp.Void](tb, `document.querySelector("main").insertAdjacentHTML("beforeend", '<pre id="too-wide">'+"x".repeat(200)+'</pre>')`)
		if o := tb.horizontalOverflow(); o.ClientWidth != phoneWidth || o.ScrollWidth <= o.ClientWidth ||
			len(o.Culprits) == 0 || !strings.Contains(o.Culprits[0], "pre#too-wide") {
			t.Errorf("the phone audit missed a page %v px wide at %v px, or what sticks out: %+v", o.ScrollWidth, o.ClientWidth, o)
		}
		tb.setPhone(false)

		// console: an inline style, which the portal's CSP refuses.
		eval[chromedp.Void](tb, `document.querySelector("main").insertAdjacentHTML("beforeend", '<p style="color: red">x</p>')`)
		if !tb.waitFindings(func() bool { return len(tb.console) > tb.creported }) {
			t.Errorf("the console audit missed a Content-Security-Policy violation")
		} else {
			tb.mu.Lock()
			t.Logf("the console audit caught: %s", tb.console[tb.creported])
			tb.mu.Unlock()
		}
		tb.forgetFindings()

		// origins: the same server under another name is another origin.
		other := strings.Replace(p.Base, "127.0.0.1", "localhost", 1)
		run(tb, "open "+other, chromedp.NavigateResponse(other+"/policy"))
		if !tb.waitFindings(func() bool { return len(tb.offsite) > tb.reported }) {
			t.Errorf("the origin audit missed a request to %s", other)
		} else {
			tb.mu.Lock()
			t.Logf("the origin audit caught: %s", tb.offsite[tb.reported])
			tb.mu.Unlock()
		}
		tb.forgetFindings()
	})
}

// waitFindings waits up to pollTimeout for the event listener to record
// what found says.
func (tb *tab) waitFindings(found func() bool) bool {
	deadline := time.Now().Add(pollTimeout)
	for time.Now().Before(deadline) {
		tb.mu.Lock()
		ok := found()
		tb.mu.Unlock()
		if ok {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// forgetFindings marks everything the listener recorded as reported.
func (tb *tab) forgetFindings() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.reported, tb.creported = len(tb.offsite), len(tb.console)
}
