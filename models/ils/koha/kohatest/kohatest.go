// Package kohatest is a fake Koha for tests: the parts of Koha's REST API
// Carrel uses, answering as Koha does (its OpenAPI spec and its
// controllers OAuth.pm, Auth/Password.pm and Patrons.pm), with faults
// that can be switched on while a test runs.
//
// The token endpoint takes client_id and client_secret as form fields and
// issues random bearer tokens; every API call needs a valid, unexpired
// one (401 otherwise). Password validation finds the patron by userid,
// then by cardnumber, refuses a locked account as Koha's checkpw does
// (400 "Validation failed", whatever the password) and counts failures.
// A PUT of a patron is checked against the patron definition: readOnly
// properties, unknown ones and missing required ones are a 400 in the
// shape of Koha's validator.
package kohatest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models/ils/koha"
)

// The API's paths, for Calls.
const (
	PathToken      = "/api/v1/oauth/token" // #nosec G101 -- the token endpoint's path, not a credential
	PathValidation = "/api/v1/auth/password/validation"
)

// PathPatron is the path of one patron, for Calls.
func PathPatron(id int64) string { return "/api/v1/patrons/" + strconv.FormatInt(id, 10) }

// Patron is a patron to add to the fake. Empty strings are null in Koha's
// JSON, as Koha has them for fields never filled in.
type Patron struct {
	Cardnumber string
	UserID     string // defaults to the card number
	Password   string
	Firstname  string
	Surname    string
	Email      string
	Phone      string
	Address    string
	Address2   string
	City       string
	State      string
	PostalCode string
	Country    string
	LibraryID  string // defaults to "CPL"
	CategoryID string // defaults to "PT"
	ExpiryDate string // YYYY-MM-DD
	Privacy    int    // 0 keep, 1 default, 2 never
	// Locked is Koha's administrative lock (login_attempts = -1): the
	// right password no longer validates.
	Locked bool
}

type patron struct {
	password string
	fields   map[string]any // every writable property, as Koha's to_api has it
}

// Server is a running fake Koha.
type Server struct {
	// URL is the base to give koha.Config.URL.
	URL          string
	ClientID     string
	ClientSecret string

	srv       *httptest.Server
	closed    chan struct{}
	closeOnce sync.Once

	mu          sync.Mutex
	patrons     map[int64]*patron
	nextID      int64
	tokens      map[string]time.Time // access token → expiry
	tokenTTL    int                  // seconds, Koha's 3600 by default
	issued      int
	calls       map[string]int
	puts        []map[string]any
	down        bool
	garbage     bool
	tokenFails  bool
	forbid      bool
	slow        time.Duration
	slowPaths   map[string]time.Duration
	putFails    int
	maxAttempts int // FailedLoginAttempts; 0 = no limit
}

// Start runs a fake Koha over plain HTTP until the test ends.
func Start(t testing.TB) *Server { return start(t, false) }

// StartTLS runs a fake Koha over HTTPS (a certificate Client trusts).
func StartTLS(t testing.TB) *Server { return start(t, true) }

func start(t testing.TB, useTLS bool) *Server {
	t.Helper()
	s := &Server{
		ClientID:     "carrel",
		ClientSecret: "s3cret-" + randomHex(8),
		closed:       make(chan struct{}),
		patrons:      map[int64]*patron{},
		nextID:       100,
		tokens:       map[string]time.Time{},
		tokenTTL:     3600,
		calls:        map[string]int{},
		slowPaths:    map[string]time.Duration{},
	}
	h := http.HandlerFunc(s.serve)
	if useTLS {
		s.srv = httptest.NewTLSServer(h)
	} else {
		s.srv = httptest.NewServer(h)
	}
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server: from then on nothing listens at URL (a Koha
// that cannot be reached). The test's end closes it too.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed) // ends Slow's waits, so Close does not wait for them
		s.srv.Close()
	})
}

// Client is an HTTP client that trusts the server (TLS or not).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Config is a koha.Config that reaches this server with good credentials.
func (s *Server) Config() koha.Config {
	return koha.Config{URL: s.URL, ClientID: s.ClientID, ClientSecret: s.ClientSecret, HTTPClient: s.Client()}
}

