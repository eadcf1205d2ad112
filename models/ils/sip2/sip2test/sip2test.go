// Package sip2test is a SIP2 server for tests: it speaks 3M SIP 2.00 byte
// for byte (93/94 Login, 99/98 SC Status, 63/64 Patron Information) with
// error detection, verifies every request's checksum, answers from a map
// of patrons, and can be made to fail at run time (late, garbled, wrong
// checksum or sequence, hung, dropped, down). Its checksum code is its
// own, not the client's.
//
// In a test:
//
//	srv := sip2test.Start(t, sip2test.Config{User: "carrel", Password: "pw",
//		Patrons: map[string]sip2test.Patron{"21000000000001": {PIN: "4321", Name: "Okafor, Ngozi"}}})
//	c, err := sip2.New(srv.ClientConfig())
//	...
//	srv.SetFault(sip2test.Hang) // the ILS stops answering
package sip2test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/carrel-library/carrel/models/ils/sip2"
)

// Patron is one card the server knows.
type Patron struct {
	PIN     string
	Name    string // AE, "Surname, Given"
	Email   string // BE
	Phone   string // BF
	Address string // BD
	// Invalid makes BL=N (the ILS says the patron is not valid: expired
	// past grace, deleted, ...).
	Invalid bool
	// Status is the 14-character patron status; "" is all spaces.
	Status string
	// Identifier is the AA answered; "" answers the card as asked.
	Identifier string
	// NoPINCheck leaves CQ out of the answer, as a server that does not
	// check PINs does.
	NoPINCheck bool
}

// Config is the server's setup.
type Config struct {
	// User and Password, when User is set, must be sent in a 93 Login
	// before anything else: a wrong login gets 94 ok=0, and a request on a
	// connection that has not logged in closes it.
	User, Password string
	Institution    string // AO answered
	Patrons        map[string]Patron
	// TLS serves TLS with a self-signed certificate for 127.0.0.1;
	// ClientTLS trusts it.
	TLS bool
	// Encoding is "utf-8" (default) or "latin-1".
	Encoding string
	// CRLF ends answers with CR LF, as some servers do.
	CRLF bool
}

// Fault is how the server misbehaves, for every answer while it is set.
type Fault int

// The faults.
const (
	None          Fault = iota
	Garbage             // answer bytes that are not SIP2, ended by CR
	BadChecksum         // a right answer with a wrong AZ
	WrongSequence       // a right answer with another AY (checksum right)
	WrongCode           // an answer of another kind (24 for 64, ...), checksum right
	Truncated           // the answer's code alone, without its fixed fields, checksum right
	Hang                // never answer (and read nothing more)
	Drop                // close the connection instead of answering
	NoCR                // answer 70 KiB without the CR that ends a message, then nothing
	Twice               // send each answer twice
)

// Server is a running fake SIP2 server.
type Server struct {
	t         testing.TB
	cfg       Config
	addr      string
	tlsServer *tls.Config
	tlsClient *tls.Config

	mu        sync.Mutex
	ln        net.Listener
	conns     map[net.Conn]bool
	wg        sync.WaitGroup
	fault     Fault
	delay     time.Duration
	closing   chan struct{} // closed by Down and at cleanup
	changed   chan struct{} // closed and replaced on every count change
	logins    int
	badLogins int
	requests  map[string]int
	badChecks int
	accepted  int
}

// Start starts a server on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := &Server{t: t, cfg: cfg, conns: map[net.Conn]bool{}, requests: map[string]int{}, changed: make(chan struct{})}
	s.cfg.Patrons = map[string]Patron{}
	for card, p := range cfg.Patrons {
		s.cfg.Patrons[card] = p
	}
	if cfg.TLS {
		s.makeCert()
	}
	ln, err := s.listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("sip2test: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() {
		s.Down()
		s.wg.Wait()
	})
	return s
}

// Addr is host:port to dial.
func (s *Server) Addr() string { return s.addr }

// ClientTLS is a client configuration that trusts the server's
// certificate (nil without TLS).
func (s *Server) ClientTLS() *tls.Config {
	if s.tlsClient == nil {
		return nil
	}
	return s.tlsClient.Clone()
}

// ClientConfig is a client configuration for this server: its address,
// login, institution, encoding and, with TLS, trust in its certificate.
// Timeouts, pool size and keep-alive are left to the client's defaults.
func (s *Server) ClientConfig() sip2.Config {
	return sip2.Config{
		Addr: s.addr, User: s.cfg.User, Password: s.cfg.Password, Institution: s.cfg.Institution,
		Encoding: s.cfg.Encoding, TLS: s.cfg.TLS, TLSConfig: s.ClientTLS(),
	}
}

// SetFault makes every later answer misbehave so (None: behave).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// SetPatron adds or changes a card while the server runs (the ILS's
// staff edited the patron).
func (s *Server) SetPatron(card string, p Patron) {
	s.mu.Lock()
	s.cfg.Patrons[card] = p
	s.mu.Unlock()
}

