package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"
)

// Staff single sign-on through the library's identity provider (OpenID
// Connect, authorization code flow with PKCE, state and nonce). Nothing is
// set in the browser before the staff member is signed in: the state, the
// nonce and the PKCE verifier wait in the database (staff_oidc_states,
// keyed by the state's hash), for ten minutes at most, and are taken back
// once. The ID token is checked by go-oidc (signature against the
// provider's published keys, issuer, audience, expiry), its nonce here;
// the role comes from its groups claim at every sign-in.

// oidcCallbackPath is where the provider sends the browser back; the
// provider must know it as the client's redirect URI.
const oidcCallbackPath = "/staff/oidc/callback"

// oidcDiscoveryTimeout bounds one attempt to read the provider's
// discovery document.
const oidcDiscoveryTimeout = 10 * time.Second

// staffOIDC is the relying party: the provider's endpoints and keys, read
// once from its discovery document. Discovery is tried when the server
// starts (DiscoverStaffOIDC) and, until it succeeds, again at each sign-in:
// a provider down when the portal starts does not keep staff out once it
// is back.
type staffOIDC struct {
	cfg         StaffOIDC
	redirectURL string
	now         func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
}

// method names this way of signing in, for the audit log: "single sign-on
// (the issuer's host)".
func (o *staffOIDC) method() string {
	host := o.cfg.Issuer
	if u, err := url.Parse(o.cfg.Issuer); err == nil && u.Host != "" {
		host = u.Host
	}
	return "single sign-on (" + host + ")"
}

// clientContext carries the configured HTTP client to go-oidc and oauth2.
func (o *staffOIDC) clientContext(ctx context.Context) context.Context {
	if o.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, o.cfg.HTTPClient)
	}
	return ctx
}

