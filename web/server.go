package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/static"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
)

// Server holds the HTTP side's dependencies, built once in main and
// handed to every handler.
type Server struct {
	Store    *models.Store
	Sessions *SessionStore
	Log      *slog.Logger
	Config   Config

	echo   *echo.Echo
	policy []views.PolicySection
	// policyES is the library's Spanish policy, nil without one.
	policyES []views.PolicySection
	logo     []byte
	stats    *stats
	metrics  http.Handler
	// routes finds a request's line of the route table.
	routes routeIndex
	// lookups paces each staff member's patron searches and records opened.
	lookups *lookupLimiter
	// oidc is staff single sign-on, nil without an issuer.
	oidc *staffOIDC
	// health is what /readyz answers besides the database's own
	// answers: shutting down, a recent storage failure.
	health health
}

// New builds the server and its router. It leaves store as it is: a
// second server over the same store (a test's, a tool's) must not take the
// first one's event counts. To count the store's own events (consent
// changes) in the usage statistics, whoever owns the store wires them to
// one server: store.Count = srv.CountEvent.
func New(store *models.Store, cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.LibraryName == "" {
		cfg.LibraryName = "Public Library"
	}
	if cfg.Policy == "" {
		cfg.Policy = static.DefaultPolicy
	}
	if cfg.StaffSearchBurst <= 0 || cfg.StaffSearchEvery <= 0 {
		// A desk may look patrons up (a search, or a record opened) 30
		// times in a rush, then once every 20 seconds: 180 an hour, a
		// search and its record for 90 patrons. A script paging through
		// the directory, by two-letter searches or by record number, gets
		// as far and no further: at most 10 patrons a search, one a
		// record, about 4,300 records a day per staff member.
		cfg.StaffSearchBurst, cfg.StaffSearchEvery = 30, 20*time.Second
	}
	if cfg.SigninRate <= 0 || cfg.SigninBurst <= 0 {
		// Generous enough for a library's public computers behind one
		// address, tight enough to slow a script.
		cfg.SigninRate, cfg.SigninBurst = 2, 20
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Addr
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1M"
	}
	if cfg.AssistLimit <= 0 || cfg.AssistLimit > 30*time.Minute {
		cfg.AssistLimit = 15 * time.Minute
	}
	if cfg.Sessions.Idle == 0 {
		cfg.Sessions = models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour}
	}
	// The active sign-ins' retention text names the limits this portal
	// enforces.
	store.Sessions = cfg.Sessions
	s := &Server{Store: store, Log: log, Config: cfg, policy: parsePolicy(cfg.Policy)}
	if strings.TrimSpace(cfg.PolicyES) != "" {
		s.policyES = parsePolicy(cfg.PolicyES)
	}
	if cfg.LogoFile != "" {
		b, err := os.ReadFile(cfg.LogoFile)
		if err != nil {
			return nil, fmt.Errorf("web: read logo: %w", err)
		}
		s.logo = b
	}
	s.Sessions = NewSessionStore(store, cfg.Sessions, s.secureCookie)
	s.stats = newStats(store, cfg.Location)
	s.lookups = newLookupLimiter(cfg.StaffSearchBurst, cfg.StaffSearchEvery)
	s.oidc = newStaffOIDC(cfg, store.Now)
	s.metrics = s.metricsHandler()
	s.echo = s.router()
	return s, nil
}

