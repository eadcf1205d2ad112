package web_test

import (
	"context"
	"encoding/base64"
	"github.com/carrel-library/carrel/web"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/golang-jwt/jwt/v5"
)

const catalog = "https://catalog.example.org"

type opacKey struct{ kid, secret string }

func (a *app) opac(id string) opacKey {
	a.t.Helper()
	kid, secret, err := a.store.AddOPAC(context.Background(), id, catalog)
	if err != nil {
		a.t.Fatal(err)
	}
	return opacKey{kid, secret}
}

// claims are a well-formed hand-off, to be spoiled one way at a time.
func handoffClaims(a *app, iss, sub string) jwt.MapClaims {
	n := a.clock.Now()
	return jwt.MapClaims{"iss": iss, "aud": "carrel", "sub": sub, "iat": n.Unix(), "exp": n.Add(90 * time.Second).Unix(),
		"jti": models.RandomToken()}
}

func sign(t *testing.T, k opacKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString([]byte(k.secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func handoff(c *client, token string, extra ...string) response {
	q := url.Values{"token": {token}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return c.get("/opac/handoff?" + q.Encode())
}

func TestHandoffSignsInAndShowsTheWayBack(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		k := a.opac("koha")
		c := a.client()
		tok := sign(t, k, handoffClaims(a, "koha", card))
		r := handoff(c, tok, "to", "/favorites", "return", catalog+"/cgi-bin/koha/opac-detail.pl?biblionumber=42")
		wantRedirect(t, r, "/favorites")
		if r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatal("the hand-off response must not leak the token in a Referer")
		}
		page := c.get("/favorites").doc(t)
		if w := page.Find(`[data-testid="catalog-welcome"]`).Text(); !strings.Contains(w, "Signed in from the catalog as R. Parks") || !strings.Contains(w, "Not you?") {
			t.Fatalf("landing page must say who is signed in: %q", w)
		}
		back, _ := page.Find(`[data-testid="back-to-catalog"]`).Attr("href")
		if back != catalog+"/cgi-bin/koha/opac-detail.pl?biblionumber=42" {
			t.Fatalf("back link %q", back)
		}
		// The welcome is said once; the way back stays.
		next := c.get("/data").doc(t)
		if next.Find(`[data-testid="catalog-welcome"]`).Length() != 0 || next.Find(`[data-testid="back-to-catalog"]`).Length() != 1 {
			t.Fatal("the welcome shows once, the way back on every page")
		}
		// The session is a catalog one: its consent changes say so.
		c.post("/data/reading-history/on", url.Values{"csrf_token": {c.csrf("/data")}})
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Take(&e)
		if e.Channel != models.ChannelCatalog {
			t.Fatalf("channel %q", e.Channel)
		}
		// A replay is refused, even from another browser.
		r = handoff(a.client(), tok)
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(a.logs.String(), "reason=replayed") || strings.Contains(a.logs.String(), tok[:20]) || strings.Contains(a.logs.String(), card) {
			t.Fatal("a refusal logs its reason, never the token or the card")
		}
	})
}

func TestHandoffRefusals(t *testing.T) {
	cfg := demoConfig()
	cfg.SigninRate, cfg.SigninBurst = 1000, 1000
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		k := a.opac("koha")
		other := a.opac("evergreen")
		retired := a.opac("oldcat")
		if err := a.store.RetireOPACKey(context.Background(), retired.kid); err != nil {
			t.Fatal(err)
		}
		spoil := func(f func(jwt.MapClaims)) jwt.MapClaims {
			c := handoffClaims(a, "koha", card)
			f(c)
			return c
		}
		good := handoffClaims(a, "koha", card)
		parts := strings.Split(sign(t, k, good), ".")
		tampered := parts[0] + "." + strings.TrimRight(jwtSegment(t, `{"iss":"koha","aud":"carrel","sub":"21000000000002","iat":1,"exp":9999999999,"jti":"x"}`), "=") + "." + parts[2]
		none := jwtSegment(t, `{"alg":"none","typ":"JWT","kid":"`+k.kid+`"}`) + "." + parts[1] + "."
		rs := jwtSegment(t, `{"alg":"RS256","typ":"JWT","kid":"`+k.kid+`"}`) + "." + parts[1] + "." + parts[2]
		hs512 := jwt.NewWithClaims(jwt.SigningMethodHS512, handoffClaims(a, "koha", card))
		hs512.Header["kid"] = k.kid
		hs512s, _ := hs512.SignedString([]byte(k.secret))

		cases := map[string]string{
			"expired": sign(t, k, spoil(func(c jwt.MapClaims) {
				c["iat"] = a.clock.Now().Add(-10 * time.Minute).Unix()
				c["exp"] = a.clock.Now().Add(-5 * time.Minute).Unix()
			})),
			"not yet valid": sign(t, k, spoil(func(c jwt.MapClaims) {
				c["iat"] = a.clock.Now().Add(5 * time.Minute).Unix()
				c["exp"] = a.clock.Now().Add(6 * time.Minute).Unix()
			})),
			"too long lived":    sign(t, k, spoil(func(c jwt.MapClaims) { c["exp"] = a.clock.Now().Add(time.Hour).Unix() })),
			"wrong audience":    sign(t, k, spoil(func(c jwt.MapClaims) { c["aud"] = "someone-else" })),
			"wrong issuer":      sign(t, k, spoil(func(c jwt.MapClaims) { c["iss"] = "evergreen" })),
			"other catalog key": sign(t, other, handoffClaims(a, "koha", card)),
			"wrong key":         sign(t, opacKey{k.kid, "not-the-secret"}, handoffClaims(a, "koha", card)),
			"unknown key":       sign(t, opacKey{"nobody-1234", k.secret}, handoffClaims(a, "koha", card)),
			"retired key":       sign(t, retired, handoffClaims(a, "oldcat", card)),
			"tampered payload":  tampered,
			"alg none":          none,
			"alg RS256":         rs,
			"alg HS512":         hs512s,
			"no jti":            sign(t, k, spoil(func(c jwt.MapClaims) { delete(c, "jti") })),
			"no sub":            sign(t, k, spoil(func(c jwt.MapClaims) { delete(c, "sub") })),
			"no exp":            sign(t, k, spoil(func(c jwt.MapClaims) { delete(c, "exp") })),
			"no iat":            sign(t, k, spoil(func(c jwt.MapClaims) { delete(c, "iat") })),
			"unknown card":      sign(t, k, handoffClaims(a, "koha", "21000000005555")),
			"garbage":           "not.a.token",
			"empty":             "",
		}
		for name, tok := range cases {
			t.Run(name, func(t *testing.T) {
				c := a.client()
				r := handoff(c, tok, "return", catalog+"/home")
				wantStatus(t, r, http.StatusUnauthorized)
				doc := r.doc(t)
				if doc.Find(`input[name="card"]`).Length() != 1 || doc.Find(`[data-testid="back-to-catalog"]`).Length() != 1 {
					t.Fatal("a refusal offers the sign-in form and a way back")
				}
				wantRedirect(t, c.get("/data"), "/login?next=%2Fdata")
			})
		}
	})
}

