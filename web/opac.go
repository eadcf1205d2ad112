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
// address bar at once.
func (s *Server) Handoff(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Referrer-Policy", "no-referrer")
	p, signedReturn, _, err := s.Store.AcceptHandoff(c.Request().Context(), c.QueryParam("token"))
	var refused *models.HandoffError
	if errors.As(err, &refused) {
		s.Log.Info("catalog hand-off refused", "reason", refused.Code)
		back, rerr := s.catalogReturn(c, c.QueryParam("return"))
		if rerr != nil {
			return rerr
		}
		f := views.LoginForm{Message: "That sign-in link from the catalog did not work: it may have expired or been used already. " +
			"Sign in here instead.", CatalogReturn: back}
		return s.renderLogin(c, http.StatusUnauthorized, "Sign in", f)
	} else if err != nil {
		return err
	}
	ret, err := s.catalogReturn(c, signedReturn, c.QueryParam("return"))
	if err != nil {
		return err
	}
	if err := s.startSession(c, p, models.ChannelCatalog); err != nil {
		return err
	}
	sess := session(c)
	if ret != "" {
		sess.Values[keyCatalogReturn] = ret
	}
	sess.Values[keyCatalogWelcome] = true
	s.stats.Inc("signin.catalog")
	return s.redirect(c, handoffTarget(c.QueryParam("to")))
}
