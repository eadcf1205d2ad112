package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
)

// ctxHead marks a HEAD request that headAsGet is serving as a GET.
const ctxHead = "carrel.head"

// headAsGet answers HEAD on every page as GET answers it, with the same
// status and headers and no body (RFC 9110 9.3.2), so that an uptime
// monitor's HEAD / is not a 404. It runs before routing: the request is
// routed and handled as the GET it stands for, into a writer that keeps
// the headers and counts the body instead of sending it; the method is
// HEAD again before net/http finishes the response.
func (s *Server) headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead {
			return next(c)
		}
		resp := c.Response()
		w := &headWriter{ResponseWriter: resp.Writer}
		resp.Writer = w
		r.Method = http.MethodGet
		c.Set(ctxHead, true)
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		r.Method = http.MethodHead
		w.finish()
		return nil
	}
}

// isHead reports whether the request is a HEAD served as a GET.
func isHead(c echo.Context) bool { return c.Get(ctxHead) == true }

// headWriter holds back a HEAD response's status until the handler is
// done, counts the body it would have sent, and sends the headers only,
// with the body's length when the handler did not set one (as net/http
// does for a short GET).
type headWriter struct {
	http.ResponseWriter
	status int
	n      int
}

func (w *headWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *headWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// Flush does nothing: nothing is sent until finish.
func (w *headWriter) Flush() {}

func (w *headWriter) finish() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if h := w.Header(); h.Get(echo.HeaderContentLength) == "" && w.n > 0 {
		h.Set(echo.HeaderContentLength, strconv.Itoa(w.n))
	}
	w.ResponseWriter.WriteHeader(w.status)
}

// accessLog records each request without anything that could identify
// the visitor: the route pattern (never the raw path, which can hold a
// card number or a token), the method, the status and the duration. No
// address, user agent, query string or cookie.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request().Method
		if isHead(c) {
			method = http.MethodHead
		}
		s.Log.Info("request",
			"method", method,
			"route", route,
			"status", c.Response().Status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
		return nil
	}
}

// recoverPanic turns a panic into a plain 500 (handleError's page and
// log line, by route), and logs where it happened: the stack as functions
// and source lines only (panicStack), with no argument values, which could
// be a patron's ID or pieces of their data.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.Log.Error("panic", "route", c.Path(), "stack", panicStack())
				err = fmt.Errorf("web: panic in %s: %v", c.Path(), r)
			}
		}()
		return next(c)
	}
}

// panicStack is the stack of a panicking goroutine, called from the
// deferred recover: one "function file:line" per frame, from where the
// panic happened outwards, without the runtime's own frames.
func panicStack() string {
	pc := make([]uintptr, 64)
	n := runtime.Callers(3, pc) // past Callers, panicStack and the deferred func
	frames := runtime.CallersFrames(pc[:n])
	var b strings.Builder
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			fmt.Fprintf(&b, "%s %s:%d\n", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// contentSecurityPolicy allows nothing from another origin, no inline
// script or style, no framing, and forms only to the portal itself.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries. Every page is
// no-store: on a shared public computer, the back button after sign-out
// must find nothing in the cache. Static assets override this.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), "+
			"magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()")
		h.Set("Cache-Control", "no-store")
		if s.isHTTPS(c.Request()) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return next(c)
	}
}

// crossOrigin refuses unsafe requests that a browser marks as coming from
// another site (Sec-Fetch-Site, or Origin against Host).
func (s *Server) crossOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(c echo.Context) error {
		if err := cop.Check(c.Request()); err != nil {
			return echo.NewHTTPError(http.StatusForbidden, "cross-origin request")
		}
		return next(c)
	}
}

// ownPagesOnly refuses a request that a browser says was started by
// another site, or by another subdomain of ours (Sec-Fetch-Site
// cross-site or same-site), before the handler runs: it guards audited
// look-ups that stay GETs, so that a link elsewhere cannot make a
// signed-in staff member's browser look a patron up, which the patron
// would then read as the staff member's doing. A typed address or a
// bookmark (none) and the portal's own pages (same-origin) pass; so does a
// browser that sends no fetch metadata (all current browsers send it).
func (s *Server) ownPagesOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Header.Get("Sec-Fetch-Site") {
		case "cross-site", "same-site":
			return echo.NewHTTPError(http.StatusForbidden, fromAnotherSite)
		}
		return next(c)
	}
}

const fromAnotherSite = "opened from another site"