func jwtSegment(t *testing.T, s string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func TestHandoffTargetsAndReturnsStayLocal(t *testing.T) {
	cfg := demoConfig()
	cfg.SigninRate, cfg.SigninBurst = 1000, 1000 // many hand-offs from one address
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		k := a.opac("koha")
		hostile := []string{"//evil.example", "https:evil.example", "/\\evil.example", "https://evil.example/", "%2F%2Fevil.example",
			"/%2F%2Fevil.example", "javascript:alert(1)", "/logout", "/staff", "/nowhere", "data:text/html,hi"}
		for _, to := range hostile {
			c := a.client()
			wantRedirect(t, handoff(c, sign(t, k, handoffClaims(a, "koha", card)), "to", to), "/data")
		}
		for _, to := range []string{"/data/loans", "/mailing-lists", "/opac/follow?author=Octavia+Butler"} {
			wantRedirect(t, handoff(a.client(), sign(t, k, handoffClaims(a, "koha", card)), "to", to), to)
		}
		badReturns := []string{"https://evil.example/", "//evil.example", "https://catalog.example.org.evil.example/",
			"https://user@catalog.example.org/", "javascript:alert(1)", "http://catalog.example.org/", "https://catalog.example.org\\@evil.example"}
		for _, ret := range badReturns {
			c := a.client()
			handoff(c, sign(t, k, handoffClaims(a, "koha", card)), "return", ret)
			if c.get("/data").doc(t).Find(`[data-testid="back-to-catalog"]`).Length() != 0 {
				t.Errorf("return %q must be ignored", ret)
			}
		}
		// A return signed into the token is honoured too.
		claims := handoffClaims(a, "koha", card)
		claims["ret"] = catalog + "/search?q=butler"
		c := a.client()
		handoff(c, sign(t, k, claims))
		if href, _ := c.get("/data").doc(t).Find(`[data-testid="back-to-catalog"]`).Attr("href"); href != catalog+"/search?q=butler" {
			t.Fatalf("signed return %q", href)
		}
	})
}

func TestMintedHandoffsWork(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		a.opac("koha")
		if _, _, err := a.store.RotateOPAC(context.Background(), "koha"); err != nil {
			t.Fatal(err)
		}
		tok, err := a.store.MintHandoff(context.Background(), "koha", card, "")
		if err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, handoff(a.client(), tok), "/data")
	})
}

func FuzzHandoffParameters(f *testing.F) {
	f.Add("a.b.c", "/data", "https://catalog.example.org/")
	f.Add("", "//evil", "javascript:x")
	f.Add("eyJhbGciOiJub25lIn0.e30.", "/\\x", "https:evil")
	f.Fuzz(func(t *testing.T, token, to, ret string) {
		if got := handoffTargetForTest(to); got != "/data" && !strings.HasPrefix(got, "/") {
			t.Fatalf("target %q from %q leaves the site", got, to)
		}
		if strings.HasPrefix(handoffTargetForTest(to), "//") {
			t.Fatalf("protocol-relative target from %q", to)
		}
	})
}

var handoffTargetForTest = web.HandoffTargetForTest
