package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
)

// loginForm is the patron sign-in form as submitted.
type loginForm struct {
	Card string
	PIN  string
	Next string
}

// Validate checks the form's shape before any account is looked at, and
// says what is wrong in t's language.
func (f loginForm) Validate(t *i18n.Tr) views.FieldErrors {
	errs := views.FieldErrors{}
	card := models.NormalizeCard(f.Card)
	switch {
	case card == "":
		errs["card"] = t.S("signin.card.missing")
	case len(card) < 5 || len(card) > 20 || strings.IndexFunc(card, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		errs["card"] = t.S("signin.card.invalid")
	}
	switch {
	case f.PIN == "":
		errs["pin"] = t.S("signin.pin.missing")
	case len(f.PIN) > 64:
		errs["pin"] = t.S("signin.pin.too_long")
	}
	return errs
}

// localPath returns p if it is a path on this site that is safe to send a
// visitor to after sign-in, and "" otherwise: no scheme, no host, no
// protocol-relative "//" or "/\" tricks, no control characters, and never
// back to sign-in or sign-out.
func localPath(p string) string {
	if p == "" || len(p) > 512 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\") {
		return ""
	}
	if strings.IndexFunc(p, unicode.IsControl) >= 0 || strings.ContainsRune(p, ' ') {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	// Decoding must not reveal another host either: /%2F%2Fevil.example.
	if dec, err := url.PathUnescape(u.Path); err != nil || strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\") {
		return ""
	}
	switch u.Path {
	case "/login", "/logout":
		return ""
	}
	return p
}

// LoginPage shows the patron sign-in form.
func (s *Server) LoginPage(c echo.Context) error {
	next := localPath(c.QueryParam("next"))
	if currentPatron(c) != nil {
		return s.redirect(c, orDefault(next, "/data"))
	}
	f := views.LoginForm{Next: next, SignedOut: c.QueryParam("signed_out") == "1",
		Ended: s.endedMessage(c, next), Purpose: signinPurpose(tr(c), next)}
	return s.renderLogin(c, http.StatusOK, tr(c).S("signin.title"), f)
}

// endedMessage says, on a sign-in page, why the visitor was signed out
// when their session ran out (the ended and form parameters signInAgain
// sets), and where signing in takes them; "" otherwise. It is made of the
// portal's own words and limits only: nothing from the address is echoed.
func (s *Server) endedMessage(c echo.Context, next string) string {
	t := tr(c)
	idle := models.SpokenDuration(t, s.Config.Sessions.Idle)
	var why string
	var more []string
	switch c.QueryParam("ended") {
	case lapsedIdle:
		why = "signin.ended.idle"
	case lapsedLimit:
		why = "signin.ended.limit"
	case lapsedGone:
		// Most often an idle session the sweep has deleted since, but
		// it may have been ended from elsewhere: say both.
		why = "signin.ended.gone"
		more = append(more, t.S("signin.ended.gone_more", "Idle", idle))
	default:
		return ""
	}
	form := c.QueryParam("form") == "1"
	if form {
		why += "_form"
	}
	words := append([]string{t.S(why, "Idle", idle, "Limit", models.SpokenDuration(t, s.Config.Sessions.Absolute))}, more...)
	switch {
	case form && next != "":
		words = append(words, t.S("signin.ended.back"))
	case next != "":
		words = append(words, t.S("signin.ended.next"))
	default:
		words = append(words, t.S("signin.ended.continue"))
	}
	return strings.Join(words, " ")
}

// signinPurpose says, in t's language, what signing in is for, from the
// page it leads to (a path localPath accepted): "Sign in to follow Octavia
// E. Butler" for a catalog's follow link; "" when the page says nothing
// particular. A name from the address is used only as Follow would accept
// it, and the page escapes it like any text.
func signinPurpose(t *i18n.Tr, next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil {
		return ""
	}
	switch p := u.Path; {
	case p == "/opac/follow":
		author, subject := u.Query().Get("author"), u.Query().Get("subject")
		kind, what := models.FavoriteAuthor, "signin.purpose.follow_author"
		if author == "" {
			kind, what = models.FavoriteSubject, "signin.purpose.follow_subject"
		}
		if (author == "") != (subject == "") {
			if name, err := models.ValidateFavorite(kind, author+subject); err == nil {
				return t.S(what, "Name", name)
			}
		}
		return t.S("signin.purpose.follow")
	case p == "/favorites" || strings.HasPrefix(p, "/favorites/"):
		return t.S("signin.purpose.favorites")
	case p == "/mailing-lists":
		return t.S("signin.purpose.lists")
	case p == "/data/export.json":
		return t.S("signin.purpose.export")
	case p == "/data/print":
		return t.S("signin.purpose.print")
	case p == "/data/reading-history" || strings.HasPrefix(p, "/data/reading-history/"):
		return t.S("signin.purpose.history")
	case p == "/data" || strings.HasPrefix(p, "/data/"):
		return t.S("signin.purpose.data")
	}
	return ""
}

