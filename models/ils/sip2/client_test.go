package sip2_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models/ils/sip2"
	"github.com/carrel-library/carrel/models/ils/sip2/sip2test"
)

const (
	goodCard = "21000000000001"
	goodPIN  = "4321"
)

func serverConfig() sip2test.Config {
	return sip2test.Config{
		User: "carrel", Password: "s1p-secret", Institution: "CPL",
		Patrons: map[string]sip2test.Patron{
			goodCard:         {PIN: goodPIN, Name: "Okafor, Ngozi", Email: "ngozi@example.org", Phone: "555-0100", Address: "12 Elm Street"},
			"21000000000002": {PIN: "1111", Name: "Lindqvist, Bo", Invalid: true},
		},
	}
}

func newClient(t *testing.T, srv *sip2test.Server, edit func(*sip2.Config)) *sip2.Client {
	t.Helper()
	cfg := sip2.Config{
		Addr: srv.Addr(), User: "carrel", Password: "s1p-secret", Institution: "CPL", Location: "MAIN",
		ResponseTimeout: 2 * time.Second, ConnectTimeout: 2 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := sip2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPatronInformation(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, nil)
	ctx := context.Background()

	p, err := c.PatronInformation(ctx, goodCard, goodPIN)
	if err != nil {
		t.Fatal(err)
	}
	if !p.ValidPatron || !p.ValidPassword || p.Identifier != goodCard || p.Name != "Okafor, Ngozi" ||
		p.Email != "ngozi@example.org" || p.Phone != "555-0100" || p.Address != "12 Elm Street" || p.Institution != "CPL" {
		t.Errorf("good card and PIN: %+v", p)
	}
	if srv.Logins() != 1 || srv.Requests("93") != 1 || srv.Requests("99") != 1 || srv.Requests("63") != 1 {
		t.Errorf("a new connection should log in, ask 99 once, then 63: logins %d, 93 %d, 99 %d, 63 %d",
			srv.Logins(), srv.Requests("93"), srv.Requests("99"), srv.Requests("63"))
	}

	p, err = c.PatronInformation(ctx, goodCard, "0000")
	if err != nil || !p.ValidPatron || p.ValidPassword {
		t.Errorf("wrong PIN: %+v, %v; want BL=Y CQ=N", p, err)
	}
	p, err = c.PatronInformation(ctx, "29999999999999", goodPIN)
	if err != nil || p.ValidPatron || p.ValidPassword || !p.HasValidPatron {
		t.Errorf("unknown card: %+v, %v; want BL=N CQ=N", p, err)
	}
	p, err = c.PatronInformation(ctx, "21000000000002", "1111")
	if err != nil || p.ValidPatron {
		t.Errorf("invalid patron: %+v, %v; want BL=N", p, err)
	}
	if srv.Connections() != 1 || srv.BadChecksums() != 0 {
		t.Errorf("four calls in a row: %d connections (want 1), %d bad checksums", srv.Connections(), srv.BadChecksums())
	}
}

// Card and PIN can hold nothing that would add a field to the request.
func TestFieldInjectionRefused(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, nil)
	for _, card := range []string{"1|AD4321", "1\rAD", "1\x00"} {
		if _, err := c.PatronInformation(context.Background(), card, "x"); !errors.Is(err, sip2.ErrBadInput) {
			t.Errorf("card %q: %v, want ErrBadInput", card, err)
		}
	}
	if _, err := c.PatronInformation(context.Background(), goodCard, "1|CQY"); !errors.Is(err, sip2.ErrBadInput) {
		t.Errorf("PIN with |: %v, want ErrBadInput", err)
	}
	if srv.Connections() != 0 {
		t.Errorf("nothing should have been sent, the server saw %d connections", srv.Connections())
	}
	if _, err := sip2.New(sip2.Config{Addr: srv.Addr(), Institution: "CPL|AAx"}); err == nil {
		t.Error("an institution with | was accepted")
	}
}

func TestLoginRefused(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.Password = "wrong" })
	_, err := c.PatronInformation(context.Background(), goodCard, goodPIN)
	if !errors.Is(err, sip2.ErrLogin) {
		t.Fatalf("err = %v, want ErrLogin", err)
	}
	if srv.BadLogins() != 1 || srv.Requests("63") != 0 {
		t.Errorf("bad logins %d, 63s %d: the patron must not be asked on a connection refused its login", srv.BadLogins(), srv.Requests("63"))
	}
	if strings.Contains(err.Error(), goodCard) || strings.Contains(err.Error(), goodPIN) {
		t.Errorf("error %q holds the card or PIN", err)
	}
}

