// Package koha is a client of Koha's REST API (api/v1): OAuth2 client
// credentials, patron password validation, reading a patron, and writing
// a patron's privacy setting back.
//
// It follows Koha's own OpenAPI spec (api/v1/swagger) and controllers
// (Koha/REST/V1/OAuth.pm, Auth/Password.pm, Patrons.pm): the token
// endpoint takes client_id and client_secret as form fields, password
// validation answers 201 with cardnumber, patron_id and userid or 400
// {"error": "Validation failed"}, and a patron is PUT back whole, without
// the properties the spec marks readOnly or that only an embed returns.
package koha

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is how to reach Koha.
type Config struct {
	URL          string // https://koha.library.example (the staff interface's base)
	ClientID     string
	ClientSecret string
	// HTTPClient, when set, is used for every request (tests: a
	// httptest server's client). Its timeout is replaced by Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request (default 8 s, so that a sign-in is
	// answered within 10 s).
	Timeout time.Duration
}

// DefaultTimeout is Config.Timeout when it is zero.
const DefaultTimeout = 8 * time.Second

// Validation is Koha's answer to a good identifier and password.
type Validation struct {
	Cardnumber string `json:"cardnumber"`
	PatronID   int64  `json:"patron_id"`
	UserID     string `json:"userid"`
}

