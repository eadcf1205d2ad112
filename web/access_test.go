package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
)

// Visitors, in the order the access table lists them.
var visitors = []string{"anonymous", "patron", "assistant", "officer", "admin", "assisting"}

// Expected outcomes: Y the route's handler runs; L sent to sign in;
// F refused (403); S a staff member not assisting is sent to the console.
// A 5xx is none of these: classify names it "5xx", which no row expects.

// accessTable says, for every route the router has, what each kind of
// visitor gets. A route missing here fails the test, so no future route can
// ship without a decision about who may reach it.
var accessTable = map[string]string{
	//                              anon pat asst off adm assisting
	"GET /":                                      "Y    Y   Y    Y   Y   Y",
	"GET /login":                                 "Y    Y   Y    Y   Y   Y",
	"POST /login":                                "Y    Y   Y    Y   Y   Y",
	"POST /logout":                               "Y    Y   Y    Y   Y   Y",
	"POST /language":                             "F    Y   Y    Y   Y   Y",
	"GET /policy":                                "Y    Y   Y    Y   Y   Y",
	"GET /healthz":                               "Y    Y   Y    Y   Y   Y",
	"GET /readyz":                                "Y    Y   Y    Y   Y   Y",
	"GET /static/*":                              "Y    Y   Y    Y   Y   Y",
	"GET /library-logo":                          "Y    Y   Y    Y   Y   Y",
	"GET /data":                                  "L    Y   S    S   S   Y",
	"GET /data/:category":                        "L    Y   S    S   S   Y",
	"GET /data/export.json":                      "L    Y   S    S   S   F",
	"GET /data/print":                            "L    Y   S    S   S   F",
	"POST /data/reading-history/on":              "F    Y   F    F   F   Y",
	"GET /data/reading-history/off":              "L    Y   S    S   S   Y",
	"POST /data/reading-history/off":             "F    Y   F    F   F   Y",
	"GET /data/reading-history/clear":            "L    Y   S    S   S   F",
	"POST /data/reading-history/clear":           "F    Y   F    F   F   F",
	"POST /data/reading-history/:id/delete":      "F    Y   F    F   F   F",
	"POST /data/reading-history/keep":            "F    Y   F    F   F   Y",
	"POST /data/sessions/end-others":             "F    Y   F    F   F   F",
	"POST /data/assist-notice/dismiss":           "F    Y   F    F   F   F",
	"GET /favorites":                             "L    Y   S    S   S   Y",
	"POST /favorites/link":                       "F    Y   F    F   F   Y",
	"GET /favorites/unlink":                      "L    Y   S    S   S   Y",
	"POST /favorites/unlink":                     "F    Y   F    F   F   Y",
	"POST /favorites/add":                        "F    Y   F    F   F   Y",
	"POST /favorites/:id/remove":                 "F    Y   F    F   F   Y",
	"POST /favorites/notice":                     "F    Y   F    F   F   Y",
	"GET /opac/follow":                           "L    Y   S    S   S   F",
	"GET /mailing-lists":                         "L    Y   S    S   S   Y",
	"POST /mailing-lists/unsubscribe-all":        "F    Y   F    F   F   Y",
	"POST /mailing-lists/:slug/subscribe":        "F    Y   F    F   F   Y",
	"POST /mailing-lists/:slug/unsubscribe":      "F    Y   F    F   F   Y",
	"GET /unsubscribe/:token":                    "Y    Y   Y    Y   Y   Y",
	"POST /unsubscribe/:token":                   "Y    Y   Y    Y   Y   Y",
	"GET /unsubscribe/notices/:token":            "Y    Y   Y    Y   Y   Y",
	"POST /unsubscribe/notices/:token":           "Y    Y   Y    Y   Y   Y",
	"GET /staff/lists":                           "L    F   F    F   Y   F",
	"GET /staff/lists/new":                       "L    F   F    F   Y   F",
	"POST /staff/lists/new":                      "F    F   F    F   Y   F",
	"GET /staff/lists/:slug":                     "L    F   F    F   Y   F",
	"POST /staff/lists/:slug":                    "F    F   F    F   Y   F",
	"POST /staff/lists/:slug/retire":             "F    F   F    F   Y   F",
	"GET /opac/handoff":                          "Y    Y   Y    Y   Y   Y",
	"GET /opac/handoff/confirm":                  "Y    Y   S    S   S   S", // with nothing to ask: back to /data or /staff
	"POST /opac/handoff/confirm":                 "F    Y   Y    Y   Y   Y",
	"POST /opac/handoff/stay":                    "F    Y   Y    Y   Y   Y",
	"GET /staff/retention":                       "L    F   F    Y   Y   F",
	"POST /staff/retention":                      "F    F   F    Y   Y   F",
	"GET /staff/legal":                           "L    F   F    Y   Y   F",
	"GET /staff/legal/new":                       "L    F   F    Y   Y   F",
	"POST /staff/legal/new":                      "F    F   F    Y   Y   F",
	"GET /staff/legal/:id":                       "L    F   F    Y   Y   F",
	"POST /staff/legal/:id/patrons/:pid/:action": "F   F   F    Y   Y   F",
	"POST /staff/legal/:id/review":               "F    F   F    Y   Y   F",
	"POST /staff/legal/:id/approve":              "F    F   F    Y   Y   F",
	"POST /staff/legal/:id/nondisclosure/lift":   "F    F   F    Y   Y   F",
	"GET /staff/stats":                           "L    F   F    Y   Y   F",
	"GET /staff/stats.csv":                       "L    F   F    Y   Y   F",
	"GET /metrics":                               "Y    Y   Y    Y   Y   Y",
	"GET /staff/login":                           "Y    Y   Y    Y   Y   Y",
	"POST /staff/login":                          "Y    Y   Y    Y   Y   Y",
	"POST /staff/login/oidc":                     "Y    Y   Y    Y   Y   Y", // single sign-on: 404 here, without an issuer
	"GET /staff/oidc/callback":                   "Y    Y   Y    Y   Y   Y", // its state is its check (TestStaffOIDCRefusesReplaysAndLateAnswers)
	"POST /staff/logout":                         "Y    Y   Y    Y   Y   Y",
	"GET /staff":                                 "L    F   Y    Y   Y   F",
	"GET /staff/patrons":                         "L    F   Y    Y   Y   F",
	"GET /staff/patrons/:id":                     "L    F   Y    Y   Y   F",
	"POST /staff/patrons/:id/assist":             "F  F   Y    Y   Y   F",
	"POST /staff/patrons/:id/print":              "F  F   Y    Y   Y   F",
	"POST /assist/end":                           "F    F   S    S   S   Y",
	"GET /staff/audit":                           "L    F   F    Y   Y   F",
	"POST /staff/audit/verify":                   "F    F   F    Y   Y   F",
	"GET /staff/accounts":                        "L    F   F    F   Y   F",
	"GET /staff/arrivals":                        "L    F   Y    Y   Y   F",
	"POST /staff/arrivals":                       "F    F   Y    Y   Y   F",
	"POST /api/arrivals":                         "Y    Y   Y    Y   Y   Y", // the handler checks the API key: 401
	// The second factor: the sign-in's steps refuse a post without a
	// sealed pending sign-in, whoever sends it; each staff member's own page.
	"POST /staff/login/code":  "F    F   F    F   F   F",
	"POST /staff/login/enrol": "F    F   F    F   F   F",
	"GET /staff/2fa":          "L    F   Y    Y   Y   F",
	"POST /staff/2fa":         "F    F   Y    Y   Y   F",

	// Downloads that produce patrons' records are POSTs with the form token.
	"POST /staff/lists/:slug/export.csv": "F    F   F    F   Y   F",
	"POST /staff/legal/:id/produce":      "F    F   F    Y   Y   F",
	"POST /staff/audit.csv":              "F    F   F    Y   Y   F",
}