// AddPatron adds a patron and returns Koha's patron_id for it.
func (s *Server) AddPatron(p Patron) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := s.nextID
	if p.UserID == "" {
		p.UserID = p.Cardnumber
	}
	if p.LibraryID == "" {
		p.LibraryID = "CPL"
	}
	if p.CategoryID == "" {
		p.CategoryID = "PT"
	}
	f := map[string]any{}
	for k, pr := range patronSpec {
		if pr.readOnly || pr.embed {
			continue
		}
		f[k] = nil
	}
	set := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	f["patron_id"] = id
	set("cardnumber", p.Cardnumber)
	set("userid", p.UserID)
	set("firstname", p.Firstname)
	set("surname", p.Surname)
	set("email", p.Email)
	set("phone", p.Phone)
	set("address", p.Address)
	set("address2", p.Address2)
	set("city", p.City)
	set("state", p.State)
	set("postal_code", p.PostalCode)
	set("country", p.Country)
	set("expiry_date", p.ExpiryDate)
	f["library_id"] = p.LibraryID
	f["category_id"] = p.CategoryID
	f["date_enrolled"] = time.Now().UTC().Format("2006-01-02")
	f["privacy"] = int64(p.Privacy)
	f["privacy_guarantor_checkouts"] = false
	f["privacy_guarantor_fines"] = false
	f["autorenew_checkouts"] = true
	f["check_previous_checkout"] = "inherit"
	f["lang"] = "default"
	f["incorrect_address"] = false
	f["patron_card_lost"] = false
	f["protected"] = false
	f["login_attempts"] = int64(0)
	if p.Locked {
		f["login_attempts"] = int64(-1)
	}
	f["updated_on"] = time.Now().UTC().Format(time.RFC3339)
	s.patrons[id] = &patron{password: p.Password, fields: f}
	return id
}

// Lock locks a patron's account as staff do in Koha (login_attempts -1),
// or unlocks it.
func (s *Server) Lock(id int64, locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.patrons[id]; p != nil {
		p.fields["login_attempts"] = int64(0)
		if locked {
			p.fields["login_attempts"] = int64(-1)
		}
	}
}

// SetFailedLoginAttempts is Koha's FailedLoginAttempts preference: after
// n failed validations an account is locked (0: never).
func (s *Server) SetFailedLoginAttempts(n int) { s.with(func() { s.maxAttempts = n }) }

// SetPrivacy changes a patron's privacy as the patron would in the
// catalog (the OPAC), without a PUT.
func (s *Server) SetPrivacy(id int64, privacy int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.patrons[id]; p != nil {
		p.fields["privacy"] = int64(privacy)
		p.fields["updated_on"] = time.Now().UTC().Format(time.RFC3339)
	}
}

// Privacy is a patron's privacy as Koha holds it now (-1: no such
// patron).
func (s *Server) Privacy(id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.patrons[id]
	if p == nil {
		return -1
	}
	return int(p.fields["privacy"].(int64))
}

// PatronFields is a copy of a patron's stored properties (nil: no such
// patron), to check that a PUT changed nothing else.
func (s *Server) PatronFields(id int64) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.patrons[id]
	if p == nil {
		return nil
	}
	out := make(map[string]any, len(p.fields))
	for k, v := range p.fields {
		out[k] = v
	}
	return out
}

// Down makes every endpoint answer 500, as Koha does when its database
// is gone.
func (s *Server) Down(on bool) { s.with(func() { s.down = on }) }

// Slow makes every answer wait d first (0: answer at once). A wait ends
// early when the request's context does.
func (s *Server) Slow(d time.Duration) { s.with(func() { s.slow = d }) }

// SlowPath makes the answers to one path (PathValidation, say) wait d
// first, on top of Slow (0: no more wait there).
func (s *Server) SlowPath(path string, d time.Duration) { s.with(func() { s.slowPaths[path] = d }) }

// Garbage makes every endpoint answer its success status with a body
// that is not JSON.
func (s *Server) Garbage(on bool) { s.with(func() { s.garbage = on }) }

// TokenFails makes the token endpoint answer 500.
func (s *Server) TokenFails(on bool) { s.with(func() { s.tokenFails = on }) }

// Forbid makes every API call answer 403, as Koha does when the API
// client's patron lacks the borrowers permission.
func (s *Server) Forbid(on bool) { s.with(func() { s.forbid = on }) }

// PUTFails makes the next n PUTs answer 500.
func (s *Server) PUTFails(n int) { s.with(func() { s.putFails = n }) }