// loadSession finds the visitor's session (without creating one) and
// loads who it belongs to: a patron, or a staff member, and the patron
// they are assisting.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if rt := s.routeOf(c); rt != nil && rt.NoSession {
			return next(c)
		}
		r := c.Request()
		sess, err := s.Sessions.Load(r)
		if err != nil {
			return fmt.Errorf("web: load session: %w", err)
		}
		c.Set(ctxSession, sess)
		ctx := r.Context()
		if id, ok := sess.PatronID(); ok {
			p, err := s.sessionPatron(ctx, sess, id)
			if errors.Is(err, models.ErrNotFound) {
				// The patron was deleted: the session goes with them.
				return s.destroyThen(c, sess, next, models.AssistEndedSession)
			} else if err != nil {
				return fmt.Errorf("web: load patron: %w", err)
			}
			c.Set(ctxPatron, p)
		}
		if id, ok := sess.StaffID(); ok {
			st, err := s.Store.StaffMember(ctx, id)
			if errors.Is(err, models.ErrNotFound) {
				// Disabled (a removed account takes its sessions with it).
				// DisableStaff ends the account's sessions as it disables
				// it; this is the safety net for the rest: an account
				// disabled in the database directly, or while this request
				// was under way. Such a session must not act, and is ended
				// here with the true cause; one never used again ends at
				// its idle limit, with the sweep.
				return s.destroyThen(c, sess, next, models.AssistEndedDisabled)
			} else if err != nil {
				return fmt.Errorf("web: load staff: %w", err)
			}
			if s.passwordOnly(st) {
				// A session begun before this account's role needed a
				// second factor it has not set up: it signs in again.
				return s.destroyThen(c, sess, next, models.AssistEndedSession)
			}
			c.Set(ctxStaff, &st)
			if err := s.loadAssistance(c, sess, &st); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// sessionPatron is the session's patron: the row read with the session
// when there is one, else read now.
func (s *Server) sessionPatron(ctx context.Context, sess *Session, id int64) (*models.Patron, error) {
	if p := sess.cachedPatron(id); p != nil {
		return p, nil
	}
	p, err := s.Store.Patron(ctx, id)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// destroyThen ends a session whose principal no longer exists, recording
// why an assistance it carried ended, and goes on as an anonymous visitor.
func (s *Server) destroyThen(c echo.Context, sess *Session, next echo.HandlerFunc, cause string) error {
	if err := s.Sessions.End(c.Request().Context(), sess, cause); err != nil {
		return err
	}
	return next(c)
}

// checkCSRF requires the session's synchronizer token on every unsafe
// request, in addition to the cross-origin check; the sign-in forms, which
// an anonymous visitor posts, carry a stateless token instead. Either is
// read from the body only.
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		rt := s.routeOf(c)
		if rt != nil && rt.OwnTokenCheck {
			return next(c)
		}
		if rt != nil && rt.SigninForm != nil {
			if !s.validSigninForm(c) {
				return s.signinFormExpired(c, rt.SigninForm)
			}
			return s.signinStorageFailure(c, rt.SigninForm, next(c))
		}
		sess := session(c)
		if sess != nil && !sess.SignedIn() && sess.Lapsed() != "" {
			// The form came from a page whose session is over: nothing
			// is done, and the visitor is told so at sign-in and taken
			// back to that page after it.
			login := "/login"
			if rt != nil && rt.Access != Public && rt.Access != PatronOnly {
				login = "/staff/login"
			}
			return s.signInAgain(c, login)
		}
		if sess == nil || !sess.validCSRF(formToken(c)) {
			if assistEndedNow(c) != nil {
				// The form was the assisted patron's, and its token went
				// with the assistance: say that, not "refused".
				return s.renderAssistEnded(c)
			}
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong form token")
		}
		return next(c)
	}
}

