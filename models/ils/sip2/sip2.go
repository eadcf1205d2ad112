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

// Client is a pool of SIP2 connections. It is safe for concurrent use.
type Client struct{ cfg Config }

// New checks cfg and returns a client; it does not connect yet.
func New(cfg Config) (*Client, error) { return &Client{cfg: cfg}, errors.New("sip2: not built yet") }

// PatronInformation sends 63 Patron Information for card with pin (AA,
// AD) and returns the parsed 64 response. Errors are ErrProtocol, ErrLogin,
// timeouts and network errors, all wrapped.
func (c *Client) PatronInformation(ctx context.Context, card, pin string) (PatronInfo, error) {
	return PatronInfo{}, errors.New("sip2: not built yet")
}

// Close closes every pooled connection; later calls fail.
func (c *Client) Close() error { return nil }
