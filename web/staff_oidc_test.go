package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/web"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// testOP is a real OpenID provider (zitadel's OP, its example storage
// wrapped with groups and a few faults) running in the test process over
// TLS: discovery, JWKS, signed ID tokens, codes bound to PKCE.
type testOP struct {
	t       *testing.T
	server  *httptest.Server
	issuer  string
	storage *opStorage
	// down makes every request to the provider fail (503).
	down atomic.Bool
	// http reaches the provider without following redirects.
	http *http.Client
	// restart starts the portal again on the same database with its
	// single sign-on settings changed, as an operator editing them would.
	restart func(change func(*web.StaffOIDC))
}

// opStorage is the example storage with the knobs a test turns: each
// user's groups, and a token made for another client (a provider mixing
// up its clients: the token is still its own, properly signed), with
// another nonce, or with a short lifetime.
type opStorage struct {
	*storage.Storage
	users opUsers

	mu          sync.Mutex
	groups      map[string]any // by subject: a string or a list
	otherClient string
	nonce       string
	lifetime    time.Duration
}

func (s *opStorage) set(fn func(s *opStorage)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// SetUserinfoFromRequest puts the profile and the groups into the ID token.
func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[req.GetSubject()]; u != nil {
		ui.PreferredUsername, ui.Name, ui.Email = u.Username, u.FirstName+" "+u.LastName, u.Email
	}
	if g, ok := s.groups[req.GetSubject()]; ok {
		ui.AppendClaims("groups", g)
	}
	return nil
}

// faultyRequest is an authorization as the provider reads it back at the
// token endpoint, made for another client or with another nonce.
type faultyRequest struct {
	op.AuthRequest
	client string
	nonce  string
}

func (r faultyRequest) GetAudience() []string {
	if r.client != "" {
		return []string{r.client}
	}
	return r.AuthRequest.GetAudience()
}

func (r faultyRequest) GetClientID() string {
	if r.client != "" {
		return r.client
	}
	return r.AuthRequest.GetClientID()
}

func (r faultyRequest) GetNonce() string {
	if r.nonce != "" {
		return r.nonce
	}
	return r.AuthRequest.GetNonce()
}

func (s *opStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	req, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return faultyRequest{AuthRequest: req, client: s.otherClient, nonce: s.nonce}, nil
}

// faultyClient is the portal's client as the provider sees it, under
// another ID or with short-lived tokens.
type faultyClient struct {
	op.Client
	id       string
	lifetime time.Duration
}

func (c faultyClient) GetID() string {
	if c.id != "" {
		return c.id
	}
	return c.Client.GetID()
}

func (c faultyClient) IDTokenLifetime() time.Duration {
	if c.lifetime > 0 {
		return c.lifetime
	}
	return c.Client.IDTokenLifetime()
}

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return faultyClient{c, s.otherClient, s.lifetime}, nil
}

type opUsers map[string]*storage.User

func (u opUsers) GetUserByID(id string) *storage.User { return u[id] }
func (u opUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u opUsers) ExampleClientID() string { return "service" }

const (
	opClientID     = "carrel-portal"
	opClientSecret = "the-portal's-client-secret"
	opUserPassword = "idp-password"
)

