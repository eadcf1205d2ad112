package koha_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models/ils/koha"
	"github.com/carrel-library/carrel/models/ils/koha/kohatest"
)

const (
	card = "23529000445172"
	pin  = "4711"
)

func addAda(s *kohatest.Server) int64 {
	return s.AddPatron(kohatest.Patron{
		Cardnumber: card, UserID: "ada", Password: pin,
		Firstname: "Ada", Surname: "Lovelace", Email: "ada@example.org", Phone: "555-0100",
		Address: "12 Analytical Row", City: "London", PostalCode: "N1 9GU", Country: "UK",
		LibraryID: "MPL", CategoryID: "PT", ExpiryDate: "2030-06-30", Privacy: 1,
	})
}

func newClient(t *testing.T, cfg koha.Config) *koha.Client {
	t.Helper()
	c, err := koha.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// personal is everything an error text must not carry.
func assertNoPersonalData(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append([]string{card, pin, "Ada", "Lovelace", "ada@example.org"}, secrets...) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q carries %q", err, s)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	for name, cfg := range map[string]koha.Config{
		"no scheme":      {URL: "koha.example.org", ClientID: "a", ClientSecret: "s3cr3t-value"},
		"ftp":            {URL: "ftp://koha.example.org", ClientID: "a", ClientSecret: "s3cr3t-value"},
		"no host":        {URL: "https://", ClientID: "a", ClientSecret: "s3cr3t-value"},
		"query":          {URL: "https://koha.example.org/?x=1", ClientID: "a", ClientSecret: "s3cr3t-value"},
		"no client id":   {URL: "https://koha.example.org", ClientSecret: "s3cr3t-value"},
		"no secret":      {URL: "https://koha.example.org", ClientID: "a"},
		"negative limit": {URL: "https://koha.example.org", ClientID: "a", ClientSecret: "s3cr3t-value", Timeout: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := koha.New(cfg); err == nil {
				t.Fatal("New accepted it")
			} else if cfg.ClientSecret != "" && strings.Contains(err.Error(), cfg.ClientSecret) {
				t.Errorf("error %q carries the secret", err)
			}
		})
	}
	c := newClient(t, koha.Config{URL: "https://koha.example.org/", ClientID: "a", ClientSecret: "s3cr3t-value"})
	if c.Timeout() != koha.DefaultTimeout {
		t.Errorf("default timeout %v, want %v", c.Timeout(), koha.DefaultTimeout)
	}
}

func TestValidatePasswordAndPatron(t *testing.T) {
	s := kohatest.StartTLS(t)
	id := addAda(s)
	cfg := s.Config()
	cfg.URL += "/" // a trailing slash is tolerated
	c := newClient(t, cfg)
	ctx := context.Background()

	v, err := c.ValidatePassword(ctx, card, pin)
	if err != nil {
		t.Fatal(err)
	}
	if v != (koha.Validation{Cardnumber: card, PatronID: id, UserID: "ada"}) {
		t.Errorf("validation = %+v", v)
	}
	p, err := c.Patron(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Surname != "Lovelace" || p.Firstname != "Ada" || p.Email != "ada@example.org" || p.LibraryID != "MPL" ||
		p.ExpiryDate != "2030-06-30" || p.Privacy != 1 || p.City != "London" || p.Cardnumber != card {
		t.Errorf("patron = %+v", p)
	}
	if p.Address2 != "" || p.State != "" {
		t.Errorf("null fields should read empty: %+v", p)
	}

	// A userid validates as well, and Koha names the card.
	v, err = c.ValidatePassword(ctx, "ada", pin)
	if err != nil || v.Cardnumber != card {
		t.Errorf("userid validation = %+v, %v", v, err)
	}
}

func TestValidatePasswordRefusals(t *testing.T) {
	s := kohatest.Start(t)
	id := addAda(s)
	s.AddPatron(kohatest.Patron{Cardnumber: "999", Password: "1234", Surname: "Locked", Locked: true})
	c := newClient(t, s.Config())
	ctx := context.Background()
	for name, try := range map[string][2]string{
		"wrong pin":    {card, "0000"},
		"unknown card": {"000000", pin},
		"empty pin":    {card, ""},
		"locked":       {"999", "1234"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.ValidatePassword(ctx, try[0], try[1])
			if !errors.Is(err, koha.ErrRefused) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
			assertNoPersonalData(t, err, s.ClientSecret)
		})
	}

	// Koha's own lockout: after FailedLoginAttempts failures the right PIN
	// is refused too.
	s.SetFailedLoginAttempts(3)
	for range 3 {
		if _, err := c.ValidatePassword(ctx, card, "0000"); !errors.Is(err, koha.ErrRefused) {
			t.Fatal(err)
		}
	}
	if _, err := c.ValidatePassword(ctx, card, pin); !errors.Is(err, koha.ErrRefused) {
		t.Fatalf("locked by failures: err = %v, want ErrRefused", err)
	}
	s.Lock(id, false)
	if _, err := c.ValidatePassword(ctx, card, pin); err != nil {
		t.Fatalf("unlocked: %v", err)
	}
}

