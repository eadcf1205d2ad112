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
	"github.com/labstack/echo/v4"
)

// loginForm is the patron sign-in form as submitted.
type loginForm struct {
	Card string
	PIN  string
	Next string
}

// Validate checks the form's shape before any account is looked at.
func (f loginForm) Validate() views.FieldErrors {
	errs := views.FieldErrors{}
	card := models.NormalizeCard(f.Card)
	switch {
	case card == "":
		errs["card"] = "Enter your library card number."
	case len(card) < 5 || len(card) > 20 || strings.IndexFunc(card, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		errs["card"] = "A library card number is 5 to 20 digits, with no letters."
	}
	switch {
	case f.PIN == "":
		errs["pin"] = "Enter your PIN."
	case len(f.PIN) > 64:
		errs["pin"] = "That PIN is longer than any PIN we issue."
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
		Ended: s.endedMessage(c, next), Purpose: signinPurpose(next)}
	return s.renderLogin(c, http.StatusOK, "Sign in", f)
}

// endedMessage says, on a sign-in page, why the visitor was signed out
// when their session ran out (the ended and form parameters signInAgain
// sets), and where signing in takes them; "" otherwise. It is made of the
// portal's own words and limits only: nothing from the address is echoed.
func (s *Server) endedMessage(c echo.Context, next string) string {
	var why, more string
	idle := models.SpokenDuration(tr(c), s.Config.Sessions.Idle)
	switch c.QueryParam("ended") {
	case lapsedIdle:
		why = "You were signed out after " + idle + " without activity"
	case lapsedLimit:
		why = "You were signed out because a sign-in lasts at most " + models.SpokenDuration(tr(c), s.Config.Sessions.Absolute)
	case lapsedGone:
		// Most often an idle session the sweep has deleted since, but
		// it may have been ended from elsewhere: say both.
		why = "You are no longer signed in"
		more = " A sign-in ends after " + idle + " without activity, or when it is ended on another device."
	default:
		return ""
	}
	form := c.QueryParam("form") == "1"
	if form {
		why += "; nothing was changed"
	}
	why += "." + more
	switch {
	case form && next != "":
		return why + " Sign in to go back to the page you were on."
	case next != "":
		return why + " Sign in to go on to the page you asked for."
	}
	return why + " Sign in to continue."
}

// signinPurpose says what signing in is for, from the page it leads to
// (a path localPath accepted): "Sign in to follow Octavia E. Butler" for a
// catalog's follow link; "" when the page says nothing particular. A name
// from the address is used only as Follow would accept it, and the page
// escapes it like any text.
func signinPurpose(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil {
		return ""
	}
	switch p := u.Path; {
	case p == "/opac/follow":
		author, subject := u.Query().Get("author"), u.Query().Get("subject")
		kind, what := models.FavoriteAuthor, "Sign in to follow "
		if author == "" {
			kind, what = models.FavoriteSubject, "Sign in to follow the subject "
		}
		if (author == "") != (subject == "") {
			if name, err := models.ValidateFavorite(kind, author+subject); err == nil {
				return what + name
			}
		}
		return "Sign in to follow an author or subject"
	case p == "/favorites" || strings.HasPrefix(p, "/favorites/"):
		return "Sign in to see your favorite authors and subjects"
	case p == "/mailing-lists":
		return "Sign in to choose your mailing lists"
	case p == "/data/export.json":
		return "Sign in to download a copy of your record"
	case p == "/data/print":
		return "Sign in to print what we hold about you"
	case p == "/data/reading-history" || strings.HasPrefix(p, "/data/reading-history/"):
		return "Sign in to see your reading history"
	case p == "/data" || strings.HasPrefix(p, "/data/"):
		return "Sign in to see what we hold about you"
	}
	return ""
}

// LoginSubmit checks a card number and PIN and, if they match, starts a
// fresh session for the patron.
func (s *Server) LoginSubmit(c echo.Context) error {
	f := loginForm{Card: c.FormValue("card"), PIN: c.FormValue("pin"), Next: localPath(c.FormValue("next"))}
	view := views.LoginForm{Card: f.Card, Next: f.Next}
	if errs := f.Validate(); len(errs) > 0 {
		view.Errors = errs
		return s.renderLogin(c, http.StatusUnprocessableEntity, "Error: Sign in", view)
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
		view.Message = ilsUnavailableMessage
		c.Response().Header().Set("Retry-After", ilsRetryAfter)
		return s.renderLogin(c, http.StatusServiceUnavailable, "Error: Sign in", view)
	case errors.As(err, &busy):
		view.Message = busyMessage(busy, "card number")
		return s.renderLogin(c, busyStatus(c, busy), "Error: Sign in", view)
	case errors.As(err, &locked):
		view.Message = "For your security, sign-in with this card is paused until " +
			views.FormatTimeZone(locked.Until, s.Config.Location) +
			" after several unsuccessful tries. Try again then, or ask at any library desk."
		s.retryAfterLock(c, locked)
		return s.renderLogin(c, http.StatusTooManyRequests, "Error: Sign in", view)
	case errors.Is(err, models.ErrBadCredentials):
		view.Message = "That card number and PIN do not match our records. Check both and try again."
		return s.renderLogin(c, http.StatusUnauthorized, "Error: Sign in", view)
	case errors.Is(err, models.ErrILSCardConflict):
		// The ILS accepted the card, but here it belongs to another
		// record: staff must look, and the log says so without the card.
		s.Log.Warn("patron sign-in: the library's system gave a card number another record holds here; " +
			"the next patrons import, or staff, must correct it")
		view.Message = "The library's system accepted your card, but it does not match your record here yet, " +
			"so we could not sign you in. Nothing was changed. Please ask at any library desk, and we will put it right."
		return s.renderLogin(c, http.StatusConflict, "Error: Sign in", view)
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
	if msg := followedNotice(in.Followed); msg != "" {
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

// busyMessage says why a sign-in was not checked; what names the account
// field, so the visitor knows nothing was decided about it.
func busyMessage(busy *models.BusyError, what string) string {
	if busy.PerClient {
		return "A sign-in from your connection is already waiting to be checked. Please wait for it, or try again in a few seconds."
	}
	return "Sign-in is very busy at the moment, so we could not check your " + what + " yet. Please try again in a few seconds."
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
	const msg = "This sign-in form was open too long, or it was incomplete. Please sign in again."
	return again(s, c, http.StatusForbidden, msg)
}

// loginFormAgain shows the patron sign-in form again after a refused
// post, with the card number and the page asked for, never the PIN.
func (s *Server) loginFormAgain(c echo.Context, status int, msg string) error {
	r := c.Request()
	f := views.LoginForm{Card: r.PostFormValue("card"), Next: localPath(r.PostFormValue("next")), Message: msg}
	return s.renderLogin(c, status, "Error: Sign in", f)
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
	if sess != nil {
		if err := s.declineHandoff(c); err != nil {
			return err
		}
		if err := s.Sessions.Destroy(c.Request().Context(), sess); err != nil {
			return err
		}
	}
	c.Response().Header().Set("Clear-Site-Data", `"cache", "cookies"`)
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
