package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
)

// The one cookie. On HTTPS it carries the __Host- prefix, which makes the
// browser refuse it unless it is Secure, host-only and for the whole site;
// plain-HTTP demo mode cannot use the prefix and drops it.
const (
	cookieName       = "carrel_session"
	secureCookieName = "__Host-carrel_session"
)

// Session value keys kept in their own columns; any other string key goes
// into the row's JSON data.
const (
	keyPatron = "patron_id"
	keyStaff  = "staff_id"
	keyAssist = "assist_patron_id"
	keyChan   = "channel"
	keyCSRF   = "csrf_token"
	keyFlash  = "flash"
	// keyFlashRecord is a message about a record, kept as "kind:id".
	keyFlashRecord = "flash_record"

	// An assistance, beside keyAssist (the patron's ID); models reads the
	// reason back when a session ends.
	keyAssistReason  = models.SessionAssistReason
	keyAssistNote    = models.SessionAssistNote
	keyAssistStarted = models.SessionAssistStarted
	// A catalog hand-off waiting for the signed-in visitor's answer.
	keyHandoffToken  = "handoff_token"
	keyHandoffTo     = "handoff_to"
	keyHandoffReturn = "handoff_return"
	// Where a patron the catalog sent goes back to, and the welcome the
	// next page says to them.
	keyCatalogReturn  = "catalog_return"
	keyCatalogWelcome = "catalog_welcome"
	// The welcome the next page says to a patron whose record the first
	// sign-in through the library's system made.
	keyILSWelcome = "ils_welcome"
	// When the patron signed in before this sign-in ("none": never), for
	// the overview's "since your last visit": the patron's row keeps only
	// the latest sign-in, which this one overwrote.
	keyLastVisit = "last_visit"
)

// Session is the visitor's session as a request sees it: what the row
// stores, read and changed through typed methods only, each of which marks
// the session changed, and what this request learned about it (never
// stored). The store writes it back only when it changed. It wraps
// gorilla's session, whose ID is the cookie's token ("" until the session
// is stored) and whose Values hold the stored values by string key, as
// decodeRow and encodeRow spell them; nothing else goes into Values.
type Session struct {
	raw *sessions.Session

	changed bool // values changed: write the row
	// essential: a value other than a message for the next page changed
	// (noticeKeys): if the row cannot be written, the request failed.
	// A change that only leaves or spends a message does not fail a
	// request whose work was done (Save returns errNoticeNotSaved).
	essential  bool
	sendCookie bool           // token changed: send the cookie
	secure     bool           // the cookie must be Secure
	createdAt  time.Time      // when the row was created (sign-in)
	lastSeen   time.Time      // the row's activity time, as this request left it
	patron     *models.Patron // read with the session, in the same query

	// lapsed says why the session the browser's cookie named is over, when
	// this request found it over (lapsedIdle, lapsedLimit, lapsedGone), so
	// that the visitor is told rather than refused; lapsedStaff, that it
	// was a staff member's. Never stored.
	lapsed      string
	lapsedStaff bool

	// shown is what a page of this request took from the session to show
	// (showNotice); render spends it once the page is written.
	shown shownNotice
}

// shownNotice is what a page took from the session to show: spent (removed
// from the session) only once a page is rendered. A message kept after the
// page was built is not on it: its setter clears what was taken.
type shownNotice struct {
	flash      string
	record     string
	welcome    bool
	ilsWelcome bool
}

func newSession(name string, secure bool) *Session {
	raw := sessions.NewSession(nil, name)
	raw.IsNew = true
	return &Session{raw: raw, secure: secure}
}

// Token is the cookie's token, "" while the session is not stored.
func (s *Session) Token() string { return s.raw.ID }

// Changed reports whether this request changed what the row stores.
func (s *Session) Changed() bool { return s.changed }

// noticeKeys are the values that only carry a message to the next page.
var noticeKeys = map[string]bool{keyFlash: true, keyFlashRecord: true, keyCatalogWelcome: true, keyILSWelcome: true}

func (s *Session) set(key string, v any) {
	s.raw.Values[key] = v
	s.changed = true
	s.essential = s.essential || !noticeKeys[key]
}