// newTestOP starts a provider that knows the portal at publicURL, with
// jane (subject id-jane) and omar (id-omar).
func newTestOP(t *testing.T, publicURL string) *testOP {
	t.Helper()
	users := opUsers{
		"id-jane": {ID: "id-jane", Username: "jane@library.example", Password: opUserPassword, FirstName: "Jane", LastName: "Doe",
			Email: "jane.doe@library.example", EmailVerified: true, PreferredLanguage: language.English},
		"id-omar": {ID: "id-omar", Username: "omar@library.example", Password: opUserPassword, FirstName: "Omar", LastName: "Khan",
			Email: "omar.khan@library.example", EmailVerified: true, PreferredLanguage: language.English},
	}
	clients := map[string]*storage.Client{opClientID: storage.WebClient(opClientID, opClientSecret, publicURL+"/staff/oidc/callback")}
	st := &opStorage{Storage: storage.NewStorageWithClients(users, clients), users: users, groups: map[string]any{}}
	o := &testOP{t: t, storage: st}
	var handler http.Handler
	o.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	o.server.StartTLS()
	t.Cleanup(o.server.Close)
	o.issuer = o.server.URL
	provider, err := op.NewProvider(&op.Config{CryptoKey: [32]byte{1, 2, 3}, CodeMethodS256: true, AuthMethodPost: true,
		SupportedUILocales: []language.Tag{language.English}}, st, op.StaticIssuer(o.issuer),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	handler = provider
	o.http = o.server.Client()
	o.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return o
}

// login plays the staff member at the provider: opens the authorization
// address the portal sent them to, signs in as username, and returns
// where the provider sends the browser back (the portal's callback, with
// the code and state).
func (o *testOP) login(authorize, username string) string {
	o.t.Helper()
	resp, err := o.http.Get(authorize)
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	id := loc.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusFound || id == "" {
		o.t.Fatalf("the provider's answer to the authorization request: %d, to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if err := o.storage.CheckUsernamePassword(username, opUserPassword, id); err != nil {
		o.t.Fatal(err)
	}
	resp, err = o.http.Get(o.issuer + "/authorize/callback?id=" + url.QueryEscape(id))
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(back, "/staff/oidc/callback?") {
		o.t.Fatalf("the provider sent the browser to %q (status %d)", back, resp.StatusCode)
	}
	return back
}

// forEachDBWithOP runs fn on each engine with a portal over TLS whose staff
// sign in through a fresh provider (its name on the button: "Library
// Login"; lib-desk, lib-privacy and lib-it map to the three roles). The
// portal's clock starts at the real time, which the provider's tokens use.
func forEachDBWithOP(t *testing.T, cfg web.Config, fn func(t *testing.T, a *app, o *testOP)) {
	t.Helper()
	clock := modeltest.NewFakeClock(time.Now())
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(time.Now().UTC().Truncate(time.Second))
			var srv *web.Server
			ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }))
			publicURL := "https://" + ts.Listener.Addr().String()
			o := newTestOP(t, publicURL)
			cfg := cfg
			cfg.LibraryName, cfg.PolicyVersion, cfg.PublicURL = "Test Library", "test-1", publicURL
			cfg.StaffOIDC = web.StaffOIDC{Issuer: o.issuer, Name: "Library Login", ClientID: opClientID, ClientSecret: opClientSecret,
				Roles:      map[string][]string{models.RoleAssistant: {"lib-desk"}, models.RolePrivacyOfficer: {"lib-privacy"}, models.RoleAdmin: {"lib-it", "lib-root"}},
				HTTPClient: o.server.Client()}
			store := modeltest.NewStore(t, db.Gorm, clock)
			logs := &syncBuffer{}
			var err error
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			srv, err = web.New(store, cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			o.restart = func(change func(*web.StaffOIDC)) {
				change(&cfg.StaffOIDC)
				if srv, err = web.New(store, cfg, log); err != nil {
					t.Fatal(err)
				}
			}
			ts.StartTLS()
			t.Cleanup(ts.Close)
			fn(t, &app{t: t, store: store, clock: clock, server: ts, logs: logs, cookies: &cookieLog{}}, o)
		})
	}
}

// startOIDC presses "Sign in with Library Login" and returns the
// provider's authorization address the portal sent the browser to.
func (c *client) startOIDC(t *testing.T, next string) string {
	t.Helper()
	form := url.Values{"csrf_token": {c.csrf("/staff/login")}}
	if next != "" {
		form.Set("next", next)
	}
	r := c.post("/staff/login/oidc", form)
	wantStatus(t, r, http.StatusSeeOther)
	return r.Header.Get("Location")
}

// back follows the provider's redirect to the portal's callback.
func (c *client) back(to string) response {
	c.a.t.Helper()
	u, err := url.Parse(to)
	if err != nil {
		c.a.t.Fatal(err)
	}
	return c.get(u.RequestURI())
}

// oidcSignIn is a whole sign-in through the provider as username.
func (c *client) oidcSignIn(t *testing.T, o *testOP, username string) response {
	t.Helper()
	return c.back(o.login(c.startOIDC(t, ""), username))
}

