package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	carrelmail "github.com/carrel-library/carrel/models/mail"
	"github.com/carrel-library/carrel/models/mail/mailtest"
	"github.com/carrel-library/carrel/models/modeltest"
)

// The outbox against a real SMTP server (mailtest) and each database
// engine: what is sent, once, to whom, and what happens when the server
// refuses or breaks off. What patrons' pages say of their emails is tested
// in web.

const (
	card = "21000000009999"
	pin  = "4321"
	// portal is the public address written into emails: HTTPS, so RFC
	// 8058's one-click header is sent.
	portal = "https://portal.example"
)

var testNow = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC) // a Friday

// fixture is one engine's database, its store and the clock it runs on.
type fixture struct {
	t     *testing.T
	store *models.Store
	clock *modeltest.FakeClock
}

func forEachDB(t *testing.T, fn func(t *testing.T, a *fixture)) {
	t.Helper()
	clock := modeltest.NewFakeClock(testNow)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testNow) // engines run one after the other on a shared clock
			fn(t, &fixture{t: t, store: modeltest.NewStore(t, db.Gorm, clock), clock: clock})
		})
	}
}

// patron creates a patron with a known card, who chose no notices (the
// outbox never asks for a PIN).
func (a *fixture) patron(card, _, given, family string) models.Patron {
	p := models.Patron{CardNumber: card, PINHash: "unused", GivenName: given, FamilyName: family,
		Email: strings.ToLower(given) + "@example.org", CardExpiresOn: testNow.AddDate(2, 0, 0),
		BorrowingStatus: models.StatusActive, FavoritesNotice: "none"}
	if err := a.store.DB.Create(&p).Error; err != nil {
		a.t.Fatal(err)
	}
	return p
}

// settings are a sender's: the test SMTP server, and the library.
type settings struct {
	Mail    carrelmail.Config
	Library carrelmail.Library
}

func mailConfig(srv *mailtest.Server) settings {
	return settings{
		Mail: carrelmail.Config{Host: "127.0.0.1", Port: srv.Port(), From: "Test Library <news@library.example>",
			TLS: "none", DigestHour: 8, DigestWeekday: time.Friday}, // testNow is a Friday, 18:00 UTC
		Library: carrelmail.Library{Name: "Test Library", PublicURL: portal},
	}
}

func mailLibrary(cfg settings) carrelmail.Library { return cfg.Library }

// deliverer is a sender over the fixture's store, logging into logs.
func deliverer(a *fixture, cfg settings, logs io.Writer) *carrelmail.Deliverer {
	d := carrelmail.NewDeliverer(a.store, cfg.Mail, cfg.Library, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	d.Timeout = 10 * time.Second
	return d
}

func run(t *testing.T, d *carrelmail.Deliverer) carrelmail.Report {
	t.Helper()
	rep, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v (%s)", err, rep)
	}
	return rep
}

// rows counts a table's rows that match where.
func (a *fixture) rows(table, where string, args ...any) int64 {
	var n int64
	if err := a.store.DB.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		a.t.Fatal(err)
	}
	return n
}

var anyURL = regexp.MustCompile(`(?i)\b(?:https?|ftp)://[^\s"'<>]+`)

