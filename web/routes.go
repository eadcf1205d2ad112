package web

import (
	"github.com/carrel-library/carrel/models"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"
)

// Access says who may reach a route. Every route names one, and the router
// puts the matching guard in front of it.
type Access int

// The kinds of access a route can require.
const (
	// Public routes are open to everyone, signed in or not.
	Public Access = iota
	// PatronOnly routes need a signed-in patron, or staff assisting one
	// (then only if assistAllowed names the route).
	PatronOnly
	// Assisting routes need staff who are assisting a patron.
	Assisting
	// StaffAssistant, StaffOfficer and StaffAdmin need a staff member of
	// at least that role, not assisting anyone.
	StaffAssistant
	StaffOfficer
	StaffAdmin
)

func (a Access) rank() int {
	switch a {
	case StaffAssistant:
		return models.RoleRank(models.RoleAssistant)
	case StaffOfficer:
		return models.RoleRank(models.RolePrivacyOfficer)
	case StaffAdmin:
		return models.RoleRank(models.RoleAdmin)
	}
	return 0
}

// assistAllowed lists, by route name, everything staff may do while
// assisting a patron: view the overview and detail pages (reading-history
// titles are shown as a count only) and change privacy choices at the
// patron's request. Everything else a patron can do (export, print,
// delete history entries, end other sessions, dismiss the assistance
// notice) and every staff page (so no second assistance from inside one)
// is refused. README "Assisted help" shows this as a table; a test checks
// every route against it.
var assistAllowed = map[string]bool{
	"home": true, "policy": true,
	"data": true, "data.detail": true,
	"history.on": true, "history.off": true, "history.off.submit": true, "history.keep": true,
	"favorites": true, "favorites.link": true, "favorites.unlink": true, "favorites.unlink.submit": true,
	"favorites.add": true, "favorites.remove": true, "favorites.notice": true,
	"lists": true, "lists.subscribe": true, "lists.unsubscribe": true, "lists.unsubscribe_all": true,
	"assist.end": true, "staff.logout": true, "language": true,
}

// Route is one line of the routing table: what it serves, who may reach
// it, and how the middleware treats it. The middleware reads a request's
// properties from its matched route (Server.routeOf), never from a list of
// paths kept elsewhere, so a route keeps them whatever its path becomes.
type Route struct {
	Method  string
	Path    string
	Name    string
	Access  Access
	Handler echo.HandlerFunc
	// Before runs ahead of the handler, after the access guard.
	Before []echo.MiddlewareFunc

	// NoSession: the route never reads the visitor's session (nor starts
	// one); loading it would only cost a database read, or, for one-click
	// unsubscribe and the ILS's API, must not happen at all.
	NoSession bool
	// OwnTokenCheck: an unsafe route that checks its own token or key
	// instead of the session's form token (see Logout, the unsubscribe
	// links, APIArrivals). Every such route is named in
	// TestUnsafeRoutesCheckTheFormToken.
	OwnTokenCheck bool
	// SigninForm, for the forms an anonymous visitor posts, shows the form
	// again when its stateless form token (signinFormToken) is refused:
	// a visitor has no session, so no session token, until they sign in.
	SigninForm signinFormAgain
	// BodyLimit replaces Config.BodyLimit for the route's requests;
	// ownBodyLimit leaves the limit to the handler.
	BodyLimit string
}

// ownBodyLimit is the BodyLimit of a route whose handler limits its own
// body (the API, so that it can answer in JSON).
const ownBodyLimit = "handler"

// route is a line of the table with no properties beyond its middleware.
func route(method, path, name string, a Access, h echo.HandlerFunc, before ...echo.MiddlewareFunc) Route {
	return Route{Method: method, Path: path, Name: name, Access: a, Handler: h, Before: before}
}

// withoutSession marks a route that never needs the visitor's session.
func (r Route) withoutSession() Route { r.NoSession = true; return r }

// checksOwnToken marks an unsafe route that checks its own token or key.
func (r Route) checksOwnToken() Route { r.OwnTokenCheck = true; return r }

// signinForm marks a sign-in form, with the function that shows it again.
func (r Route) signinForm(again signinFormAgain) Route { r.SigninForm = again; return r }

// bodyLimit gives a route its own body limit (or ownBodyLimit).
func (r Route) bodyLimit(limit string) Route { r.BodyLimit = limit; return r }