func (a *app) oidcStaff(subject string) (models.Staff, bool) {
	var st models.Staff
	err := a.store.DB.Where("oidc_subject = ?", subject).Take(&st).Error
	return st, err == nil
}

func (a *app) auditDetails(action string) []string {
	var entries []models.AuditEntry
	a.store.DB.Where("action = ?", action).Order("id").Find(&entries)
	var out []string
	for _, e := range entries {
		out = append(out, e.Detail)
	}
	return out
}

func wantRefusal(t *testing.T, r response, status int, says string) {
	t.Helper()
	wantStatus(t, r, status)
	if msg := r.doc(t).Find(`[data-testid="form-error"]`).Text(); !strings.Contains(msg, says) {
		t.Errorf("the refusal page says %q, want %q", strings.TrimSpace(msg), says)
	}
	if c := r.Header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("a refused sign-in set a cookie: %q", c)
	}
}

// A good sign-in: the page offers the provider; the button sends the
// browser there with PKCE (S256), a state and a nonce, and sets no cookie;
// coming back creates the staff account from the token, with the mapped
// role and no password, audits both and signs in on a new session, at the
// page first asked for.
func TestStaffOIDCSignInCreatesTheAccount(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		o.storage.set(func(s *opStorage) { s.groups["id-jane"] = []string{"staff-all", "lib-privacy"} })
		c := a.client()
		page := c.get("/staff/login")
		if b := page.doc(t).Find(`[data-testid="oidc-sign-in"]`).Text(); b != "Sign in with Library Login" {
			t.Errorf("the sign-in button says %q", b)
		}
		if page.doc(t).Find(`[data-testid="password-form"]`).Length() != 1 {
			t.Error("the password form is gone while local accounts are on")
		}
		authorize := c.startOIDC(t, "/staff/audit")
		u, _ := url.Parse(authorize)
		q := u.Query()
		if !strings.HasPrefix(authorize, o.issuer+"/authorize?") || q.Get("client_id") != opClientID ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" ||
			q.Get("redirect_uri") != a.server.URL+"/staff/oidc/callback" || !strings.Contains(q.Get("scope"), "openid") {
			t.Fatalf("the authorization request: %s", authorize)
		}
		var pending int64
		a.store.DB.Model(&models.StaffOIDCState{}).Count(&pending)
		if pending != 1 {
			t.Errorf("%d sign-ins under way, want 1", pending)
		}
		back := o.login(authorize, "jane@library.example")
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("cookies set before the sign-in finished: %q", got)
		}
		wantRedirect(t, c.back(back), "/staff/audit")
		if c.sessionCookie() == "" {
			t.Fatal("no session after the sign-in")
		}
		st, ok := a.oidcStaff("id-jane")
		if !ok || st.Role != models.RolePrivacyOfficer || st.PasswordHash != "" || st.Username != "jane" ||
			st.DisplayName != "Jane Doe" || st.OIDCIssuer == nil || *st.OIDCIssuer != o.issuer {
			t.Fatalf("the staff account made: %+v", st)
		}
		wantStatus(t, c.get("/staff/audit"), http.StatusOK)
		host := strings.TrimPrefix(o.issuer, "https://")
		if got := a.auditDetails(models.AuditStaffSignIn); len(got) != 1 || got[0] != "single sign-on ("+host+")" {
			t.Errorf("sign-in audit entries: %q", got)
		}
		if got := a.auditDetails(models.AuditConfigChanged); len(got) != 1 || !strings.Contains(got[0], "staff account created by single sign-on") {
			t.Errorf("account audit entries: %q", got)
		}
		a.store.DB.Model(&models.StaffOIDCState{}).Count(&pending)
		if pending != 0 {
			t.Errorf("%d sign-ins left under way after it finished", pending)
		}
		for _, secret := range []string{"jane.doe@library.example", q.Get("state"), opClientSecret} {
			if strings.Contains(a.logs.String(), secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
	})
}

