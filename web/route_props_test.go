package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/web"
	"github.com/labstack/echo/v4"
)

// Every unsafe route requires the session's form token, except the ones
// named here: the sign-in forms, which carry a stateless token, and the
// routes that check their own token or key. The exemption is a property of
// the route (Route.OwnTokenCheck, Route.SigninForm), read from the route a
// request matched: a route whose path changes keeps it, and a new unsafe
// route is checked unless it says otherwise and is listed here.
func TestUnsafeRoutesCheckTheFormToken(t *testing.T) {
	want := map[string]string{
		"login.submit":               "sign-in form",
		"staff.login.submit":         "sign-in form",
		"staff.login.oidc":           "sign-in form",
		"logout":                     "own check",
		"staff.logout":               "own check",
		"unsubscribe.submit":         "own check",
		"notices.unsubscribe.submit": "own check",
		"api.arrivals":               "own check",
		"staff.login.code":           "sign-in form",
		"staff.login.enrol":          "sign-in form",
	}
	param := regexp.MustCompile(`:[a-z]+|\*`)
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		srv, err := web.New(a.store, demoConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range srv.Routes() {
			if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
				continue
			}
			// An anonymous visitor, no token: the form-token check, where
			// it applies, answers before the route's access guard.
			resp := a.client().post(param.ReplaceAllString(r.Path, "1"), nil)
			switch {
			case resp.StatusCode == http.StatusForbidden && strings.Contains(resp.body, "That action was refused"):
				continue // the session's form token was required
			case resp.StatusCode == http.StatusForbidden && strings.Contains(resp.body, "This sign-in form was open too long"):
				got[r.Name] = "sign-in form"
			default:
				got[r.Name] = "own check"
			}
		}
		for name, how := range want {
			if got[name] != how {
				t.Errorf("%s: %q without the form token, want %q", name, got[name], how)
			}
		}
		for name, how := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s answers without the session's form token (%s) but is not listed as exempt", name, how)
			}
		}
	})
}

// The properties that concern a path, not a method (no session, the body
// limit), are the same on every route of a path: a request with a method
// the path does not serve (answered 404) gets them too.
func TestRoutePropertiesAgreeOnAPath(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		srv, err := web.New(a.store, demoConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		first := map[string]web.Route{}
		var paths []string
		for _, r := range srv.RouteTable() {
			f, ok := first[r.Path]
			if !ok {
				first[r.Path] = r
				paths = append(paths, r.Path)
				continue
			}
			if f.NoSession != r.NoSession || f.BodyLimit != r.BodyLimit {
				t.Errorf("%s and %s share %s but not its session or body limit", f.Name, r.Name, r.Path)
			}
		}
		sort.Strings(paths)
		// The routes that never read a session, named by the routes
		// themselves: a rename of their paths keeps them.
		var without []string
		for _, r := range srv.RouteTable() {
			if r.NoSession {
				without = append(without, r.Name)
			}
		}
		sort.Strings(without)
		wantWithout := []string{"api.arrivals", "healthz", "logo", "metrics", "notices.unsubscribe",
			"notices.unsubscribe.submit", "readyz", "static", "unsubscribe", "unsubscribe.submit"}
		if strings.Join(without, " ") != strings.Join(wantWithout, " ") {
			t.Errorf("routes without a session: %v, want %v", without, wantWithout)
		}
	})
}

// web.New leaves the store it is given as it was: a second server over
// the same store (a test's, a tool's) does not take the first one's
// event counts.
func TestNewLeavesTheStoreAlone(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.store.Count = nil
		if _, err := web.New(a.store, demoConfig(), nil); err != nil {
			t.Fatal(err)
		}
		if a.store.Count != nil {
			t.Fatal("web.New set the store's Count hook")
		}
	})
}

// A panic is a plain 500 page, and the log says where it happened: the
// functions and source lines, with no argument values (which could be a
// patron's ID or data).
func TestAPanicIsLoggedWithItsStack(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		logs := &syncBuffer{}
		srv, err := web.New(a.store, demoConfig(), slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		srv.HandleForTest(http.MethodGet, "/explode", func(echo.Context) error {
			explodeWith(4111111111111111, "Rosa Parks")
			return nil
		})
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/explode", nil).WithContext(context.Background()))
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "Something went wrong on our side") {
			t.Fatalf("status %d, want the 500 page\n%s", rec.Code, excerpt(rec.Body.String()))
		}
		out := logs.String()
		if !strings.Contains(out, "msg=panic") || !strings.Contains(out, "route=/explode") ||
			!strings.Contains(out, "web_test.explodeWith") || !strings.Contains(out, "route_props_test.go:") {
			t.Fatalf("the log does not say where the panic happened:\n%s", out)
		}
		if strings.Contains(out, "(0x") || strings.Contains(out, "Rosa") || strings.Contains(out, "4111111111111111") ||
			strings.Contains(out, "0xe99a64d5d2307") {
			t.Fatalf("the log holds argument values:\n%s", out)
		}
	})
}

//go:noinline
func explodeWith(card int64, name string) {
	if card != 0 && name != "" {
		panic("boom")
	}
}