// RouteTable is every route of the portal, in one readable place.
func (s *Server) RouteTable() []Route {
	signinLimit := s.perClientLimit(s.Config.SigninRate, s.Config.SigninBurst)
	// Look-ups that are audited stay GETs (bookmarkable, back-button safe)
	// but open only from the portal's own pages or a typed address.
	ownPagesOnly := []echo.MiddlewareFunc{s.ownPagesOnly}
	return []Route{
		route(http.MethodGet, "/", "home", Public, s.Home),
		route(http.MethodGet, "/login", "login", Public, s.LoginPage),
		route(http.MethodPost, "/login", "login.submit", Public, s.LoginSubmit, signinLimit).signinForm((*Server).loginFormAgain),
		// Signing out works with an expired session too (see Logout).
		route(http.MethodPost, "/logout", "logout", Public, s.Logout).checksOwnToken(),
		// The language switch of a signed-in visitor (before sign-in it is
		// a link carrying ?lang=).
		route(http.MethodPost, "/language", "language", Public, s.SetLanguage),
		route(http.MethodGet, "/data", "data", PatronOnly, s.DataOverview),
		route(http.MethodGet, "/data/export.json", "data.export", PatronOnly, s.DataExport),
		route(http.MethodGet, "/data/print", "data.print", PatronOnly, s.DataPrint),
		route(http.MethodGet, "/data/:category", "data.detail", PatronOnly, s.DataDetail),
		route(http.MethodPost, "/data/reading-history/on", "history.on", PatronOnly, s.HistoryOn),
		route(http.MethodGet, "/data/reading-history/off", "history.off", PatronOnly, s.HistoryOffConfirm),
		route(http.MethodPost, "/data/reading-history/off", "history.off.submit", PatronOnly, s.HistoryOff),
		route(http.MethodGet, "/data/reading-history/clear", "history.clear", PatronOnly, s.HistoryClearConfirm),
		route(http.MethodPost, "/data/reading-history/clear", "history.clear.submit", PatronOnly, s.HistoryClear),
		route(http.MethodPost, "/data/reading-history/:id/delete", "history.delete", PatronOnly, s.HistoryDelete),
		route(http.MethodPost, "/data/reading-history/keep", "history.keep", PatronOnly, s.HistoryKeep),
		route(http.MethodPost, "/data/sessions/end-others", "sessions.end_others", PatronOnly, s.EndOtherSessions),
		route(http.MethodGet, "/favorites", "favorites", PatronOnly, s.FavoritesPage),
		route(http.MethodPost, "/favorites/link", "favorites.link", PatronOnly, s.FavoritesLink),
		route(http.MethodGet, "/favorites/unlink", "favorites.unlink", PatronOnly, s.FavoritesUnlinkConfirm),
		route(http.MethodPost, "/favorites/unlink", "favorites.unlink.submit", PatronOnly, s.FavoritesUnlink),
		route(http.MethodPost, "/favorites/add", "favorites.add", PatronOnly, s.FavoritesAdd),
		route(http.MethodPost, "/favorites/:id/remove", "favorites.remove", PatronOnly, s.FavoritesRemove),
		route(http.MethodPost, "/favorites/notice", "favorites.notice", PatronOnly, s.FavoritesNotice),
		route(http.MethodGet, "/opac/follow", "opac.follow", PatronOnly, s.Follow),
		route(http.MethodGet, "/opac/handoff", "opac.handoff", Public, s.Handoff, signinLimit),
		// With someone else signed in, a hand-off asks first; the token
		// waits in that session, out of the address bar (web/opac.go).
		route(http.MethodGet, "/opac/handoff/confirm", "opac.handoff.confirm", Public, s.HandoffConfirm),
		route(http.MethodPost, "/opac/handoff/confirm", "opac.handoff.continue", Public, s.HandoffContinue, signinLimit),
		route(http.MethodPost, "/opac/handoff/stay", "opac.handoff.stay", Public, s.HandoffStay),
		route(http.MethodGet, "/mailing-lists", "lists", PatronOnly, s.MailingListsPage),
		route(http.MethodPost, "/mailing-lists/unsubscribe-all", "lists.unsubscribe_all", PatronOnly, s.ListUnsubscribeAll),
		route(http.MethodPost, "/mailing-lists/:slug/subscribe", "lists.subscribe", PatronOnly, s.ListSubscribe),
		route(http.MethodPost, "/mailing-lists/:slug/unsubscribe", "lists.unsubscribe", PatronOnly, s.ListUnsubscribe),
		// One-click unsubscribe works signed out, for a mail provider too:
		// it never starts a session or reads one, and its token is its check.
		route(http.MethodGet, "/unsubscribe/:token", "unsubscribe", Public, s.UnsubscribePage).withoutSession(),
		route(http.MethodPost, "/unsubscribe/:token", "unsubscribe.submit", Public, s.UnsubscribeSubmit).withoutSession().checksOwnToken(),
		// The unsubscribe link of new-arrival emails (web/delivery.go).
		route(http.MethodGet, "/unsubscribe/notices/:token", "notices.unsubscribe", Public, s.NoticeUnsubscribePage).withoutSession(),
		route(http.MethodPost, "/unsubscribe/notices/:token", "notices.unsubscribe.submit", Public, s.NoticeUnsubscribeSubmit).withoutSession().checksOwnToken(),
		route(http.MethodGet, "/staff/lists", "staff.lists", StaffAdmin, s.StaffLists),
		route(http.MethodGet, "/staff/lists/new", "staff.lists.new", StaffAdmin, s.StaffListNew),
		route(http.MethodPost, "/staff/lists/new", "staff.lists.create", StaffAdmin, s.StaffListSave),
		route(http.MethodGet, "/staff/lists/:slug", "staff.lists.edit", StaffAdmin, s.StaffListEdit),
		route(http.MethodPost, "/staff/lists/:slug", "staff.lists.save", StaffAdmin, s.StaffListSave),
		route(http.MethodPost, "/staff/lists/:slug/retire", "staff.lists.retire", StaffAdmin, s.StaffListRetire),
		// Downloads that produce patrons' records are POSTs with the form
		// token: no link, on any site, can make one happen.
		route(http.MethodPost, "/staff/lists/:slug/export.csv", "staff.lists.export", StaffAdmin, s.StaffListExport),
		route(http.MethodPost, "/data/assist-notice/dismiss", "assist_notice.dismiss", PatronOnly, s.DismissAssistNotice),
		route(http.MethodGet, "/staff/login", "staff.login", Public, s.StaffLoginPage),
		route(http.MethodPost, "/staff/login", "staff.login.submit", Public, s.StaffLoginSubmit, signinLimit, s.localStaffSignIn).signinForm((*Server).staffLoginFormAgain),
		// Single sign-on (web/staff_oidc.go): the sign-in page's button
		// starts it; the identity provider sends the browser back to the
		// callback, whose state is its check. Both 404 without an issuer.
		route(http.MethodPost, "/staff/login/oidc", "staff.login.oidc", Public, s.StaffOIDCStart, signinLimit).signinForm((*Server).staffLoginFormAgain),
		route(http.MethodGet, oidcCallbackPath, "staff.oidc.callback", Public, s.StaffOIDCCallback, signinLimit),
		route(http.MethodPost, "/staff/logout", "staff.logout", Public, s.StaffLogout).checksOwnToken(),
		route(http.MethodGet, "/staff", "staff.console", StaffAssistant, s.StaffConsole),
		route(http.MethodGet, "/staff/patrons", "staff.patrons", StaffAssistant, s.StaffPatrons, ownPagesOnly...),
		route(http.MethodGet, "/staff/patrons/:id", "staff.patron", StaffAssistant, s.StaffPatron, ownPagesOnly...),
		route(http.MethodPost, "/staff/patrons/:id/assist", "staff.assist", StaffAssistant, s.StaffAssist),
		route(http.MethodPost, "/staff/patrons/:id/print", "staff.patron.print", StaffAssistant, s.StaffPatronPrint),
		route(http.MethodPost, "/assist/end", "assist.end", Assisting, s.AssistEnd),
		route(http.MethodGet, "/staff/audit", "staff.audit", StaffOfficer, s.StaffAudit),
		route(http.MethodPost, "/staff/audit/verify", "staff.audit.verify", StaffOfficer, s.StaffAuditVerify),
		// The audit entries a filter chooses, as CSV: a POST with the form
		// token, like every download that names patrons, and audited.
		route(http.MethodPost, "/staff/audit.csv", "staff.audit.export", StaffOfficer, s.StaffAuditCSV),
		route(http.MethodGet, "/staff/retention", "staff.retention", StaffOfficer, s.StaffRetention),
		route(http.MethodPost, "/staff/retention", "staff.retention.save", StaffOfficer, s.StaffRetentionSave),
		route(http.MethodGet, "/staff/legal", "staff.legal", StaffOfficer, s.StaffLegal),
		route(http.MethodGet, "/staff/legal/new", "staff.legal.new", StaffOfficer, s.StaffLegalNew),
		route(http.MethodPost, "/staff/legal/new", "staff.legal.create", StaffOfficer, s.StaffLegalCreate),
		route(http.MethodGet, "/staff/legal/:id", "staff.legal.request", StaffOfficer, s.StaffLegalRequest),
		route(http.MethodPost, "/staff/legal/:id/patrons/:pid/:action", "staff.legal.hold", StaffOfficer, s.StaffLegalHold),
		// The legal workflow: review, a second person's approval, then one
		// package (a POST with the form token), and lifting nondisclosure.
		route(http.MethodPost, "/staff/legal/:id/review", "staff.legal.review", StaffOfficer, s.StaffLegalReview),
		route(http.MethodPost, "/staff/legal/:id/approve", "staff.legal.approve", StaffOfficer, s.StaffLegalApprove),
		route(http.MethodPost, "/staff/legal/:id/produce", "staff.legal.produce", StaffOfficer, s.StaffLegalProduce),
		route(http.MethodPost, "/staff/legal/:id/nondisclosure/lift", "staff.legal.lift", StaffOfficer, s.StaffLegalLift),
		route(http.MethodGet, "/staff/stats", "staff.stats", StaffOfficer, s.StaffStats),
		route(http.MethodGet, "/staff/stats.csv", "staff.stats.csv", StaffOfficer, s.StaffStatsCSV),
		// The second factor of local staff accounts (web/staff_totp.go): the
		// sign-in's code and enrolment steps, posted with the sign-in form's
		// token and the sealed pending sign-in, and each staff member's own page.
		route(http.MethodPost, "/staff/login/code", "staff.login.code", Public, s.StaffLoginCode, signinLimit).signinForm((*Server).staffLoginFormAgain),
		route(http.MethodPost, "/staff/login/enrol", "staff.login.enrol", Public, s.StaffLoginEnrol, signinLimit).signinForm((*Server).staffLoginFormAgain),
		route(http.MethodGet, "/staff/2fa", "staff.2fa", StaffAssistant, s.StaffSecondFactor),
		route(http.MethodPost, "/staff/2fa", "staff.2fa.enrol", StaffAssistant, s.StaffSecondFactorEnrol),
		route(http.MethodGet, "/metrics", "metrics", Public, s.Metrics).withoutSession(),
		route(http.MethodGet, "/staff/accounts", "staff.accounts", StaffAdmin, s.StaffAccounts),
		// A form with a CSV file of new arrivals may be larger than others.
		route(http.MethodGet, "/staff/arrivals", "staff.arrivals", StaffAssistant, s.StaffArrivals).bodyLimit(arrivalsFormLimit),
		route(http.MethodPost, "/staff/arrivals", "staff.arrivals.upload", StaffAssistant, s.StaffArrivalsUpload).bodyLimit(arrivalsFormLimit),
		// The ILS posts new arrivals with an API key (Authorization:
		// Bearer), checked by the handler; no session, no cookie. It limits
		// its own body, so that it can answer in JSON.
		route(http.MethodPost, "/api/arrivals", "api.arrivals", Public, s.APIArrivals).withoutSession().checksOwnToken().bodyLimit(ownBodyLimit),
		route(http.MethodGet, "/policy", "policy", Public, s.PolicyPage),
		// Probes, assets and the logo never need the visitor's session.
		route(http.MethodGet, "/healthz", "healthz", Public, s.Healthz).withoutSession(),
		route(http.MethodGet, "/readyz", "readyz", Public, s.Readyz).withoutSession(),
		route(http.MethodGet, "/static/*", "static", Public, s.Static).withoutSession(),
		route(http.MethodGet, "/library-logo", "logo", Public, s.Logo).withoutSession(),
	}
}