// LoginSubmit checks a card number and PIN and, if they match, starts a
// fresh session for the patron.
func (s *Server) LoginSubmit(c echo.Context) error {
	f := loginForm{Card: c.FormValue("card"), PIN: c.FormValue("pin"), Next: localPath(c.FormValue("next"))}
	view := views.LoginForm{Card: f.Card, Next: f.Next}
	t := tr(c)
	errTitle := t.S("signin.title_error")
	if errs := f.Validate(t); len(errs) > 0 {
		view.Errors = errs
		return s.renderLogin(c, http.StatusUnprocessableEntity, errTitle, view)
	}
	in, err := s.Store.SignInPatron(signinContext(c), f.Card, f.PIN)
	var locked *models.LockedError
	var busy *models.BusyError
	switch {
	case errors.Is(err, models.ErrILSUnavailable):
		// Nothing was decided about the card, and no session starts: the
		// visitor may simply try again. The log names the connector only:
		// a client's error may quote an address with a patron's ILS id in
		// it, and the staff console shows the connector's last error.
		connector := ""
		if ue := (*models.ILSUnavailableError)(nil); errors.As(err, &ue) {
			connector = ue.Connector
		}
		s.Log.Warn("patron sign-in: the library's system is not answering", "connector", connector)
		s.stats.Inc("signin.ils_unavailable")
		view.Message = t.S("signin.ils_unavailable")
		c.Response().Header().Set("Retry-After", ilsRetryAfter)
		return s.renderLogin(c, http.StatusServiceUnavailable, errTitle, view)
	case errors.As(err, &busy):
		view.Message = busyMessage(t, busy, t.S("signin.busy.card"))
		return s.renderLogin(c, busyStatus(c, busy), errTitle, view)
	case errors.As(err, &locked):
		view.Message = t.S("signin.locked", "Time", t.TimeZone(locked.Until, s.Config.Location))
		s.retryAfterLock(c, locked)
		return s.renderLogin(c, http.StatusTooManyRequests, errTitle, view)
	case errors.Is(err, models.ErrBadCredentials):
		view.Message = t.S("signin.bad_credentials")
		return s.renderLogin(c, http.StatusUnauthorized, errTitle, view)
	case errors.Is(err, models.ErrILSCardConflict):
		// The ILS accepted the card, but here it belongs to another
		// record: staff must look, and the log says so without the card.
		s.Log.Warn("patron sign-in: the library's system gave a card number another record holds here; " +
			"the next patrons import, or staff, must correct it")
		view.Message = t.S("signin.card_conflict")
		return s.renderLogin(c, http.StatusConflict, errTitle, view)
	case err != nil:
		return err
	}
	if err := s.startSession(c, in.Patron, models.ChannelWeb); err != nil {
		return err
	}
	s.stats.Inc("signin.patron")
	// What the library's system changed, said on the next page: a record
	// made from it, or a choice made in the catalog that was followed.
	if in.Created {
		session(c).WelcomeFromILS()
	}
	if msg := followedNotice(tr(c), in.Followed); msg != "" {
		s.flash(c, msg)
	}
	return s.redirect(c, orDefault(f.Next, "/data"))
}

// signinContext is the request's context carrying the client's address,
// which the slow lane keeps in memory (never stored or logged) so that one
// address spraying guesses slows only itself.
func signinContext(c echo.Context) context.Context {
	return models.WithClient(c.Request().Context(), clientKey(c))
}

// busyStatus sets Retry-After for a sign-in the slow lane turned away, and
// returns its status: 429 when this client already had a sign-in waiting,
// 503 when everyone is being slowed.
func busyStatus(c echo.Context, busy *models.BusyError) int {
	c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(busy.RetryAfter.Seconds())))))
	if busy.PerClient {
		return http.StatusTooManyRequests
	}
	return http.StatusServiceUnavailable
}