func TestEveryRouteHasAnAccessRule(t *testing.T) {
	cfg := demoConfig()
	cfg.SigninRate, cfg.SigninBurst = 1000, 1000 // every visitor here signs in afresh
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv, err := web.New(a.store, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("assistant", models.RoleAssistant)
		a.staff("officer", models.RolePrivacyOfficer)
		a.staff("admin", models.RoleAdmin)
		lst := a.list("events", "Library events")
		a.list("retiring", "A list the admin retires") // the retire route's own list, so "events" stays open
		legal := a.legalRequest(t, false, p)
		fav, _, _ := a.store.AddFavorite(context.Background(), p.ID, models.FavoriteAuthor, "x", models.Actor{})
		entry := models.HistoryEntry{PatronID: p.ID, Title: "t", CheckedOutAt: testNow, ReturnedAt: testNow}
		a.store.DB.Create(&entry)
		ids := map[string]string{
			"/data/:category": "/data/loans", "/static/*": "/static/css/carrel.css",
			"/data/reading-history/:id/delete":      "/data/reading-history/" + itoa(entry.ID) + "/delete",
			"/favorites/:id/remove":                 "/favorites/" + itoa(fav.ID) + "/remove",
			"/staff/patrons/:id":                    "/staff/patrons/" + itoa(p.ID),
			"/staff/patrons/:id/assist":             "/staff/patrons/" + itoa(p.ID) + "/assist",
			"/staff/patrons/:id/print":              "/staff/patrons/" + itoa(p.ID) + "/print",
			"/opac/follow":                          "/opac/follow?author=Octavia+Butler",
			"/mailing-lists/:slug/subscribe":        "/mailing-lists/events/subscribe",
			"/mailing-lists/:slug/unsubscribe":      "/mailing-lists/events/unsubscribe",
			"/unsubscribe/:token":                   "/unsubscribe/" + a.store.UnsubscribeToken(p.ID, lst.ID),
			"/unsubscribe/notices/:token":           "/unsubscribe/notices/" + a.store.NoticeToken(p.ID),
			"/staff/lists/:slug":                    "/staff/lists/events",
			"/staff/lists/:slug/retire":             "/staff/lists/retiring/retire",
			"/staff/lists/:slug/export.csv":         "/staff/lists/events/export.csv",
			"/staff/legal/:id":                      "/staff/legal/" + itoa(legal.ID),
			"/staff/legal/:id/patrons/:pid/:action": "/staff/legal/" + itoa(legal.ID) + "/patrons/" + itoa(p.ID) + "/hold",
			"/staff/legal/:id/review":               "/staff/legal/" + itoa(legal.ID) + "/review",
			"/staff/legal/:id/approve":              "/staff/legal/" + itoa(legal.ID) + "/approve",
			"/staff/legal/:id/produce":              "/staff/legal/" + itoa(legal.ID) + "/produce",
			"/staff/legal/:id/nondisclosure/lift":   "/staff/legal/" + itoa(legal.ID) + "/nondisclosure/lift",
		}
		seen := map[string]bool{}
		for _, r := range srv.Routes() {
			key := r.Method + " " + r.Path
			if seen[key] {
				continue
			}
			seen[key] = true
			row, ok := accessTable[key]
			if !ok {
				t.Errorf("route %s has no row in the access table", key)
				continue
			}
			want := strings.Fields(row)
			path := r.Path
			if concrete, ok := ids[path]; ok {
				path = concrete
			}
			for i, who := range visitors {
				c := a.visitor(t, who, p)
				var got response
				if r.Method == http.MethodGet {
					got = c.get(path)
				} else {
					tok := c.token(who)
					if path == "/login" || path == "/staff/login" || path == "/staff/login/oidc" {
						// The sign-in forms carry their own stateless token,
						// whoever opens them.
						tok = a.client().csrf("/login")
					}
					got = c.post(path, url.Values{"csrf_token": {tok}, "reason": {"desk"}, "confirm": {"yes"}})
				}
				outcome := classify(got)
				if path == "/assist/end" && outcome == "S" &&
					strings.Contains(c.get("/staff").doc(t).Find(`[data-testid="notice"]`).Text(), "no longer assisting") {
					outcome = "Y" // the handler ended an assistance and said so
				}
				if outcome != want[i] {
					t.Errorf("%s as %s: got %s (status %d, to %q), want %s", key, who, outcome, got.StatusCode, got.Header.Get("Location"), want[i])
				}
			}
		}
		for key := range accessTable {
			if !seen[key] {
				t.Errorf("the access table names %s, which is not a route", key)
			}
		}
		// The administrator's POST reached the retire handler itself, not
		// another route under the same prefix.
		var retiring models.MailingList
		if err := a.store.DB.Where("slug = ?", "retiring").Take(&retiring).Error; err != nil || retiring.RetiredAt == nil {
			t.Errorf("the retire route did not retire its list: %+v, %v", retiring, err)
		}
	})
}