// SetTokenTTL sets the expires_in of tokens issued from now on, in
// seconds (Koha's is 3600); a token is refused once it has expired.
func (s *Server) SetTokenTTL(seconds int) { s.with(func() { s.tokenTTL = seconds }) }

// RevokeTokens forgets every token issued, as purging Koha's
// oauth_access_tokens does: clients get 401 until they fetch a new one.
func (s *Server) RevokeTokens() { s.with(func() { s.tokens = map[string]time.Time{} }) }

// TokensIssued counts the tokens the token endpoint has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// Calls counts the requests to a path (PathToken, PathValidation,
// PathPatron(id)), whatever their answer.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// Puts are the bodies of every PUT received, in order, decoded (numbers
// as json.Number), refused ones included.
func (s *Server) Puts() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.puts...)
}

func (s *Server) with(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.URL.Path]++
	slow, down, garbage := s.slow+s.slowPaths[r.URL.Path], s.down, s.garbage
	s.mu.Unlock()

	if slow > 0 {
		t := time.NewTimer(slow)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		}
	}
	if down {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Something went wrong, check Koha logs for details."})
		return
	}

	switch {
	case r.URL.Path == PathToken && r.Method == http.MethodPost:
		if garbage {
			writeGarbage(w, http.StatusOK)
			return
		}
		s.token(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/api/v1/"):
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "Not found."})
		return
	}

	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Authentication failure."})
		return
	}
	s.mu.Lock()
	forbid := s.forbid
	s.mu.Unlock()
	if forbid {
		writeJSON(w, http.StatusForbidden, map[string]any{
			"error":                "Authorization failure. Missing required permission(s).",
			"required_permissions": map[string]any{"borrowers": "1"},
		})
		return
	}

	switch {
	case r.URL.Path == PathValidation && r.Method == http.MethodPost:
		if garbage {
			writeGarbage(w, http.StatusCreated)
			return
		}
		s.validate(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v1/patrons/") && (r.Method == http.MethodGet || r.Method == http.MethodPut):
		raw := strings.TrimPrefix(r.URL.Path, "/api/v1/patrons/")
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, validatorBody(validationError{"Expected integer - got string.", "/patron_id"}))
			return
		}
		if r.Method == http.MethodGet {
			if garbage {
				writeGarbage(w, http.StatusOK)
				return
			}
			s.getPatron(w, id)
			return
		}
		s.putPatron(w, r, id, garbage)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "Not found."})
	}
}

// token is Koha::REST::V1::OAuth::token: client credentials from the
// form only.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fails := s.tokenFails
	s.mu.Unlock()
	if fails {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Something went wrong, check Koha logs for details."})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") == "" {
		writeJSON(w, http.StatusBadRequest, validatorBody(validationError{"Missing property.", "/grant_type"}))
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Unimplemented grant type"})
		return
	}
	if r.PostForm.Get("client_id") != s.ClientID || r.PostForm.Get("client_secret") != s.ClientSecret {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "unauthorized_client"})
		return
	}
	tok := randomHex(32)
	s.mu.Lock()
	ttl := s.tokenTTL
	s.tokens[tok] = time.Now().Add(time.Duration(ttl) * time.Second)
	s.issued++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": ttl})
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

