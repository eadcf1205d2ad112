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
)

// flag keys are never stored: they tell Save what this request changed.
type flagKey int

const (
	flagDirty       flagKey = iota // values changed: write the row
	flagCookie                     // token changed: send the cookie
	flagCreatedAt                  // time.Time the row was created
	flagLastSeen                   // time.Time of the row's last activity
	flagSecure                     // bool: cookie must be Secure
	flagTokenHashed                // string: hash of the token as loaded
	flagPatron                     // *models.Patron read with the session, in the same query
)

// SessionStore is a gorilla/sessions Store that keeps every session in the
// database and gives the browser only an opaque random token. It never
// sets an expiry on the cookie: the cookie lives as long as the browser
// session, and the server decides when a session is over (idle and
// absolute limits), whatever the browser keeps.
//
// gorilla's own stores read Options.MaxAge both as the cookie's lifetime
// and as "delete me" when it is not positive; this store ignores MaxAge and
// offers Destroy instead.
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

// Get returns the request's session, loading it at most once per request.
func (st *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(st, name)
}

// New loads the session named by the request's cookie, or starts an empty
// one (not yet stored) when there is none, it is unknown, or it expired.
func (st *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	s := sessions.NewSession(st, name)
	s.IsNew = true
	s.Values[flagSecure] = st.Secure(r)
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return s, nil
	}
	ctx := r.Context()
	hash := models.HashToken(c.Value)
	row, patron, err := st.Store.SessionAndPatron(ctx, hash)
	if errors.Is(err, models.ErrNotFound) {
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
		return s, nil
	}
	if now.Sub(row.LastSeenAt) >= st.touchEvery {
		if err := st.Store.TouchSession(ctx, hash, now); err != nil {
			return s, err
		}
		row.LastSeenAt = now
	}
	s.ID = c.Value
	s.IsNew = false
	if err := decodeRow(row, s.Values); err != nil {
		return s, err
	}
	s.Values[flagCreatedAt] = row.CreatedAt
	s.Values[flagLastSeen] = row.LastSeenAt
	s.Values[flagTokenHashed] = hash
	if patron != nil {
		s.Values[flagPatron] = patron
	}
	return s, nil
}

// Save stores the session if this request changed it, and sends the cookie
// if its token is new. It must run before the response is written.
func (st *SessionStore) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	if s.Values[flagDirty] != true {
		return nil
	}
	ctx := r.Context()
	row, err := encodeRow(s.Values)
	if err != nil {
		return err
	}
	row.LastSeenAt = st.Store.Now()
	if s.ID == "" && !signedIn(s) {
		// Nobody signed in: nothing is stored and no cookie is sent. A
		// row and a cookie come only with a successful sign-in.
		delete(s.Values, flagDirty)
		return nil
	}
	if s.ID == "" {
		s.ID = models.RandomToken()
		row.TokenHash = models.HashToken(s.ID)
		row.CreatedAt = row.LastSeenAt
		if err := st.Store.CreateSession(ctx, &row); err != nil {
			return err
		}
		s.IsNew = false
		s.Values[flagCookie] = true
	} else {
		row.TokenHash = models.HashToken(s.ID)
		if err := st.Store.SaveSession(ctx, &row); err != nil {
			return err
		}
	}
	delete(s.Values, flagDirty)
	if s.Values[flagCookie] == true {
		st.setCookie(w, s)
		delete(s.Values, flagCookie)
	}
	return nil
}

func (st *SessionStore) setCookie(w http.ResponseWriter, s *sessions.Session) {
	secure, _ := s.Values[flagSecure].(bool)
	name := cookieName
	if secure {
		name = secureCookieName
	}
	// No Expires and no MaxAge: a browser-session cookie.
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    s.ID,
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// Rotate gives the session a new token, now, so that whoever knew the old
// one (a fixed or leaked token) is left with nothing. The session keeps its
// values; its CSRF token is renewed too. The new cookie goes out with Save.
func (st *SessionStore) Rotate(ctx context.Context, s *sessions.Session) error {
	s.Values[keyCSRF] = models.RandomToken()
	s.Values[flagDirty] = true
	if s.ID == "" {
		return nil
	}
	newID := models.RandomToken()
	if err := st.Store.RotateSession(ctx, models.HashToken(s.ID), models.HashToken(newID)); err != nil {
		return err
	}
	s.ID = newID
	s.Values[flagCookie] = true
	return nil
}

// Destroy ends the session on the server: its token is worthless from now
// on, whatever the browser does with the cookie.
func (st *SessionStore) Destroy(ctx context.Context, s *sessions.Session) error {
	return st.End(ctx, s, models.AssistEndedSession)
}

// End is Destroy saying why: an assistance the session carried is
// recorded as ended with cause, in the same transaction as the deletion.
func (st *SessionStore) End(ctx context.Context, s *sessions.Session, cause string) error {
	if s.ID != "" {
		if err := st.Store.EndSession(ctx, models.HashToken(s.ID), cause); err != nil {
			return err
		}
	}
	s.ID = ""
	s.IsNew = true
	for k := range s.Values {
		if k != flagSecure {
			delete(s.Values, k)
		}
	}
	return nil
}

// CSRFToken returns a signed-in session's synchronizer token, creating
// it if need be. An anonymous visitor has no session: the sign-in forms
// carry a stateless token instead (signinFormToken).
func CSRFToken(s *sessions.Session) string {
	if tok, ok := s.Values[keyCSRF].(string); ok && tok != "" {
		return tok
	}
	tok := models.RandomToken()
	s.Values[keyCSRF] = tok
	s.Values[flagDirty] = true
	return tok
}

// validCSRF compares a submitted token with the session's in constant time.
func validCSRF(s *sessions.Session, submitted string) bool {
	tok, ok := s.Values[keyCSRF].(string)
	return ok && tok != "" && s.ID != "" &&
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