// A server error is never an access decision: a route whose handler fails
// for some visitor must not count as one that let them in.
func TestClassifyCountsAServerErrorAsNoOutcome(t *testing.T) {
	for _, code := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		req := httptest.NewRequest(http.MethodGet, "/data", nil)
		r := response{Response: &http.Response{StatusCode: code, Header: http.Header{}, Request: req}}
		for _, allowed := range []string{"Y", "L", "F", "S"} {
			if got := classify(r); got == allowed {
				t.Errorf("status %d is classified %q, an outcome the access table can expect", code, got)
			}
		}
	}
}

// visitor returns a fresh client of the given kind.
func (a *app) visitor(t *testing.T, who string, p models.Patron) *client {
	c := a.client()
	switch who {
	case "patron":
		c.signIn(card, pin)
	case "assistant", "officer", "admin":
		c.staffSignIn(who, staffPassword)
	case "assisting":
		return a.assisting(t, "assistant", p)
	}
	return c
}

// token is a form token from a page the visitor may open.
func (c *client) token(who string) string {
	switch who {
	case "anonymous":
		return c.csrf("/login")
	case "patron", "assisting":
		return c.csrf("/data")
	default:
		return c.csrf("/staff")
	}
}

func classify(r response) string {
	loc := r.Header.Get("Location")
	switch {
	case r.StatusCode >= 500:
		return "5xx" // the handler failed: not an access decision
	case r.StatusCode == http.StatusForbidden:
		return "F"
	case r.StatusCode == http.StatusSeeOther && (strings.HasPrefix(loc, "/login?next=") || strings.HasPrefix(loc, "/staff/login?next=")):
		return "L"
	case r.StatusCode == http.StatusSeeOther && loc == "/staff" && r.Request.Method == http.MethodGet && !strings.HasPrefix(r.Request.URL.Path, "/staff"):
		return "S"
	case r.StatusCode == http.StatusSeeOther && loc == "/staff" && r.Request.URL.Path == "/assist/end":
		return "S"
	}
	return "Y"
}
