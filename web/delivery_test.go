package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/web"
	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on a loopback port,
// in the test process, that can be told to refuse or to break off.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	// mode decides how the next message fares: "" accepts it; "451 rcpt"
	// and "550 data" refuse it there; "drop" breaks the connection in the
	// middle of DATA.
	mode string
	// accepted are the messages the server took responsibility for.
	accepted []received
	// partial are the beginnings of messages whose connection broke.
	partial [][]byte
	// delay slows every DATA, so that concurrent senders overlap.
	delay time.Duration
}

type received struct {
	from string
	to   []string
	data []byte
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	srv := &smtpServer{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: srv, conn: c}, nil
	}))
	s.Domain = "mail.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return srv
}

func (s *smtpServer) setMode(m string) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

func (s *smtpServer) reset() {
	s.mu.Lock()
	s.mode, s.accepted, s.partial, s.delay = "", nil, nil, 0
	s.mu.Unlock()
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.accepted...)
}

func (s *smtpServer) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	from string
	to   []string
}

func (ss *smtpSession) mode() string {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	return ss.srv.mode
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.mode() == "451 rcpt" {
		// Servers name the address in their refusals; it must never reach
		// the database or the logs.
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted <" + to + ">, try again later"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
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
	ss.srv.accepted = append(ss.srv.accepted, received{from: ss.from, to: ss.to, data: b})
	ss.srv.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// portal is the public address the test portal writes into emails: HTTPS,
// so RFC 8058's one-click header is sent.
const portal = "https://portal.example"

func mailConfig(srv *smtpServer) web.Config {
	cfg := demoConfig()
	cfg.PublicURL = portal
	cfg.LibraryName = "Test Library"
	cfg.Mail = web.MailConfig{Host: "127.0.0.1", Port: srv.port(), From: "Test Library <news@library.example>",
		TLS: "none", DigestHour: 8, DigestWeekday: time.Friday} // testNow is a Friday, 18:00 UTC
	return cfg
}

// deliverer is a sender over the app's store, logging into logs.
func deliverer(a *app, cfg web.Config, logs io.Writer) *web.Deliverer {
	d := web.NewDeliverer(a.store, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	d.Timeout = 10 * time.Second
	return d
}

// noticesOn links the patron's favorites and chooses notices, the way the
// /favorites page does.
func noticesOn(t *testing.T, a *app, p models.Patron, notice string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.store.LinkFavorites(ctx, p.ID, models.Actor{Channel: models.ChannelWeb}); err != nil {
		t.Fatal(err)
	}
	if notice != models.NoticeNone {
		if _, err := a.store.SetFavoritesNotice(ctx, p.ID, notice, models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
	}
}

func notify(t *testing.T, a *app, p models.Patron, title, id string) models.Notification {
	t.Helper()
	n := models.Notification{PatronID: p.ID, Title: title, Author: "Butler, Octavia E.", Reason: "Butler, Octavia E.",
		CatalogURL: "https://catalog.example.org/record/" + id, CreatedAt: a.store.Now()}
	if err := a.store.DB.Create(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func run(t *testing.T, d *web.Deliverer) web.DeliveryReport {
	t.Helper()
	rep, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v (%s)", err, rep)
	}
	return rep
}

func digestRows(t *testing.T, a *app, p models.Patron) []models.Digest {
	t.Helper()
	var ds []models.Digest
	if err := a.store.DB.Where("patron_id = ?", p.ID).Order("id").Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	return ds
}

// parsedEmail is a received message, its parts decoded.
type parsedEmail struct {
	header     mail.Header
	text, html string
}

func parseEmail(t *testing.T, raw []byte) parsedEmail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not an email: %v\n%s", err, raw)
	}
	out := parsedEmail{header: m.Header}
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
			out.text = string(b)
		case "text/html":
			out.html = string(b)
		default:
			t.Errorf("unexpected part %s", ct)
		}
	}
	return out
}

var anyURL = regexp.MustCompile(`(?i)\b(?:https?|ftp)://[^\s"'<>]+`)

func TestDigestEmailIsDeliveredOnce(t *testing.T) {
	srv := startSMTP(t)
	cfg := mailConfig(srv)
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.reset()
		var logs syncBuffer
		d := deliverer(a, cfg, &logs)
		p := a.patron(card, pin, "Rosa", "Parks")
		noticesOn(t, a, p, models.NoticeDaily)
		catalog := map[string]bool{}
		for i, title := range []string{"Kindred", "Fledgling & Other Stories", "Parable of the Sower"} {
			n := notify(t, a, p, title, fmt.Sprintf("b%d?lang=en&x=1", i))
			catalog[n.CatalogURL] = true
		}
		rep := run(t, d)
		if rep.Assembled != 1 || rep.Sent != 1 || rep.Retrying+rep.Failed+rep.Withdrawn != 0 {
			t.Fatalf("first pass: %s", rep)
		}
		msgs := srv.messages()
		if len(msgs) != 1 {
			t.Fatalf("%d messages accepted, want 1", len(msgs))
		}
		if msgs[0].from != "news@library.example" || len(msgs[0].to) != 1 || msgs[0].to[0] != p.Email {
			t.Fatalf("envelope from %q to %v", msgs[0].from, msgs[0].to)
		}
		e := parseEmail(t, msgs[0].data)
		ds := digestRows(t, a, p)
		if len(ds) != 1 || ds[0].Status != models.DigestSent || ds[0].SentAt == nil || ds[0].ClaimedUntil != nil {
			t.Fatalf("digest after sending: %+v", ds)
		}
		wantID := "<" + a.store.DigestMessageID(ds[0], "portal.example") + ">"
		if got := e.header.Get("Message-Id"); got != wantID || strings.Contains(got, fmt.Sprint(p.ID)+"-daily") {
			t.Errorf("Message-ID %q, want %q (derived from the key, naming nobody)", got, wantID)
		}
		if got := e.header.Get("Subject"); got != "New at Test Library: 3 new items by authors or on subjects you follow" {
			t.Errorf("Subject %q", got)
		}
		if got := e.header.Get("To"); !strings.Contains(got, p.Email) {
			t.Errorf("To %q", got)
		}
		if from, _ := mail.ParseAddress(e.header.Get("From")); from == nil || from.Address != "news@library.example" || from.Name != "Test Library" {
			t.Errorf("From %q", e.header.Get("From"))
		}
		unsub := e.header.Get("List-Unsubscribe")
		if !strings.HasPrefix(unsub, "<"+portal+"/unsubscribe/notices/") || !strings.HasSuffix(unsub, ">") {
			t.Errorf("List-Unsubscribe %q", unsub)
		}
		if got := e.header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post %q", got)
		}
		unsubURL := strings.Trim(unsub, "<>")
		if e.text == "" || e.html == "" {
			t.Fatalf("want a plain-text and an HTML part:\n%s", msgs[0].data)
		}
		for _, part := range []struct{ name, body string }{{"text", e.text}, {"html", e.html}} {
			body := strings.ReplaceAll(part.body, "&amp;", "&")
			for u := range catalog {
				if !strings.Contains(body, u) {
					t.Errorf("%s part lacks the catalog link %s", part.name, u)
				}
			}
			if !strings.Contains(body, unsubURL) {
				t.Errorf("%s part lacks the unsubscribe link", part.name)
			}
			for _, u := range anyURL.FindAllString(body, -1) {
				if !catalog[u] && !strings.HasPrefix(u, portal+"/") {
					t.Errorf("%s part links to %s, which is neither the catalog link of an item nor the portal", part.name, u)
				}
			}
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(e.html))
		if err != nil {
			t.Fatal(err)
		}
		if doc.Find("img, picture, object, iframe, script, link, style[src], [background]").Length() != 0 || strings.Contains(strings.ToLower(e.html), "<img") {
			t.Error("the HTML part must load nothing: no images, no tracking pixels")
		}
		if lang, _ := doc.Find("html").Attr("lang"); lang != "en" || doc.Find("title").Text() == "" || doc.Find("li").Length() != 3 {
			t.Error("the HTML part should be a small accessible document: lang, title, a list of the items")
		}
		doc.Find("a").Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			if !catalog[href] && !strings.HasPrefix(href, portal+"/") {
				t.Errorf("HTML link %q goes through something other than the catalog or the portal", href)
			}
		})
		if !strings.Contains(e.html, "Fledgling &amp; Other Stories") {
			t.Error("titles are escaped in the HTML part")
		}
		for _, n := range []string{"notifications"} {
			if left := rowsWhere(t, a, n, "patron_id = ? AND sent_at IS NULL", p.ID); left != 0 {
				t.Fatalf("%d notifications not marked sent", left)
			}
		}
		// Again, and a day later: nothing more goes out.
		if rep := run(t, d); rep.Sent != 0 || rep.Assembled != 0 {
			t.Fatalf("second pass sent again: %s", rep)
		}
		a.clock.Advance(24 * time.Hour)
		if rep := run(t, d); rep.Sent != 0 || rep.Assembled != 0 || len(srv.messages()) != 1 {
			t.Fatalf("a day later, with nothing new, nothing goes: %s", rep)
		}
		if strings.Contains(logs.String(), p.Email) {
			t.Fatal("the sender's logs name the patron")
		}
	})
}

