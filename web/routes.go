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
	"history.on": true, "history.off": true, "history.off.submit": true,
	"favorites": true, "favorites.link": true, "favorites.unlink": true, "favorites.unlink.submit": true,
	"favorites.add": true, "favorites.remove": true, "favorites.notice": true,
	"lists": true, "lists.subscribe": true, "lists.unsubscribe": true, "lists.unsubscribe_all": true,
	"assist.end": true, "staff.logout": true,
}

// Route is one line of the routing table.
type Route struct {
	Method  string
	Path    string
	Name    string
	Access  Access
	Handler echo.HandlerFunc
	// Before runs ahead of the handler, after the access guard.
	Before []echo.MiddlewareFunc
}

// RouteTable is every route of the portal, in one readable place.
func (s *Server) RouteTable() []Route {
	signinLimit := s.perClientLimit(s.Config.SigninRate, s.Config.SigninBurst)
	// Look-ups that are audited stay GETs (bookmarkable, back-button safe)
	// but open only from the portal's own pages or a typed address.
	ownPagesOnly := []echo.MiddlewareFunc{s.ownPagesOnly}
	return []Route{
		{http.MethodGet, "/", "home", Public, s.Home, nil},
		{http.MethodGet, "/login", "login", Public, s.LoginPage, nil},
		{http.MethodPost, "/login", "login.submit", Public, s.LoginSubmit, []echo.MiddlewareFunc{signinLimit}},
		{http.MethodPost, "/logout", "logout", Public, s.Logout, nil},
		{http.MethodGet, "/data", "data", PatronOnly, s.DataOverview, nil},
		{http.MethodGet, "/data/export.json", "data.export", PatronOnly, s.DataExport, nil},
		{http.MethodGet, "/data/print", "data.print", PatronOnly, s.DataPrint, nil},
		{http.MethodGet, "/data/:category", "data.detail", PatronOnly, s.DataDetail, nil},
		{http.MethodPost, "/data/reading-history/on", "history.on", PatronOnly, s.HistoryOn, nil},
		{http.MethodGet, "/data/reading-history/off", "history.off", PatronOnly, s.HistoryOffConfirm, nil},
		{http.MethodPost, "/data/reading-history/off", "history.off.submit", PatronOnly, s.HistoryOff, nil},
		{http.MethodGet, "/data/reading-history/clear", "history.clear", PatronOnly, s.HistoryClearConfirm, nil},
		{http.MethodPost, "/data/reading-history/clear", "history.clear.submit", PatronOnly, s.HistoryClear, nil},
		{http.MethodPost, "/data/reading-history/:id/delete", "history.delete", PatronOnly, s.HistoryDelete, nil},
		{http.MethodPost, "/data/sessions/end-others", "sessions.end_others", PatronOnly, s.EndOtherSessions, nil},
		{http.MethodGet, "/favorites", "favorites", PatronOnly, s.FavoritesPage, nil},
		{http.MethodPost, "/favorites/link", "favorites.link", PatronOnly, s.FavoritesLink, nil},
		{http.MethodGet, "/favorites/unlink", "favorites.unlink", PatronOnly, s.FavoritesUnlinkConfirm, nil},
		{http.MethodPost, "/favorites/unlink", "favorites.unlink.submit", PatronOnly, s.FavoritesUnlink, nil},
		{http.MethodPost, "/favorites/add", "favorites.add", PatronOnly, s.FavoritesAdd, nil},
		{http.MethodPost, "/favorites/:id/remove", "favorites.remove", PatronOnly, s.FavoritesRemove, nil},
		{http.MethodPost, "/favorites/notice", "favorites.notice", PatronOnly, s.FavoritesNotice, nil},
		{http.MethodGet, "/opac/follow", "opac.follow", PatronOnly, s.Follow, nil},
		{http.MethodGet, "/opac/handoff", "opac.handoff", Public, s.Handoff, []echo.MiddlewareFunc{signinLimit}},
		// With someone else signed in, a hand-off asks first; the token
		// waits in that session, out of the address bar (web/opac.go).
		{http.MethodGet, "/opac/handoff/confirm", "opac.handoff.confirm", Public, s.HandoffConfirm, nil},
		{http.MethodPost, "/opac/handoff/confirm", "opac.handoff.continue", Public, s.HandoffContinue, []echo.MiddlewareFunc{signinLimit}},
		{http.MethodPost, "/opac/handoff/stay", "opac.handoff.stay", Public, s.HandoffStay, nil},
		{http.MethodGet, "/mailing-lists", "lists", PatronOnly, s.MailingListsPage, nil},
		{http.MethodPost, "/mailing-lists/unsubscribe-all", "lists.unsubscribe_all", PatronOnly, s.ListUnsubscribeAll, nil},
		{http.MethodPost, "/mailing-lists/:slug/subscribe", "lists.subscribe", PatronOnly, s.ListSubscribe, nil},
		{http.MethodPost, "/mailing-lists/:slug/unsubscribe", "lists.unsubscribe", PatronOnly, s.ListUnsubscribe, nil},
		{http.MethodGet, "/unsubscribe/:token", "unsubscribe", Public, s.UnsubscribePage, nil},
		{http.MethodPost, "/unsubscribe/:token", "unsubscribe.submit", Public, s.UnsubscribeSubmit, nil},
		// The unsubscribe link of new-arrival emails (web/delivery.go).
		{http.MethodGet, "/unsubscribe/notices/:token", "notices.unsubscribe", Public, s.NoticeUnsubscribePage, nil},
		{http.MethodPost, "/unsubscribe/notices/:token", "notices.unsubscribe.submit", Public, s.NoticeUnsubscribeSubmit, nil},
		{http.MethodGet, "/staff/lists", "staff.lists", StaffAdmin, s.StaffLists, nil},
		{http.MethodGet, "/staff/lists/new", "staff.lists.new", StaffAdmin, s.StaffListNew, nil},
		{http.MethodPost, "/staff/lists/new", "staff.lists.create", StaffAdmin, s.StaffListSave, nil},
		{http.MethodGet, "/staff/lists/:slug", "staff.lists.edit", StaffAdmin, s.StaffListEdit, nil},
		{http.MethodPost, "/staff/lists/:slug", "staff.lists.save", StaffAdmin, s.StaffListSave, nil},
		{http.MethodPost, "/staff/lists/:slug/retire", "staff.lists.retire", StaffAdmin, s.StaffListRetire, nil},
		// Downloads that produce patrons' records are POSTs with the form
		// token: no link, on any site, can make one happen.
		{http.MethodPost, "/staff/lists/:slug/export.csv", "staff.lists.export", StaffAdmin, s.StaffListExport, nil},
		{http.MethodPost, "/data/assist-notice/dismiss", "assist_notice.dismiss", PatronOnly, s.DismissAssistNotice, nil},
		{http.MethodGet, "/staff/login", "staff.login", Public, s.StaffLoginPage, nil},
		{http.MethodPost, "/staff/login", "staff.login.submit", Public, s.StaffLoginSubmit, []echo.MiddlewareFunc{signinLimit}},
		{http.MethodPost, "/staff/logout", "staff.logout", Public, s.StaffLogout, nil},
		{http.MethodGet, "/staff", "staff.console", StaffAssistant, s.StaffConsole, nil},
		{http.MethodGet, "/staff/patrons", "staff.patrons", StaffAssistant, s.StaffPatrons, ownPagesOnly},
		{http.MethodGet, "/staff/patrons/:id", "staff.patron", StaffAssistant, s.StaffPatron, ownPagesOnly},
		{http.MethodPost, "/staff/patrons/:id/assist", "staff.assist", StaffAssistant, s.StaffAssist, nil},
		{http.MethodPost, "/assist/end", "assist.end", Assisting, s.AssistEnd, nil},
		{http.MethodGet, "/staff/audit", "staff.audit", StaffOfficer, s.StaffAudit, nil},
		{http.MethodPost, "/staff/audit/verify", "staff.audit.verify", StaffOfficer, s.StaffAuditVerify, nil},
		{http.MethodGet, "/staff/retention", "staff.retention", StaffOfficer, s.StaffRetention, nil},
		{http.MethodPost, "/staff/retention", "staff.retention.save", StaffOfficer, s.StaffRetentionSave, nil},
		{http.MethodGet, "/staff/legal", "staff.legal", StaffOfficer, s.StaffLegal, nil},
		{http.MethodGet, "/staff/legal/new", "staff.legal.new", StaffOfficer, s.StaffLegalNew, nil},
		{http.MethodPost, "/staff/legal/new", "staff.legal.create", StaffOfficer, s.StaffLegalCreate, nil},
		{http.MethodGet, "/staff/legal/:id", "staff.legal.request", StaffOfficer, s.StaffLegalRequest, nil},
		{http.MethodPost, "/staff/legal/:id/patrons/:pid/:action", "staff.legal.hold", StaffOfficer, s.StaffLegalHold, nil},
		// The legal workflow: review, a second person's approval, then one
		// package (a POST with the form token), and lifting nondisclosure.
		{http.MethodPost, "/staff/legal/:id/review", "staff.legal.review", StaffOfficer, s.StaffLegalReview, nil},
		{http.MethodPost, "/staff/legal/:id/approve", "staff.legal.approve", StaffOfficer, s.StaffLegalApprove, nil},
		{http.MethodPost, "/staff/legal/:id/produce", "staff.legal.produce", StaffOfficer, s.StaffLegalProduce, nil},
		{http.MethodPost, "/staff/legal/:id/nondisclosure/lift", "staff.legal.lift", StaffOfficer, s.StaffLegalLift, nil},
		{http.MethodGet, "/staff/stats", "staff.stats", StaffOfficer, s.StaffStats, nil},
		{http.MethodGet, "/staff/stats.csv", "staff.stats.csv", StaffOfficer, s.StaffStatsCSV, nil},
		{http.MethodGet, "/metrics", "metrics", Public, s.Metrics, nil},
		{http.MethodGet, "/staff/accounts", "staff.accounts", StaffAdmin, s.StaffAccounts, nil},
		{http.MethodGet, "/staff/arrivals", "staff.arrivals", StaffAssistant, s.StaffArrivals, nil},
		{http.MethodPost, "/staff/arrivals", "staff.arrivals.upload", StaffAssistant, s.StaffArrivalsUpload, nil},
		// The ILS posts new arrivals with an API key (Authorization:
		// Bearer), checked by the handler; no session, no cookie.
		{http.MethodPost, "/api/arrivals", "api.arrivals", Public, s.APIArrivals, nil},
		{http.MethodGet, "/policy", "policy", Public, s.PolicyPage, nil},
		{http.MethodGet, "/healthz", "healthz", Public, s.Healthz, nil},
		{http.MethodGet, "/readyz", "readyz", Public, s.Readyz, nil},
		{http.MethodGet, "/static/*", "static", Public, s.Static, nil},
		{http.MethodGet, "/library-logo", "logo", Public, s.Logo, nil},
	}
}