// discover reads the provider's discovery document, once it succeeds.
func (o *staffOIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	dctx, cancel := context.WithTimeout(ctx, oidcDiscoveryTimeout)
	defer cancel()
	// go-oidc keeps the client (not the deadline) for fetching the keys.
	p, err := oidc.NewProvider(o.clientContext(dctx), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("web: discover the staff identity provider %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

// oauth is the OAuth 2.0 client for provider p.
func (o *staffOIDC) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: o.redirectURL,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// DiscoverStaffOIDC reads the staff identity provider's discovery document
// now (carrel serve calls it at start); a failure is only reported: the
// next sign-in tries again.
func (s *Server) DiscoverStaffOIDC(ctx context.Context) error {
	if s.oidc == nil {
		return nil
	}
	_, err := s.oidc.discover(ctx)
	return err
}

// newStaffOIDC builds the relying party when an issuer is configured.
func newStaffOIDC(cfg Config, now func() time.Time) *staffOIDC {
	if !cfg.StaffOIDC.Enabled() {
		return nil
	}
	o := cfg.StaffOIDC
	if o.RolesClaim == "" {
		o.RolesClaim = "groups"
	}
	if o.Name == "" {
		o.Name = o.Issuer
		if u, err := url.Parse(o.Issuer); err == nil && u.Host != "" {
			o.Name = u.Host
		}
	}
	return &staffOIDC{cfg: o, redirectURL: strings.TrimRight(cfg.PublicURL, "/") + oidcCallbackPath, now: now}
}

// staffLoginChoices says on the sign-in page which ways of signing in the
// portal offers.
func (s *Server) staffLoginChoices(f *views.StaffLoginForm) {
	if s.oidc != nil {
		f.OIDCName = s.oidc.cfg.Name
	}
	f.LocalOff = s.Config.StaffLocalOff && s.oidc != nil
}

// localStaffSignIn refuses the password form when local staff accounts are
// turned off (CARREL_STAFF_LOCAL=off): the page says to use the provider.
func (s *Server) localStaffSignIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.Config.StaffLocalOff && s.oidc != nil {
			return s.oidcRefusal(c, http.StatusForbidden, tr(c).S("staff.oidc.local_off", "Provider", s.oidc.cfg.Name))
		}
		return next(c)
	}
}

// oidcRefusal shows the sign-in page again with why the sign-in was
// refused. It sets no cookie: the visitor is not signed in.
func (s *Server) oidcRefusal(c echo.Context, status int, msg string) error {
	f := views.StaffLoginForm{Message: msg}
	return s.renderStaffLogin(c, status, staffErrorTitle(c, tr(c).S("staff.login.title")), f)
}

// StaffOIDCStart sends the browser to the identity provider. It is a POST
// from the sign-in page (with the page's stateless form token), not a
// link: it writes a row, and no other site can make a visitor's browser
// start one.
func (s *Server) StaffOIDCStart(c echo.Context) error {
	if s.oidc == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ctx := c.Request().Context()
	p, err := s.oidc.discover(ctx)
	if err != nil {
		s.Log.Warn("staff identity provider unreachable", "err", err)
		return s.oidcRefusal(c, http.StatusServiceUnavailable, tr(c).S("staff.oidc.unreachable", "Provider", s.oidc.cfg.Name))
	}
	state, nonce, verifier := models.RandomToken(), models.RandomToken(), oauth2.GenerateVerifier()
	if err := s.Store.StartStaffOIDC(ctx, state, nonce, verifier, localPath(c.FormValue("next"))); err != nil {
		return err
	}
	to := s.oidc.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return c.Redirect(http.StatusSeeOther, to)
}

// errOIDCRefused is a sign-in the provider or its token did not carry:
// what the staff member reads is in the refusal page, the log names only
// the reason's kind.
type oidcRefused struct {
	status int
	msg    string
	why    string // for the log: never a person
}

func (e *oidcRefused) Error() string { return "staff single sign-on refused: " + e.why }

// StaffOIDCCallback finishes a sign-in through the identity provider:
// takes the sign-in under way by its state (once), exchanges the code with
// its PKCE verifier, verifies the ID token and its nonce, maps the groups
// to a role, creates or updates the staff account (models), and signs in
// on a fresh session as the password form does.
func (s *Server) StaffOIDCCallback(c echo.Context) error {
	if s.oidc == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	st, err := s.finishStaffOIDC(c)
	var refused *oidcRefused
	if errors.As(err, &refused) {
		s.Log.Info("staff single sign-on refused", "why", refused.why)
		return s.oidcRefusal(c, refused.status, refused.msg)
	} else if err != nil {
		return err
	}
	sess := session(c)
	if err := s.Sessions.Destroy(c.Request().Context(), sess); err != nil {
		return err
	}
	s.stats.Inc("signin.staff")
	sess.SignInStaff(st.ID)
	c.Set(ctxStaff, &st.Staff)
	c.Set(ctxPatron, nil)
	return s.redirect(c, orDefault(st.next, "/staff"))
}

type oidcSignedIn struct {
	models.Staff
	next string
}

func (s *Server) finishStaffOIDC(c echo.Context) (oidcSignedIn, error) {
	o := s.oidc
	ctx := c.Request().Context()
	t := tr(c)
	q := c.Request().URL.Query()
	state := q.Get("state")
	if state == "" {
		return oidcSignedIn{}, &oidcRefused{http.StatusBadRequest, t.S("staff.oidc.incomplete"), "no state"}
	}
	// The state is taken back (and deleted) first, whatever the provider
	// answered: a sign-in is tried once.
	row, err := s.Store.TakeStaffOIDC(ctx, state)
	switch {
	case errors.Is(err, models.ErrOIDCStateExpired):
		return oidcSignedIn{}, &oidcRefused{http.StatusBadRequest, t.S("staff.oidc.expired"), "state expired"}
	case errors.Is(err, models.ErrOIDCStateUnknown):
		return oidcSignedIn{}, &oidcRefused{http.StatusBadRequest, t.S("staff.oidc.unknown"), "state unknown or used"}
	case err != nil:
		return oidcSignedIn{}, err
	}
	if e := q.Get("error"); e != "" {
		msg := t.S("staff.oidc.provider_error", "Provider", o.cfg.Name)
		if e == "access_denied" {
			msg = t.S("staff.oidc.denied", "Provider", o.cfg.Name)
		}
		return oidcSignedIn{}, &oidcRefused{http.StatusForbidden, msg, "provider error " + cutText(e, 40)}
	}
	code := q.Get("code")
	if code == "" {
		return oidcSignedIn{}, &oidcRefused{http.StatusBadRequest, t.S("staff.oidc.incomplete"), "no code"}
	}
	p, err := o.discover(ctx)
	if err != nil {
		s.Log.Warn("staff identity provider unreachable", "err", err)
		return oidcSignedIn{}, &oidcRefused{http.StatusServiceUnavailable, t.S("staff.oidc.unreachable_again", "Provider", o.cfg.Name), "provider unreachable"}
	}
	tok, err := o.oauth(p).Exchange(o.clientContext(ctx), code, oauth2.VerifierOption(row.CodeVerifier))
	if err != nil {
		// A code used before, made for another sign-in or another client,
		// or expired: the provider refuses it.
		return oidcSignedIn{}, &oidcRefused{http.StatusBadRequest, t.S("staff.oidc.exchange", "Provider", o.cfg.Name), "code exchange refused: " + oauthErrorKind(err)}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return oidcSignedIn{}, &oidcRefused{http.StatusBadGateway, t.S("staff.oidc.no_identity", "Provider", o.cfg.Name), "no id_token"}
	}
	// The provider's key set is shared by every sign-in: fetched once,
	// again when a token names a key it does not hold (a rotation).
	verifier := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.now})
	idt, err := verifier.Verify(o.clientContext(ctx), raw)
	if err != nil {
		why := "id token not valid"
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			why = "id token expired"
		}
		return oidcSignedIn{}, &oidcRefused{http.StatusBadRequest, t.S("staff.oidc.not_accepted", "Provider", o.cfg.Name), why}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(row.Nonce)) != 1 {
		return oidcSignedIn{}, &oidcRefused{http.StatusBadRequest, t.S("staff.oidc.nonce", "Provider", o.cfg.Name), "nonce mismatch"}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil || idt.Subject == "" {
		return oidcSignedIn{}, &oidcRefused{http.StatusBadGateway, t.S("staff.oidc.unreadable", "Provider", o.cfg.Name), "claims unreadable"}
	}
	role := o.role(claims[o.cfg.RolesClaim])
	if role == "" {
		if err := s.Store.RefuseStaffOIDC(ctx, o.method(), idt.Subject); err != nil {
			return oidcSignedIn{}, err
		}
		return oidcSignedIn{}, &oidcRefused{http.StatusForbidden, t.S("staff.oidc.no_role", "Provider", o.cfg.Name), "no mapped role"}
	}
	st, _, err := s.Store.SignInStaffOIDC(ctx, models.OIDCIdentity{
		Issuer: idt.Issuer, Subject: idt.Subject, Role: role, Method: o.method(),
		Username: usernameFrom(claims), DisplayName: firstString(claims, "name", "preferred_username"),
	})
	if errors.Is(err, models.ErrStaffDisabled) {
		return oidcSignedIn{}, &oidcRefused{http.StatusForbidden, t.S("staff.oidc.disabled"), "account disabled"}
	} else if err != nil {
		return oidcSignedIn{}, err
	}
	return oidcSignedIn{Staff: st, next: row.NextPath}, nil
}