// signInAgain sends a visitor whose session is over (Session.Lapsed) to
// the sign-in page login, which says why, and back after it: for a page,
// to that page; for a form, to the page the form was on (the same-origin
// Referer), never to the form's action, which is not carried out or
// replayed. A staff member's session goes to the staff sign-in; a page of
// the other side's is not a place to come back to.
func (s *Server) signInAgain(c echo.Context, login string) error {
	sess, r := session(c), c.Request()
	form := !isSafeMethod(r.Method)
	next := r.URL.RequestURI()
	if form {
		next = refererPath(r)
	}
	if sess.lapsedStaff {
		login = "/staff/login"
	}
	next = localPath(next)
	if (login == "/staff/login") != isStaffPath(next) {
		next = ""
	}
	to := login + "?"
	if next != "" {
		to += "next=" + url.QueryEscape(next) + "&"
	}
	to += "ended=" + sess.Lapsed()
	if form {
		to += "&form=1"
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// refererPath is the path and query of the page a request came from, when
// the browser says and it is a page of this site; "" otherwise.
func refererPath(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host == "" || u.Host != r.Host || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.RequestURI()
}

// isStaffPath reports whether p is a page of the staff side.
func isStaffPath(p string) bool {
	return p == "/staff" || strings.HasPrefix(p, "/staff/") || strings.HasPrefix(p, "/staff?")
}

// guard enforces a route's access rule, the one place that decides who
// may reach what. While staff assist a patron, only the routes in
// assistAllowed are open to them.
func (s *Server) guard(a Access, routeName string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			staff := currentStaff(c)
			assisting := currentAssist(c) != nil
			switch a {
			case Public:
				return next(c)
			case PatronOnly:
				if assisting && !assistAllowed[routeName] {
					return echo.NewHTTPError(http.StatusForbidden, notWhileAssisting)
				}
				if currentPatron(c) != nil {
					return next(c)
				}
				if staff != nil {
					if assistEndedNow(c) != nil {
						return s.renderAssistEnded(c)
					}
					// Staff see a patron's pages only while assisting them.
					if c.Request().Method == http.MethodGet {
						return s.redirect(c, "/staff")
					}
					return echo.NewHTTPError(http.StatusForbidden, "staff see a patron's pages only while assisting them")
				}
				return s.toSignIn(c, "/login")
			case Assisting:
				if assisting {
					return next(c)
				}
				if staff != nil && assistEndedNow(c) != nil {
					return s.renderAssistEnded(c)
				}
				if staff != nil {
					return s.redirect(c, "/staff")
				}
				return s.toSignIn(c, "/staff/login")
			default: // a staff role
				if staff == nil {
					if currentPatron(c) != nil {
						return echo.NewHTTPError(http.StatusForbidden, "this page is for library staff")
					}
					return s.toSignIn(c, "/staff/login")
				}
				if assisting && !assistAllowed[routeName] {
					return echo.NewHTTPError(http.StatusForbidden, notWhileAssisting)
				}
				if models.RoleRank(staff.Role) < a.rank() {
					return echo.NewHTTPError(http.StatusForbidden, "your role does not include this page")
				}
				return next(c)
			}
		}
	}
}

const notWhileAssisting = "not while assisting a patron"

// toSignIn sends a GET to the sign-in page and back; anything else is
// refused.
func (s *Server) toSignIn(c echo.Context, login string) error {
	if c.Request().Method != http.MethodGet {
		return echo.NewHTTPError(http.StatusForbidden, "not signed in")
	}
	if sess := session(c); sess != nil && sess.Lapsed() != "" {
		return s.signInAgain(c, login)
	}
	return c.Redirect(http.StatusSeeOther, login+"?next="+url.QueryEscape(c.Request().URL.RequestURI()))
}

func currentPatron(c echo.Context) *models.Patron {
	p, _ := c.Get(ctxPatron).(*models.Patron)
	return p
}

// errorText is what a visitor reads for each status, in t's language:
// plain words, no internals.
func errorText(t *i18n.Tr, code int) (heading, message string) {
	key := "500"
	switch code {
	case http.StatusBadRequest:
		key = "400"
	case http.StatusForbidden:
		key = "403"
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		key = "404"
	case http.StatusRequestEntityTooLarge:
		key = "413"
	case http.StatusUnprocessableEntity:
		key = "422"
	case http.StatusTooManyRequests:
		key = "429"
	case http.StatusServiceUnavailable:
		key = "503"
	}
	return t.S("errors." + key + ".heading"), t.S("errors." + key + ".message")
}

// networkAddress matches an IPv4 or IPv6 address, with or without a port,
// as the net package spells them in its errors ("write tcp
// 127.0.0.1:8080->203.0.113.5:51234: broken pipe").
var networkAddress = regexp.MustCompile(`\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?(:\d+)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`)

// logError is err as the logs may hold it: a failed write to a visitor's
// connection names their address (the proxy's, behind one; theirs, when
// reached directly), and no IP address is written down against a
// request.
func logError(err error) string {
	if err == nil {
		return ""
	}
	return networkAddress.ReplaceAllString(err.Error(), "[address]")
}