func TestTokenIsCachedAndShared(t *testing.T) {
	s := kohatest.Start(t)
	id := addAda(s)
	c := newClient(t, s.Config())
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, err := c.ValidatePassword(ctx, card, pin); err != nil {
				errs <- err
			}
			if _, err := c.Patron(ctx, id); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued for 16 calls, want 1", n)
	}
	// Koha reads the credentials from the form only: one request, not a
	// Basic-auth attempt it refuses first.
	if n := s.Calls(kohatest.PathToken); n != 1 {
		t.Errorf("%d requests to the token endpoint, want 1", n)
	}
}

func TestExpiredTokenIsReplaced(t *testing.T) {
	s := kohatest.Start(t)
	addAda(s)
	// A token that lives 1 s is already expired for the client, which
	// renews 10 s ahead: every call needs a new one.
	s.SetTokenTTL(1)
	c := newClient(t, s.Config())
	for range 2 {
		if _, err := c.ValidatePassword(context.Background(), card, pin); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
}

func TestForgottenTokenIsReplacedOnce(t *testing.T) {
	s := kohatest.Start(t)
	addAda(s)
	c := newClient(t, s.Config())
	ctx := context.Background()
	if _, err := c.ValidatePassword(ctx, card, pin); err != nil {
		t.Fatal(err)
	}
	s.RevokeTokens()
	if _, err := c.ValidatePassword(ctx, card, pin); err != nil {
		t.Fatalf("after Koha forgot the token: %v", err)
	}
	if n, calls := s.TokensIssued(), s.Calls(kohatest.PathValidation); n != 2 || calls != 3 {
		t.Errorf("tokens %d, validation calls %d; want 2 and 3 (one 401, one retry)", n, calls)
	}
}

func TestRefusedCredentialsAreNotARefusedPIN(t *testing.T) {
	s := kohatest.Start(t)
	id := addAda(s)
	ctx := context.Background()

	cfg := s.Config()
	cfg.ClientSecret = "not-the-secret"
	_, err := newClient(t, cfg).ValidatePassword(ctx, card, pin)
	if !errors.Is(err, koha.ErrCredentials) || errors.Is(err, koha.ErrRefused) {
		t.Fatalf("wrong secret: err = %v, want ErrCredentials", err)
	}
	assertNoPersonalData(t, err, "not-the-secret", s.ClientSecret)
	if s.Calls(kohatest.PathValidation) != 0 {
		t.Error("the PIN went to Koha without a token")
	}

	s.Forbid(true)
	c := newClient(t, s.Config())
	if _, err := c.ValidatePassword(ctx, card, pin); !errors.Is(err, koha.ErrCredentials) {
		t.Errorf("no borrowers permission: err = %v, want ErrCredentials", err)
	}
	if _, err := c.Patron(ctx, id); !errors.Is(err, koha.ErrCredentials) {
		t.Errorf("no borrowers permission: err = %v, want ErrCredentials", err)
	}
}

func TestFaultsAreErrorsNeverValidations(t *testing.T) {
	for name, fault := range map[string]func(*kohatest.Server){
		"down":            func(s *kohatest.Server) { s.Down(true) },
		"garbage":         func(s *kohatest.Server) { s.Garbage(true) },
		"token fails":     func(s *kohatest.Server) { s.TokenFails(true) },
		"slow":            func(s *kohatest.Server) { s.Slow(time.Minute) },
		"slow with token": func(s *kohatest.Server) { s.Slow(time.Minute) },
	} {
		t.Run(name, func(t *testing.T) {
			s := kohatest.Start(t)
			addAda(s)
			cfg := s.Config()
			cfg.Timeout = 200 * time.Millisecond
			c := newClient(t, cfg)
			if strings.HasSuffix(name, "with token") {
				if _, err := c.ValidatePassword(context.Background(), card, pin); err != nil {
					t.Fatal(err)
				}
			}
			fault(s)
			v, err := c.ValidatePassword(context.Background(), card, pin)
			if err == nil || v != (koha.Validation{}) {
				t.Fatalf("got %+v, %v; want an error and no validation", v, err)
			}
			if errors.Is(err, koha.ErrRefused) || errors.Is(err, koha.ErrCredentials) {
				t.Errorf("err = %v: a fault is neither a refusal nor bad credentials", err)
			}
			if strings.HasPrefix(name, "slow") && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("slow: err = %v, want a deadline", err)
			}
			if name == "garbage" && !errors.Is(err, koha.ErrBadAnswer) {
				t.Errorf("garbage: err = %v, want ErrBadAnswer", err)
			}
			assertNoPersonalData(t, err, s.ClientSecret)
		})
	}
}

