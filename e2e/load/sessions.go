package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// session is one signed-in browser: a patron's cookie and form token.
type session struct {
	PatronID int64
	Card     string
	Cookie   string // name=value, as the browser sends it
	CSRF     string
	Addr     string // the client address the proxy reports (X-Forwarded-For)
}

// portalClient speaks to the portal as a browser behind the reverse proxy
// does: it sends X-Forwarded-For and X-Forwarded-Proto, follows no
// redirects, and keeps the one cookie itself (a Secure cookie would not go
// back over plain HTTP through a cookie jar).
type portalClient struct {
	base  string
	http  *http.Client
	addrs atomic.Int64
}

func newPortalClient(base string) *portalClient {
	c := &portalClient{base: base, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
	c.addrs.Store(1 << 16)
	return c
}

// nextAddr is a new client address, 10.x.y.z, for each simulated client.
func (c *portalClient) nextAddr() string {
	i := c.addrs.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
}

// proxyHeaders are what the reverse proxy adds to every request.
func proxyHeaders(addr string) map[string]string {
	return map[string]string{"X-Forwarded-For": addr, "X-Forwarded-Proto": "https"}
}

// formHeaders are what a browser adds to a form it posts to the portal.
func (c *portalClient) formHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"Origin": c.base, "Sec-Fetch-Site": "same-origin"}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// do sends one request and returns its status, body and the cookie it set.
func (c *portalClient) do(ctx context.Context, method, path, cookie string, headers map[string]string, body string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	set := ""
	for _, ck := range resp.Cookies() {
		if strings.Contains(ck.Name, "carrel_session") && ck.Value != "" {
			set = ck.Name + "=" + ck.Value
		}
	}
	if resp.StatusCode == http.StatusSeeOther {
		b = []byte(resp.Header.Get("Location"))
	}
	return resp.StatusCode, string(b), set, err
}

// anonymous opens the sign-in form as a new visitor: its stateless form
// token, ready for a POST /login. The form sets no cookie: a visitor has
// none until they sign in.
func (c *portalClient) anonymous(ctx context.Context, addr string) (session, error) {
	code, body, cookie, err := c.do(ctx, http.MethodGet, "/login", "", proxyHeaders(addr), "")
	if err != nil {
		return session{}, err
	}
	m := csrfField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || cookie != "" {
		return session{}, fmt.Errorf("GET /login: status %d, form token found %v, cookie set %v", code, m != nil, cookie != "")
	}
	return session{CSRF: m[1], Addr: addr}, nil
}

// loginBody is the sign-in form as a browser posts it.
func loginBody(card, csrf string) string {
	return url.Values{"card": {card}, "pin": {loadPIN}, "csrf_token": {csrf}}.Encode()
}

// signIn signs a patron in through the real form, as a browser does: GET
// /login for the form token, POST it with the card and PIN, then open
// /mailing-lists with the new session for its own form token.
func (c *portalClient) signIn(ctx context.Context, patronID int64, card string) (session, error) {
	anon, err := c.anonymous(ctx, c.nextAddr())
	if err != nil {
		return session{}, err
	}
	h := merge(proxyHeaders(anon.Addr), c.formHeaders())
	code, loc, cookie, err := c.do(ctx, http.MethodPost, "/login", "", h, loginBody(card, anon.CSRF))
	if err != nil {
		return session{}, err
	}
	if code != http.StatusSeeOther || loc != "/data" || cookie == "" {
		return session{}, fmt.Errorf("POST /login as card %s: status %d, Location %q", card, code, loc)
	}
	code, body, _, err := c.do(ctx, http.MethodGet, "/mailing-lists", cookie, proxyHeaders(anon.Addr), "")
	if err != nil {
		return session{}, err
	}
	m := csrfField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || !strings.Contains(body, "/mailing-lists/"+consentList+"/") {
		return session{}, fmt.Errorf("GET /mailing-lists after sign-in: status %d, form token found %v", code, m != nil)
	}
	return session{PatronID: patronID, Card: card, Cookie: cookie, CSRF: m[1], Addr: anon.Addr}, nil
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns
// the first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