func TestRefusedDigestIsRetriedLaterAndDeliveredOnce(t *testing.T) {
	srv := startSMTP(t)
	cfg := mailConfig(srv)
	for _, mode := range []string{"451 rcpt", "550 data", "drop"} {
		t.Run(strings.ReplaceAll(mode, " ", "-"), func(t *testing.T) {
			forEachDB(t, cfg, func(t *testing.T, a *app) {
				srv.reset()
				var logs syncBuffer
				d := deliverer(a, cfg, &logs)
				p := a.patron(card, pin, "Rosa", "Parks")
				noticesOn(t, a, p, models.NoticeDaily)
				notify(t, a, p, "Kindred", "b1")
				srv.setMode(mode)
				rep := run(t, d)
				if rep.Sent != 0 || rep.Retrying != 1 || len(srv.messages()) != 0 {
					t.Fatalf("refused: %s, %d accepted", rep, len(srv.messages()))
				}
				ds := digestRows(t, a, p)
				if len(ds) != 1 || ds[0].Status != models.DigestPending || ds[0].Attempts != 1 ||
					!ds[0].NextAttemptAt.Equal(a.store.Now().Add(time.Minute)) || ds[0].ClaimedUntil != nil {
					t.Fatalf("after a refusal: %+v", ds)
				}
				wantKind := map[string]string{"451 rcpt": models.FailureBusy, "550 data": models.FailureRefused, "drop": models.FailureInterrupted}[mode]
				if models.FailureKind(ds[0].LastError) != wantKind {
					t.Errorf("last error %q, want kind %s", ds[0].LastError, wantKind)
				}
				if strings.Contains(ds[0].LastError, "rosa@") || strings.Contains(logs.String(), "rosa@") {
					t.Fatalf("an address was kept: %q / logs %s", ds[0].LastError, logs.String())
				}
				if rowsWhere(t, a, "notifications", "patron_id = ? AND sent_at IS NOT NULL", p.ID) != 0 {
					t.Fatal("nothing is marked sent when the server did not accept it")
				}
				// Not before the backoff, however often the loop runs.
				srv.setMode("")
				a.clock.Advance(59 * time.Second)
				if rep := run(t, d); rep.Sent != 0 {
					t.Fatalf("retried before its time: %s", rep)
				}
				a.clock.Advance(time.Second)
				if rep := run(t, d); rep.Sent != 1 {
					t.Fatalf("retry: %s", rep)
				}
				if rep := run(t, d); rep.Sent != 0 {
					t.Fatal("delivered twice")
				}
				msgs := srv.messages()
				if len(msgs) != 1 {
					t.Fatalf("%d messages accepted, want 1", len(msgs))
				}
				ds = digestRows(t, a, p)
				if ds[0].Status != models.DigestSent || ds[0].Attempts != 1 || rowsWhere(t, a, "notifications", "patron_id = ? AND sent_at IS NULL", p.ID) != 0 {
					t.Fatalf("after the retry: %+v", ds[0])
				}
				if mode == "drop" {
					// The retry is the same email: the same Message-ID, so a
					// receiving system can drop a copy of a half-sent one.
					srv.mu.Lock()
					partial := srv.partial
					srv.mu.Unlock()
					id := parseEmail(t, msgs[0].data).header.Get("Message-Id")
					if len(partial) != 1 || !bytes.Contains(partial[0], []byte(id)) {
						t.Fatalf("the broken-off attempt did not carry the retry's Message-ID %s", id)
					}
				}
			})
		})
	}
}