func TestGarbageAfterTheToken(t *testing.T) {
	s := kohatest.Start(t)
	id := addAda(s)
	c := newClient(t, s.Config())
	ctx := context.Background()
	if _, err := c.ValidatePassword(ctx, card, pin); err != nil {
		t.Fatal(err)
	}
	s.Garbage(true)
	if _, err := c.ValidatePassword(ctx, card, pin); !errors.Is(err, koha.ErrBadAnswer) {
		t.Errorf("validation: err = %v, want ErrBadAnswer", err)
	}
	if _, err := c.Patron(ctx, id); !errors.Is(err, koha.ErrBadAnswer) {
		t.Errorf("patron: err = %v, want ErrBadAnswer", err)
	}
}

// fakeAPI is a Koha that answers validation with the given status and
// body, for answers the fake Koha never gives.
func fakeAPI(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == kohatest.PathToken {
			_, _ = w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":3600}`))
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOddValidationAnswers(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"201 without patron_id":  {201, `{"cardnumber":"23529000445172","userid":"ada"}`},
		"201 with patron_id 0":   {201, `{"cardnumber":"x","patron_id":0,"userid":"ada"}`},
		"201 with a list":        {201, `[{"patron_id":5}]`},
		"201 with a string id":   {201, `{"patron_id":"5"}`},
		"200 instead of 201":     {200, `{"cardnumber":"x","patron_id":5,"userid":"ada"}`},
		"204 of an older Koha":   {204, ``},
		"400 of another kind":    {400, `{"errors":[{"message":"Missing property.","path":"/body/password"}],"status":400}`},
		"400 without JSON":       {400, `Bad Request`},
		"500":                    {500, `{"error":"Something went wrong, check Koha logs for details."}`},
		"503 under maintenance":  {503, `{"error":"System is under maintenance."}`},
		"302 to the login page":  {302, ``},
		"404 without the module": {404, `{"errors":[{"message":"Not Found.","path":"/"}],"status":404}`},
	} {
		t.Run(name, func(t *testing.T) {
			srv := fakeAPI(t, tc.status, tc.body)
			c := newClient(t, koha.Config{URL: srv.URL, ClientID: "a", ClientSecret: "s3cr3t-value"})
			v, err := c.ValidatePassword(context.Background(), card, pin)
			if err == nil || v != (koha.Validation{}) {
				t.Fatalf("got %+v, %v; want an error and no validation", v, err)
			}
			if errors.Is(err, koha.ErrRefused) {
				t.Errorf("err = %v: only Koha's 400 Validation failed is a refusal", err)
			}
			assertNoPersonalData(t, err)
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var got []string
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path)
		mu.Unlock()
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == kohatest.PathToken {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":3600}`))
			return
		}
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c := newClient(t, koha.Config{URL: srv.URL, ClientID: "a", ClientSecret: "s3cr3t-value"})
	_, err := c.ValidatePassword(context.Background(), card, pin)
	var se *koha.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want a 307 StatusError", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Errorf("the PIN followed the redirect to %v", got)
	}
}

func TestConnectionRefused(t *testing.T) {
	s := kohatest.Start(t)
	cfg := s.Config()
	srv := httptest.NewServer(http.NotFoundHandler())
	cfg.URL = srv.URL
	srv.Close() // nothing listens there now
	_, err := newClient(t, cfg).ValidatePassword(context.Background(), card, pin)
	if err == nil || errors.Is(err, koha.ErrRefused) || errors.Is(err, koha.ErrCredentials) {
		t.Fatalf("err = %v, want a connection error", err)
	}
}

func TestPatronNotFound(t *testing.T) {
	s := kohatest.Start(t)
	c := newClient(t, s.Config())
	if _, err := c.Patron(context.Background(), 4242); !errors.Is(err, koha.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if err := c.SetPrivacy(context.Background(), 4242, 2); !errors.Is(err, koha.ErrNotFound) {
		t.Errorf("SetPrivacy: err = %v, want ErrNotFound", err)
	}
}

func TestSetPrivacyPutsTheWholePatronAndChangesOnlyPrivacy(t *testing.T) {
	s := kohatest.Start(t)
	id := addAda(s)
	other := s.AddPatron(kohatest.Patron{Cardnumber: "111", Surname: "Other", Privacy: 1})
	c := newClient(t, s.Config())
	ctx := context.Background()
	before := s.PatronFields(id)

	if err := c.SetPrivacy(ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	if got := s.Privacy(id); got != 2 {
		t.Fatalf("privacy = %d, want 2", got)
	}
	after := s.PatronFields(id)
	for k, v := range before {
		if k == "privacy" || k == "updated_on" {
			continue
		}
		if after[k] != v {
			t.Errorf("%s changed from %v to %v", k, v, after[k])
		}
	}
	if s.Privacy(other) != 1 {
		t.Error("another patron's privacy changed")
	}

	puts := s.Puts()
	if len(puts) != 1 {
		t.Fatalf("%d PUTs, want 1", len(puts))
	}
	put := puts[0]
	for k := range before {
		switch k {
		case "updated_on", "login_attempts", "last_seen":
			if _, ok := put[k]; ok {
				t.Errorf("the PUT sent Koha's bookkeeping %s back", k)
			}
		default:
			if _, ok := put[k]; !ok {
				t.Errorf("the PUT left out %s: not the whole patron", k)
			}
		}
	}
	for _, k := range []string{"expired", "restricted", "anonymized"} {
		if _, ok := put[k]; ok {
			t.Errorf("the PUT sent the read-only %s", k)
		}
	}
	if put["privacy"] != json.Number("2") || put["surname"] != "Lovelace" || put["cardnumber"] != card {
		t.Errorf("PUT body = %v", put)
	}

	// Back on: 0. And setting what Koha already holds writes nothing.
	if err := c.SetPrivacy(ctx, id, 0); err != nil || s.Privacy(id) != 0 {
		t.Fatalf("privacy 0: %v, Koha has %d", err, s.Privacy(id))
	}
	if err := c.SetPrivacy(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Puts()); n != 2 {
		t.Errorf("%d PUTs after setting the same privacy again, want 2", n)
	}
	if err := c.SetPrivacy(ctx, id, 3); err == nil {
		t.Error("privacy 3 was sent")
	}
}

func TestSetPrivacyWhenThePUTFails(t *testing.T) {
	s := kohatest.Start(t)
	id := addAda(s)
	c := newClient(t, s.Config())
	ctx := context.Background()

	s.PUTFails(1)
	err := c.SetPrivacy(ctx, id, 2)
	var se *koha.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusInternalServerError {
		t.Fatalf("err = %v, want HTTP 500", err)
	}
	if s.Privacy(id) != 1 {
		t.Errorf("privacy = %d after a failed PUT", s.Privacy(id))
	}
	if err := c.SetPrivacy(ctx, id, 2); err != nil || s.Privacy(id) != 2 {
		t.Fatalf("retry: %v, Koha has %d", err, s.Privacy(id))
	}

	s.Garbage(true)
	if err := c.SetPrivacy(ctx, id, 0); err == nil {
		t.Error("a garbled answer to the GET was taken for a patron")
	}
}

// The fake's PUT validation is what makes the whole-PUT test mean
// something: it refuses what Koha's validator refuses.
func TestFakeKohaValidatesPUTAsKohaDoes(t *testing.T) {
	s := kohatest.Start(t)
	id := addAda(s)
	hc := s.Client()
	token := func() string {
		res, err := hc.PostForm(s.URL+kohatest.PathToken, map[string][]string{
			"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token: %v", err)
		}
		return tok.AccessToken
	}()
	call := func(method string, body any) (int, map[string]any) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, s.URL+kohatest.PathPatron(id), rd)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}

	status, whole := call(http.MethodGet, nil)
	if status != http.StatusOK {
		t.Fatalf("GET: %d", status)
	}
	// The GET's object as it stands: its read-only properties are refused.
	if status, out := call(http.MethodPut, whole); status != http.StatusBadRequest || !strings.Contains(toJSON(out), "Read-only.") {
		t.Errorf("PUT of the GET as is: %d %v, want 400 Read-only.", status, out)
	}
	clean := func() map[string]any {
		m := map[string]any{}
		for k, v := range whole {
			m[k] = v
		}
		for _, k := range []string{"expired", "restricted", "anonymized"} {
			delete(m, k)
		}
		return m
	}
	unknown := clean()
	unknown["favourite_colour"] = "blue"
	if status, out := call(http.MethodPut, unknown); status != http.StatusBadRequest || !strings.Contains(toJSON(out), "Properties not allowed: favourite_colour.") {
		t.Errorf("PUT with an unknown property: %d %v", status, out)
	}
	partial := clean()
	delete(partial, "surname")
	if status, out := call(http.MethodPut, partial); status != http.StatusBadRequest || !strings.Contains(toJSON(out), "/body/surname") {
		t.Errorf("PUT without surname: %d %v", status, out)
	}
	wrongType := clean()
	wrongType["privacy"] = "2"
	if status, _ := call(http.MethodPut, wrongType); status != http.StatusBadRequest {
		t.Errorf("PUT with privacy as a string: %d", status)
	}
	if s.Privacy(id) != 1 {
		t.Fatalf("a refused PUT changed privacy to %d", s.Privacy(id))
	}
	ok := clean()
	ok["privacy"] = 2
	if status, out := call(http.MethodPut, ok); status != http.StatusOK || out["privacy"] != float64(2) {
		t.Errorf("PUT of the clean object: %d %v", status, out)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
