package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/jobs"
	"github.com/carrel-library/carrel/models/mail"
	"github.com/carrel-library/carrel/models/mail/mailtest"
	"github.com/carrel-library/carrel/web"
)

// portal is the public address the test portal writes into emails: HTTPS,
// so RFC 8058's one-click header is sent.
const portal = "https://portal.example"

func mailConfig(srv *mailtest.Server) web.Config {
	cfg := demoConfig()
	cfg.PublicURL = portal
	cfg.LibraryName = "Test Library"
	cfg.Mail = mail.Config{Host: "127.0.0.1", Port: srv.Port(), From: "Test Library <news@library.example>",
		TLS: "none", DigestHour: 8, DigestWeekday: time.Friday} // testNow is a Friday, 18:00 UTC
	return cfg
}

// deliverer is a sender over the app's store, logging into logs.
func deliverer(a *app, cfg web.Config, logs io.Writer) *mail.Deliverer {
	d := mail.NewDeliverer(a.store, cfg.Mail, cfg.MailLibrary(), slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	d.Timeout = 10 * time.Second
	return d
}

func run(t *testing.T, d *mail.Deliverer) mail.Report {
	t.Helper()
	rep, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v (%s)", err, rep)
	}
	return rep
}

func TestNoticeUnsubscribeLinkWorksSignedOut(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		p := a.patron(card, pin, "Rosa", "Parks")
		mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
		mailtest.Notify(t, a.store, p, "Kindred", "b1")
		run(t, deliverer(a, cfg, io.Discard))
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d emails", len(msgs))
		}
		link := strings.Trim(mailtest.ParseEmail(t, msgs[0].Data).Header.Get("List-Unsubscribe"), "<>")
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
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		d := deliverer(a, cfg, io.Discard)
		p := a.patron(card, pin, "Rosa", "Parks")
		mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
		mailtest.Notify(t, a.store, p, "Kindred", "b1")
		run(t, d) // sent today
		a.clock.Advance(24 * time.Hour)
		mailtest.Notify(t, a.store, p, "Dawn", "b2")
		srv.SetMode("451 rcpt")
		run(t, d) // refused: retrying
		mailtest.Notify(t, a.store, p, "Imago", "b3")

		c := a.client()
		c.signIn(card, pin)
		got := statuses(t, c)
		want := map[string]string{
			"Kindred": "Sent by email on November 27, 2026; will be deleted on December 27, 2026",
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
		mailtest.NoticesOn(t, a.store, bad, models.NoticeDaily)
		a.store.DB.Model(&models.Patron{}).Where("id = ?", bad.ID).UpdateColumn("email", "ida@@example")
		mailtest.Notify(t, a.store, bad, "Kindred", "b1")
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
		mailtest.Notify(t, a.store, bad, "Dawn", "b2")
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
		mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
		mailtest.Notify(t, a.store, p, "Kindred", "b1")
		if _, err := mail.NewDeliverer(a.store, demoConfig().Mail, demoConfig().MailLibrary(), nil).RunOnce(context.Background()); err != mail.ErrOff {
			t.Fatalf("without SMTP: %v", err)
		}
		c := a.client()
		c.signIn(card, pin)
		if s := statuses(t, c)["Kindred"]; s != "Waiting to be sent" {
			t.Errorf("without SMTP: %q", s)
		}
		if len(mailtest.Digests(t, a.store, p)) != 0 {
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

// TestServeLoopSendsAndStops is what `carrel serve` runs: the outbox job,
// on the scheduler, sends what is due, keeps going, and stops when the
// context ends.
func TestServeLoopSendsAndStops(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	cfg.Mail.Every = 20 * time.Millisecond
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		p := a.patron(card, pin, "Rosa", "Parks")
		mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
		mailtest.Notify(t, a.store, p, "Kindred", "b1")
		s, err := web.New(a.store, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var outbox []jobs.Job
		for _, j := range jobs.All(a.store, jobs.Config{Sessions: s.Config.Sessions, Mail: s.Config.Mail, Library: s.Config.MailLibrary()}, s.Log) {
			if j.Name == "outbox" {
				outbox = append(outbox, j)
			}
		}
		if len(outbox) != 1 || outbox[0].Every != 20*time.Millisecond {
			t.Fatalf("with SMTP settings, want one outbox job every Mail.Every: %+v", outbox)
		}
		// Each pass counted as it ends, so "nothing more goes" is seen
		// over passes that ran, not over a wait.
		var passes atomic.Int32
		pass := outbox[0].Run
		outbox[0].Run = func(ctx context.Context) { pass(ctx); passes.Add(1) }
		sched := jobs.NewScheduler(outbox...)
		ctx, cancel := context.WithCancel(context.Background())
		sched.Start(ctx)
		done := make(chan struct{})
		go func() { sched.Wait(); close(done) }()
		for deadline := time.Now().Add(10 * time.Second); len(srv.Messages()) == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		sent := passes.Load()
		for deadline := time.Now().Add(10 * time.Second); passes.Load() < sent+3 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // a few more passes: nothing more goes
		}
		if passes.Load() < sent+3 {
			t.Fatalf("the loop stopped after %d passes", passes.Load())
		}
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the delivery loop did not stop with its context")
		}
		if n := len(srv.Messages()); n != 1 {
			t.Fatalf("the loop sent %d emails, want 1", n)
		}
		// Without SMTP settings there is no outbox job at all.
		off, err := web.New(a.store, demoConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs.All(a.store, jobs.Config{Sessions: off.Config.Sessions, Mail: off.Config.Mail, Library: off.Config.MailLibrary()}, off.Log) {
			if j.Name == "outbox" {
				t.Fatal("without SMTP no outbox should run")
			}
		}
	})
}