// CountEvent counts an anonymous event in the usage statistics; it is
// what a store's Count hook is set to (see New).
func (s *Server) CountEvent(name string) { s.stats.Inc(name) }

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists the registered routes, for the access table tests.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// trusted reports whether the request came through one of the configured
// reverse proxies, whose forwarding headers may then be believed.
func (s *Server) trusted(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, n := range s.Config.TrustedProxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// isHTTPS reports whether the visitor reached us over HTTPS, directly or
// through a trusted proxy. echo's own Scheme() believes X-Forwarded-Proto
// from anyone; this does not.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.trusted(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// secureCookie decides whether the cookie must be Secure: always, except
// on plain HTTP in demo mode (a laptop trying the portal on localhost).
func (s *Server) secureCookie(r *http.Request) bool {
	if s.isHTTPS(r) || s.Config.CookieSecure == "always" {
		return true
	}
	return !s.Config.Demo
}

// page builds the layout's view model for the current visitor.
func (s *Server) page(c echo.Context, title string) views.Page {
	p := views.Page{
		Title:       title,
		LibraryName: s.Config.LibraryName,
		LogoURL:     static.URL("img/logo.svg"),
		Path:        c.Path(),
		Demo:        s.Config.Demo,
		Contact:     s.Config.PrivacyContact,
		URL:         c.Request().URL.RequestURI(),
		NoSwitch:    staffOnlyPage(c.Request().URL.Path) && currentAssist(c) == nil,
	}
	if s.logo != nil {
		p.LogoURL = "/library-logo"
	}
	if sess := session(c); sess != nil {
		if st := currentStaff(c); st != nil {
			p.Principal = &views.Principal{Kind: "staff", Name: st.DisplayName}
			p.CanAudit = models.RoleRank(st.Role) >= models.RoleRank(models.RolePrivacyOfficer)
			p.CanAdmin = models.RoleRank(st.Role) >= models.RoleRank(models.RoleAdmin)
			if a := currentAssist(c); a != nil {
				p.Assist = s.assistBanner(tr(c), st, a)
			}
			p.AssistEnded = s.assistEnded(c)
		} else if patron := currentPatron(c); patron != nil {
			p.Principal = &views.Principal{Kind: "patron", Name: patron.DisplayName()}
			p.CatalogReturn = sess.CatalogReturn()
		}
		if p.Principal != nil {
			p.CSRF = sess.CSRFToken()
			s.signsOut(tr(c), sess, &p)
		}
		s.showNotice(c, sess, &p)
	}
	return p
}

// showNotice puts on a page the messages waiting in the session for the
// next page (a flash, a record's message, the catalog's welcome) that no
// page of this request took yet, without spending them: render spends
// them once the page is written (Session.spendNotice), so that a page
// built and never sent, or an error page, which saves nothing, leaves
// them for the next.
func (s *Server) showNotice(c echo.Context, sess *Session, p *views.Page) {
	flash, rec, welcome, ilsWelcome := sess.peekNotice()
	if welcome && !sess.shown.welcome && currentStaff(c) == nil {
		if patron := currentPatron(c); patron != nil {
			p.CatalogWelcome = patron.DisplayName()
			sess.shown.welcome = true
		}
	}
	if ilsWelcome && !sess.shown.ilsWelcome && currentStaff(c) == nil && currentPatron(c) != nil {
		p.ILSWelcome = true
		sess.shown.ilsWelcome = true
	}
	if flash != "" && sess.shown.flash == "" {
		p.Notice = flash
		sess.shown.flash = flash
	}
	if rec != "" && sess.shown.record == "" {
		p.Notice = s.recordNotice(c, rec)
		sess.shown.record = rec
	}
}

// flash keeps a one-line message for the next page the visitor sees. It
// waits in the session row, so it must name nobody and nothing of the
// patron's (a favorite author, a list, a patron's name): such a message
// is flashRecord's.
func (s *Server) flash(c echo.Context, msg string) {
	if sess := session(c); sess != nil {
		sess.Flash(msg)
	}
}

// flashRecord keeps a message about one record for the next page: the
// session row holds only the message's kind and the record's ID, and the
// record's name is looked up when the page is shown.
func (s *Server) flashRecord(c echo.Context, kind string, id int64) {
	if sess := session(c); sess != nil {
		sess.FlashRecord(kind + ":" + strconv.FormatInt(id, 10))
	}
}

// A recordNotice is a message that names a record: say is the ID of its
// sentence, into which the record's name goes as Name; general, the ID
// of the one said when the record is gone by the time the page is shown
// (or cannot be read). Both are in the pages catalog.
type recordNotice struct {
	name    func(s *Server, c echo.Context, id int64) (string, error)
	say     string
	general string
}

// patronFavorite is the display name of one of the current patron's
// favorites.
func patronFavorite(s *Server, c echo.Context, id int64) (string, error) {
	p := currentPatron(c)
	if p == nil {
		return "", models.ErrNotFound
	}
	fav, err := s.Store.Favorite(c.Request().Context(), p.ID, id)
	return fav.Display, err
}

func listName(s *Server, c echo.Context, id int64) (string, error) {
	l, err := s.Store.ListByID(c.Request().Context(), id)
	return l.Name, err
}

// recordNotices are the messages flashRecord can keep, by kind.
var recordNotices = map[string]recordNotice{
	"favorite.followed": {patronFavorite, "pages.notice.followed", "pages.notice.favorites"},
	"favorite.already":  {patronFavorite, "pages.notice.already", "pages.notice.favorites"},
	"list.subscribed":   {listName, "pages.notice.subscribed", "pages.notice.subscribed_general"},
	"list.unsubscribed": {listName, "pages.notice.unsubscribed", "pages.notice.unsubscribed_general"},
	"list.saved":        {listName, "pages.notice.saved", "pages.notice.saved_general"},
	"assist.ended": {func(s *Server, c echo.Context, id int64) (string, error) {
		p, err := s.Store.Patron(c.Request().Context(), id)
		return p.FullName(), err
	}, "pages.notice.assist_ended", "pages.notice.assist_ended_general"},
}

// recordNotice turns a kept "kind:id" into its sentence, in the page's
// language, ended by one full stop even when the name ends with one.
func (s *Server) recordNotice(c echo.Context, rec string) string {
	kind, idText, _ := strings.Cut(rec, ":")
	n, ok := recordNotices[kind]
	if !ok {
		return ""
	}
	t := tr(c)
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return t.S(n.general)
	}
	name, err := n.name(s, c, id)
	if err != nil || name == "" {
		if !errors.Is(err, models.ErrNotFound) && err != nil {
			s.Log.Warn("notice record unreadable", "kind", kind, "err", err)
		}
		return t.S(n.general)
	}
	return views.Sentence(t.S(n.say, "Name", name))
}