func (s *Session) del(keys ...string) {
	for _, k := range keys {
		if _, ok := s.raw.Values[k]; ok {
			delete(s.raw.Values, k)
			s.changed = true
			s.essential = s.essential || !noticeKeys[k]
		}
	}
}

func (s *Session) str(key string) string {
	v, _ := s.raw.Values[key].(string)
	return v
}

func (s *Session) id(key string) (int64, bool) {
	v, ok := s.raw.Values[key].(int64)
	return v, ok
}

// PatronID is the signed-in patron's ID, if a patron is signed in.
func (s *Session) PatronID() (int64, bool) { return s.id(keyPatron) }

// StaffID is the signed-in staff member's ID, if staff are signed in.
func (s *Session) StaffID() (int64, bool) { return s.id(keyStaff) }

// SignedIn reports whether the session belongs to a patron or a staff
// member.
func (s *Session) SignedIn() bool {
	return s != nil && (s.raw.Values[keyPatron] != nil || s.raw.Values[keyStaff] != nil)
}

// SignInPatron makes the session the patron's, signed in by channel. Its
// form token is made now, stored with the session's first row, so that
// no page needs to write the session just to show a form.
func (s *Session) SignInPatron(id int64, channel string) {
	s.set(keyPatron, id)
	s.set(keyChan, channel)
	s.CSRFToken()
}

// SignInStaff makes the session the staff member's (its form token
// made now, as SignInPatron's).
func (s *Session) SignInStaff(id int64) {
	s.set(keyStaff, id)
	s.CSRFToken()
}

// forget drops what this request put in the session, after the database
// refused to store it: the visitor goes on as the row (or its absence)
// says, and no cookie is sent.
func (s *Session) forget() {
	*s = *newSession(s.raw.Name(), s.secure)
}

// Lapsed says why the session the browser's cookie named is over, if this
// request found it over: lapsedIdle, lapsedLimit or lapsedGone; "" when it
// is alive or there was none.
func (s *Session) Lapsed() string { return s.lapsed }

// SetLastVisit keeps when the patron signed in before this sign-in (nil:
// never).
func (s *Session) SetLastVisit(t *time.Time) {
	v := "none"
	if t != nil {
		v = t.UTC().Format(time.RFC3339Nano)
	}
	s.set(keyLastVisit, v)
}

// LastVisit is when the patron signed in before this sign-in; ok is false
// for a first sign-in, and for a session started before the portal kept it.
func (s *Session) LastVisit() (t time.Time, ok bool) {
	t, err := time.Parse(time.RFC3339Nano, s.str(keyLastVisit))
	return t, err == nil
}

// Channel is how the patron signed in ("" when unknown).
func (s *Session) Channel() string { return s.str(keyChan) }

// CreatedAt is when the stored session began (zero for a new one).
func (s *Session) CreatedAt() time.Time { return s.createdAt }

// cachedPatron is the patron read with the session, if it is patron id.
func (s *Session) cachedPatron(id int64) *models.Patron {
	if s.patron != nil && s.patron.ID == id {
		return s.patron
	}
	return nil
}

// Assistance is the assistance the session carries: the patron's ID and
// the reason, note and start time (RFC 3339) as stored.
func (s *Session) Assistance() (patronID int64, reason, note, started string, ok bool) {
	patronID, ok = s.id(keyAssist)
	return patronID, s.str(keyAssistReason), s.str(keyAssistNote), s.str(keyAssistStarted), ok
}

// StartAssistance records that staff assist patron patronID.
func (s *Session) StartAssistance(patronID int64, reason, note string, started time.Time) {
	s.set(keyAssist, patronID)
	s.set(keyAssistReason, reason)
	s.set(keyAssistNote, note)
	s.set(keyAssistStarted, started.Format(time.RFC3339Nano))
	s.set(keyChan, models.ChannelStaffAssisted)
}

// EndAssistance forgets the assistance; the session goes on as staff's own.
func (s *Session) EndAssistance() {
	s.del(keyAssist, keyAssistReason, keyAssistNote, keyAssistStarted)
	s.set(keyChan, "")
}

