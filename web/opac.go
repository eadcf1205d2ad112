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
// another account (login CSRF). The token, checked but not spent, is then
// kept in that session, never in a page or an address, and the 303 leads
// to the question (HandoffConfirm).
func (s *Server) Handoff(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	token := c.QueryParam("token")
	if handoffAsker(c) == "" {
		return s.acceptHandoff(c, token, c.QueryParam("to"), c.QueryParam("return"))
	}
	p, _, err := s.Store.CheckHandoff(c.Request().Context(), token)
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
	ret := c.QueryParam("return")
	if len(ret) > 2048 {
		ret = ""
	}
	sess := session(c)
	sess.HoldHandoff(token, localPath(c.QueryParam("to")), ret)
	return s.redirect(c, "/opac/handoff/confirm")
}

// handoffAsker is who a hand-off must ask before it switches accounts:
// the staff member or patron signed in on this browser, else "".
func handoffAsker(c echo.Context) string {
	if st := currentStaff(c); st != nil {
		return st.DisplayName
	} else if p := currentPatron(c); p != nil {
		return p.DisplayName()
	}
	return ""
}

// handoffStay is where a visitor who keeps their own session goes back to.
func handoffStay(c echo.Context) string {
	if currentStaff(c) != nil {
		return "/staff"
	}
	return "/data"
}

// pendingHandoff takes the hand-off kept in the session out of it; the
// caller decides whether the session is saved without it.
func pendingHandoff(c echo.Context) (token, to, ret string) {
	sess := session(c)
	if sess == nil {
		return "", "", ""
	}
	return sess.TakeHandoff()
}

// HandoffConfirm asks whether to continue as the patron the catalog sent,
// while the hand-off kept in the session is still good.
func (s *Server) HandoffConfirm(c echo.Context) error {
	current := handoffAsker(c)
	sess := session(c)
	var token string
	if sess != nil {
		token = sess.HandoffToken()
	}
	if current == "" || token == "" {
		return s.redirect(c, handoffStay(c))
	}
	_, _, err := s.Store.CheckHandoff(c.Request().Context(), token)
	var refused *models.HandoffError
	if errors.As(err, &refused) {
		_, _, ret := pendingHandoff(c)
		return s.handoffRefused(c, refused, ret)
	} else if err != nil {
		return err
	}
	v := views.HandoffConfirm{SignedInAs: current}
	return s.render(c, http.StatusOK, views.HandoffAsk(s.page(c, tr(c).S("pages.handoff.title")), v))
}

// HandoffContinue is the answer "continue" to HandoffConfirm's question:
// sign in as the patron the catalog sent, ending the session this
// browser had.
func (s *Server) HandoffContinue(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	token, to, ret := pendingHandoff(c)
	return s.acceptHandoff(c, token, to, ret)
}

// HandoffStay is the answer "stay signed in": the hand-off is declined.
func (s *Server) HandoffStay(c echo.Context) error {
	if err := s.declineHandoff(c); err != nil {
		return err
	}
	return s.redirect(c, handoffStay(c))
}

// declineHandoff spends a hand-off waiting in the session without signing
// anyone in, so that the address it came with, if the browser kept it,
// signs in nobody once this visitor has gone. Staying signed in and
// signing out both decline it.
func (s *Server) declineHandoff(c echo.Context) error {
	if token, _, _ := pendingHandoff(c); token != "" {
		return s.Store.SpendHandoff(c.Request().Context(), token)
	}
	return nil
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
		sess.WelcomeFromCatalog()
		s.stats.Inc("signin.catalog")
	}
	if ret != "" {
		sess.SetCatalogReturn(ret)
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
	f := views.LoginForm{Message: tr(c).S("signin.handoff_refused"), CatalogReturn: back}
	return s.renderLogin(c, http.StatusUnauthorized, tr(c).S("signin.title"), f)
}