// The role is the token's at every sign-in: a change of groups at the
// provider moves it down as well as up; a string claim counts as one
// group; the highest role granted wins.
func TestStaffOIDCRoleFollowsTheProvider(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		for _, step := range []struct {
			groups any
			role   string
			audit  int
		}{
			{[]string{"lib-desk", "lib-it"}, models.RoleAdmin, http.StatusOK},
			{[]string{"lib-desk"}, models.RoleAssistant, http.StatusForbidden},
			{"lib-privacy", models.RolePrivacyOfficer, http.StatusOK},
		} {
			o.storage.set(func(s *opStorage) { s.groups["id-omar"] = step.groups })
			c := a.client()
			wantRedirect(t, c.oidcSignIn(t, o, "omar@library.example"), "/staff")
			st, _ := a.oidcStaff("id-omar")
			if st.Role != step.role {
				t.Errorf("groups %v: role %q, want %q", step.groups, st.Role, step.role)
			}
			wantStatus(t, c.get("/staff/audit"), step.audit)
		}
		var n int64
		a.store.DB.Model(&models.Staff{}).Count(&n)
		if n != 1 {
			t.Errorf("%d staff accounts after three sign-ins of one person", n)
		}
		if got := a.auditDetails(models.AuditConfigChanged); len(got) != 3 || !strings.Contains(got[1], "(admin to assistant)") {
			t.Errorf("account audit entries: %q", got)
		}
	})
}

// The library's IT changes which groups give which role
// (CARREL_STAFF_OIDC_ROLES): at the next sign-in after the restart the
// same person has the role the new mapping gives, and losing every
// mapped group refuses them.
func TestStaffOIDCRoleMappingChange(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		o.storage.set(func(s *opStorage) { s.groups["id-omar"] = []string{"lib-desk"} })
		wantRedirect(t, a.client().oidcSignIn(t, o, "omar@library.example"), "/staff")
		if st, _ := a.oidcStaff("id-omar"); st.Role != models.RoleAssistant {
			t.Fatalf("role %q before the change, want assistant", st.Role)
		}
		o.restart(func(c *web.StaffOIDC) {
			c.Roles = map[string][]string{models.RolePrivacyOfficer: {"lib-desk"}, models.RoleAdmin: {"lib-it"}}
		})
		c := a.client()
		wantRedirect(t, c.oidcSignIn(t, o, "omar@library.example"), "/staff")
		if st, _ := a.oidcStaff("id-omar"); st.Role != models.RolePrivacyOfficer {
			t.Errorf("role %q after lib-desk came to mean privacy officer", st.Role)
		}
		wantStatus(t, c.get("/staff/audit"), http.StatusOK)
		o.restart(func(c *web.StaffOIDC) { c.Roles = map[string][]string{models.RoleAdmin: {"lib-it"}} })
		refused := a.client()
		wantRefusal(t, refused.oidcSignIn(t, o, "omar@library.example"), http.StatusForbidden, "no role")
		if refused.sessionCookie() != "" {
			t.Error("a person whose groups no longer map to a role got a session")
		}
	})
}

// Someone the provider knows but whose groups map to no role is refused
// with a page that says why: no account, no cookie, an audit entry naming
// only their subject.
func TestStaffOIDCWithoutARoleIsRefused(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		o.storage.set(func(s *opStorage) { s.groups["id-jane"] = []string{"students"} })
		c := a.client()
		wantRefusal(t, c.oidcSignIn(t, o, "jane@library.example"), http.StatusForbidden, "Your account at Library Login has no role in this portal")
		if _, ok := a.oidcStaff("id-jane"); ok {
			t.Error("a staff account was made without a role")
		}
		if c.sessionCookie() != "" || len(a.cookies.all()) != 0 {
			t.Errorf("cookies: %q", a.cookies.all())
		}
		if got := a.auditDetails(models.AuditStaffSignInRefused); len(got) != 1 || !strings.HasSuffix(got[0], "subject id-jane") {
			t.Errorf("refusal audit entries: %q", got)
		}
		if len(a.auditDetails(models.AuditStaffSignIn)) != 0 {
			t.Error("a refused sign-in was audited as a sign-in")
		}
		if strings.Contains(a.logs.String(), "jane") {
			t.Errorf("the log names the person: %s", a.logs.String())
		}
		o.storage.set(func(s *opStorage) { delete(s.groups, "id-jane") })
		wantRefusal(t, a.client().oidcSignIn(t, o, "jane@library.example"), http.StatusForbidden, "has no role in this portal")
	})
}