func TestDigestEmailIsDeliveredOnce(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	forEachDB(t, func(t *testing.T, a *fixture) {
		srv.Reset()
		var logs strings.Builder
		d := deliverer(a, cfg, &logs)
		p := a.patron(card, pin, "Rosa", "Parks")
		mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
		catalog := map[string]bool{}
		for i, title := range []string{"Kindred", "Fledgling & Other Stories", "Parable of the Sower"} {
			n := mailtest.Notify(t, a.store, p, title, fmt.Sprintf("b%d?lang=en&x=1", i))
			catalog[n.CatalogURL] = true
		}
		rep := run(t, d)
		if rep.Assembled != 1 || rep.Sent != 1 || rep.Retrying+rep.Failed+rep.Withdrawn != 0 {
			t.Fatalf("first pass: %s", rep)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d messages accepted, want 1", len(msgs))
		}
		if msgs[0].From != "news@library.example" || len(msgs[0].To) != 1 || msgs[0].To[0] != p.Email {
			t.Fatalf("envelope from %q to %v", msgs[0].From, msgs[0].To)
		}
		e := mailtest.ParseEmail(t, msgs[0].Data)
		ds := mailtest.Digests(t, a.store, p)
		if len(ds) != 1 || ds[0].Status != models.DigestSent || ds[0].SentAt == nil || ds[0].ClaimedUntil != nil {
			t.Fatalf("digest after sending: %+v", ds)
		}
		wantID := "<" + a.store.DigestMessageID(ds[0], "portal.example") + ">"
		if got := e.Header.Get("Message-Id"); got != wantID || strings.Contains(got, fmt.Sprint(p.ID)+"-daily") {
			t.Errorf("Message-ID %q, want %q (derived from the key, naming nobody)", got, wantID)
		}
		if got := e.Header.Get("Subject"); got != "New at Test Library: 3 new items by authors or on subjects you follow" {
			t.Errorf("Subject %q", got)
		}
		if got := e.Header.Get("To"); !strings.Contains(got, p.Email) {
			t.Errorf("To %q", got)
		}
		if from, _ := mail.ParseAddress(e.Header.Get("From")); from == nil || from.Address != "news@library.example" || from.Name != "Test Library" {
			t.Errorf("From %q", e.Header.Get("From"))
		}
		unsub := e.Header.Get("List-Unsubscribe")
		if !strings.HasPrefix(unsub, "<"+portal+"/unsubscribe/notices/") || !strings.HasSuffix(unsub, ">") {
			t.Errorf("List-Unsubscribe %q", unsub)
		}
		if got := e.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post %q", got)
		}
		unsubURL := strings.Trim(unsub, "<>")
		if e.Text == "" || e.HTML == "" {
			t.Fatalf("want a plain-text and an HTML part:\n%s", msgs[0].Data)
		}
		for _, part := range []struct{ name, body string }{{"text", e.Text}, {"html", e.HTML}} {
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
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(e.HTML))
		if err != nil {
			t.Fatal(err)
		}
		if doc.Find("img, picture, object, iframe, script, link, style[src], [background]").Length() != 0 || strings.Contains(strings.ToLower(e.HTML), "<img") {
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
		if !strings.Contains(e.HTML, "Fledgling &amp; Other Stories") {
			t.Error("titles are escaped in the HTML part")
		}
		for _, n := range []string{"notifications"} {
			if left := a.rows(n, "patron_id = ? AND sent_at IS NULL", p.ID); left != 0 {
				t.Fatalf("%d notifications not marked sent", left)
			}
		}
		// Again, and a day later: nothing more goes out.
		if rep := run(t, d); rep.Sent != 0 || rep.Assembled != 0 {
			t.Fatalf("second pass sent again: %s", rep)
		}
		a.clock.Advance(24 * time.Hour)
		if rep := run(t, d); rep.Sent != 0 || rep.Assembled != 0 || len(srv.Messages()) != 1 {
			t.Fatalf("a day later, with nothing new, nothing goes: %s", rep)
		}
		if strings.Contains(logs.String(), p.Email) {
			t.Fatal("the sender's logs name the patron")
		}
	})
}