// signinFormAgain shows a sign-in form again, with what was posted (never
// the secret), a status and a message saying why.
type signinFormAgain func(s *Server, c echo.Context, status int, msg string) error

// routeIndex finds the table's line for a request from the route echo
// matched: its path pattern and the method.
type routeIndex map[string][]*Route

func newRouteIndex(table []Route) routeIndex {
	ix := routeIndex{}
	for i := range table {
		r := &table[i]
		ix[r.Path] = append(ix[r.Path], r)
	}
	return ix
}

// find is the route serving method at the pattern path, or nil when no
// route has that pattern (a 404). A method the pattern does not serve (a
// 405, answered as a 404) gets the properties of the pattern's unsafe
// route if the method is unsafe, else of its first route: the properties
// that concern the path (session, body limit) are the same on every route
// of a path (TestRoutePropertiesAgreeOnAPath).
func (ix routeIndex) find(method, path string) *Route {
	rs := ix[path]
	for _, r := range rs {
		if r.Method == method {
			return r
		}
	}
	if !isSafeMethod(method) {
		for _, r := range rs {
			if !isSafeMethod(r.Method) {
				return r
			}
		}
	}
	if len(rs) > 0 {
		return rs[0]
	}
	return nil
}

// routeOf is the route a request matched, or nil.
func (s *Server) routeOf(c echo.Context) *Route {
	return s.routes.find(c.Request().Method, c.Path())
}