// Tokens the portal must not accept, though a real provider signed them:
// made for another client, expired on arrival, or carrying another
// sign-in's nonce. Each is refused with a page, and nothing is written.
func TestStaffOIDCRefusesTokensNotForThisSignIn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(s *opStorage)
		late  time.Duration
		says  string
		why   string
	}{
		{"wrong audience", func(s *opStorage) { s.otherClient = "another-application" }, 0, "could not be accepted", "id token not valid"},
		{"expired", func(s *opStorage) { s.lifetime = time.Minute }, 2 * time.Minute, "could not be accepted", "id token expired"},
		{"wrong nonce", func(s *opStorage) { s.nonce = "a-nonce-from-another-sign-in" }, 0, "was not made for this sign-in", "nonce mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
				o.storage.set(func(s *opStorage) { s.groups["id-jane"] = []string{"lib-it"}; tc.fault(s) })
				c := a.client()
				back := o.login(c.startOIDC(t, ""), "jane@library.example")
				a.clock.Advance(tc.late)
				wantRefusal(t, c.back(back), http.StatusBadRequest, tc.says)
				if !strings.Contains(a.logs.String(), tc.why) {
					t.Errorf("the log does not say %q: %s", tc.why, a.logs.String())
				}
				if _, ok := a.oidcStaff("id-jane"); ok {
					t.Error("a staff account was made")
				}
				if c.sessionCookie() != "" || len(a.auditDetails(models.AuditStaffSignIn)) != 0 {
					t.Error("signed in")
				}
			})
		})
	}
}

// A sign-in is finished once: the same callback again (a replayed state)
// is refused; so is a code replayed under a fresh state, and one stolen
// from another sign-in under way (its PKCE verifier is not this one's).
// A sign-in that took over ten minutes is refused too, and an answer the
// provider refused is shown as such.
func TestStaffOIDCRefusesReplaysAndLateAnswers(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		o.storage.set(func(s *opStorage) { s.groups["id-jane"] = []string{"lib-desk"} })
		first := a.client()
		back := o.login(first.startOIDC(t, ""), "jane@library.example")
		wantRedirect(t, first.back(back), "/staff")

		wantRefusal(t, a.client().back(back), http.StatusBadRequest, "already used")

		used, _ := url.Parse(back)
		c := a.client()
		fresh, _ := url.Parse(c.startOIDC(t, ""))
		replay := "/staff/oidc/callback?code=" + url.QueryEscape(used.Query().Get("code")) + "&state=" + url.QueryEscape(fresh.Query().Get("state"))
		wantRefusal(t, c.get(replay), http.StatusBadRequest, "did not accept this sign-in")

		other, _ := url.Parse(o.login(a.client().startOIDC(t, ""), "jane@library.example"))
		mine, _ := url.Parse(c.startOIDC(t, ""))
		stolen := "/staff/oidc/callback?code=" + url.QueryEscape(other.Query().Get("code")) + "&state=" + url.QueryEscape(mine.Query().Get("state"))
		wantRefusal(t, c.get(stolen), http.StatusBadRequest, "did not accept this sign-in")

		late := o.login(c.startOIDC(t, ""), "jane@library.example")
		a.clock.Advance(models.StaffOIDCStateLife + time.Second)
		wantRefusal(t, c.back(late), http.StatusBadRequest, "longer than ten minutes")

		denied, _ := url.Parse(c.startOIDC(t, ""))
		wantRefusal(t, c.get("/staff/oidc/callback?error=access_denied&state="+url.QueryEscape(denied.Query().Get("state"))),
			http.StatusForbidden, "did not let you sign in")
		wantRefusal(t, c.get("/staff/oidc/callback?code=x&state=made-up"), http.StatusBadRequest, "already used, or is not one of ours")

		if got := a.auditDetails(models.AuditStaffSignIn); len(got) != 1 {
			t.Errorf("sign-ins audited: %q, want only the first", got)
		}
		if c.sessionCookie() != "" {
			t.Error("a refused sign-in left a session")
		}
	})
}