// RemovePatron deletes a card: it is unknown from then on.
func (s *Server) RemovePatron(card string) {
	s.mu.Lock()
	delete(s.cfg.Patrons, card)
	s.mu.Unlock()
}

// SetDelay makes every later answer wait d first.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Down closes the listener and every connection, as an ILS that stops.
func (s *Server) Down() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
		close(s.closing)
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// Up listens again on the same address after Down.
func (s *Server) Up() {
	s.t.Helper()
	ln, err := s.listen(s.addr)
	if err != nil {
		s.t.Fatalf("sip2test: listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// CloseConnections closes every open connection but keeps listening, as
// an ILS that drops idle clients.
func (s *Server) CloseConnections() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// Connections is how many connections the server has accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Logins is how many 93 Logins succeeded.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// BadLogins is how many 93 Logins were refused.
func (s *Server) BadLogins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badLogins
}

// Requests is how many requests with a good checksum of that kind ("93",
// "99", "63") arrived.
func (s *Server) Requests(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[code]
}

// BadChecksums is how many requests failed their checksum (or had
// none); each was answered 96 Request SC Resend.
func (s *Server) BadChecksums() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badChecks
}

// WaitRequests waits until Requests(code) reaches n, failing the test
// when it has not within 10 seconds.
func (s *Server) WaitRequests(t testing.TB, code string, n int) {
	t.Helper()
	s.Wait(t, fmt.Sprintf("%d requests %s", n, code), func() bool { return s.Requests(code) >= n })
}

// Wait waits until cond holds, checking it at every change of the
// server's counters; it fails the test when cond has not held within 10
// seconds (a bound against hanging, not a timing).
func (s *Server) Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-limit:
			t.Fatalf("sip2test: still waiting for %s", what)
		}
	}
}

// bump changes a counter under s.mu and wakes Wait.
func (s *Server) bump(f func()) {
	s.mu.Lock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Server) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if s.tlsServer != nil {
		ln = tls.NewListener(ln, s.tlsServer)
	}
	return ln, nil
}

func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.closing = make(chan struct{})
	closing := s.closing
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			select {
			case <-closing:
				s.mu.Unlock()
				c.Close()
				return
			default:
			}
			s.conns[c] = true
			s.wg.Add(1)
			s.mu.Unlock()
			s.bump(func() { s.accepted++ })
			go s.handle(c, closing)
		}
	}()
}