// retryAfterLock tells a client refused by a sign-in lock, patron or
// staff, when to come back: when the lock ends, in whole seconds.
func (s *Server) retryAfterLock(c echo.Context, locked *models.LockedError) {
	secs := int(math.Ceil(locked.Until.Sub(s.Store.Now()).Seconds()))
	c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
}

// busyMessage says, in t's language, why a sign-in was not checked; what
// names the account field ("card number"), so the visitor knows nothing
// was decided about it.
func busyMessage(t *i18n.Tr, busy *models.BusyError, what string) string {
	if busy.PerClient {
		return t.S("signin.busy.client")
	}
	return t.S("signin.busy.all", "What", what)
}

// renderLogin shows the patron sign-in form with a fresh form token.
func (s *Server) renderLogin(c echo.Context, status int, title string, f views.LoginForm) error {
	f.FormToken = s.signinFormToken()
	return s.render(c, status, views.Login(s.page(c, title), f))
}

// signinFormExpired answers a sign-in whose form token is missing, too
// old or not ours: the form again (again, the route's SigninForm), with what was
// typed (never the secret) and a sentence saying why, rather than a bare
// refusal.
func (s *Server) signinFormExpired(c echo.Context, again signinFormAgain) error {
	return again(s, c, http.StatusForbidden, tr(c).S("signin.form_expired"))
}

// signinStorageFailure answers a sign-in form the database could not
// store (err is the handler's): nobody was signed in, and the form comes
// back, with what was typed (never the secret), saying the portal cannot
// save anything right now rather than "refused" or "may or may not have
// been saved". What the handler put in the session is forgotten, so the
// form shows nobody as signed in and no cookie is sent. Any other err
// goes on as it is.
func (s *Server) signinStorageFailure(c echo.Context, again signinFormAgain, err error) error {
	if !models.IsStorageFailure(err) {
		return err
	}
	s.health.noteStorage(err)
	s.Log.Warn("sign-in: the database refuses to store the session", "route", c.Path(), "err", logError(err))
	if sess := session(c); sess != nil {
		sess.forget()
	}
	c.Set(ctxPatron, nil)
	c.Set(ctxStaff, nil)
	c.Response().Header().Set("Retry-After", "30")
	return again(s, c, http.StatusServiceUnavailable, tr(c).S("signin.cannot_save"))
}

// loginFormAgain shows the patron sign-in form again after a refused
// post, with the card number and the page asked for, never the PIN.
func (s *Server) loginFormAgain(c echo.Context, status int, msg string) error {
	r := c.Request()
	f := views.LoginForm{Card: r.PostFormValue("card"), Next: localPath(r.PostFormValue("next")), Message: msg}
	return s.renderLogin(c, status, tr(c).S("signin.title_error"), f)
}

// startSession signs a patron in on a brand-new session: whatever session
// the browser had (someone else's on a shared computer, or a cookie
// planted before sign-in) is deleted, so no token known before sign-in
// works after it.
func (s *Server) startSession(c echo.Context, p models.Patron, channel string) error {
	sess := session(c)
	if err := s.Sessions.Destroy(c.Request().Context(), sess); err != nil {
		return err
	}
	sess.SignInPatron(p.ID, channel)
	// p is the row as it was before this sign-in wrote its time.
	sess.SetLastVisit(p.LastSignInAt)
	c.Set(ctxPatron, &p)
	return s.signInLanguage(c, sess, p.ID, p.Language)
}

// Logout ends the session on the server and asks the browser to forget
// the cookie and its cache of our pages. It is exempt from the general
// form-token check so that a visitor whose session already expired can
// still press "Sign out" and land somewhere sensible; a signed-in session
// must present its token here like everywhere else.
func (s *Server) Logout(c echo.Context) error {
	sess := session(c)
	if sess.SignedIn() && !sess.validCSRF(formToken(c)) {
		return echo.NewHTTPError(http.StatusForbidden, "missing or wrong form token")
	}
	to := "/login?signed_out=1"
	if sess != nil {
		// The language chosen in the session goes on in the address, as
		// before sign-in: no cookie is left to keep it.
		if lang := sess.Lang(); lang != "" && i18n.Supported(lang) {
			to += "&lang=" + url.QueryEscape(lang)
		}
		if err := s.declineHandoff(c); err != nil {
			return err
		}
		if err := s.Sessions.Destroy(c.Request().Context(), sess); err != nil {
			return err
		}
	}
	c.Response().Header().Set("Clear-Site-Data", `"cache", "cookies"`)
	return c.Redirect(http.StatusSeeOther, to)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