// HoldHandoff keeps a catalog hand-off waiting for the visitor's answer.
func (s *Session) HoldHandoff(token, to, ret string) {
	s.set(keyHandoffToken, token)
	s.set(keyHandoffTo, to)
	s.set(keyHandoffReturn, ret)
}

// HandoffToken is the token of the hand-off waiting, or "".
func (s *Session) HandoffToken() string { return s.str(keyHandoffToken) }

// TakeHandoff takes the waiting hand-off out of the session.
func (s *Session) TakeHandoff() (token, to, ret string) {
	token, to, ret = s.str(keyHandoffToken), s.str(keyHandoffTo), s.str(keyHandoffReturn)
	if token != "" {
		s.del(keyHandoffToken, keyHandoffTo, keyHandoffReturn)
	}
	return token, to, ret
}

// CatalogReturn is the catalog address a patron who came from it goes
// back to, or "".
func (s *Session) CatalogReturn() string { return s.str(keyCatalogReturn) }

// SetCatalogReturn keeps the catalog address to go back to.
func (s *Session) SetCatalogReturn(ret string) { s.set(keyCatalogReturn, ret) }

// WelcomeFromCatalog asks the next page to welcome the patron the
// catalog sent.
func (s *Session) WelcomeFromCatalog() {
	s.set(keyCatalogWelcome, true)
	s.shown.welcome = false
}

// WelcomeFromILS asks the next page to welcome a patron whose record
// this sign-in made from the library's system.
func (s *Session) WelcomeFromILS() {
	s.set(keyILSWelcome, true)
	s.shown.ilsWelcome = false
}

// Flash keeps a one-line message for the next page.
func (s *Session) Flash(msg string) {
	s.set(keyFlash, msg)
	s.shown.flash = ""
}

// FlashRecord keeps a message about a record ("kind:id") for the next page.
func (s *Session) FlashRecord(rec string) {
	s.set(keyFlashRecord, rec)
	s.shown.record = ""
}

// peekNotice reads, without spending them, the messages waiting for the
// next page: a flash, a record's message, the catalog's welcome and the
// welcome of a record made from the library's system.
func (s *Session) peekNotice() (flash, record string, welcome, ilsWelcome bool) {
	return s.str(keyFlash), s.str(keyFlashRecord), s.raw.Values[keyCatalogWelcome] == true, s.raw.Values[keyILSWelcome] == true
}

// spendNotice removes from the session the messages a rendered page
// showed. A message kept after the page was built (and so not on it)
// stays for the next page.
func (s *Session) spendNotice() {
	if s.shown.flash != "" {
		s.del(keyFlash)
	}
	if s.shown.record != "" {
		s.del(keyFlashRecord)
	}
	if s.shown.welcome {
		s.del(keyCatalogWelcome)
	}
	if s.shown.ilsWelcome {
		s.del(keyILSWelcome)
	}
}

// SessionStore keeps every session in the database and gives the browser
// only an opaque random token. It never sets an expiry on the cookie: the
// cookie lives as long as the browser session, and the server decides
// when a session is over (idle and absolute limits), whatever the browser
// keeps. Sessions end with Destroy or End.
type SessionStore struct {
	Store  *models.Store
	Limits models.SessionLimits
	// Secure decides, per request, whether the cookie must be Secure.
	Secure func(*http.Request) bool
	// touchEvery bounds how often a busy session's activity is written.
	touchEvery time.Duration
}

// NewSessionStore builds the store.
func NewSessionStore(store *models.Store, limits models.SessionLimits, secure func(*http.Request) bool) *SessionStore {
	return &SessionStore{Store: store, Limits: limits, Secure: secure, touchEvery: touchInterval(limits.Idle)}
}

// touchInterval is how often a busy session's activity is written: at
// most every quarter of the idle limit, so that a patron active more often
// than the limit is never signed out because the last write was skipped
// (with a one-minute limit, a request every 40 seconds keeps the session),
// and at least once a minute, so that a long idle limit still shows when
// the session was last used in the patron's list of sessions.
func touchInterval(idle time.Duration) time.Duration {
	if q := idle / 4; q > 0 && q < time.Minute {
		return q
	}
	return time.Minute
}