// An account disabled in the portal stays disabled, whatever the provider
// says.
func TestStaffOIDCDisabledAccountStaysDisabled(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		o.storage.set(func(s *opStorage) { s.groups["id-jane"] = []string{"lib-it"} })
		wantRedirect(t, a.client().oidcSignIn(t, o, "jane@library.example"), "/staff")
		if err := a.store.DisableStaff(context.Background(), "jane"); err != nil {
			t.Fatal(err)
		}
		wantRefusal(t, a.client().oidcSignIn(t, o, "jane@library.example"), http.StatusForbidden, "disabled")
	})
}

// A provider down when the portal starts, or at the first sign-in, keeps
// nobody out once it is back: discovery is tried again at each sign-in.
func TestStaffOIDCProviderDownThenBack(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		o.storage.set(func(s *opStorage) { s.groups["id-jane"] = []string{"lib-desk"} })
		o.down.Store(true)
		c := a.client()
		r := c.post("/staff/login/oidc", url.Values{"csrf_token": {c.csrf("/staff/login")}})
		wantRefusal(t, r, http.StatusServiceUnavailable, "cannot be reached just now")
		o.down.Store(false)
		wantRedirect(t, c.oidcSignIn(t, o, "jane@library.example"), "/staff")
	})
}

// With local accounts off, the password form is neither shown nor
// accepted, even with the right password.
func TestStaffLocalOffRefusesThePasswordForm(t *testing.T) {
	forEachDBWithOP(t, web.Config{StaffLocalOff: true}, func(t *testing.T, a *app, o *testOP) {
		a.staff("admin", models.RoleAdmin)
		c := a.client()
		page := c.get("/staff/login").doc(t)
		if page.Find(`[data-testid="password-form"]`).Length() != 0 || page.Find(`input[name="password"]`).Length() != 0 {
			t.Error("the password form is shown with local accounts off")
		}
		if page.Find(`[data-testid="oidc-sign-in"]`).Length() != 1 {
			t.Error("no single sign-on button")
		}
		wantRefusal(t, c.staffSignIn("admin", staffPassword), http.StatusForbidden, "Staff sign in with Library Login only")
		if c.sessionCookie() != "" || len(a.auditDetails(models.AuditStaffSignIn)) != 0 {
			t.Error("the password signed in")
		}
	})
}

// Without an issuer there is no button, and its routes are not found.
func TestStaffOIDCOffWithoutAnIssuer(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		if c.get("/staff/login").doc(t).Find(`[data-testid="oidc-form"]`).Length() != 0 {
			t.Error("a single sign-on button without an issuer")
		}
		wantStatus(t, c.post("/staff/login/oidc", url.Values{"csrf_token": {c.csrf("/staff/login")}}), http.StatusNotFound)
		wantStatus(t, c.get("/staff/oidc/callback?code=x&state=y"), http.StatusNotFound)
	})
}

// Signing in through the provider rotates the session as the password
// form does: whatever session the browser had (here a local staff
// member's) is gone, and its token opens nothing any more.
func TestStaffOIDCRotatesTheSession(t *testing.T) {
	forEachDBWithOP(t, web.Config{}, func(t *testing.T, a *app, o *testOP) {
		a.staff("desk", models.RoleAssistant)
		o.storage.set(func(s *opStorage) { s.groups["id-jane"] = []string{"lib-it"} })
		c := a.client()
		wantRedirect(t, c.staffSignIn("desk", staffPassword), "/staff")
		before := c.sessionCookie()
		// Signed in, the sign-in page sends them on; the button's form
		// token is stateless, good from any copy of the page.
		start := c.post("/staff/login/oidc", url.Values{"csrf_token": {a.client().csrf("/staff/login")}})
		wantStatus(t, start, http.StatusSeeOther)
		wantRedirect(t, c.back(o.login(start.Header.Get("Location"), "jane@library.example")), "/staff")
		after := c.sessionCookie()
		if before == "" || after == "" || before == after {
			t.Fatalf("session token before %q, after %q: want a new one", before, after)
		}
		if got := c.get("/staff").doc(t).Find("h1 + p").Text(); !strings.Contains(got, "Jane Doe") {
			t.Errorf("the console says %q, want Jane Doe's", got)
		}
		var n int64
		a.store.DB.Model(&models.Session{}).Where("token_hash = ?", models.HashToken(before)).Count(&n)
		if n != 0 {
			t.Error("the session from before the sign-in is still stored")
		}
	})
}