// withoutSession are the routes that never need the visitor's session:
// loading it there would only cost a database read.
var withoutSession = map[string]bool{
	"/static/*": true, "/library-logo": true, "/healthz": true, "/readyz": true, "/metrics": true,
	// One-click unsubscribe works signed out, for a mail provider too; it
	// must never start a session or read one.
	"/unsubscribe/:token":         true,
	"/unsubscribe/notices/:token": true,
	// The ILS authenticates each request with its API key.
	"/api/arrivals": true,
}

// csrfExempt are unsafe routes that check their own token (see Logout).
var csrfExempt = map[string]bool{"/logout": true, "/staff/logout": true, "/unsubscribe/:token": true, "/api/arrivals": true,
	"/unsubscribe/notices/:token": true}

// signinForms are the forms an anonymous visitor posts: they carry a
// stateless form token (signinFormToken) in place of a session's, since a
// visitor has no session until they sign in. Each comes with the one
// function that shows it again, which checkCSRF uses when a token is
// refused.
var signinForms = map[string]signinFormAgain{
	"/login":       (*Server).loginFormAgain,
	"/staff/login": (*Server).staffLoginFormAgain,
}

// signinFormAgain shows a sign-in form again, with what was posted (never
// the secret), a status and a message saying why.
type signinFormAgain func(s *Server, c echo.Context, status int, msg string) error