// A server that wants a login and gets none closes the connection: an
// error, never a patron.
func TestNoLoginConfigured(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.User = "" })
	if p, err := c.PatronInformation(context.Background(), goodCard, goodPIN); err == nil || p.ValidPatron {
		t.Fatalf("got %+v, %v; want an error", p, err)
	}
}

// Every kind of wrong answer is ErrProtocol, holds no card or PIN, and
// the connection that gave it is dropped: the next call, with the server
// behaving again, works on a new one.
func TestWrongAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault sip2test.Fault
	}{
		{"garbage", sip2test.Garbage},
		{"bad checksum", sip2test.BadChecksum},
		{"wrong sequence", sip2test.WrongSequence},
		{"wrong message code", sip2test.WrongCode},
		{"truncated fixed fields", sip2test.Truncated},
		{"no CR within 64 KiB", sip2test.NoCR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sip2test.Start(t, serverConfig())
			c := newClient(t, srv, nil)
			ctx := context.Background()
			if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
				t.Fatal(err)
			}
			srv.SetFault(tc.fault)
			p, err := c.PatronInformation(ctx, goodCard, goodPIN)
			if !errors.Is(err, sip2.ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
			if p.ValidPatron || p.ValidPassword || p.Name != "" {
				t.Errorf("a wrong answer gave a patron: %+v", p)
			}
			if msg := err.Error(); strings.Contains(msg, goodCard) || strings.Contains(msg, goodPIN) || strings.Contains(msg, "Okafor") {
				t.Errorf("error %q holds personal data", msg)
			}
			srv.SetFault(sip2test.None)
			if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
			if srv.Connections() != 2 {
				t.Errorf("%d connections, want 2: the one that answered wrong must be dropped", srv.Connections())
			}
		})
	}
}

// A server that never answers costs ResponseTimeout, then an error.
func TestResponseTimeout(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.ResponseTimeout = 200 * time.Millisecond })
	ctx := context.Background()
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	srv.SetFault(sip2test.Hang)
	p, err := c.PatronInformation(ctx, goodCard, goodPIN)
	if err == nil || p.ValidPatron {
		t.Fatalf("hung server: %+v, %v; want an error", p, err)
	}
	if errors.Is(err, sip2.ErrProtocol) {
		t.Errorf("a timeout reported as a protocol error: %v", err)
	}
}

// A late answer is never taken for the answer to the next request.
func TestLateAnswerDropped(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.ResponseTimeout = 200 * time.Millisecond })
	ctx := context.Background()
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	srv.SetDelay(time.Second)
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err == nil {
		t.Fatal("a late answer was accepted")
	}
	srv.SetDelay(0)
	p, err := c.PatronInformation(ctx, "29999999999999", "0")
	if err != nil || p.ValidPatron || p.Identifier != "29999999999999" {
		t.Fatalf("next call: %+v, %v; want the unknown card's own answer", p, err)
	}
}

func TestContextCancel(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.ResponseTimeout = time.Minute })
	if _, err := c.PatronInformation(context.Background(), goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	srv.SetFault(sip2test.Hang)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.PatronInformation(ctx, goodCard, goodPIN)
		done <- err
	}()
	srv.WaitRequests(t, "63", 2)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// The ILS restarts: the pooled connection is dead, calls fail while it
// is down, and work again on a new connection once it is back.
func TestServerRestart(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, nil)
	ctx := context.Background()
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	srv.Down()
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err == nil {
		t.Fatal("the server is down, yet a call worked")
	}
	srv.Up()
	p, err := c.PatronInformation(ctx, goodCard, goodPIN)
	if err != nil || !p.ValidPassword {
		t.Fatalf("after restart: %+v, %v", p, err)
	}
	if srv.Logins() != 2 {
		t.Errorf("%d logins, want 2 (the new connection logs in)", srv.Logins())
	}
}

// An idle connection the server closed is replaced once, unseen by the
// caller.
func TestStaleConnectionRetried(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, nil)
	ctx := context.Background()
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	srv.CloseConnections()
	p, err := c.PatronInformation(ctx, goodCard, goodPIN)
	if err != nil || !p.ValidPassword {
		t.Fatalf("after the server dropped the idle connection: %+v, %v", p, err)
	}
	if srv.Connections() != 2 {
		t.Errorf("%d connections, want 2", srv.Connections())
	}
}

// Idle connections send 99 SC Status every KeepAlive; one that fails it
// is dropped and the next call opens a new one.
func TestKeepAlive(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.KeepAlive = 20 * time.Millisecond })
	ctx := context.Background()
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	n := srv.Requests("99")
	srv.WaitRequests(t, "99", n+3)
	if srv.Connections() != 1 {
		t.Errorf("keep-alive opened connections: %d", srv.Connections())
	}

	srv.SetFault(sip2test.Garbage)
	n = srv.Requests("99")
	srv.WaitRequests(t, "99", n+1)
	srv.SetFault(sip2test.None)
	if _, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	if srv.Connections() < 2 {
		t.Errorf("the connection that failed its keep-alive was kept")
	}
}