// validate is Koha::REST::V1::Auth::Password::validate over C4::Auth's
// checkpw.
func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	body, verrs := decodeBody(r)
	if verrs == nil {
		var extra []string
		for k, v := range body {
			switch k {
			case "identifier", "password", "userid":
				if _, ok := v.(string); !ok {
					verrs = append(verrs, validationError{"Expected string - got " + jsonType(v) + ".", "/body/" + k})
				}
			default:
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			verrs = append(verrs, validationError{"Properties not allowed: " + strings.Join(extra, ", ") + ".", "/body"})
		}
		if _, ok := body["password"]; !ok {
			verrs = append(verrs, validationError{"Missing property.", "/body/password"})
		}
	}
	if verrs != nil {
		writeJSON(w, http.StatusBadRequest, validatorBody(verrs...))
		return
	}
	identifier, hasID := body["identifier"].(string)
	userid, hasUser := body["userid"].(string)
	password, _ := body["password"].(string)
	refuse := func() { writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Validation failed"}) }
	if !hasID && !hasUser {
		refuse()
		return
	}
	if hasID && hasUser {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Bad request. Only one identifier attribute can be passed."})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var id int64
	var p *patron
	if hasUser {
		id, p = s.findLocked("userid", userid)
	} else {
		// checkpw looks a login up by userid first, then by cardnumber.
		if id, p = s.findLocked("userid", identifier); p == nil {
			id, p = s.findLocked("cardnumber", identifier)
		}
	}
	if p == nil {
		refuse()
		return
	}
	attempts, _ := p.fields["login_attempts"].(int64)
	locked := attempts == -1 || (s.maxAttempts > 0 && attempts >= int64(s.maxAttempts))
	if locked {
		refuse() // checkpw checks nothing for a locked account
		return
	}
	if p.password == "" || password != p.password {
		p.fields["login_attempts"] = attempts + 1
		refuse()
		return
	}
	p.fields["login_attempts"] = int64(0)
	writeJSON(w, http.StatusCreated, map[string]any{
		"cardnumber": p.fields["cardnumber"],
		"patron_id":  id,
		"userid":     p.fields["userid"],
	})
}

// findLocked finds a patron by a property; s.mu is held.
func (s *Server) findLocked(field, value string) (int64, *patron) {
	if value == "" {
		return 0, nil
	}
	for id, p := range s.patrons {
		if v, ok := p.fields[field].(string); ok && v == value {
			return id, p
		}
	}
	return 0, nil
}

// apiLocked is Koha::Patron::to_api without embeds; s.mu is held.
func apiLocked(p *patron) map[string]any {
	out := make(map[string]any, len(p.fields)+3)
	for k, v := range p.fields {
		out[k] = v
	}
	expired := false
	if d, ok := p.fields["expiry_date"].(string); ok {
		if t, err := time.Parse("2006-01-02", d); err == nil {
			expired = t.Before(time.Now().UTC().Truncate(24 * time.Hour))
		}
	}
	out["expired"] = expired
	out["restricted"] = false
	out["anonymized"] = false
	return out
}

func (s *Server) getPatron(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	p := s.patrons[id]
	var out map[string]any
	if p != nil {
		out = apiLocked(p)
	}
	s.mu.Unlock()
	if p == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "Patron not found", "error_code": "not_found"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// putPatron is Patrons#update behind the OpenAPI validator: the body is
// validated first, then the patron looked up, then every property given
// is set (Koha's set_from_api sets only what it is given).
func (s *Server) putPatron(w http.ResponseWriter, r *http.Request, id int64, garbage bool) {
	body, verrs := decodeBody(r)
	s.mu.Lock()
	if body != nil {
		s.puts = append(s.puts, body)
	}
	fail := s.putFails > 0
	if fail {
		s.putFails--
	}
	s.mu.Unlock()
	if fail {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Something went wrong, check Koha logs for details."})
		return
	}
	if verrs == nil {
		verrs = validatePatronBody(body)
	}
	if verrs != nil {
		writeJSON(w, http.StatusBadRequest, validatorBody(verrs...))
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.patrons[id]
	if p == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "Patron not found", "error_code": "not_found"})
		return
	}
	for k := range body {
		if patronSpec[k].embed {
			// Not a column: Koha's set_from_api cannot set it and the
			// controller's catch answers 500.
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Something went wrong, check Koha logs for details."})
			return
		}
	}
	if n, ok := body["patron_id"].(json.Number); ok && n.String() != strconv.FormatInt(id, 10) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "patron_id does not match the patron"})
		return
	}
	for k, v := range body {
		if k == "patron_id" {
			continue
		}
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			} else if f, err := n.Float64(); err == nil {
				v = f
			}
		}
		p.fields[k] = v
	}
	if _, ok := body["updated_on"]; !ok {
		p.fields["updated_on"] = time.Now().UTC().Format(time.RFC3339)
	}
	if garbage {
		writeGarbage(w, http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, apiLocked(p))
}

// decodeBody reads a JSON object body; a body that is not one is a
// validator error, as in Koha.
func decodeBody(r *http.Request) (map[string]any, []validationError) {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, []validationError{{"Expected object - got null.", "/body"}}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, []validationError{{"Expected object - got " + jsonType(v) + ".", "/body"}}
	}
	return m, nil
}

func validatorBody(errs ...validationError) map[string]any {
	return map[string]any{"errors": errs, "status": http.StatusBadRequest}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeGarbage(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<html><body><h1>Koha is under maintenance</h1></body></html>"))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
