package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
)

// keyLang is the session's language, once a signed-in visitor chose one
// with the switch or signed in with one chosen before.
const keyLang = "lang"

// Lang is the language the visitor chose for this session ("" when they
// did not: the browser's Accept-Language decides).
func (s *Session) Lang() string { return s.str(keyLang) }

// SetLang keeps the visitor's language for the rest of the session.
func (s *Session) SetLang(lang string) { s.set(keyLang, lang) }

// tr is the translator of the request: every sentence a handler writes
// for a patron (a flash, a form's error) comes through it.
func tr(c echo.Context) *i18n.Tr { return i18n.From(c.Request().Context()) }

// explicitLang is the language the request asks for in its URL or form
// (?lang=es, the switch's links and the hidden field of the forms of a
// visitor who chose before signing in), "" when none or one the portal
// does not speak.
func explicitLang(c echo.Context) string {
	r := c.Request()
	l := r.URL.Query().Get("lang")
	if l == "" && r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		l = r.PostFormValue("lang")
	}
	if i18n.Supported(l) {
		return l
	}
	return ""
}

// language decides the language of the response before anything renders
// (error pages too): the URL's or form's explicit choice, else the
// browser's Accept-Language; sessionLanguage refines it once the session
// is read. Staff pages are English only for now (their catalogs are), but
// the pseudo-locale reaches them so that a test can prove their words
// come from catalogs too.
func (s *Server) language(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lang := explicitLang(c)
		inURL := lang != ""
		if lang == "" {
			lang = browserLang(c.Request().Header.Get("Accept-Language"))
		}
		setLanguage(c, lang, inURL)
		return next(c)
	}
}

// browserLang is the language of an Accept-Language header; the
// pseudo-locale, once a test enabled it, when the header asks for it
// first (the matcher would take en-XA for English).
func browserLang(header string) string {
	if i18n.Supported(i18n.Pseudo) && strings.HasPrefix(strings.TrimSpace(header), i18n.Pseudo) {
		return i18n.Pseudo
	}
	return i18n.Match(header)
}

// sessionLanguage, after loadSession: a signed-in visitor's session keeps
// their choice, and an explicit choice in the URL no longer needs to
// travel in links once there is a session to keep it.
func (s *Server) sessionLanguage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess := session(c)
		if sess == nil || !sess.SignedIn() {
			return next(c)
		}
		lang := explicitLang(c)
		if lang == "" {
			lang = sess.Lang()
		}
		if lang == "" {
			// Signed in with no choice: the browser's, as language set it.
			lang = tr(c).Lang()
		}
		// Most requests find what language already set (the browser's,
		// or the session's own choice asked for again): nothing to redo.
		if lang != tr(c).Lang() || views.URLLang(c.Request().Context()) != "" {
			setLanguage(c, lang, false)
		}
		return next(c)
	}
}

// setLanguage puts lang's translator into the request's context; inURL
// says the visitor chose it before signing in, so links and forms carry it.
func setLanguage(c echo.Context, lang string, inURL bool) {
	if staffOnlyPage(c.Request().URL.Path) && lang != i18n.Pseudo {
		lang, inURL = i18n.English, false
	}
	r := c.Request()
	ctx := i18n.With(r.Context(), i18n.For(lang))
	if inURL {
		ctx = views.WithURLLang(ctx, lang)
	} else {
		ctx = views.WithURLLang(ctx, "")
	}
	c.SetRequest(r.WithContext(ctx))
	h := c.Response().Header()
	h.Set("Content-Language", lang)
	if h.Get("Vary") == "" || !strings.Contains(h.Get("Vary"), "Accept-Language") {
		h.Add("Vary", "Accept-Language")
	}
}

// staffOnlyPage reports whether path is a page only staff read, which
// stays in English: /staff and below.
func staffOnlyPage(path string) bool {
	return path == "/staff" || strings.HasPrefix(path, "/staff/")
}

// SetLanguage is the language switch of a signed-in visitor: it keeps the
// language in the session and, for a patron signed in themselves, on
// their record, where it decides the language of their emails (an
// assisting staff member's choice changes only what the desk's screen
// shows). It returns to the page the switch was on.
func (s *Server) SetLanguage(c echo.Context) error {
	lang := c.FormValue("lang")
	next := withoutLang(localPath(c.FormValue("next")))
	if next == "" {
		next = "/data"
	}
	if !i18n.Supported(lang) {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown language")
	}
	sess := session(c)
	if !sess.SignedIn() {
		// Unreachable: checkCSRF lets through only a form with a signed-in
		// session's token (a visitor who is not signed in switches with
		// links carrying ?lang=, and no session is started for it;
		// TestTheSwitchPostsOnlyForASignedInVisitor). A second lock.
		return echo.NewHTTPError(http.StatusForbidden, "not signed in")
	}
	sess.SetLang(lang)
	if p := currentPatron(c); p != nil && currentStaff(c) == nil && p.Language != lang {
		if err := s.Store.SetLanguage(c.Request().Context(), p.ID, lang); err != nil {
			return err
		}
	}
	return s.redirect(c, next)
}

// withoutLang is the local path p without a ?lang= that would override
// the choice just made.
func withoutLang(p string) string {
	u, err := url.Parse(p)
	if err != nil || p == "" {
		return p
	}
	q := u.Query()
	if !q.Has("lang") {
		return p
	}
	q.Del("lang")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// signInLanguage keeps, at a patron's sign-in, the language they chose
// before signing in (the form's hidden field), on the session and on
// their record; with none, the session takes the language their record
// keeps from an earlier choice, if any.
func (s *Server) signInLanguage(c echo.Context, sess *Session, patronID int64, recorded string) error {
	if lang := explicitLang(c); lang != "" && lang != i18n.Pseudo {
		sess.SetLang(lang)
		if lang != recorded {
			return s.Store.SetLanguage(c.Request().Context(), patronID, lang)
		}
		return nil
	}
	if i18n.Supported(recorded) {
		sess.SetLang(recorded)
		setLanguage(c, recorded, false)
	}
	return nil
}