// CookieName is the cookie's name for a request.
func (st *SessionStore) CookieName(r *http.Request) string {
	if st.Secure(r) {
		return secureCookieName
	}
	return cookieName
}

// Why a session the browser still names is over (Session.Lapsed).
const (
	// lapsedIdle: unused for longer than the idle limit.
	lapsedIdle = "idle"
	// lapsedLimit: older than the absolute limit.
	lapsedLimit = "limit"
	// lapsedGone: unknown here. The sweep deletes expired sessions within
	// minutes, so this is mostly an idle one found later; it may also have
	// been ended from another device or by staff.
	lapsedGone = "ended"
)

// Load loads the session named by the request's cookie, or starts an
// empty one (not yet stored) when there is none, it is unknown, or it
// expired; for the last two it says why (Session.Lapsed).
func (st *SessionStore) Load(r *http.Request) (*Session, error) {
	name := st.CookieName(r)
	s := newSession(name, st.Secure(r))
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return s, nil
	}
	ctx := r.Context()
	hash := models.HashToken(c.Value)
	row, patron, err := st.Store.SessionAndPatron(ctx, hash)
	if errors.Is(err, models.ErrNotFound) {
		s.lapsed = lapsedGone
		return s, nil
	}
	if err != nil {
		return s, err
	}
	now := st.Store.Now()
	if st.Limits.Expired(row, now) {
		if err := st.Store.EndSession(ctx, hash, models.AssistEndedTimeout); err != nil {
			return s, err
		}
		s.lapsed, s.lapsedStaff = lapsedIdle, row.StaffID != nil
		if !now.Before(row.CreatedAt.Add(st.Limits.Absolute)) {
			s.lapsed = lapsedLimit
		}
		return s, nil
	}
	s.lastSeen = row.LastSeenAt
	if now.Sub(row.LastSeenAt) >= st.touchEvery {
		if err := st.Store.TouchSession(ctx, hash, now); err != nil {
			return s, err
		}
		s.lastSeen = now
	}
	s.raw.ID = c.Value
	s.raw.IsNew = false
	if err := decodeRow(row, s.raw.Values); err != nil {
		return s, err
	}
	s.createdAt = row.CreatedAt
	s.patron = patron
	return s, nil
}

// errNoticeNotSaved is Save failing to write a session whose only change
// was a message for the next page (Session.essential): the request's own
// work stands, and only the message is lost.
var errNoticeNotSaved = errors.New("web: the message for the next page was not saved")

// Save stores the session if this request changed it, and sends the cookie
// if its token is new. It must run before the response is written. A
// failure to store only a message for the next page wraps
// errNoticeNotSaved.
func (st *SessionStore) Save(r *http.Request, w http.ResponseWriter, s *Session) error {
	if !s.changed {
		return nil
	}
	err := st.save(r, w, s)
	switch {
	case err == nil:
		s.essential = false
		return nil
	case s.raw.ID == "":
		// A sign-in whose session could not be stored: nobody is signed in.
		return err
	case !s.essential:
		return fmt.Errorf("%w: %w", errNoticeNotSaved, err)
	}
	// The request's own changes matter; the message for the next page
	// does not: without it, the row may still be written (the message
	// was what the database refused, or the failure was passing).
	if !s.dropNotices() {
		return err
	}
	if err2 := st.save(r, w, s); err2 != nil {
		return err
	}
	s.essential = false
	return fmt.Errorf("%w: %w", errNoticeNotSaved, err)
}

// dropNotices removes the messages waiting for the next page, reporting
// whether there were any.
func (s *Session) dropNotices() bool {
	dropped := false
	for k := range noticeKeys {
		if _, ok := s.raw.Values[k]; ok {
			delete(s.raw.Values, k)
			dropped = true
		}
	}
	return dropped
}