// bodyLimit holds every request body to Config.BodyLimit, or to its
// route's own BodyLimit, before anything reads it.
func (s *Server) bodyLimit() echo.MiddlewareFunc {
	def := middleware.BodyLimit(s.Config.BodyLimit)
	own := map[*Route]echo.MiddlewareFunc{}
	for _, rs := range s.routes {
		for _, r := range rs {
			switch r.BodyLimit {
			case "":
			case ownBodyLimit:
				own[r] = nil
			default:
				own[r] = middleware.BodyLimit(r.BodyLimit)
			}
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			limit := def
			if r := s.routeOf(c); r != nil {
				if l, ok := own[r]; ok {
					if l == nil {
						return next(c)
					}
					limit = l
				}
			}
			return limit(next)(c)
		}
	}
}

func (s *Server) router() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = s.ipExtractor()
	e.HTTPErrorHandler = s.handleError
	e.Pre(s.headAsGet)
	table := s.RouteTable()
	s.routes = newRouteIndex(table)
	e.Use(
		s.accessLog,
		s.recoverPanic,
		s.securityHeaders,
		s.bodyLimit(),
		s.language,
		s.crossOrigin,
		s.loadSession,
		s.sessionLanguage,
		s.checkCSRF,
		s.countPageView,
	)
	for _, r := range table {
		mw := append([]echo.MiddlewareFunc{s.guard(r.Access, r.Name)}, r.Before...)
		e.Add(r.Method, r.Path, r.Handler, mw...).Name = r.Name
	}
	return e
}