// TestTwoSendersDeliverEachDigestOnce runs two senders, each with its own
// store over the same database (on SQLite, its one connection), at once.
func TestTwoSendersDeliverEachDigestOnce(t *testing.T) {
	srv := startSMTP(t)
	cfg := mailConfig(srv)
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.reset()
		srv.mu.Lock()
		srv.delay = 5 * time.Millisecond
		srv.mu.Unlock()
		const patrons = 12
		for i := range patrons {
			p := a.patron(fmt.Sprintf("2100000000%04d", 3000+i), pin, fmt.Sprintf("Reader%d", i), "Parks")
			noticesOn(t, a, p, models.NoticeDaily)
			notify(t, a, p, "Kindred", fmt.Sprintf("k%d", i))
			notify(t, a, p, "Dawn", fmt.Sprintf("d%d", i))
		}
		var logs syncBuffer
		other := modeltest.NewStore(t, a.store.DB, a.clock) // a second instance
		senders := []*web.Deliverer{deliverer(a, cfg, &logs), web.NewDeliverer(other, cfg, nil)}
		var wg sync.WaitGroup
		reps := make([]web.DeliveryReport, len(senders))
		errs := make([]error, len(senders))
		start := make(chan struct{})
		for i, d := range senders {
			wg.Go(func() {
				<-start
				reps[i], errs[i] = d.RunOnce(context.Background())
			})
		}
		close(start)
		wg.Wait()
		sent := 0
		for i := range senders {
			if errs[i] != nil {
				t.Fatalf("sender %d: %v", i, errs[i])
			}
			sent += reps[i].Sent
		}
		t.Logf("sender reports: %s / %s", reps[0], reps[1])
		if sent != patrons {
			t.Fatalf("senders report %d sent (%s / %s), want %d", sent, reps[0], reps[1], patrons)
		}
		perID := map[string]int{}
		for _, m := range srv.messages() {
			perID[parseEmail(t, m.data).header.Get("Message-Id")]++
		}
		if len(perID) != patrons {
			t.Fatalf("%d distinct emails, want %d", len(perID), patrons)
		}
		for id, n := range perID {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
		var digests, unsent int64
		a.store.DB.Model(&models.Digest{}).Where("status = ?", models.DigestSent).Count(&digests)
		a.store.DB.Model(&models.Notification{}).Where("sent_at IS NULL").Count(&unsent)
		if digests != patrons || unsent != 0 {
			t.Fatalf("%d digests sent, %d notifications unsent", digests, unsent)
		}
	})
}