func (st *SessionStore) save(r *http.Request, w http.ResponseWriter, s *Session) error {
	ctx := r.Context()
	row, err := encodeRow(s.raw.Values)
	if err != nil {
		return err
	}
	row.LastSeenAt = st.Store.Now()
	if s.raw.ID == "" && !s.SignedIn() {
		// Nobody signed in: nothing is stored and no cookie is sent. A
		// row and a cookie come only with a successful sign-in.
		s.changed = false
		return nil
	}
	if s.raw.ID == "" {
		s.raw.ID = models.RandomToken()
		row.TokenHash = models.HashToken(s.raw.ID)
		row.CreatedAt = row.LastSeenAt
		if err := st.Store.CreateSession(ctx, &row); err != nil {
			return err
		}
		s.createdAt = row.CreatedAt
		s.raw.IsNew = false
		s.sendCookie = true
	} else {
		row.TokenHash = models.HashToken(s.raw.ID)
		if err := st.Store.SaveSession(ctx, &row); err != nil {
			return err
		}
	}
	s.changed = false
	s.lastSeen = row.LastSeenAt
	if s.sendCookie {
		st.setCookie(w, s)
		s.sendCookie = false
	}
	return nil
}

func (st *SessionStore) setCookie(w http.ResponseWriter, s *Session) {
	name := cookieName
	if s.secure {
		name = secureCookieName
	}
	// No Expires and no MaxAge: a browser-session cookie.
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- HttpOnly, SameSite=Lax and Secure (when served over HTTPS) are set below; no Expires/MaxAge on purpose: a browser-session cookie
		Name:     name,
		Value:    s.raw.ID,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// SignsOutAt is when the session ends if nothing more is done with it:
// its idle limit from its last recorded activity, or its absolute limit
// if that comes first (then idle is false). ok is false for a session
// not stored.
func (st *SessionStore) SignsOutAt(s *Session) (at time.Time, idle, ok bool) {
	if s == nil || s.raw.ID == "" || s.lastSeen.IsZero() {
		return time.Time{}, false, false
	}
	at, idle = s.lastSeen.Add(st.Limits.Idle), true
	if end := s.createdAt.Add(st.Limits.Absolute); !s.createdAt.IsZero() && end.Before(at) {
		at, idle = end, false
	}
	return at, idle, true
}

// Rotate gives the session a new token, now, so that whoever knew the old
// one (a fixed or leaked token) is left with nothing. The session keeps its
// values; its CSRF token is renewed too. The new cookie goes out with Save.
func (st *SessionStore) Rotate(ctx context.Context, s *Session) error {
	s.set(keyCSRF, models.RandomToken())
	if s.raw.ID == "" {
		return nil
	}
	newID := models.RandomToken()
	if err := st.Store.RotateSession(ctx, models.HashToken(s.raw.ID), models.HashToken(newID)); err != nil {
		return err
	}
	s.raw.ID = newID
	s.sendCookie = true
	return nil
}

// Destroy ends the session on the server: its token is worthless from now
// on, whatever the browser does with the cookie.
func (st *SessionStore) Destroy(ctx context.Context, s *Session) error {
	return st.End(ctx, s, models.AssistEndedSession)
}

// End is Destroy saying why: an assistance the session carried is
// recorded as ended with cause, in the same transaction as the deletion.
// The session goes on empty, as an anonymous visitor's.
func (st *SessionStore) End(ctx context.Context, s *Session, cause string) error {
	if s.raw.ID != "" {
		if err := st.Store.EndSession(ctx, models.HashToken(s.raw.ID), cause); err != nil {
			return err
		}
	}
	*s = *newSession(s.raw.Name(), s.secure)
	return nil
}

// CSRFToken returns a signed-in session's synchronizer token, creating
// it if need be. An anonymous visitor has no session: the sign-in forms
// carry a stateless token instead (signinFormToken).
func (s *Session) CSRFToken() string {
	if tok := s.str(keyCSRF); tok != "" {
		return tok
	}
	tok := models.RandomToken()
	s.set(keyCSRF, tok)
	return tok
}

// validCSRF compares a submitted token with the session's in constant time.
func (s *Session) validCSRF(submitted string) bool {
	tok := s.str(keyCSRF)
	return tok != "" && s.raw.ID != "" &&
		subtle.ConstantTimeCompare([]byte(tok), []byte(submitted)) == 1
}

// formToken is the form token a request submitted, read from its body
// only (urlencoded or multipart). A token in the address would end up in
// logs, in the history and in a Referer; and a form of ours never puts it
// there, so one found there came from somewhere else.
func formToken(c echo.Context) string {
	return c.Request().PostFormValue("csrf_token")
}

// The sign-in forms' token. An anonymous visitor has no session to keep a
// synchronizer token in (and gets none, so that nothing is stored about a
// visit that did not sign in), so the forms carry a stamp: a random nonce
// and the time, MAC'd under the server key (models.Keys.Stamp). What stops
// a cross-site sign-in is http.CrossOriginProtection (crossOrigin); the
// stamp adds that the form was served by this portal lately. It is not
// bound to a browser, so it may be presented more than once within its
// life: the sign-in itself still needs the card and PIN, and each attempt
// is counted against the card's limit.
const (
	signinFormPurpose = "signin-form"
	// signinFormLife lets a patron find their card, be helped at a desk
	// or answer the phone before pressing "Sign in", while a token copied
	// from a page is worthless well within a library opening session.
	signinFormLife = 30 * time.Minute
)

// signinFormToken is a fresh stamp for a sign-in form.
func (s *Server) signinFormToken() string {
	return s.Store.Keys.Stamp(signinFormPurpose, s.Store.Now())
}

// validSigninForm checks a sign-in form's stamp.
func (s *Server) validSigninForm(c echo.Context) bool {
	return s.Store.Keys.CheckStamp(signinFormPurpose, formToken(c), s.Store.Now(), signinFormLife) == nil
}

func decodeRow(row models.Session, v map[any]any) error {
	if row.Data != "" && row.Data != "{}" {
		extra := map[string]any{}
		if err := json.Unmarshal([]byte(row.Data), &extra); err != nil {
			return fmt.Errorf("web: session data: %w", err)
		}
		for k, x := range extra {
			v[k] = x
		}
	}
	setID := func(key string, p *int64) {
		if p != nil {
			v[key] = *p
		}
	}
	setID(keyPatron, row.PatronID)
	setID(keyStaff, row.StaffID)
	setID(keyAssist, row.AssistPatronID)
	v[keyChan] = row.Channel
	v[keyCSRF] = row.CSRFToken
	return nil
}

func encodeRow(v map[any]any) (models.Session, error) {
	var row models.Session
	extra := map[string]any{}
	for k, x := range v {
		key, ok := k.(string)
		if !ok {
			continue
		}
		switch key {
		case keyPatron:
			row.PatronID = idValue(x)
		case keyStaff:
			row.StaffID = idValue(x)
		case keyAssist:
			row.AssistPatronID = idValue(x)
		case keyChan:
			row.Channel, _ = x.(string)
		case keyCSRF:
			row.CSRFToken, _ = x.(string)
		default:
			extra[key] = x
		}
	}
	if row.CSRFToken == "" {
		row.CSRFToken = models.RandomToken()
		v[keyCSRF] = row.CSRFToken
	}
	b, err := json.Marshal(extra)
	if err != nil {
		return row, fmt.Errorf("web: session data: %w", err)
	}
	row.Data = string(b)
	return row, nil
}

func idValue(x any) *int64 {
	if id, ok := x.(int64); ok && id != 0 {
		return &id
	}
	return nil
}

// signsOut puts on a signed-in visitor's page when their session ends if
// they leave it, in the library's time zone, so that a page left open
// says so without any script.
func (s *Server) signsOut(t *i18n.Tr, sess *Session, p *views.Page) {
	at, idle, ok := s.Sessions.SignsOutAt(sess)
	if !ok {
		return
	}
	p.SignsOutAt, p.SignsOutIdle = t.Time(at, s.Config.Location), idle
}

// assistBanner is the banner of an assistance in progress: who, why, and
// when it ends, as a time and in minutes (rounded up, so that "in 1
// minute" is never already over).
func (s *Server) assistBanner(t *i18n.Tr, st *models.Staff, a *assistance) *views.AssistBanner {
	left := int((a.Left + time.Minute - 1) / time.Minute)
	return &views.AssistBanner{StaffName: st.DisplayName, PatronName: a.Patron.FullName(), Reason: a.reasonLabel(),
		MinutesLeft: left, EndsIn: models.SpokenDuration(t, time.Duration(left)*time.Minute),
		EndsAt: t.Time(a.Started.Add(s.Config.AssistLimit), s.Config.Location)}
}