// ipExtractor finds the client's address for rate limiting only (it is
// never stored): the connection's peer, or, behind a configured trusted
// proxy, the address that proxy reports. echo believes X-Forwarded-For
// from anyone unless told otherwise.
func (s *Server) ipExtractor() echo.IPExtractor {
	if len(s.Config.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range s.Config.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// perClientLimit slows a flood from one address: perSecond requests a
// second on average, burst at once. Counters live in memory and vanish
// after a few minutes; no address is written anywhere.
func (s *Server) perClientLimit(perSecond float64, burst int) echo.MiddlewareFunc {
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(perSecond), Burst: burst, ExpiresIn: 3 * time.Minute,
	})
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store:               store,
		IdentifierExtractor: func(c echo.Context) (string, error) { return clientKey(c), nil },
		ErrorHandler: func(echo.Context, error) error {
			return echo.NewHTTPError(http.StatusForbidden)
		},
		DenyHandler: func(echo.Context, string, error) error {
			return echo.NewHTTPError(http.StatusTooManyRequests)
		},
	})
}

// clientKey names the client a request comes from, for the limits that are
// counted per client: its IPv4 address, or the /64 network of its IPv6
// address, because one IPv6 host is normally given a whole /64 and could
// otherwise take a fresh address for every guess. It lives in memory only.
func clientKey(c echo.Context) string {
	ip := net.ParseIP(c.RealIP())
	if ip == nil {
		return c.RealIP()
	}
	if ip.To4() != nil {
		return ip.To4().String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