// handleError is the one error handler: it logs what went wrong (by route,
// never with personal data) and shows a friendly page. A failure whose
// cause is an unreachable database is a 503, not a 500.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := http.StatusInternalServerError
	storage := models.IsStorageFailure(err)
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		if code == http.StatusMethodNotAllowed {
			code = http.StatusNotFound
		}
	} else if storage || models.Ping(c.Request().Context(), s.Store.DB) != nil {
		code = http.StatusServiceUnavailable
		s.health.noteStorage(err)
	}
	if code >= 500 {
		s.Log.Error("request failed", "route", c.Path(), "status", code, "err", logError(err))
	}
	h := c.Response().Header()
	switch code {
	case http.StatusTooManyRequests:
		h.Set("Retry-After", "60")
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "30")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if c.Response().Header().Get("Content-Language") == "" {
		// Refused before the language was decided (a body too large): the
		// address's choice or the browser's, without reading the body.
		lang, inURL := c.QueryParam("lang"), true
		if !i18n.Supported(lang) {
			lang, inURL = browserLang(c.Request().Header.Get("Accept-Language")), false
		}
		setLanguage(c, lang, inURL)
	}
	t := tr(c)
	heading, message := errorText(t, code)
	if code >= 500 && !isSafeMethod(c.Request().Method) {
		// A failure around the commit may come after the change was saved.
		message = t.S("errors.5xx.form")
	}
	if storage {
		// The database refuses to store anything (a full disk, read-only
		// files or server): said as it is, as a passing state.
		heading, message = t.S("errors.storage.heading"), t.S("errors.storage.message")
	}
	if he != nil && he.Message == notWhileAssisting {
		heading, message = t.S("errors.assisting.heading"), t.S("errors.assisting.message")
	}
	if he != nil && he.Message == fromAnotherSite {
		heading, message = t.S("errors.other_site.heading"), t.S("errors.other_site.message")
	}
	var buf bytes.Buffer
	p := s.page(c, heading)
	if err := views.ErrorPage(p, code, heading, message).Render(c.Request().Context(), &buf); err != nil {
		_ = c.String(code, heading)
		return
	}
	_ = c.HTMLBlob(code, buf.Bytes())
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// ctxAssistEnded holds, for the request in which an assistance ran out,
// the patron it was for (assistEndedNow).
const ctxAssistEnded = "carrel.assist_ended"

// noteAssistEnded records that this request found the assistance of
// patron patronID over, for its page to say so with a way to assist
// again; the message is never kept for a later page.
func (s *Server) noteAssistEnded(c echo.Context, patronID int64) {
	c.Set(ctxAssistEnded, &patronID)
}

// assistEndedNow is the patron whose assistance ran out in this request,
// or nil.
func assistEndedNow(c echo.Context) *int64 {
	id, _ := c.Get(ctxAssistEnded).(*int64)
	return id
}

// assistEnded is the message for an assistance that ran out in this
// request, with the way back to assist again (the patron's staff page),
// or nil. unsent says that the request was a form that was not carried
// out.
func (s *Server) assistEnded(c echo.Context) *views.AssistEnded {
	id := assistEndedNow(c)
	if id == nil {
		return nil
	}
	v := &views.AssistEnded{After: models.SpokenDuration(tr(c), s.Config.AssistLimit),
		AgainURL: "/staff/patrons/" + strconv.FormatInt(*id, 10), Unsent: !isSafeMethod(c.Request().Method)}
	if p, err := s.Store.Patron(c.Request().Context(), *id); err == nil {
		v.PatronName = p.FullName()
	} else if !errors.Is(err, models.ErrNotFound) {
		s.Log.Warn("assisted patron unreadable", "err", logError(err))
	}
	return v
}

// renderAssistEnded answers a staff member whose assistance ran out
// while they used the patron's pages: one message saying so (and, for a
// form, that it was not carried out) with "Assist again", instead of the
// page or a refusal.
func (s *Server) renderAssistEnded(c echo.Context) error {
	status := http.StatusOK
	if !isSafeMethod(c.Request().Method) {
		status = http.StatusForbidden
	}
	p := s.page(c, tr(c).S("pages.assist_ended.title"))
	v := p.AssistEnded
	p.AssistEnded = nil
	if v == nil {
		v = s.assistEnded(c)
	}
	return s.render(c, status, views.AssistEndedPage(p, *v))
}
