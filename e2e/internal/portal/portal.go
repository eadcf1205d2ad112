// Package portal is the harness the end-to-end tests (e2e) and the load
// benchmark (e2e/load) share: it starts the real binary, `carrel serve`,
// and speaks plain HTTP to it as one browser does.
package portal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// CleanEnv is this process's environment without CARREL_* settings, so a
// developer's own settings cannot leak into the server under test; the
// caller appends the ones it means.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CARREL_") {
			env = append(env, kv)
		}
	}
	return env
}

// WithSetting is env with one variable set to a new value.
func WithSetting(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// Process is one running `carrel serve`.
type Process struct {
	Base string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// serving is the line `carrel serve` prints on stdout once it listens:
// "Carrel is serving <library> at http://127.0.0.1:PORT".
var serving = regexp.MustCompile(`^Carrel is serving .* at (http://\S+)$`)

// StartTimeout bounds how long Start waits for the server to say where it
// serves.
const StartTimeout = 30 * time.Second

// Start runs bin with args (e.g. "serve", "--demo") and env, its stderr
// (its log) going to stderr, and waits until it says where it serves. env
// should set CARREL_ADDR=127.0.0.1:0, so that it picks a free port itself.
// If it exits or stays silent first, Start stops it and says so.
func Start(ctx context.Context, bin string, env []string, stderr io.Writer, args ...string) (*Process, error) {
	p := &Process{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...) // #nosec G204 -- the carrel binary the test built
	p.cmd.Env = env
	p.cmd.Stderr = stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(append([]string{bin}, args...), " "), err)
	}
	addr := make(chan string, 1)
	stdoutDone := make(chan struct{})
	go func() {
		defer close(stdoutDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		<-stdoutDone // Wait closes the pipe: read it to the end first
		p.err = p.cmd.Wait()
		close(p.done)
	}()

	select {
	case base := <-addr:
		u, err := url.Parse(base)
		if err != nil {
			p.Stop(time.Second)
			return nil, fmt.Errorf("carrel serve printed a bad address %q", base)
		}
		p.Base, p.Host = base, u.Host
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("carrel serve exited before serving: %v", p.err)
	case <-ctx.Done():
		p.Stop(time.Second)
		return nil, ctx.Err()
	case <-time.After(StartTimeout):
		p.Stop(time.Second)
		return nil, fmt.Errorf("carrel serve did not say where it serves within %s", StartTimeout)
	}
}

// URL is the absolute address of a path on the portal.
func (p *Process) URL(path string) string { return p.Base + path }

// Pid is the server's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited; Err then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit: nil for status 0. Valid once Done is closed.
func (p *Process) Err() error { return p.err }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Terminate sends SIGTERM, as an operator stopping the service does.
func (p *Process) Terminate() { _ = p.cmd.Process.Signal(syscall.SIGTERM) }

// ErrKilled is Stop's answer when the process outlived its time.
var ErrKilled = errors.New("carrel serve did not exit in time after SIGTERM and was killed")

// Stop sends SIGTERM (unless the process has exited) and waits up to
// within for it to exit, then kills it. It returns ErrKilled if it had to
// kill, else the process's exit (nil for status 0).
func (p *Process) Stop(within time.Duration) error {
	if !p.Exited() {
		p.Terminate()
	}
	return p.Wait(within)
}

// Wait waits up to within for the process to exit, then kills it; see
// Stop.
func (p *Process) Wait(within time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.done
		return ErrKilled
	}
}

// Client speaks plain HTTP to the portal as one browser does: it follows
// no redirects and keeps the session cookie itself, as "name=value", so a
// test can carry it to another client or process, and a Secure cookie
// still goes back over plain HTTP (which a cookie jar would refuse).
type Client struct {
	Base   string      // http://127.0.0.1:PORT
	Cookie string      // the session cookie as sent, "carrel_session=…"; "" when none
	Header http.Header // added to every request (e.g. X-Forwarded-For)
	HTTP   *http.Client
}

// NewHTTPClient is an http.Client that follows no redirects and gives up
// on a request after timeout.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// NewClient is a client of the portal at base, with no cookie yet, over
// hc (nil: NewHTTPClient(30 * time.Second)).
func NewClient(base string, hc *http.Client) *Client {
	if hc == nil {
		hc = NewHTTPClient(30 * time.Second)
	}
	return &Client{Base: base, Header: http.Header{}, HTTP: hc}
}

// Response is one answer, read whole.
type Response struct {
	Code   int
	Header http.Header
	Body   string
	What   string // "GET /path", for messages
}

// Get fetches path.
func (c *Client) Get(ctx context.Context, path string) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return Response{}, err
	}
	return c.Do(req)
}

// Post sends a form as a browser on the portal's own page does.
func (c *Client) Post(ctx context.Context, path string, form url.Values) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return Response{}, err
	}
	for k, v := range FormHeaders(c.Base) {
		req.Header.Set(k, v)
	}
	return c.Do(req)
}

// FormHeaders are what a browser adds to a form it posts to the portal
// at base.
func FormHeaders(base string) map[string]string {
	return map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"Origin": base, "Sec-Fetch-Site": "same-origin"}
}

// Do sends req with the client's headers and cookie, reads the answer
// whole, and keeps the session cookie it sets (or clears it when the
// answer deletes it).
func (c *Client) Do(req *http.Request) (Response, error) {
	what := req.Method + " " + req.URL.Path
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if c.Cookie != "" {
		req.Header.Set("Cookie", c.Cookie)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{What: what}, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if !strings.Contains(ck.Name, "carrel_session") {
			continue
		}
		if ck.Value == "" || ck.MaxAge < 0 {
			c.Cookie = ""
		} else {
			c.Cookie = ck.Name + "=" + ck.Value
		}
	}
	r := Response{Code: resp.StatusCode, Header: resp.Header, Body: string(b), What: what}
	if err != nil {
		return r, fmt.Errorf("%s: reading the body: %w", what, err)
	}
	return r, nil
}
