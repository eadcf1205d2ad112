package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Selectors the journeys use: data-testid hooks and stable markup.
const (
	selSignInLink = `[data-testid="sign-in-link"]`
	selCard       = `#card`
	selPIN        = `#pin`
	selSignInBtn  = `form[action="/login"] button[type="submit"]`
	selSignOutBtn = `[data-testid="signed-in"] form[action="/logout"] button[type="submit"]`
	selFormError  = `[data-testid="form-error"]`
	selSignedOut  = `[data-testid="signed-out"]`
	selPolicyNav  = `nav a[href="/policy"]`
)

// TestPatronJourney: a patron signs in from the landing page with the
// keyboard, sees their summary and the policy, signs out, and neither the
// back button nor the old cookie brings their data back. Page scripts are
// off throughout: the portal must not need them.
func TestPatronJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		tb := b.newTab(t, startPortal(t, db), "patron")
		tb.disablePageScripts()

		home := tb.open("/", "home")
		wantPage(t, home, http.StatusOK, "/", "Your library record, in plain sight")
		if jar := tb.cookies(); len(jar) != 0 {
			t.Errorf("the public landing page set %d cookie(s); public pages set none", len(jar))
		}

		login := tb.follow("login", chromedp.Click(chromedp.CSS(selSignInLink)))
		wantPage(t, login, http.StatusOK, "/login", "Sign in")
		if jar := tb.cookies(); len(jar) != 0 {
			t.Errorf("the sign-in form set %d cookie(s); nothing is set before sign-in", len(jar))
		}
		// A cookie planted before sign-in (session fixation) must not be
		// the one used after it.
		const anonymous = "planted-before-sign-in-0123456789abcdef"
		tb.replayCookie(anonymous)

		data := tb.follow("data",
			chromedp.SendKeys(chromedp.CSS(selCard), alex.Card),
			chromedp.SendKeys(chromedp.CSS(selPIN), alex.PIN+kb.Enter))
		wantPage(t, data, http.StatusOK, "/data", "What we hold about you")
		wantText(t, data, alex.Short)
		signedIn := tb.sessionCookie()
		switch {
		case signedIn == "":
			t.Fatalf("signed in, but the browser holds no %s cookie", sessionCookie)
		case signedIn == anonymous:
			t.Errorf("the session token did not change at sign-in (session fixation)")
		}

		policy := tb.follow("policy", chromedp.Click(chromedp.CSS(selPolicyNav)))
		wantPage(t, policy, http.StatusOK, "/policy", "Privacy policy")
		wantText(t, policy, alex.Short)

		out := tb.follow("signed-out", chromedp.Click(chromedp.CSS(selSignOutBtn)))
		wantPage(t, out, http.StatusOK, "/login?signed_out=1", "Sign in")
		wantText(t, out, "You have signed out")
		tb.wantVisible(selSignedOut)
		tb.wantNoPatronData(out, alex)
		if now := tb.sessionCookie(); now == signedIn {
			t.Errorf("after sign-out the browser still holds the signed-in session cookie")
		}

		// Back to the policy page seen while signed in: it must come from the
		// server again (no-store), signed out.
		back := tb.back("back-after-sign-out")
		t.Logf("back after sign-out shows %s", back.Path())
		tb.wantNoPatronData(back, alex)
		// Once more: the summary page itself.
		back = tb.back("back-twice-after-sign-out")
		t.Logf("back twice after sign-out shows %s", back.Path())
		tb.wantNoPatronData(back, alex)
		if back.URL.Path != "/login" {
			t.Errorf("back to /data after sign-out: want the sign-in page, got %s", back.Path())
		}

		// Someone who copied the cookie before sign-out gets nothing with it.
		tb.replayCookie(signedIn)
		replayed := tb.open("/data", "data-with-old-cookie")
		tb.wantNoPatronData(replayed, alex)
		if replayed.URL.Path != "/login" {
			t.Errorf("GET /data with the signed-out session's cookie: want a redirect to /login, got %s (status %d)",
				replayed.Path(), replayed.Status)
		}
	})
}