func TestNoEmailWithoutConsentOrAddress(t *testing.T) {
	srv := startSMTP(t)
	cfg := mailConfig(srv)
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.reset()
		d := deliverer(a, cfg, io.Discard)
		none := a.patron(card, pin, "Rosa", "Parks")
		noticesOn(t, a, none, models.NoticeNone)
		noEmail := a.patron("21000000007777", "1111", "Ida", "Wells")
		noticesOn(t, a, noEmail, models.NoticeWeekly)
		a.store.DB.Model(&models.Patron{}).Where("id = ?", noEmail.ID).UpdateColumn("email", "")
		stopped := a.patron("21000000008888", "2222", "Ella", "Baker")
		noticesOn(t, a, stopped, models.NoticeDaily)
		for _, p := range []models.Patron{none, noEmail, stopped} {
			notify(t, a, p, "Kindred", "b1")
		}
		// Ella's digest is assembled, then she follows the link in an
		// earlier email before it goes: it is withdrawn, not sent.
		if n, err := a.store.AssembleDigests(context.Background(), models.DigestSchedule{Location: time.UTC, Hour: 8, Weekday: time.Friday}); err != nil || n != 1 {
			t.Fatalf("assembled %d, %v; want Ella's alone", n, err)
		}
		if err := a.store.StopNoticesByToken(context.Background(), a.store.NoticeToken(stopped.ID)); err != nil {
			t.Fatal(err)
		}
		rep := run(t, d)
		if rep.Sent != 0 || len(srv.messages()) != 0 {
			t.Fatalf("an email went: %s", rep)
		}
		if rep.Withdrawn != 1 {
			t.Fatalf("Ella's digest should be withdrawn: %s", rep)
		}
		for _, p := range []models.Patron{none, noEmail, stopped} {
			if ds := digestRows(t, a, p); len(ds) != 0 {
				t.Errorf("%s %s still has a digest: %+v", p.GivenName, p.FamilyName, ds)
			}
			if rowsWhere(t, a, "notifications", "patron_id = ? AND sent_at IS NULL AND digest_id IS NULL", p.ID) != 1 {
				t.Errorf("%s's notification stays visible, unsent", p.GivenName)
			}
		}
	})
}

