package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
)

// Session keys of a catalog hand-off.
const (
	keyCatalogReturn  = "catalog_return"
	keyCatalogWelcome = "catalog_welcome"
)

// handoffTargets are the pages a catalog may send a patron to.
var handoffTargets = []string{"/data", "/favorites", "/mailing-lists", "/opac/follow", "/policy"}

// handoffTarget returns to when it is a known local page, else /data.
func handoffTarget(to string) string {
	p := localPath(to)
	if p == "" {
		return "/data"
	}
	u, _ := url.Parse(p)
	for _, t := range handoffTargets {
		if u.Path == t || strings.HasPrefix(u.Path, t+"/") {
			return p
		}
	}
	return "/data"
}

// catalogReturn keeps a return address only if it is an http(s) address on
// one of the configured catalogs' origins: no open redirect.
func (s *Server) catalogReturn(c echo.Context, candidates ...string) (string, error) {
	origins, err := s.Store.OPACOrigins(c.Request().Context())
	if err != nil {
		return "", err
	}
	for _, raw := range candidates {
		if raw == "" || len(raw) > 2048 || strings.ContainsAny(raw, "\\\r\n\t ") {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.User != nil || u.Opaque != "" {
			continue
		}
		origin, err := models.NormalizeOrigin(raw)
		if err == nil && origins[origin] && strings.HasPrefix(strings.ToLower(raw), origin) {
			return u.String(), nil
		}
	}
	return "", nil
}

// Handoff signs in a patron sent by the catalog with a signed, short-lived,
// single-use token, and sends them on with 303 so the token leaves the
// address bar at once. When someone else is signed in on this browser (a
// different patron, or staff) it only asks: a link, which anyone can send
// from anywhere, must never end a session and sign the browser into
// another account (login CSRF). The token is then checked but not spent,
// and the answer, a POST with the session's form token, spends it.
func (s *Server) Handoff(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	token := c.QueryParam("token")
	ctx := c.Request().Context()
	var current string
	if st := currentStaff(c); st != nil {
		current = st.DisplayName
	} else if p := currentPatron(c); p != nil {
		current = p.DisplayName()
	}
	if current == "" {
		return s.acceptHandoff(c, token, c.QueryParam("to"), c.QueryParam("return"))
	}
	p, _, err := s.Store.CheckHandoff(ctx, token)
	var refused *models.HandoffError
	if errors.As(err, &refused) {
		return s.handoffRefused(c, refused, c.QueryParam("return"))
	} else if err != nil {
		return err
	}
	if me := currentPatron(c); me != nil && currentStaff(c) == nil && me.ID == p.ID {
		// Already this patron: no sign-in, on to the page asked for.
		return s.acceptHandoff(c, token, c.QueryParam("to"), c.QueryParam("return"))
	}
	stay := "/data"
	if currentStaff(c) != nil {
		stay = "/staff"
	}
	v := views.HandoffConfirm{SignedInAs: current, Token: token, StayURL: stay,
		To: localPath(c.QueryParam("to")), Return: c.QueryParam("return")}
	if len(v.Return) > 2048 {
		v.Return = ""
	}
	return s.render(c, http.StatusOK, views.HandoffAsk(s.page(c, "Continue as another patron?"), v))
}

// HandoffContinue is the answer to Handoff's question: sign in as the
// patron the catalog sent, ending the session this browser had.
func (s *Server) HandoffContinue(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	r := c.Request()
	return s.acceptHandoff(c, r.PostFormValue("token"), r.PostFormValue("to"), r.PostFormValue("return"))
}

// acceptHandoff spends a hand-off token and signs its patron in on a new
// session, or, when that patron is signed in already, keeps their session.
func (s *Server) acceptHandoff(c echo.Context, token, to, unsignedReturn string) error {
	p, signedReturn, _, err := s.Store.AcceptHandoff(c.Request().Context(), token)
	var refused *models.HandoffError
	if errors.As(err, &refused) {
		return s.handoffRefused(c, refused, unsignedReturn)
	} else if err != nil {
		return err
	}
	ret, err := s.catalogReturn(c, signedReturn, unsignedReturn)
	if err != nil {
		return err
	}
	sess := session(c)
	if me := currentPatron(c); me == nil || currentStaff(c) != nil || me.ID != p.ID {
		if err := s.startSession(c, p, models.ChannelCatalog); err != nil {
			return err
		}
		sess.Values[keyCatalogWelcome] = true
		s.stats.Inc("signin.catalog")
	}
	if ret != "" {
		sess.Values[keyCatalogReturn] = ret
		sess.Values[flagDirty] = true
	}
	return s.redirect(c, handoffTarget(to))
}

// handoffRefused shows the sign-in form after a hand-off that did not
// work; the reason is logged, never the token or the card number.
func (s *Server) handoffRefused(c echo.Context, refused *models.HandoffError, unsignedReturn string) error {
	s.Log.Info("catalog hand-off refused", "reason", refused.Code)
	back, err := s.catalogReturn(c, unsignedReturn)
	if err != nil {
		return err
	}
	f := views.LoginForm{Message: "That sign-in link from the catalog did not work: it may have expired or been used already. " +
		"Sign in here instead.", CatalogReturn: back}
	return s.renderLogin(c, http.StatusUnauthorized, "Sign in", f)
}