// handle answers one connection's requests in order.
func (s *Server) handle(c net.Conn, closing chan struct{}) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	loggedIn := s.cfg.User == ""
	for {
		req, err := readMessage(br)
		if err != nil {
			return
		}
		seq, body, ok := verify(req)
		if !ok {
			s.bump(func() { s.badChecks++ })
			if _, err := c.Write(withChecksum("96")); err != nil {
				return
			}
			continue
		}
		// The fault is fixed before the request is counted, so a test
		// that waits for the count and then changes the fault does not
		// change this answer.
		s.mu.Lock()
		fault, delay := s.fault, s.delay
		s.mu.Unlock()
		code := string(body[:2])
		s.bump(func() { s.requests[code]++ })
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-closing:
				return
			}
		}
		switch fault {
		case Hang:
			io.Copy(io.Discard, c)
			return
		case Drop:
			return
		case NoCR:
			c.Write([]byte(strings.Repeat("64", 35<<10)))
			io.Copy(io.Discard, c)
			return
		}

		var resp string
		switch code {
		case "93":
			if s.login(body) {
				loggedIn = true
				resp = "941"
			} else {
				resp = "940"
			}
		case "99":
			if !loggedIn {
				return
			}
			resp = s.acsStatus()
		case "63":
			if !loggedIn {
				return
			}
			resp = s.patronInfo(body)
		default:
			resp = "96"
		}
		out, ok := s.answer(resp, seq, fault)
		if !ok {
			return
		}
		if s.cfg.CRLF {
			out = append(out, '\n')
		}
		if fault == Twice {
			out = append(out, out...)
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// answer encodes resp and adds error detection, misbehaving as fault says.
func (s *Server) answer(resp string, seq int, fault Fault) ([]byte, bool) {
	switch fault {
	case Garbage:
		return []byte("\x00\xffHTTP/1.1 400 Bad Request <html>\r"), true
	case WrongSequence:
		seq = (seq + 1) % 10
	case WrongCode:
		resp = wrongCode(resp[:2]) + resp[2:]
	case Truncated:
		resp = resp[:2]
	}
	b := s.encode(resp)
	if resp == "96" {
		return withChecksum("96"), true
	}
	b = append(b, fmt.Sprintf("AY%dAZ", seq)...)
	sum := sip2Sum(b)
	if fault == BadChecksum {
		sum = (sum + 1) & 0xffff
	}
	b = append(b, fmt.Sprintf("%04X\r", sum)...)
	return b, true
}

func wrongCode(code string) string {
	switch code {
	case "64":
		return "24" // Patron Status Response
	case "94":
		return "98"
	}
	return "64"
}

// login checks a 93 body: "93" UID algorithm, PWD algorithm, CN, CO, CP.
func (s *Server) login(body []byte) bool {
	ok := false
	if len(body) >= 4 {
		f := fields(s.decode(body[4:]))
		ok = s.cfg.User == "" || f["CN"] == s.cfg.User && f["CO"] == s.cfg.Password
	}
	s.bump(func() {
		if ok {
			s.logins++
		} else {
			s.badLogins++
		}
	})
	return ok
}

func (s *Server) acsStatus() string {
	return "98" + "YYYNNN" + "005" + "003" + time.Now().Format("20060102    150405") + "2.00" +
		"AO" + s.cfg.Institution + "|AMCarrel test library|BXYYYYYYYYYYYYYYYY|"
}

// patronInfo answers a 63 body: "63" language(3) date(18) summary(10),
// then AO, AA, AC, AD.
func (s *Server) patronInfo(body []byte) string {
	const fixed = 2 + 3 + 18 + 10
	if len(body) < fixed {
		return "96"
	}
	f := fields(s.decode(body[fixed:]))
	card := f["AA"]
	s.mu.Lock()
	p, known := s.cfg.Patrons[card]
	s.mu.Unlock()
	status := strings.Repeat(" ", 14)
	if known && p.Status != "" {
		status = (p.Status + status)[:14]
	}
	var b strings.Builder
	b.WriteString("64" + status + "001" + time.Now().Format("20060102    150405"))
	b.WriteString("0000" + "0000" + "0000" + "0000" + "0000" + "0000")
	b.WriteString("AO" + s.cfg.Institution + "|")
	aa := card
	if known && p.Identifier != "" {
		aa = p.Identifier
	}
	b.WriteString("AA" + aa + "|")
	if !known {
		b.WriteString("AE|BLN|CQN|AFUnknown patron|")
		return b.String()
	}
	b.WriteString("AE" + p.Name + "|")
	b.WriteString("BL" + yn(!p.Invalid) + "|")
	if !p.NoPINCheck {
		_, sent := f["AD"]
		b.WriteString("CQ" + yn(sent && f["AD"] == p.PIN) + "|")
	}
	b.WriteString("BHUSD|BV0.00|CC5|")
	b.WriteString("BE" + p.Email + "|BF" + p.Phone + "|BD" + p.Address + "|")
	b.WriteString("AFGreetings from the test library|")
	return b.String()
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// fields reads a variable part: two-letter code, value, "|". The first
// of a repeated code wins.
func fields(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, "|") {
		if len(part) < 2 {
			continue
		}
		if _, ok := out[part[:2]]; !ok {
			out[part[:2]] = part[2:]
		}
	}
	return out
}

// readMessage reads up to and without the CR, skipping an LF before it.
func readMessage(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadBytes('\r')
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	for len(line) > 0 && line[0] == '\n' {
		line = line[1:]
	}
	if len(line) > 64<<10 {
		return nil, io.ErrShortBuffer
	}
	return line, nil
}

// sip2Sum is the SIP2 checksum: the sum of the bytes, negated, in 16
// bits (written here apart from the client's).
func sip2Sum(b []byte) int {
	total := 0
	for _, c := range b {
		total += int(c)
	}
	return (0x10000 - total%0x10000) % 0x10000
}

// verify checks a request's AY<seq>AZ<checksum> ending and returns the
// sequence number and the message before AY.
func verify(req []byte) (int, []byte, bool) {
	n := len(req)
	if n < 2+9 || string(req[n-9:n-7]) != "AY" || string(req[n-6:n-4]) != "AZ" {
		return 0, nil, false
	}
	seq := int(req[n-7]) - '0'
	if seq < 0 || seq > 9 {
		return 0, nil, false
	}
	var sum int
	if _, err := fmt.Sscanf(string(req[n-4:]), "%04X", &sum); err != nil {
		return 0, nil, false
	}
	if sip2Sum(req[:n-4]) != sum {
		return 0, nil, false
	}
	return seq, req[:n-9], true
}

// withChecksum ends msg with AZ and its checksum (96, which has no
// sequence number).
func withChecksum(msg string) []byte {
	b := []byte(msg + "AZ")
	return append(b, fmt.Sprintf("%04X\r", sip2Sum(b))...)
}

func (s *Server) latin1() bool {
	switch strings.ToLower(s.cfg.Encoding) {
	case "latin-1", "latin1", "iso-8859-1":
		return true
	}
	return false
}

func (s *Server) encode(str string) []byte {
	if !s.latin1() {
		return []byte(str)
	}
	b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(str))
	if err != nil {
		s.t.Errorf("sip2test: %q cannot be written in latin-1", str)
		return []byte(str)
	}
	return b
}

func (s *Server) decode(b []byte) string {
	if !s.latin1() {
		return string(b)
	}
	out, _ := charmap.ISO8859_1.NewDecoder().Bytes(b)
	return string(out)
}

// makeCert makes a self-signed certificate for 127.0.0.1.
func (s *Server) makeCert() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sip2test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		s.t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	s.tlsServer = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	s.tlsClient = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