func TestNoticeUnsubscribeLinkWorksSignedOut(t *testing.T) {
	srv := startSMTP(t)
	cfg := mailConfig(srv)
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.reset()
		p := a.patron(card, pin, "Rosa", "Parks")
		noticesOn(t, a, p, models.NoticeDaily)
		notify(t, a, p, "Kindred", "b1")
		run(t, deliverer(a, cfg, io.Discard))
		msgs := srv.messages()
		if len(msgs) != 1 {
			t.Fatalf("%d emails", len(msgs))
		}
		link := strings.Trim(parseEmail(t, msgs[0].data).header.Get("List-Unsubscribe"), "<>")
		path := strings.TrimPrefix(link, portal)
		ledger := rowsWhere(t, a, "consent_entries", "patron_id = ?", p.ID)

		mailClient := a.client()
		r := mailClient.get(path)
		wantStatus(t, r, http.StatusOK)
		if r.doc(t).Find(`[data-testid="confirm-stop-notices"]`).Length() != 1 || strings.Contains(r.body, "Rosa") {
			t.Fatal("GET shows a confirmation that names nobody")
		}
		if notice(t, a, p) != models.NoticeDaily || rowsWhere(t, a, "consent_entries", "patron_id = ?", p.ID) != ledger {
			t.Fatal("GET changes nothing")
		}
		// A mailing-list token cannot be replayed here, nor a forged one.
		l := a.list("events", "Library events")
		for _, bad := range []string{a.store.UnsubscribeToken(p.ID, l.ID), strings.TrimSuffix(path, path[len(path)-4:]) + "AAAA", "nonsense"} {
			u := "/unsubscribe/notices/" + bad
			if strings.HasPrefix(bad, "/unsubscribe/") {
				u = bad
			}
			for _, r := range []response{mailClient.get(u), mailClient.do(mustPost(a, u))} {
				wantStatus(t, r, http.StatusNotFound)
				if !strings.Contains(r.body, "This link does not work") {
					t.Fatalf("%s: want the friendly invalid-link page", u)
				}
			}
		}
		if notice(t, a, p) != models.NoticeDaily {
			t.Fatal("a refused token changed the choice")
		}
		// RFC 8058: the mail provider's POST, no cookie, no form token.
		req, _ := http.NewRequest(http.MethodPost, a.server.URL+path, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r = mailClient.do(req)
		wantStatus(t, r, http.StatusOK)
		if r.doc(t).Find(`[data-testid="notices-stopped"]`).Length() != 1 {
			t.Fatal("the POST says the emails stopped")
		}
		if notice(t, a, p) != models.NoticeNone {
			t.Fatal("the one-click POST turns notices off")
		}
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Order("id DESC").Take(&e)
		if e.Subject != models.ConsentFavoritesNotice || e.OldValue != "daily" || e.NewValue != "none" ||
			e.Channel != models.ChannelEmailOneClick || e.Actor != models.ActorPatron {
			t.Fatalf("ledger %+v", e)
		}
		if len(a.cookies.all()) != 0 {
			t.Fatal("the unsubscribe pages set no cookie")
		}
		// Used again: the same friendly answer, no second ledger entry.
		wantStatus(t, mailClient.do(mustPost(a, path)), http.StatusOK)
		if rowsWhere(t, a, "consent_entries", "patron_id = ?", p.ID) != ledger+1 {
			t.Fatal("one change, one ledger entry")
		}
		// The patron sees the change, and how it was made.
		c := a.client()
		c.signIn(card, pin)
		if !strings.Contains(c.get("/data/consents").body, "Unsubscribe link in an email") {
			t.Fatal("the consent history names the email link")
		}
	})
}

