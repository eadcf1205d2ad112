// Package sip2 is a client of the 3M Standard Interchange Protocol 2.00,
// which every ILS speaks: a pool of connections that log in (93), keep
// alive (99 SC Status) and reconnect, and ask 63 Patron Information. Every
// request carries error detection (AY sequence number, AZ checksum) and
// every response's is checked; a garbled or unexpected answer is an
// error, never a patron.
package sip2

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Config is how to reach the ILS's SIP2 server.
type Config struct {
	Addr string // host:port
	// TLS wraps the connection in TLS (CARREL_SIP2_TLS=tls); TLSConfig,
	// when set, is used for it (tests: a private CA).
	TLS       bool
	TLSConfig *tls.Config
	// User and Password, when User is set, log each connection in (93).
	User     string
	Password string
	// Institution is AO, Location is CP (in the login), TerminalPassword
	// is AC (optional).
	Institution      string
	Location         string
	TerminalPassword string
	// Encoding is "utf-8" (default) or "latin-1".
	Encoding string
	// ConnectTimeout (default 3 s) bounds dialling, TLS and login;
	// ResponseTimeout (default 5 s) each answer.
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration
	// PoolSize is how many connections are kept open at most (default 4).
	PoolSize int
	// KeepAlive is how often an idle connection sends 99 SC Status
	// (default 60 s); a connection that fails it is closed.
	KeepAlive time.Duration
}

// PatronInfo is what a 64 Patron Information Response says of a patron.
type PatronInfo struct {
	// Status is the 14-character patron status field (Y = that
	// privilege is denied: charge, renew, recall, hold, card reported
	// lost, too many items, ...).
	Status         string
	Language       string
	Institution    string   // AO
	Identifier     string   // AA
	Name           string   // AE, as the ILS writes it ("Surname, Given")
	Email          string   // BE
	Phone          string   // BF
	Address        string   // BD
	ValidPatron    bool     // BL=Y
	ValidPassword  bool     // CQ=Y
	HasValidPatron bool     // BL was present
	HasValidPIN    bool     // CQ was present
	ScreenMessages []string // AF
}

// ErrProtocol is a response that is garbled, fails its checksum, has the
// wrong sequence number or is not the answer asked for.
var ErrProtocol = errors.New("sip2: unexpected or garbled response")

// ErrLogin is a 94 Login Response with ok = 0.
var ErrLogin = errors.New("sip2: the server refused the login")

// ErrClosed is any call after Close.
var ErrClosed = errors.New("sip2: client closed")

// Client is a pool of SIP2 connections. It is safe for concurrent use.
//
// A call takes one of PoolSize slots, then an idle connection or a new
// one (dial, TLS, 93 Login, 99 SC Status), and gives the connection back
// after a good exchange; a connection that fails any exchange is closed.
// A pooled connection the server closed while it was idle is replaced
// once, transparently: every request the client sends only reads.
type Client struct {
	cfg   Config
	codec codec
	tls   *tls.Config // nil without TLS

	slots chan struct{} // one token per connection in use
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{} // the keep-alive goroutine has ended

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

// New checks cfg and returns a client; it does not connect yet. It
// starts the keep-alive goroutine, which Close stops.
func New(cfg Config) (*Client, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || cfg.Addr == "" {
		return nil, fmt.Errorf("sip2: address %q: want host:port", cfg.Addr)
	}
	cd, err := newCodec(cfg.Encoding)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]string{
		"user": cfg.User, "password": cfg.Password, "institution": cfg.Institution,
		"location": cfg.Location, "terminal password": cfg.TerminalPassword,
	} {
		if checkField(v) != nil {
			return nil, fmt.Errorf("sip2: the %s holds a \"|\" or a control character", name)
		}
		if _, err := cd.encode(v); err != nil {
			return nil, fmt.Errorf("sip2: the %s cannot be written in %s", name, cfg.Encoding)
		}
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 3 * time.Second
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 5 * time.Second
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 60 * time.Second
	}
	c := &Client{cfg: cfg, codec: cd, slots: make(chan struct{}, cfg.PoolSize), done: make(chan struct{})}
	if cfg.TLS {
		tc := &tls.Config{}
		if cfg.TLSConfig != nil {
			tc = cfg.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = host
		}
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12
		}
		c.tls = tc
	}
	c.ctx, c.stop = context.WithCancel(context.Background())
	go c.keepAlive()
	return c, nil
}

