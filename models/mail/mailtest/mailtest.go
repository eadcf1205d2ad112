// Package mailtest helps the tests of code that sends email: a real SMTP
// server (emersion/go-smtp) on a loopback port, in the test process, that
// can be told to refuse or to break off, and a reader of what it received.
// Only tests import it. It may import models.
package mailtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/emersion/go-smtp"
)

// Server is the test SMTP server.
type Server struct {
	Addr string
	mu   sync.Mutex
	// mode decides how the next message fares: "" accepts it; "451 rcpt"
	// and "550 data" refuse it there; "drop" breaks the connection in the
	// middle of DATA.
	mode string
	// refuse are addresses answered 451 ("try again later") at RCPT,
	// whatever the mode.
	refuse map[string]bool
	// accepted are the messages the server took responsibility for.
	accepted []Message
	// partial are the beginnings of messages whose connection broke.
	partial [][]byte
	// delay slows every DATA, so that concurrent senders overlap.
	delay time.Duration
}

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	srv := &Server{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: srv, conn: c}, nil
	}))
	s.Domain = "mail.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return srv
}

// SetMode decides how the next messages fare (see Server.mode).
func (s *Server) SetMode(m string) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

// SetRefused answers 451 at RCPT for these addresses, and only these.
func (s *Server) SetRefused(addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = map[string]bool{}
	for _, a := range addrs {
		s.refuse[a] = true
	}
}

// SetDelay slows every DATA by d.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Reset forgets the messages and accepts again, at once (the refused
// addresses stay).
func (s *Server) Reset() {
	s.mu.Lock()
	s.mode, s.accepted, s.partial, s.delay = "", nil, nil, 0
	s.mu.Unlock()
}

// Messages are the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.accepted...)
}

// Partial are the beginnings of the messages whose connection broke.
func (s *Server) Partial() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.partial...)
}

// Port is the server's port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

type session struct {
	srv  *Server
	conn *smtp.Conn
	from string
	to   []string
}

func (ss *session) mode() string {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	return ss.srv.mode
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	refused := ss.srv.refuse[to]
	ss.srv.mu.Unlock()
	if refused || ss.mode() == "451 rcpt" {
		// Servers name the address in their refusals; it must never reach
		// the database or the logs.
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted <" + to + ">, try again later"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	switch ss.mode() {
	case "550 data":
		io.Copy(io.Discard, r)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message refused for " + strings.Join(ss.to, ",")}
	case "drop":
		head := make([]byte, 2048)
		n, _ := io.ReadFull(r, head)
		ss.srv.mu.Lock()
		ss.srv.partial = append(ss.srv.partial, head[:n])
		ss.srv.mu.Unlock()
		ss.conn.Conn().Close()
		return io.ErrUnexpectedEOF
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.srv.mu.Lock()
	delay := ss.srv.delay
	ss.srv.mu.Unlock()
	time.Sleep(delay)
	ss.srv.mu.Lock()
	ss.srv.accepted = append(ss.srv.accepted, Message{From: ss.from, To: ss.to, Data: b})
	ss.srv.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// Email is a received digest email, its parts decoded.
type Email struct {
	Header     mail.Header
	Text, HTML string
}

// ParseEmail reads a multipart/alternative email; it fails the test on
// any other kind.
func ParseEmail(t testing.TB, raw []byte) Email {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not an email: %v\n%s", err, raw)
	}
	out := Email{Header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(part)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			out.Text = string(b)
		case "text/html":
			out.HTML = string(b)
		default:
			t.Errorf("unexpected part %s", ct)
		}
	}
	return out
}

// NoticesOn links the patron's favorites and chooses notices, the way the
// /favorites page does.
func NoticesOn(t testing.TB, store *models.Store, p models.Patron, notice string) {
	t.Helper()
	ctx := context.Background()
	if _, err := store.LinkFavorites(ctx, p.ID, models.Actor{Channel: models.ChannelWeb}); err != nil {
		t.Fatal(err)
	}
	if notice != models.NoticeNone {
		if _, err := store.SetFavoritesNotice(ctx, p.ID, notice, models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
	}
}

// Notify gives the patron a new-arrival notification, now.
func Notify(t testing.TB, store *models.Store, p models.Patron, title, id string) models.Notification {
	t.Helper()
	n := models.Notification{PatronID: p.ID, Title: title, Author: "Butler, Octavia E.", Reason: "Butler, Octavia E.",
		CatalogURL: "https://catalog.example.org/record/" + id, CreatedAt: store.Now()}
	if err := store.DB.Create(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Digests are the patron's digests, oldest first.
func Digests(t testing.TB, store *models.Store, p models.Patron) []models.Digest {
	t.Helper()
	var ds []models.Digest
	if err := store.DB.Where("patron_id = ?", p.ID).Order("id").Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	return ds
}