// Many callers share PoolSize connections.
func TestConcurrentCalls(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.PoolSize = 3 })
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				card, pin, want := goodCard, goodPIN, true
				if (g+i)%2 == 1 {
					pin, want = "0000", false
				}
				p, err := c.PatronInformation(context.Background(), card, pin)
				if err != nil {
					errs <- err
					return
				}
				if p.ValidPassword != want {
					errs <- fmt.Errorf("caller %d call %d: CQ=%v, want %v", g, i, p.ValidPassword, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if srv.Requests("63") != 100 {
		t.Errorf("%d 63s, want 100", srv.Requests("63"))
	}
	if n := srv.Connections(); n > 3 || n < 1 {
		t.Errorf("%d connections, want at most PoolSize 3", n)
	}
}

func TestLatin1(t *testing.T) {
	cfg := serverConfig()
	cfg.Encoding = "latin-1"
	cfg.Patrons["21000000000003"] = sip2test.Patron{PIN: "pâté", Name: "Müller, Zoë", Address: "Straße 5"}
	srv := sip2test.Start(t, cfg)
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.Encoding = "latin-1" })
	p, err := c.PatronInformation(context.Background(), "21000000000003", "pâté")
	if err != nil {
		t.Fatal(err)
	}
	if !p.ValidPassword || p.Name != "Müller, Zoë" || p.Address != "Straße 5" {
		t.Errorf("latin-1: %+v", p)
	}
}

func TestTLS(t *testing.T) {
	cfg := serverConfig()
	cfg.TLS = true
	srv := sip2test.Start(t, cfg)
	c := newClient(t, srv, func(cfg *sip2.Config) { cfg.TLS = true; cfg.TLSConfig = srv.ClientTLS() })
	p, err := c.PatronInformation(context.Background(), goodCard, goodPIN)
	if err != nil || !p.ValidPassword {
		t.Fatalf("over TLS: %+v, %v", p, err)
	}

	// A client that does not trust the server's certificate sends nothing.
	untrusting := newClient(t, srv, func(cfg *sip2.Config) { cfg.TLS = true })
	if _, err := untrusting.PatronInformation(context.Background(), goodCard, goodPIN); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	// Plain text against a TLS server is an error too.
	plain := newClient(t, srv, nil)
	if _, err := plain.PatronInformation(context.Background(), goodCard, goodPIN); err == nil {
		t.Fatal("plain text to a TLS server worked")
	}
	if srv.Requests("63") != 1 {
		t.Errorf("%d 63s reached the server, want 1", srv.Requests("63"))
	}
}

func TestClose(t *testing.T) {
	srv := sip2test.Start(t, serverConfig())
	c := newClient(t, srv, nil)
	if _, err := c.PatronInformation(context.Background(), goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.PatronInformation(context.Background(), goodCard, goodPIN); !errors.Is(err, sip2.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// Ping asks 99 SC Status; the server's ClientConfig (here with TLS) is
// all a client needs.
func TestPing(t *testing.T) {
	cfg := serverConfig()
	cfg.TLS = true
	srv := sip2test.Start(t, cfg)
	c, err := sip2.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	online, err := c.Ping(context.Background())
	if err != nil || !online {
		t.Fatalf("Ping = %v, %v", online, err)
	}
}

// A server that ends answers with CR LF works; one that sends an answer
// twice never makes the copy pass for the next card's answer.
func TestStrayBytes(t *testing.T) {
	cfg := serverConfig()
	cfg.CRLF = true
	srv := sip2test.Start(t, cfg)
	c := newClient(t, srv, nil)
	ctx := context.Background()
	for range 3 {
		if p, err := c.PatronInformation(ctx, goodCard, goodPIN); err != nil || !p.ValidPassword {
			t.Fatalf("CR LF server: %+v, %v", p, err)
		}
	}

	srv2 := sip2test.Start(t, serverConfig())
	c2 := newClient(t, srv2, nil)
	if _, err := c2.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	srv2.SetFault(sip2test.Twice)
	if _, err := c2.PatronInformation(ctx, goodCard, goodPIN); err != nil {
		t.Fatal(err)
	}
	srv2.SetFault(sip2test.None)
	p, err := c2.PatronInformation(ctx, "29999999999999", "0")
	if err == nil && (p.Identifier != "29999999999999" || p.ValidPatron) {
		t.Fatalf("the repeated answer about another card was taken: %+v", p)
	}
	if err != nil && !errors.Is(err, sip2.ErrProtocol) {
		t.Fatalf("err = %v, want ErrProtocol or the right answer", err)
	}
}
