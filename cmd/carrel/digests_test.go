package main

import (
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestBadMailSettingsAreOneLineNamingTheSetting(t *testing.T) {
	cases := []struct {
		name, want string
		env        map[string]string
	}{
		{"host without a sender", "CARREL_SMTP_FROM", map[string]string{"CARREL_SMTP_HOST": "smtp.library.example"}},
		{"sender not an address", "CARREL_SMTP_FROM", map[string]string{"CARREL_SMTP_HOST": "smtp.library.example", "CARREL_SMTP_FROM": "the library"}},
		{"host with a port", "CARREL_SMTP_HOST", map[string]string{"CARREL_SMTP_HOST": "smtp.library.example:587", "CARREL_SMTP_FROM": "news@library.example"}},
		{"port", "CARREL_SMTP_PORT", map[string]string{"CARREL_SMTP_PORT": "seventy"}},
		{"tls", "CARREL_SMTP_TLS", map[string]string{"CARREL_SMTP_TLS": "ssl3"}},
		{"hour", "CARREL_DIGEST_HOUR", map[string]string{"CARREL_DIGEST_HOUR": "24"}},
		{"weekday", "CARREL_DIGEST_WEEKDAY", map[string]string{"CARREL_DIGEST_WEEKDAY": "someday"}},
		{"user without a password", "CARREL_SMTP_PASSWORD", map[string]string{"CARREL_SMTP_HOST": "smtp.library.example",
			"CARREL_SMTP_FROM": "news@library.example", "CARREL_SMTP_USERNAME": "portal"}},
		{"password in clear to another machine", "CARREL_SMTP_TLS", map[string]string{"CARREL_SMTP_HOST": "smtp.library.example",
			"CARREL_SMTP_FROM": "news@library.example", "CARREL_SMTP_USERNAME": "portal", "CARREL_SMTP_PASSWORD": "secret", "CARREL_SMTP_TLS": "none"}},
		{"unreadable password file", "CARREL_SMTP_PASSWORD_FILE", map[string]string{"CARREL_SMTP_HOST": "smtp.library.example",
			"CARREL_SMTP_FROM": "news@library.example", "CARREL_SMTP_PASSWORD_FILE": "/no/such/file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errs := carrel(t, "serve", "--demo")
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errs)
			}
			if lines := strings.Count(strings.TrimSpace(errs), "\n") + 1; lines != 1 || !strings.Contains(errs, tc.want) {
				t.Fatalf("want one line naming %s, got %q", tc.want, errs)
			}
			if strings.Contains(errs, "secret") {
				t.Fatal("the error repeats the password")
			}
		})
	}
	// Plain text to this machine's own relay is fine, and so is a password
	// kept in a file.
	isolate(t)
	pw := filepath.Join(t.TempDir(), "smtp-password")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	vals := map[string]*string{}
	for _, s := range settings {
		v := s.def
		vals[s.env] = &v
	}
	for k, v := range map[string]string{"CARREL_SMTP_HOST": "localhost", "CARREL_SMTP_FROM": "Library <news@library.example>",
		"CARREL_SMTP_TLS": "none", "CARREL_SMTP_USERNAME": "portal", "CARREL_SMTP_PASSWORD_FILE": pw, "CARREL_DIGEST_WEEKDAY": "Fri"} {
		*vals[k] = v
	}
	c, err := parseConfig(vals)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Web.Mail
	if m.Password != "s3cret" || m.Port != 0 || m.DigestHour != 8 || m.DigestWeekday != time.Friday || mailWarning(m) != "" {
		t.Fatalf("parsed %+v", m)
	}
	m.Host = "relay.internal"
	if w := mailWarning(m); !strings.Contains(w, "UNENCRYPTED") {
		t.Fatalf("plain text to another machine needs a loud warning, got %q", w)
	}
}

// TestDigestsSendDeliversTheDemoPatronsEmail runs `carrel digests send`
// against a real SMTP server on a loopback port.
func TestDigestsSendDeliversTheDemoPatronsEmail(t *testing.T) {
	isolate(t)
	t.Setenv("CARREL_DEMO", "1")
	if code, _, errs := carrel(t, "digests", "send"); code != 2 || !strings.Contains(errs, "CARREL_SMTP_HOST") {
		t.Fatalf("without SMTP: exit %d, %q", code, errs)
	}
	if code, _, errs := carrel(t, "digests"); code != 2 || !strings.Contains(errs, "usage") {
		t.Fatalf("without a subcommand: exit %d, %q", code, errs)
	}
	if code, out, errs := carrel(t, "seed"); code != 0 {
		t.Fatalf("seed: %d %q %q", code, out, errs)
	}
	srv := &cliSMTP{}
	addr := srv.start(t)
	host, port, _ := net.SplitHostPort(addr)
	t.Setenv("CARREL_SMTP_HOST", host)
	t.Setenv("CARREL_SMTP_PORT", port)
	t.Setenv("CARREL_SMTP_FROM", "Santa Monica Public Library <news@library.example>")
	t.Setenv("CARREL_SMTP_TLS", "none")
	t.Setenv("CARREL_PUBLIC_URL", "https://privacy.library.example")
	// The demo patron chose weekly notices: make today the weekly day,
	// from midnight, so their waiting notification is due now.
	t.Setenv("CARREL_TIMEZONE", "UTC")
	t.Setenv("CARREL_DIGEST_HOUR", "0")
	t.Setenv("CARREL_DIGEST_WEEKDAY", strings.ToLower(time.Now().UTC().Weekday().String()))
	code, out, errs := carrel(t, "digests", "send")
	if code != 0 || !strings.Contains(out, "Assembled 1 digest; sent 1,") {
		t.Fatalf("digests send: exit %d, %q %q", code, out, errs)
	}
	msgs := srv.all()
	if len(msgs) != 1 || msgs[0].to != "alex.demo@example.org" || !strings.Contains(msgs[0].data, "The Coastal California Garden") ||
		!strings.Contains(msgs[0].data, "https://privacy.library.example/unsubscribe/notices/") {
		t.Fatalf("accepted: %+v", msgs)
	}
	if strings.Contains(errs, "alex.demo") {
		t.Fatal("the command's log names the patron")
	}
	if code, out, _ := carrel(t, "digests", "send"); code != 0 || !strings.Contains(out, "sent 0,") || len(srv.all()) != 1 {
		t.Fatalf("second run: %d %q", code, out)
	}
	// The demo's own sent digest, and this one.
	if code, out, _ := carrel(t, "digests", "status"); code != 0 || !strings.Contains(out, "0 waiting or retrying, 2 sent, 0 given up") {
		t.Fatalf("status: %d %q", code, out)
	}
}

// cliSMTP is a minimal SMTP server that accepts everything.
type cliSMTP struct {
	mu   sync.Mutex
	msgs []cliMessage
}

type cliMessage struct{ to, data string }

func (s *cliSMTP) start(t *testing.T) string {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &cliSession{srv: s}, nil }))
	srv.Domain = "mail.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func (s *cliSMTP) all() []cliMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]cliMessage(nil), s.msgs...)
}

type cliSession struct {
	srv *cliSMTP
	to  string
}

func (c *cliSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (c *cliSession) Rcpt(to string, _ *smtp.RcptOptions) error { c.to = to; return nil }
func (c *cliSession) Reset()                                    {}
func (c *cliSession) Logout() error                             { return nil }
func (c *cliSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.srv.mu.Lock()
	c.srv.msgs = append(c.srv.msgs, cliMessage{to: c.to, data: string(b)})
	c.srv.mu.Unlock()
	return nil
}
