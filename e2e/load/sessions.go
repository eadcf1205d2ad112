package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	harness "github.com/carrel-library/carrel/e2e/internal/portal"
)

// session is one signed-in browser: a patron's cookie and form token.
type session struct {
	PatronID int64
	Card     string
	Cookie   string // name=value, as the browser sends it
	CSRF     string
	Addr     string // the client address the proxy reports (X-Forwarded-For)
}

// portalClient speaks to the portal as browsers behind the reverse proxy
// do: each simulated client is a harness.Client (no redirects, the one
// cookie kept by hand: a Secure cookie would not go back over plain HTTP
// through a cookie jar) that sends X-Forwarded-For and X-Forwarded-Proto.
type portalClient struct {
	base  string
	http  *http.Client
	addrs atomic.Int64
}

func newPortalClient(base string) *portalClient {
	hc := harness.NewHTTPClient(30 * time.Second)
	hc.Transport = &http.Transport{MaxIdleConnsPerHost: 16}
	c := &portalClient{base: base, http: hc}
	c.addrs.Store(1 << 16)
	return c
}

// client is one browser at client address addr, with cookie ("" for a
// new visitor).
func (c *portalClient) client(addr, cookie string) *harness.Client {
	hc := harness.NewClient(c.base, c.http)
	for k, v := range proxyHeaders(addr) {
		hc.Header.Set(k, v)
	}
	hc.Cookie = cookie
	return hc
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
func (c *portalClient) formHeaders() map[string]string { return harness.FormHeaders(c.base) }

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// anonymous opens the sign-in form as a new visitor: its stateless form
// token, ready for a POST /login. The form sets no cookie: a visitor has
// none until they sign in.
func (c *portalClient) anonymous(ctx context.Context, addr string) (session, error) {
	hc := c.client(addr, "")
	r, err := hc.Get(ctx, "/login")
	if err != nil {
		return session{}, err
	}
	m := csrfField.FindStringSubmatch(r.Body)
	if r.Code != http.StatusOK || m == nil || hc.Cookie != "" {
		return session{}, fmt.Errorf("GET /login: status %d, form token found %v, cookie set %v", r.Code, m != nil, hc.Cookie != "")
	}
	return session{CSRF: m[1], Addr: addr}, nil
}

// loginForm is the sign-in form as a browser posts it.
func loginForm(card, csrf string) url.Values {
	return url.Values{"card": {card}, "pin": {loadPIN}, "csrf_token": {csrf}}
}

// signIn signs a patron in through the real form, as a browser does: GET
// /login for the form token, POST it with the card and PIN, then open
// /mailing-lists with the new session for its own form token.
func (c *portalClient) signIn(ctx context.Context, patronID int64, card string) (session, error) {
	anon, err := c.anonymous(ctx, c.nextAddr())
	if err != nil {
		return session{}, err
	}
	hc := c.client(anon.Addr, "")
	r, err := hc.Post(ctx, "/login", loginForm(card, anon.CSRF))
	if err != nil {
		return session{}, err
	}
	if loc := r.Header.Get("Location"); r.Code != http.StatusSeeOther || loc != "/data" || hc.Cookie == "" {
		return session{}, fmt.Errorf("POST /login as card %s: status %d, Location %q", card, r.Code, loc)
	}
	r, err = hc.Get(ctx, "/mailing-lists")
	if err != nil {
		return session{}, err
	}
	m := csrfField.FindStringSubmatch(r.Body)
	if r.Code != http.StatusOK || m == nil || !strings.Contains(r.Body, "/mailing-lists/"+consentList+"/") {
		return session{}, fmt.Errorf("GET /mailing-lists after sign-in: status %d, form token found %v", r.Code, m != nil)
	}
	return session{PatronID: patronID, Card: card, Cookie: hc.Cookie, CSRF: m[1], Addr: anon.Addr}, nil
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