// actor is who is making a change, for the consent ledger: the patron,
// through the channel they signed in by, shown the current policy text.
func (s *Server) actor(c echo.Context) models.Actor {
	a := models.Actor{Channel: models.ChannelWeb, TextVersion: s.Config.PolicyVersion}
	if as, st := currentAssist(c), currentStaff(c); as != nil && st != nil {
		a.StaffID, a.Channel, a.Reason = &st.ID, models.ChannelStaffAssisted, as.reasonLabel()
		return a
	}
	if sess := session(c); sess != nil {
		if ch := sess.Channel(); ch != "" {
			a.Channel = ch
		}
	}
	return a
}

// render writes a component: into a buffer first (templ's own pool), so
// that a failing render is a clean 500 and not half a page; then the
// notice the page showed is spent and the session saved (it may set the
// cookie), then the page is sent.
func (s *Server) render(c echo.Context, status int, comp templ.Component) error {
	buf := templ.GetBuffer()
	defer func() {
		if buf.Cap() <= 1<<20 { // a rare huge page is not kept
			templ.ReleaseBuffer(buf)
		}
	}()
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return fmt.Errorf("web: render: %w", err)
	}
	if sess := session(c); sess != nil {
		sess.spendNotice()
	}
	if err := s.saveSession(c); err != nil {
		return err
	}
	// With its length known the page goes out whole, not in chunks: one
	// write fewer per page, and no end-of-chunks marker on the wire.
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(status, buf.Bytes())
}

// redirect saves the session and answers 303 See Other.
func (s *Server) redirect(c echo.Context, to string) error {
	if err := s.saveSession(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// saveSession stores the session if the request changed it. When all
// that could not be stored is a message for the next page, the request's
// work is done (a change committed, a page built): the answer says so,
// and the lost message is only logged. Reporting a failure then would
// tell the visitor a committed change may not have been saved, and a
// retry would do nothing, or do it twice.
func (s *Server) saveSession(c echo.Context) error {
	sess := session(c)
	if sess == nil {
		return nil
	}
	err := s.Sessions.Save(c.Request(), c.Response(), sess)
	if err == nil {
		return nil
	}
	s.health.noteStorage(err)
	if errors.Is(err, errNoticeNotSaved) {
		s.Log.Warn("the message for the next page was not saved; the request itself succeeded", "route", c.Path(), "err", logError(err))
		return nil
	}
	return fmt.Errorf("web: save session: %w", err)
}

// Context keys set by the middleware.
const (
	ctxSession = "carrel.session"
	ctxPatron  = "carrel.patron"
)

func session(c echo.Context) *Session {
	sess, _ := c.Get(ctxSession).(*Session)
	return sess
}