func notice(t *testing.T, a *app, p models.Patron) string {
	t.Helper()
	var got models.Patron
	if err := a.store.DB.Where("id = ?", p.ID).Take(&got).Error; err != nil {
		t.Fatal(err)
	}
	return got.FavoritesNotice
}

// statuses reads the Email column of the notifications page by title.
func statuses(t *testing.T, c *client) map[string]string {
	t.Helper()
	r := c.get("/data/notifications")
	wantStatus(t, r, http.StatusOK)
	out := map[string]string{}
	r.doc(t).Find(`table[data-testid="records"] tbody tr`).Each(func(_ int, s *goquery.Selection) {
		out[s.Find("th").Text()] = s.Find("td").Last().Text()
	})
	return out
}

func TestNotificationsPageShowsDeliveryStatus(t *testing.T) {
	srv := startSMTP(t)
	cfg := mailConfig(srv)
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.reset()
		d := deliverer(a, cfg, io.Discard)
		p := a.patron(card, pin, "Rosa", "Parks")
		noticesOn(t, a, p, models.NoticeDaily)
		notify(t, a, p, "Kindred", "b1")
		run(t, d) // sent today
		a.clock.Advance(24 * time.Hour)
		notify(t, a, p, "Dawn", "b2")
		srv.setMode("451 rcpt")
		run(t, d) // refused: retrying
		notify(t, a, p, "Imago", "b3")

		c := a.client()
		c.signIn(card, pin)
		got := statuses(t, c)
		want := map[string]string{
			"Kindred": "Sent by email on November 27, 2026; deleted December 27, 2026",
			"Dawn":    "Retrying (attempt 1 did not go through: the receiving mail server asked us to try again later); next try November 28, 2026, 6:01 PM",
			"Imago":   "Waiting to be sent with your next daily email",
		}
		for title, w := range want {
			if got[title] != w {
				t.Errorf("%s: %q, want %q", title, got[title], w)
			}
		}
		emails := c.get("/data/notifications").doc(t).Find(`[data-testid="part-emails"] tbody tr`)
		if emails.Length() != 2 || !strings.Contains(emails.Eq(0).Text(), "Daily email of November 28, 2026") ||
			!strings.Contains(emails.Eq(0).Text(), "Retrying after 1 failed try") || !strings.Contains(emails.Eq(1).Text(), "Sent November 27, 2026") {
			t.Fatalf("the emails table: %q", emails.Text())
		}
		if !strings.Contains(c.get("/data/print").body, "Daily email of November 27, 2026") {
			t.Error("the print view lists the emails too")
		}

		// A patron whose address cannot receive mail: given up at once.
		bad := a.patron("21000000007777", "1111", "Ida", "Wells")
		noticesOn(t, a, bad, models.NoticeDaily)
		a.store.DB.Model(&models.Patron{}).Where("id = ?", bad.ID).UpdateColumn("email", "ida@@example")
		notify(t, a, bad, "Kindred", "b1")
		if rep := run(t, d); rep.Failed != 1 {
			t.Fatalf("an unusable address: %s", rep)
		}
		ida := a.client()
		ida.signIn("21000000007777", "1111")
		if s := statuses(t, ida)["Kindred"]; !strings.HasPrefix(s, "Could not be sent: the email address on your record cannot receive mail") {
			t.Errorf("failed: %q", s)
		}
		// No notices, no address: said plainly.
		a.store.DB.Model(&models.Patron{}).Where("id = ?", bad.ID).UpdateColumn("email", "")
		notify(t, a, bad, "Dawn", "b2")
		if s := statuses(t, ida)["Dawn"]; s != "Not emailed: we have no email address for you" {
			t.Errorf("no address: %q", s)
		}
		if _, err := a.store.SetFavoritesNotice(context.Background(), p.ID, models.NoticeNone, models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
		if s := statuses(t, c)["Imago"]; s != "Not emailed: you chose no email notices" {
			t.Errorf("notices off: %q", s)
		}
	})
	// Without SMTP settings, nothing is sent, and the patron is told it waits.
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		noticesOn(t, a, p, models.NoticeDaily)
		notify(t, a, p, "Kindred", "b1")
		if _, err := web.NewDeliverer(a.store, demoConfig(), nil).RunOnce(context.Background()); err != web.ErrMailOff {
			t.Fatalf("without SMTP: %v", err)
		}
		c := a.client()
		c.signIn(card, pin)
		if s := statuses(t, c)["Kindred"]; s != "Waiting to be sent" {
			t.Errorf("without SMTP: %q", s)
		}
		if len(digestRows(t, a, p)) != 0 {
			t.Error("without SMTP no digest is assembled")
		}
	})
}

