package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
)

// handoffVictim is a browser signed in as B. Sample, the victim.
func handoffVictim(t *testing.T, a *app) *client {
	t.Helper()
	a.patron("21000000001111", "1111", "Betty", "Sample")
	v := a.client()
	wantRedirect(t, v.signIn("21000000001111", "1111"), "/data")
	return v
}

func TestAHandoffNeverSwitchesAccountsOnAGet(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks") // the attacker's own account
		k := a.opac("koha")
		for _, who := range []string{"patron", "staff"} {
			t.Run(who, func(t *testing.T) {
				var v *client
				want := "B. Sample"
				if who == "patron" {
					v = handoffVictim(t, a)
				} else {
					a.staff("sam", models.RoleAssistant)
					v = a.client()
					wantRedirect(t, v.staffSignIn("sam", staffPassword), "/staff")
					want = "Sam Staffer"
				}
				before := v.sessionCookie()
				tok := sign(t, k, handoffClaims(a, "koha", card))
				// The token leaves the address bar at once: the question
				// is asked at an address without it.
				r := handoff(v, tok, "to", "/favorites")
				wantRedirect(t, r, "/opac/handoff/confirm")
				if v.sessionCookie() != before || len(r.Header.Values("Set-Cookie")) != 0 {
					t.Fatal("a GET must not switch the session")
				}
				q := v.get("/opac/handoff/confirm")
				wantStatus(t, q, http.StatusOK)
				if strings.Contains(q.body, tok) || strings.Contains(q.Request.URL.String(), tok) {
					t.Fatal("the question page must never carry the hand-off token")
				}
				doc := q.doc(t)
				if got := doc.Find(`[data-testid="handoff-confirm"]`).Text(); !strings.Contains(got, "You are signed in as "+want) {
					t.Fatalf("the hand-off should ask first: %q", got)
				}
				// The victim is still themselves.
				if who == "patron" {
					if got := v.get("/data").doc(t).Find(`[data-testid="signed-in"]`).Text(); !strings.Contains(got, "B. Sample") {
						t.Fatalf("victim now %q", got)
					}
				} else {
					wantStatus(t, v.get("/staff"), http.StatusOK)
				}
				stay := doc.Find(`form[data-testid="handoff-stay"]`)
				if m, _ := stay.Attr("method"); m != "post" || !strings.Contains(stay.Text(), "Stay signed in as "+want) {
					t.Fatal("the page offers to stay signed in, with a POST")
				}
				form := doc.Find(`form[data-testid="handoff-continue"]`)
				if m, _ := form.Attr("method"); m != "post" {
					t.Fatal("continuing is a POST")
				}
				action, _ := form.Attr("action")
				vals := formValues(form)
				// Without the form token, or from another site, nothing happens.
				wantStatus(t, v.post(action, url.Values{}), http.StatusForbidden)
				req, _ := http.NewRequest(http.MethodPost, a.server.URL+action, strings.NewReader(vals.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				wantStatus(t, v.do(req), http.StatusForbidden)
				if v.sessionCookie() != before {
					t.Fatal("a refused POST must not switch the session")
				}
				wantRedirect(t, v.post(action, vals), "/favorites")
				if v.sessionCookie() == before {
					t.Fatal("continuing starts a new session")
				}
				if got := v.get("/data").doc(t).Find(`[data-testid="signed-in"]`).Text(); !strings.Contains(got, "R. Parks") {
					t.Fatalf("now signed in as %q", got)
				}
				// And it was spent then.
				wantStatus(t, handoff(a.client(), tok), http.StatusUnauthorized)
			})
		}
	})
}