// bodyLimits are the routes whose requests may be larger than
// Config.BodyLimit: a form with a CSV file of new arrivals, and the API,
// which limits its own body so that it can answer in JSON ("" here).
var bodyLimits = map[string]string{"/staff/arrivals": arrivalsFormLimit, "/api/arrivals": ""}

// bodyLimit holds every request body to Config.BodyLimit, or to the
// route's own limit in bodyLimits, before anything reads it.
func (s *Server) bodyLimit() echo.MiddlewareFunc {
	def := middleware.BodyLimit(s.Config.BodyLimit)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		limited := def(next)
		own := map[string]echo.HandlerFunc{}
		for path, limit := range bodyLimits {
			own[path] = next
			if limit != "" {
				own[path] = middleware.BodyLimit(limit)(next)
			}
		}
		return func(c echo.Context) error {
			if h, ok := own[c.Path()]; ok {
				return h(c)
			}
			return limited(c)
		}
	}
}

func (s *Server) router() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = s.ipExtractor()
	e.HTTPErrorHandler = s.handleError
	e.Use(
		s.accessLog,
		s.recoverPanic,
		s.securityHeaders,
		s.bodyLimit(),
		s.crossOrigin,
		s.loadSession,
		s.checkCSRF,
		s.countPageView,
	)
	for _, r := range s.RouteTable() {
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