func rowsWhere(t *testing.T, a *app, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServeLoopSendsAndStops is what `carrel serve` runs: the loop sends
// what is due, keeps going, and returns when the context ends.
func TestServeLoopSendsAndStops(t *testing.T) {
	srv := startSMTP(t)
	cfg := mailConfig(srv)
	cfg.Mail.Every = 20 * time.Millisecond
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.reset()
		p := a.patron(card, pin, "Rosa", "Parks")
		noticesOn(t, a, p, models.NoticeDaily)
		notify(t, a, p, "Kindred", "b1")
		s, err := web.New(a.store, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.DeliverDigests(ctx); close(done) }()
		for deadline := time.Now().Add(10 * time.Second); len(srv.messages()) == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the delivery loop did not stop with its context")
		}
		if n := len(srv.messages()); n != 1 {
			t.Fatalf("the loop sent %d emails, want 1", n)
		}
		// Nothing more goes: the round the loop would run next, run here
		// to its end, finds nothing due.
		if rep, err := web.NewDeliverer(a.store, cfg, nil).RunOnce(context.Background()); err != nil || rep.Sent != 0 {
			t.Fatalf("a round after the digest went: %s, %v; want nothing sent", rep, err)
		}
		if n := len(srv.messages()); n != 1 {
			t.Fatalf("after another round %d emails were sent, want 1", n)
		}
		// Without SMTP settings the loop does nothing and returns at once.
		off, err := web.New(a.store, demoConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		returned := make(chan struct{})
		go func() { off.DeliverDigests(context.Background()); close(returned) }()
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Fatal("without SMTP the loop should return at once")
		}
	})
}