func TestRefusedDigestIsRetriedLaterAndDeliveredOnce(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	for _, mode := range []string{"451 rcpt", "550 data", "drop"} {
		t.Run(strings.ReplaceAll(mode, " ", "-"), func(t *testing.T) {
			forEachDB(t, func(t *testing.T, a *fixture) {
				srv.Reset()
				var logs strings.Builder
				d := deliverer(a, cfg, &logs)
				p := a.patron(card, pin, "Rosa", "Parks")
				mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
				mailtest.Notify(t, a.store, p, "Kindred", "b1")
				srv.SetMode(mode)
				rep := run(t, d)
				if rep.Sent != 0 || rep.Retrying != 1 || len(srv.Messages()) != 0 {
					t.Fatalf("refused: %s, %d accepted", rep, len(srv.Messages()))
				}
				ds := mailtest.Digests(t, a.store, p)
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
				if a.rows("notifications", "patron_id = ? AND sent_at IS NOT NULL", p.ID) != 0 {
					t.Fatal("nothing is marked sent when the server did not accept it")
				}
				// Not before the backoff, however often the loop runs.
				srv.SetMode("")
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
				msgs := srv.Messages()
				if len(msgs) != 1 {
					t.Fatalf("%d messages accepted, want 1", len(msgs))
				}
				ds = mailtest.Digests(t, a.store, p)
				if ds[0].Status != models.DigestSent || ds[0].Attempts != 1 || a.rows("notifications", "patron_id = ? AND sent_at IS NULL", p.ID) != 0 {
					t.Fatalf("after the retry: %+v", ds[0])
				}
				if mode == "drop" {
					// The retry is the same email: the same Message-ID, so a
					// receiving system can drop a copy of a half-sent one.
					partial := srv.Partial()
					id := mailtest.ParseEmail(t, msgs[0].Data).Header.Get("Message-Id")
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
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	forEachDB(t, func(t *testing.T, a *fixture) {
		srv.Reset()
		srv.SetDelay(5 * time.Millisecond)
		const patrons = 12
		for i := range patrons {
			p := a.patron(fmt.Sprintf("2100000000%04d", 3000+i), pin, fmt.Sprintf("Reader%d", i), "Parks")
			mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
			mailtest.Notify(t, a.store, p, "Kindred", fmt.Sprintf("k%d", i))
			mailtest.Notify(t, a.store, p, "Dawn", fmt.Sprintf("d%d", i))
		}
		var logs strings.Builder
		other := modeltest.NewStore(t, a.store.DB, a.clock) // a second instance
		senders := []*carrelmail.Deliverer{deliverer(a, cfg, &logs), carrelmail.NewDeliverer(other, cfg.Mail, mailLibrary(cfg), nil)}
		var wg sync.WaitGroup
		reps := make([]carrelmail.Report, len(senders))
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
		for _, m := range srv.Messages() {
			perID[mailtest.ParseEmail(t, m.Data).Header.Get("Message-Id")]++
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
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	forEachDB(t, func(t *testing.T, a *fixture) {
		srv.Reset()
		d := deliverer(a, cfg, io.Discard)
		none := a.patron(card, pin, "Rosa", "Parks")
		mailtest.NoticesOn(t, a.store, none, models.NoticeNone)
		noEmail := a.patron("21000000007777", "1111", "Ida", "Wells")
		mailtest.NoticesOn(t, a.store, noEmail, models.NoticeWeekly)
		a.store.DB.Model(&models.Patron{}).Where("id = ?", noEmail.ID).UpdateColumn("email", "")
		stopped := a.patron("21000000008888", "2222", "Ella", "Baker")
		mailtest.NoticesOn(t, a.store, stopped, models.NoticeDaily)
		for _, p := range []models.Patron{none, noEmail, stopped} {
			mailtest.Notify(t, a.store, p, "Kindred", "b1")
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
		if rep.Sent != 0 || len(srv.Messages()) != 0 {
			t.Fatalf("an email went: %s", rep)
		}
		if rep.Withdrawn != 1 {
			t.Fatalf("Ella's digest should be withdrawn: %s", rep)
		}
		for _, p := range []models.Patron{none, noEmail, stopped} {
			if ds := mailtest.Digests(t, a.store, p); len(ds) != 0 {
				t.Errorf("%s %s still has a digest: %+v", p.GivenName, p.FamilyName, ds)
			}
			if a.rows("notifications", "patron_id = ? AND sent_at IS NULL AND digest_id IS NULL", p.ID) != 1 {
				t.Errorf("%s's notification stays visible, unsent", p.GivenName)
			}
		}
	})
}