// A visitor who stays signed in declines the hand-off for good: the token
// is spent, so neither a later press of Continue nor the next person on a
// shared computer reopening the hand-off address signs anyone in.
func TestStayingSignedInThrowsThePendingHandoffAway(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		k := a.opac("koha")
		v := handoffVictim(t, a)
		tok := sign(t, k, handoffClaims(a, "koha", card))
		wantRedirect(t, handoff(v, tok, "to", "/favorites"), "/opac/handoff/confirm")
		doc := v.get("/opac/handoff/confirm").doc(t)
		cont := doc.Find(`form[data-testid="handoff-continue"]`)
		action, _ := cont.Attr("action")
		vals := formValues(cont)
		stay := doc.Find(`form[data-testid="handoff-stay"]`)
		stayAction, _ := stay.Attr("action")
		wantRedirect(t, v.post(stayAction, formValues(stay)), "/data")
		// Continue no longer has a hand-off to use.
		wantStatus(t, v.post(action, vals), http.StatusUnauthorized)
		if got := v.get("/data").doc(t).Find(`[data-testid="signed-in"]`).Text(); !strings.Contains(got, "B. Sample") {
			t.Fatalf("now signed in as %q", got)
		}
		// Nothing left to ask.
		wantRedirect(t, v.get("/opac/handoff/confirm"), "/data")
		// The victim signs out; the next person reopens the hand-off address.
		wantRedirect(t, v.post("/logout", url.Values{"csrf_token": {v.csrf("/data")}}), "/login?signed_out=1")
		next := a.client()
		wantStatus(t, handoff(next, tok, "to", "/favorites"), http.StatusUnauthorized)
		wantRedirect(t, next.get("/favorites"), "/login?next=%2Ffavorites")
	})
}

// formValues are the values a browser would submit with a form.
func formValues(form *goquery.Selection) url.Values {
	vals := url.Values{}
	form.Find("input").Each(func(_ int, s *goquery.Selection) {
		n, _ := s.Attr("name")
		val, _ := s.Attr("value")
		vals.Set(n, val)
	})
	return vals
}

func TestAHandoffForTheSamePatronGoesStraightOn(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		k := a.opac("koha")
		c := a.client()
		wantRedirect(t, c.signIn(card, pin), "/data")
		before := c.sessionCookie()
		wantRedirect(t, handoff(c, sign(t, k, handoffClaims(a, "koha", card)), "to", "/favorites"), "/favorites")
		if c.sessionCookie() != before {
			t.Fatal("the same patron keeps their session")
		}
		wantStatus(t, c.get("/favorites"), http.StatusOK)
		// Nobody signed in: the hand-off signs in, as before.
		fresh := a.client()
		wantRedirect(t, handoff(fresh, sign(t, k, handoffClaims(a, "koha", card)), "to", "/favorites"), "/favorites")
		wantStatus(t, fresh.get("/favorites"), http.StatusOK)
	})
}

// A visitor who signs out without answering the question declines the
// hand-off too: the next person on the computer cannot use it.
func TestSigningOutThrowsAPendingHandoffAway(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		k := a.opac("koha")
		a.staff("sam", models.RoleAssistant)
		for _, who := range []string{"patron", "staff"} {
			t.Run(who, func(t *testing.T) {
				var v *client
				if who == "patron" {
					v = a.client()
					v.signIn(card, pin) // Rosa's own session; the hand-off names B. Sample
					a.patron("21000000002222", "2222", "Betty", "Sample")
				} else {
					v = a.client()
					wantRedirect(t, v.staffSignIn("sam", staffPassword), "/staff")
				}
				claims := handoffClaims(a, "koha", card)
				if who == "patron" {
					claims = handoffClaims(a, "koha", "21000000002222")
				}
				tok := sign(t, k, claims)
				wantRedirect(t, handoff(v, tok), "/opac/handoff/confirm")
				if who == "patron" {
					wantRedirect(t, v.post("/logout", url.Values{"csrf_token": {v.csrf("/data")}}), "/login?signed_out=1")
				} else {
					wantRedirect(t, v.post("/staff/logout", url.Values{"csrf_token": {v.csrf("/staff")}}), "/staff/login?signed_out=1")
				}
				next := a.client()
				wantStatus(t, handoff(next, tok), http.StatusUnauthorized)
				if next.sessionCookie() != "" {
					t.Fatal("nobody was to be signed in")
				}
			})
		}
	})
}