// role maps the roles claim (a string or a list of strings) to the highest
// role any of its values grants, or "".
func (o *staffOIDC) role(claim any) string {
	var values []string
	switch v := claim.(type) {
	case string:
		values = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				values = append(values, s)
			}
		}
	}
	best := ""
	for role, grants := range o.cfg.Roles {
		if models.RoleRank(role) <= models.RoleRank(best) {
			continue
		}
		for _, g := range grants {
			if slices.Contains(values, g) {
				best = role
				break
			}
		}
	}
	return best
}

// usernameFrom is what a new account's username is made from: the
// preferred_username, else the email's local part.
func usernameFrom(claims map[string]any) string {
	if u := firstString(claims, "preferred_username"); u != "" {
		if local, _, ok := strings.Cut(u, "@"); ok && local != "" {
			return local
		}
		return u
	}
	if e := firstString(claims, "email"); e != "" {
		local, _, _ := strings.Cut(e, "@")
		return local
	}
	return ""
}

// firstString is the first of the named claims that is a non-empty string.
func firstString(claims map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := claims[n].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// oauthErrorKind is the OAuth error code of a refused exchange, for the
// log (the provider's description could name someone).
func oauthErrorKind(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return cutText(re.ErrorCode, 40)
	}
	return "no answer"
}

// cutText keeps of what another party sent, for a log, at most n letters,
// digits, dots, hyphens and underscores (an OAuth error code's alphabet).
func cutText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return -1
	}, s)
	if len(s) > n {
		return s[:n]
	}
	return s
}