// Patron is the part of Koha's patron object Carrel reads.
type Patron struct {
	PatronID   int64  `json:"patron_id"`
	Cardnumber string `json:"cardnumber"`
	Firstname  string `json:"firstname"`
	Surname    string `json:"surname"`
	Email      string `json:"email"`
	Phone      string `json:"phone"`
	Address    string `json:"address"`
	Address2   string `json:"address2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	LibraryID  string `json:"library_id"`
	ExpiryDate string `json:"expiry_date"` // YYYY-MM-DD
	Privacy    int    `json:"privacy"`

	// whole is the object exactly as Koha sent it, so that SetPrivacy can
	// send back every property it does not change. A pointer keeps Patron
	// comparable.
	whole *wholePatron
}

type wholePatron struct{ props map[string]json.RawMessage }

// ErrRefused is Koha's 400 {"error": "Validation failed"}: wrong
// identifier or password, or a locked account.
var ErrRefused = errors.New("koha: validation failed")

// ErrNotFound is a 404 for a patron.
var ErrNotFound = errors.New("koha: no such patron")

// ErrCredentials says Koha refused the API client itself: a wrong client
// id or secret at the token endpoint, or an API client whose patron lacks
// the borrowers permission. Its texts never carry the secret.
var ErrCredentials = errors.New("koha: Koha refused the API client; check CARREL_KOHA_CLIENT_ID, CARREL_KOHA_CLIENT_SECRET and the client's borrowers permission")

// ErrBadAnswer says Koha answered something the client could not
// understand: not JSON, or JSON without what the API promises.
var ErrBadAnswer = errors.New("koha: answer not understood")

// StatusError is an HTTP status Koha should not have answered to a call.
type StatusError struct {
	Op     string // "validate password", "get patron", "put patron", "token"
	Status int
	// Detail is a short note without personal data (for a 400 on PUT,
	// the properties Koha's validator named).
	Detail string
}

func (e *StatusError) Error() string {
	s := "koha: " + e.Op + ": HTTP " + strconv.Itoa(e.Status)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Client talks to one Koha. It is safe for concurrent use; the OAuth2
// token is cached until it expires.
type Client struct {
	api     string // {URL}/api/v1
	http    *http.Client
	timeout time.Duration
	tokens  *tokenCache
}

// New checks cfg and returns a client; it does not connect yet.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("koha: the URL must be http:// or https:// with a host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("koha: the URL must have no query, fragment or user")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("koha: the API client's id and secret are both needed")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("koha: the timeout must not be negative")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	base := strings.TrimRight(u.String(), "/")

	// A copy of the caller's client: no client-wide timeout (each call
	// has its own deadline), and no redirects, which would send a PIN on
	// to wherever Koha's front points (a 307 re-sends the body).
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	hc.Timeout = 0
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Jar = nil

	c := &Client{
		api:     base + "/api/v1",
		http:    &hc,
		timeout: timeout,
	}
	c.tokens = newTokenCache(base+"/api/v1/oauth/token", cfg.ClientID, cfg.ClientSecret, &hc)
	return c, nil
}

// Timeout is how long one call of the client may take at most.
func (c *Client) Timeout() time.Duration { return c.timeout }

// ValidatePassword is POST /api/v1/auth/password/validation.
func (c *Client) ValidatePassword(ctx context.Context, identifier, password string) (Validation, error) {
	const op = "validate password"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := json.Marshal(map[string]string{"identifier": identifier, "password": password})
	if err != nil {
		return Validation{}, fmt.Errorf("koha: %s: %w", op, err)
	}
	status, resp, err := c.do(ctx, op, http.MethodPost, "/auth/password/validation", body)
	if err != nil {
		return Validation{}, err
	}
	switch {
	case status == http.StatusCreated:
		var v struct {
			Cardnumber *string `json:"cardnumber"`
			PatronID   *int64  `json:"patron_id"`
			UserID     *string `json:"userid"`
		}
		if err := decodeObject(resp, &v); err != nil {
			return Validation{}, fmt.Errorf("%w: %s: %v", ErrBadAnswer, op, err)
		}
		if v.PatronID == nil || *v.PatronID <= 0 {
			return Validation{}, fmt.Errorf("%w: %s: no patron_id", ErrBadAnswer, op)
		}
		out := Validation{PatronID: *v.PatronID}
		if v.Cardnumber != nil {
			out.Cardnumber = *v.Cardnumber
		}
		if v.UserID != nil {
			out.UserID = *v.UserID
		}
		return out, nil
	case status == http.StatusBadRequest && kohaError(resp) == "Validation failed":
		return Validation{}, ErrRefused
	case status == http.StatusNoContent:
		// Koha before the identifier form answered 204 and no patron.
		return Validation{}, &StatusError{Op: op, Status: status, Detail: "this Koha's password validation does not name the patron; it needs a newer Koha"}
	default:
		return Validation{}, statusError(op, status)
	}
}

// Patron is GET /api/v1/patrons/{id}.
func (c *Client) Patron(ctx context.Context, id int64) (Patron, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.getPatron(ctx, id)
}

func (c *Client) getPatron(ctx context.Context, id int64) (Patron, error) {
	const op = "get patron"
	if id <= 0 {
		return Patron{}, ErrNotFound
	}
	status, resp, err := c.do(ctx, op, http.MethodGet, "/patrons/"+strconv.FormatInt(id, 10), nil)
	if err != nil {
		return Patron{}, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound:
		return Patron{}, ErrNotFound
	default:
		return Patron{}, statusError(op, status)
	}
	p, err := parsePatron(resp)
	if err != nil {
		return Patron{}, fmt.Errorf("%w: %s: %v", ErrBadAnswer, op, err)
	}
	if p.PatronID != id {
		return Patron{}, fmt.Errorf("%w: %s: Koha answered with another patron", ErrBadAnswer, op)
	}
	return p, nil
}

// notOnPut are the properties of a GET's patron that are not sent back:
// the ones Koha's spec marks readOnly (its validator answers 400
// "Read-only." for them), the ones only an x-koha-embed adds (not columns:
// Koha cannot set them), and the bookkeeping Koha keeps itself (sending
// updated_on back would stop Koha from moving it, which is how other
// systems learn of the change; login_attempts might undo a failed
// sign-in counted between the GET and the PUT). Koha's PUT sets only the
// properties it is given, so leaving these out changes none of them.
var notOnPut = []string{
	"expired", "restricted", "anonymized", // readOnly
	"extended_attributes", "checkouts_count", "overdues_count", "account_balance", "library", "_strings", // embeds
	"updated_on", "last_seen", "login_attempts", // Koha's bookkeeping
}

// SetPrivacy reads the patron whole, changes privacy and PUTs it back
// whole (PUT /api/v1/patrons/{id}). When Koha already holds that privacy
// nothing is written.
func (c *Client) SetPrivacy(ctx context.Context, id int64, privacy int) error {
	const op = "put patron"
	if privacy < 0 || privacy > 2 {
		return fmt.Errorf("koha: privacy %d is not 0, 1 or 2", privacy)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	p, err := c.getPatron(ctx, id)
	if err != nil {
		return err
	}
	if p.Privacy == privacy {
		return nil
	}
	whole := make(map[string]json.RawMessage, len(p.whole.props))
	for k, v := range p.whole.props {
		whole[k] = v
	}
	for _, k := range notOnPut {
		delete(whole, k)
	}
	whole["privacy"] = json.RawMessage(strconv.Itoa(privacy))
	body, err := json.Marshal(whole)
	if err != nil {
		return fmt.Errorf("koha: %s: %w", op, err)
	}
	status, resp, err := c.do(ctx, op, http.MethodPut, "/patrons/"+strconv.FormatInt(id, 10), body)
	if err != nil {
		return err
	}
	switch status {
	case http.StatusOK:
		got, err := parsePatron(resp)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadAnswer, op, err)
		}
		if got.Privacy != privacy {
			return fmt.Errorf("%w: %s: Koha kept privacy %d", ErrBadAnswer, op, got.Privacy)
		}
		return nil
	case http.StatusNoContent: // Koha::Exceptions::NoChanges
		return nil
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusBadRequest:
		return &StatusError{Op: op, Status: status, Detail: validatorPaths(resp)}
	default:
		return statusError(op, status)
	}
}

// do sends one API call with the cached token. A 401 drops the token and
// the call is tried once more with a new one (Koha may have forgotten a
// token before its expiry, e.g. when its tokens were purged).
func (c *Client) do(ctx context.Context, op, method, path string, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.get(ctx)
		if err != nil {
			return 0, nil, err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
		if err != nil {
			return 0, nil, fmt.Errorf("koha: %s: %w", op, err)
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		tok.SetAuthHeader(req)
		res, err := c.http.Do(req)
		if err != nil {
			return 0, nil, transportError(op, err)
		}
		data, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
		res.Body.Close()
		if err != nil {
			return 0, nil, transportError(op, err)
		}
		if len(data) > maxBody {
			return 0, nil, fmt.Errorf("%w: %s: answer over %d bytes", ErrBadAnswer, op, maxBody)
		}
		switch res.StatusCode {
		case http.StatusUnauthorized:
			c.tokens.drop(tok)
			if attempt == 0 {
				continue
			}
			return 0, nil, fmt.Errorf("%w (%s: HTTP 401 with a new token)", ErrCredentials, op)
		case http.StatusForbidden:
			return 0, nil, fmt.Errorf("%w (%s: HTTP 403)", ErrCredentials, op)
		}
		return res.StatusCode, data, nil
	}
}

// maxBody bounds what is read of one answer; a patron is a few KiB.
const maxBody = 1 << 20

// transportError wraps a failed request without its URL (which names the
// patron's id) and says a timeout plainly.
func transportError(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("koha: %s: timeout: %w", op, err)
	}
	return fmt.Errorf("koha: %s: %w", op, err)
}

func statusError(op string, status int) error {
	e := &StatusError{Op: op, Status: status}
	if status >= 300 && status < 400 {
		e.Detail = "a redirect: set the URL to the address Koha answers at"
	}
	return e
}

// decodeObject decodes a JSON object and nothing else.
func decodeObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errors.New("not valid JSON")
	}
	return nil
}

// parsePatron reads a patron object and keeps it whole.
func parsePatron(data []byte) (Patron, error) {
	var whole map[string]json.RawMessage
	if err := decodeObject(data, &whole); err != nil {
		return Patron{}, err
	}
	var p Patron
	if err := json.Unmarshal(data, &p); err != nil {
		return Patron{}, errors.New("a property of an unexpected type")
	}
	if _, ok := whole["patron_id"]; !ok || p.PatronID <= 0 {
		return Patron{}, errors.New("no patron_id")
	}
	if _, ok := whole["privacy"]; !ok {
		return Patron{}, errors.New("no privacy")
	}
	p.whole = &wholePatron{props: whole}
	return p, nil
}

// kohaError is the "error" of Koha's error object, or "".
func kohaError(data []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if decodeObject(data, &e) != nil {
		return ""
	}
	return e.Error
}

// validatorPaths lists what Koha's OpenAPI validator named in a 400
// ({"errors": [{"message": "Read-only.", "path": "/body/expired"}]}): its
// paths name properties and its messages types and rules, never values.
func validatorPaths(data []byte) string {
	var e struct {
		Errors []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if decodeObject(data, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	var paths []string
	for _, x := range e.Errors {
		if x.Path == "" || len(paths) == 5 {
			continue
		}
		msg := []rune(x.Message)
		if len(msg) > 60 {
			msg = msg[:60]
		}
		paths = append(paths, strings.TrimSpace(x.Path+" "+string(msg)))
	}
	if len(paths) == 0 {
		return ""
	}
	return "refused " + strings.Join(paths, ", ")
}
