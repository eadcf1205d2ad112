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
				r := handoff(v, tok, "to", "/favorites")
				wantStatus(t, r, http.StatusOK)
				doc := r.doc(t)
				if q := doc.Find(`[data-testid="handoff-confirm"]`).Text(); !strings.Contains(q, "You are signed in as "+want) {
					t.Fatalf("the hand-off should ask first: %q", q)
				}
				if v.sessionCookie() != before || len(r.Header.Values("Set-Cookie")) != 0 {
					t.Fatal("a GET must not touch the session")
				}
				// The victim is still themselves.
				if who == "patron" {
					if got := v.get("/data").doc(t).Find(`[data-testid="signed-in"]`).Text(); !strings.Contains(got, "B. Sample") {
						t.Fatalf("victim now %q", got)
					}
				} else {
					wantStatus(t, v.get("/staff"), http.StatusOK)
				}
				stay, _ := doc.Find(`[data-testid="stay-signed-in"]`).Attr("href")
				if stay == "" || !strings.Contains(doc.Find(`[data-testid="stay-signed-in"]`).Text(), "Stay signed in as "+want) {
					t.Fatal("the page offers to stay signed in")
				}
				// The token was not spent: choosing to continue works.
				form := doc.Find(`form[data-testid="handoff-continue"]`)
				if m, _ := form.Attr("method"); m != "post" {
					t.Fatal("continuing is a POST")
				}
				vals := url.Values{}
				form.Find("input").Each(func(_ int, s *goquery.Selection) {
					n, _ := s.Attr("name")
					val, _ := s.Attr("value")
					vals.Set(n, val)
				})
				// Without the form token, or from another site, nothing happens.
				noTok := url.Values{"token": {tok}, "to": {"/favorites"}}
				wantStatus(t, v.post("/opac/handoff", noTok), http.StatusForbidden)
				wantRedirect(t, v.post("/opac/handoff", vals), "/favorites")
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