// TestSignInErrorsAreAccessible: an empty form and a wrong PIN each show an
// error summary and field errors that are tied to labelled fields, and the
// error states pass axe like every page.
func TestSignInErrorsAreAccessible(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		tb := b.newTab(t, startPortal(t, db), "signin-errors")

		login := tb.open("/login", "login")
		wantPage(t, login, http.StatusOK, "/login", "Sign in")
		tb.wantLabelledFields(false)

		empty := tb.follow("empty-form", chromedp.Click(chromedp.CSS(selSignInBtn)))
		wantPage(t, empty, http.StatusUnprocessableEntity, "/login", "Sign in")
		tb.wantVisible(selFormError)
		wantText(t, empty, "Enter your library card number.", "Enter your PIN.")
		tb.wantLabelledFields(true)
		// The summary links lead to the fields.
		for _, id := range []string{"card", "pin"} {
			if !eval[bool](tb, fmt.Sprintf(`!!document.querySelector('%s a[href="#%s"]')`, selFormError, id)) {
				t.Errorf("the error summary has no link to #%s", id)
			}
		}

		wrong := tb.follow("wrong-pin",
			chromedp.SendKeys(chromedp.CSS(selCard), blake.Card),
			chromedp.SendKeys(chromedp.CSS(selPIN), "0000"+kb.Enter))
		wantPage(t, wrong, http.StatusUnauthorized, "/login", "Sign in")
		tb.wantVisible(selFormError)
		wantText(t, wrong, "That card number and PIN do not match our records.")
		tb.wantLabelledFields(false)
		if v := eval[string](tb, `document.querySelector("#pin").value`); v != "" {
			t.Errorf("after a wrong PIN the PIN field still holds %q; it must be empty", v)
		}
		if jar := tb.cookies(); len(jar) != 0 {
			t.Errorf("a wrong PIN set %d cookie(s); nothing is set before a successful sign-in", len(jar))
		}

		// The right PIN now works, for the other demo patron.
		do(tb, "clear the card field", chromedp.Clear(chromedp.CSS(selCard)))
		ok := tb.follow("data",
			chromedp.SendKeys(chromedp.CSS(selCard), blake.Card),
			chromedp.SendKeys(chromedp.CSS(selPIN), blake.PIN+kb.Enter))
		wantPage(t, ok, http.StatusOK, "/data", "What we hold about you")
		wantText(t, ok, blake.Short)
	})
}

// TestKeyboardAndZoom: the first Tab press lands on a visible skip link that
// moves focus to the main content; at 320 CSS pixels (a 640-pixel window at
// 200% zoom) no page scrolls sideways, signed out or in.
func TestKeyboardAndZoom(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		p := startPortal(t, db)

		t.Run("keyboard", func(t *testing.T) {
			tb := b.newTab(t, p, "keyboard")
			for _, path := range []string{"/", "/login", "/policy"} {
				tb.open(path, pageName(path))
				do(tb, "press Tab", chromedp.KeyEvent(kb.Tab))
				tb.wantSkipLinkFocused(path)
				do(tb, "press Enter on the skip link", chromedp.KeyEvent(kb.Enter))
				focus := run(tb, "wait for focus to move to main",
					chromedp.Poll[string](`document.activeElement && document.activeElement.id === "main" ? "main" : ""`,
						chromedp.WithPollingTimeout(pollTimeout)))
				if focus != "main" {
					t.Errorf("%s: Enter on the skip link did not move focus to #main", path)
				}
			}
		})

		t.Run("zoom", func(t *testing.T) {
			tb := b.newTab(t, p, "zoom")
			// 200% zoom of a 640-pixel-wide window: 320 CSS pixels at a
			// device scale factor of 2, the width of WCAG 1.4.10 (Reflow).
			do(tb, "emulate a 640px window at 200% zoom", chromedp.EmulateViewport(320, 480, chromedp.EmulateScale(2)))
			for _, path := range []string{"/", "/policy", "/login"} {
				tb.open(path, "320px-"+pageName(path))
				tb.wantNoHorizontalScroll(path, path)
			}
			data := tb.follow("320px-data",
				chromedp.SendKeys(chromedp.CSS(selCard), alex.Card),
				chromedp.SendKeys(chromedp.CSS(selPIN), alex.PIN+kb.Enter))
			wantPage(t, data, http.StatusOK, "/data", "What we hold about you")
			tb.wantNoHorizontalScroll("/data", "/data (signed in)")
			for _, path := range []string{"/", "/policy"} {
				tb.open(path, "320px-signed-in-"+pageName(path))
				tb.wantNoHorizontalScroll(path, path+" (signed in)")
			}
		})
	})
}

func pageName(path string) string {
	if path == "/" {
		return "home"
	}
	return strings.Trim(safeName(path), "-")
}