// PatronInformation sends 63 Patron Information for card with pin (AA,
// AD) and returns the parsed 64 response. Errors are ErrProtocol, ErrLogin,
// timeouts and network errors, all wrapped; ErrBadInput when card or pin
// cannot be put in a SIP2 field. No error holds the card or the PIN.
func (c *Client) PatronInformation(ctx context.Context, card, pin string) (PatronInfo, error) {
	if checkField(card) != nil || checkField(pin) != nil {
		return PatronInfo{}, ErrBadInput
	}
	body, err := c.codec.encode(patronInfoBody(time.Now(), c.cfg.Institution, card, c.cfg.TerminalPassword, pin))
	if err != nil {
		return PatronInfo{}, ErrBadInput
	}
	var p PatronInfo
	err = c.do(ctx, body, "64", func(resp []byte) (err error) {
		p, err = parsePatronInfo(resp, c.codec)
		return err
	})
	if err != nil {
		return PatronInfo{}, fmt.Errorf("sip2 patron information: %w", err)
	}
	return p, nil
}

// Ping sends 99 SC Status on a pooled connection (making one if none is
// idle) and reports whether the ACS answered that it is on line.
func (c *Client) Ping(ctx context.Context) (online bool, err error) {
	err = c.do(ctx, []byte(scStatusBody()), "98", func(resp []byte) (err error) {
		online, err = parseACSStatus(resp)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sip2 sc status: %w", err)
	}
	return online, nil
}

// Close closes every pooled connection and stops the keep-alive; later
// calls fail with ErrClosed. A call in flight finishes, and its
// connection is closed after it.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	c.stop()
	<-c.done
	for _, cn := range idle {
		cn.close()
	}
	return nil
}

// do sends body on a pooled connection and hands the checked answer
// want, without its error-detection fields, to parse. A connection whose
// answer parse refuses is dropped like any other that failed.
func (c *Client) do(ctx context.Context, body []byte, want string, parse func([]byte) error) error {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return ErrClosed
	}
	defer func() { <-c.slots }()

	cn, reused, err := c.get(ctx)
	if err != nil {
		return err
	}
	resp, stale, err := cn.exchange(ctx, body, want, c.cfg.ResponseTimeout)
	if err != nil && stale && reused {
		// The server closed this idle connection (restart, its own idle
		// timeout): try once on a new one.
		cn.close()
		if cn, err = c.dial(ctx); err != nil {
			return err
		}
		resp, _, err = cn.exchange(ctx, body, want, c.cfg.ResponseTimeout)
	}
	if err == nil {
		err = parse(resp)
	}
	if err != nil {
		cn.close()
		return err
	}
	c.put(cn)
	return nil
}

// get takes the most recently used idle connection, or dials one.
func (c *Client) get(ctx context.Context) (cn *conn, reused bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		cn = c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, true, nil
	}
	c.mu.Unlock()
	cn, err = c.dial(ctx)
	return cn, false, err
}

// put gives a connection that just answered well back to the pool.
func (c *Client) put(cn *conn) {
	cn.lastUsed = time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.close()
		return
	}
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}

// takeIdleSince takes the longest-idle connection unused since cutoff.
func (c *Client) takeIdleSince(cutoff time.Time) *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, cn := range c.idle {
		if !cn.lastUsed.After(cutoff) {
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
			return cn
		}
	}
	return nil
}

// keepAlive sends 99 SC Status on every connection idle for KeepAlive,
// so that neither the ILS nor a firewall drops it, and drops those that
// fail.
func (c *Client) keepAlive() {
	defer close(c.done)
	tick := time.NewTicker(max(c.cfg.KeepAlive/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
		c.pingIdle(time.Now().Add(-c.cfg.KeepAlive))
	}
}

// pingIdle sends 99 on each connection idle since cutoff, while a slot
// is free (when every slot is in use, no connection is idle).
func (c *Client) pingIdle(cutoff time.Time) {
	for {
		select {
		case c.slots <- struct{}{}:
		default:
			return
		}
		cn := c.takeIdleSince(cutoff)
		if cn == nil {
			<-c.slots
			return
		}
		resp, _, err := cn.exchange(c.ctx, []byte(scStatusBody()), "98", c.cfg.ResponseTimeout)
		if err == nil {
			_, err = parseACSStatus(resp)
		}
		if err != nil {
			cn.close()
		} else {
			c.put(cn)
		}
		<-c.slots
	}
}
