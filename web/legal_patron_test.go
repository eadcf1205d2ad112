package web_test

import (
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/mail/mailtest"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/web"
	"gorm.io/gorm"
)

// The patron side of legal process: truthful sharing texts, the privacy
// contact, and what a patron under a legal hold sees. Legal requests,
// holds and productions are written as rows, as the staff workflow would.

var testContact = views.Contact{Name: "Jane Roe, Privacy Officer", Email: "privacy@library.example",
	Phone: "+1 310 458 8600", Address: "601 Santa Monica Blvd"}

func contactConfig() web.Config {
	cfg := demoConfig()
	cfg.PrivacyContact = testContact
	return cfg
}

// pastDue gives p, in every time-limited category, one record the purge
// would delete now (its title or subject "past") and one it would keep.
func pastDue(t *testing.T, a *app, p models.Patron) {
	t.Helper()
	n := a.clock.Now()
	at := func(d time.Duration) *time.Time { x := n.Add(-d); return &x }
	day := 24 * time.Hour
	// The email that carried the past notification goes with it.
	digest := models.Digest{PatronID: p.ID, IdempotencyKey: "digest-" + p.CardNumber + "-daily-2026-10-27", Status: models.DigestSent,
		NextAttemptAt: n.Add(-31 * day), CreatedAt: n.Add(-31 * day), SentAt: at(31 * day)}
	if err := a.store.DB.Create(&digest).Error; err != nil {
		t.Fatal(err)
	}
	rows := []any{
		&models.ReferenceQuestion{PatronID: p.ID, Subject: "past question", Question: "q", AskedAt: n.AddDate(-1, -1, 0)},
		&models.ReferenceQuestion{PatronID: p.ID, Subject: "kept question", Question: "q", AskedAt: n.AddDate(0, -2, 0)},
		&models.Hold{PatronID: p.ID, Title: "past hold", Status: models.HoldFilled, PlacedAt: n.Add(-60 * day), ClosedAt: at(31 * day)},
		&models.Hold{PatronID: p.ID, Title: "kept hold", Status: models.HoldWaiting, PlacedAt: n.Add(-50 * day)},
		&models.Fine{PatronID: p.ID, Description: "past fine", AmountCents: 100, Status: models.FinePaid, AssessedAt: n.Add(-200 * day), SettledAt: at(91 * day)},
		&models.Fine{PatronID: p.ID, Description: "kept fine", AmountCents: 200, Status: models.FinePaid, AssessedAt: n.Add(-20 * day), SettledAt: at(10 * day)},
		&models.ILLRequest{PatronID: p.ID, Title: "past loan", Status: models.ILLReturned, RequestedAt: n.Add(-200 * day), CompletedAt: at(91 * day)},
		&models.ComputerSession{PatronID: p.ID, Branch: "Main", Station: "PC-past", StartedAt: n.Add(-25 * time.Hour)},
		&models.ComputerSession{PatronID: p.ID, Branch: "Main", Station: "PC-kept", StartedAt: n.Add(-2 * time.Hour)},
		&models.Notification{PatronID: p.ID, Title: "past arrival", Reason: "r", CreatedAt: n.Add(-40 * day), SentAt: at(31 * day), DigestID: &digest.ID},
	}
	rows = append(rows,
		// A choice replaced more than the audit period ago goes; the
		// choice that replaced it stays.
		&models.ConsentEntry{PatronID: p.ID, Subject: models.ConsentReadingHistory, OldValue: "off", NewValue: "on",
			Actor: models.ActorPatron, Channel: "past channel", CreatedAt: n.AddDate(-3, 0, 0)},
		&models.ConsentEntry{PatronID: p.ID, Subject: models.ConsentReadingHistory, OldValue: "on", NewValue: "off",
			Actor: models.ActorPatron, Channel: models.ChannelWeb, CreatedAt: n.AddDate(-2, 0, -1)})
	for _, r := range rows {
		if err := a.store.DB.Create(r).Error; err != nil {
			t.Fatal(err)
		}
	}
	// A staff look-up older than the audit period, and a recent one.
	for _, e := range []struct {
		at     time.Time
		detail string
	}{{n.AddDate(-3, 0, 0), "past lookup"}, {n.Add(-time.Hour), "kept lookup"}} {
		a.clock.Set(e.at)
		err := a.store.DB.Transaction(func(tx *gorm.DB) error {
			return a.store.AppendAudit(tx, &models.AuditEntry{PatronID: &p.ID, Action: models.AuditPatronLookup, Detail: e.detail})
		})
		a.clock.Set(n)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// legalRows records a court order covering p with a hold (and, with
// produce, a production of p's reference questions and fines), as rows.
func legalRows(t *testing.T, a *app, p models.Patron, nondisclosure bool, until *time.Time, produce bool) models.LegalRequest {
	t.Helper()
	n := a.clock.Now()
	reviewed := n.Add(-72 * time.Hour)
	req := models.LegalRequest{Kind: "court_order", Issuer: "Superior Court of California, County of Los Angeles",
		Reference: "CO-2026-0417", ReceivedOn: n.Add(-96 * time.Hour), CreatedAt: n.Add(-96 * time.Hour),
		Nondisclosure: nondisclosure, NondisclosureUntil: until, OfficerName: "Det. Sam Lee", OfficerAgency: "SMPD",
		IdentityCheck: "badge checked at the desk", ScopeCategories: "reference_questions,fines",
		Reviewer: "City Attorney", ReviewedOn: &reviewed, ReviewOutcome: models.ReviewFavourable}
	if err := a.store.DB.Create(&req).Error; err != nil {
		t.Fatal(err)
	}
	if err := a.store.DB.Create(&models.LegalRequestPatron{RequestID: req.ID, PatronID: p.ID}).Error; err != nil {
		t.Fatal(err)
	}
	if err := a.store.DB.Create(&models.LegalHold{PatronID: p.ID, RequestID: &req.ID, PlacedAt: n.Add(-48 * time.Hour)}).Error; err != nil {
		t.Fatal(err)
	}
	// The staff workflow audits each step, restricted while a
	// nondisclosure order applies.
	audit := func(action string) {
		t.Helper()
		err := a.store.DB.Transaction(func(tx *gorm.DB) error {
			return a.store.AppendAudit(tx, &models.AuditEntry{PatronID: &p.ID, Action: action, Restricted: nondisclosure,
				Reason: "court order", Detail: "request " + req.Reference})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	audit(models.AuditLegalHold)
	if produce {
		from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
		prod := models.LegalProduction{RequestID: req.ID, Categories: "reference_questions,fines", ScopeFrom: &from, ScopeTo: &to,
			Manifest: "{}", PackageSHA256: strings.Repeat("0", 64), ProducedAt: n.Add(-24 * time.Hour)}
		if err := a.store.DB.Create(&prod).Error; err != nil {
			t.Fatal(err)
		}
		if err := a.store.DB.Create(&models.LegalProductionPatron{ProductionID: prod.ID, PatronID: p.ID, Part: "p.json", SHA256: strings.Repeat("1", 64)}).Error; err != nil {
			t.Fatal(err)
		}
		audit(models.AuditLegalProduce)
	}
	return req
}

// patronPages is every page a patron reads about their record.
func patronPages() []string {
	pages := []string{"/data", "/data/print", "/favorites", "/mailing-lists"}
	for _, c := range models.Categories() {
		pages = append(pages, "/data/"+c.Slug)
	}
	return pages
}

var overPromises = []string{"No one outside the library", "Only you can see", "never shared", "shares it with no one", "sends your data nowhere",
	"rented or given to anyone", "are deleted within twelve months."}

// TestNoPageSaysNoOneOutsideTheLibrary: no patron page, nor the export,
// promises that no one outside the library may see a kind of data; every
// category's "Who else may see it" names law enforcement with a court
// order the library has reviewed, beside the parties it already named.
func TestNoPageSaysNoOneOutsideTheLibrary(t *testing.T) {
	forEachDB(t, contactConfig(), func(t *testing.T, a *app) {
		// The demo data: mailing lists with their consent texts, favorites,
		// a long reading history.
		c, _ := seeded(t, a)
		// And a new patron, offered every list with its consent text.
		a.patron(card, pin, "Rosa", "Parks")
		fresh := a.client()
		fresh.signIn(card, pin)
		for _, cl := range []*client{c, fresh} {
			for _, path := range patronPages() {
				r := cl.get(path)
				wantStatus(t, r, 200)
				for _, bad := range overPromises {
					if strings.Contains(r.body, bad) {
						t.Errorf("%s says %q", path, bad)
					}
				}
			}
		}
		doc := c.get("/data").doc(t)
		cards := 0
		doc.Find(`[data-testid^="card-"]`).Each(func(_ int, s *goquery.Selection) {
			if id, _ := s.Attr("data-testid"); id == "card-not-kept" {
				return
			}
			cards++
			whoDD := s.Find("dt:contains('Who else may see it') + dd")
			who := whoDD.Text()
			if !strings.Contains(who, models.CourtOrder) {
				t.Errorf("%s: who else may see it: %q", s.Find("h2").Text(), who)
			}
			// Only a category another party receives stands out: were
			// every card highlighted, none would be.
			if other := strings.TrimSpace(who) != models.CourtOrder; whoDD.HasClass("shared") != other {
				t.Errorf("%s: highlighted %v, but a party besides law enforcement: %v (%q)", s.Find("h2").Text(), whoDD.HasClass("shared"), other, who)
			}
		})
		if cards != len(models.Categories()) {
			t.Fatalf("%d cards, want %d", cards, len(models.Categories()))
		}
		if who := doc.Find(`[data-testid="card-loans"] dt:contains('Who else may see it') + dd`).Text(); !strings.Contains(who, "collection agency") {
			t.Errorf("loans no longer name the collection agency: %q", who)
		}
		for _, c := range models.Categories() {
			if !strings.Contains(c.SharedWith, "Law enforcement, only with a court order the library has reviewed.") {
				t.Errorf("%s: %q", c.Slug, c.SharedWith)
			}
		}
		export := c.get("/data/export.json")
		wantStatus(t, export, 200)
		for _, bad := range overPromises {
			if strings.Contains(export.body, bad) {
				t.Errorf("the export says %q", bad)
			}
		}
		if strings.Count(export.body, models.CourtOrder) < len(models.Categories())-2 {
			t.Error("the export's categories do not name law enforcement under a court order")
		}
	})
}

// TestFooterShowsThePrivacyContactOnEveryPage: the privacy contact, with
// mailto: and tel: links, is in the footer of every page, signed in or
// not, and in the notice that asks the patron to tell the library; with
// none configured the footer says only what is true: ask at any desk.
// The public pages promise no more than the library delivers either.
func TestFooterShowsThePrivacyContactOnEveryPage(t *testing.T) {
	forEachDB(t, contactConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		for _, path := range []string{"/", "/policy", "/login"} {
			footerHasContact(t, c, path)
			for _, bad := range overPromises {
				if r := c.get(path); strings.Contains(r.body, bad) {
					t.Errorf("%s says %q", path, bad)
				}
			}
		}
		c.signIn(card, pin)
		for _, path := range patronPages() {
			footerHasContact(t, c, path)
		}
	})
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		doc := a.client().get("/").doc(t)
		if got := doc.Find(`footer [data-testid="footer-contact"]`).Text(); !strings.Contains(got, "Ask at any desk of Test Library.") ||
			doc.Find(`footer a[href^="mailto:"]`).Length() != 0 {
			t.Fatalf("footer with no contact: %q", got)
		}
	})
}

func footerHasContact(t *testing.T, c *client, path string) {
	t.Helper()
	r := c.get(path)
	wantStatus(t, r, 200)
	doc := r.doc(t)
	f := doc.Find(`footer [data-testid="footer-contact"]`)
	if !strings.Contains(f.Text(), testContact.Name) || !strings.Contains(f.Text(), testContact.Address) {
		t.Errorf("%s: footer %q", path, f.Text())
	}
	if h, _ := f.Find(`a[href^="mailto:"]`).Attr("href"); h != "mailto:privacy@library.example" {
		t.Errorf("%s: mailto %q", path, h)
	}
	if h, _ := f.Find(`a[href^="tel:"]`).Attr("href"); h != "tel:+13104588600" {
		t.Errorf("%s: tel %q", path, h)
	}
}

var pastDate = regexp.MustCompile(`(?i)(will be deleted on|deleted) (January|February|March|April|May|June|July|August|September|October|November|December) \d+, (\d{4})`)

// TestHeldPatronSeesDeletionPausedNotAPastDate: a patron under a hold
// with no nondisclosure order keeps seeing their records past retention,
// and every place that would give a deletion date says "Deletion paused
// by a court order" instead; the notice tells since when, with the
// contact.
func TestHeldPatronSeesDeletionPausedNotAPastDate(t *testing.T) {
	forEachDB(t, contactConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		pastDue(t, a, p)
		legalRows(t, a, p, false, nil, false)
		purgeCounts(t, a)
		c := a.client()
		c.signIn(card, pin)
		doc := c.get("/data").doc(t)
		for _, slug := range []string{"reference", "holds", "fines", "ill", "computer-sessions", "notifications"} {
			card := doc.Find(`[data-testid="card-` + slug + `"]`)
			if !strings.Contains(card.Text(), "Deletion paused by a court order.") || strings.Contains(card.Text(), "will be deleted on") {
				t.Errorf("card %s: %q", slug, strings.Join(strings.Fields(card.Text()), " "))
			}
		}
		if held := doc.Find(`[data-testid="card-reference"] [data-testid="held"]`).Text(); !strings.HasPrefix(held, "2 questions") {
			t.Errorf("reference card: %q", held)
		}
		notice := doc.Find(`[data-testid="legal-notice"]`)
		if notice.Length() != 1 || !strings.Contains(notice.Text(), "Deletion of your records is paused by a court order") ||
			!strings.Contains(notice.Text(), "Superior Court of California") || !strings.Contains(notice.Text(), "November 25, 2026") ||
			notice.Find(`a[href="mailto:privacy@library.example"]`).Length() != 1 {
			t.Fatalf("legal notice: %q", notice.Text())
		}
		for path, past := range map[string]string{"/data/staff-access": "past lookup", "/data/consents": "past channel", "/data/reference": "past question", "/data/holds": "past hold", "/data/fines": "past fine",
			"/data/ill": "past loan", "/data/computer-sessions": "PC-past", "/data/notifications": "past arrival"} {
			r := c.get(path)
			wantStatus(t, r, 200)
			if !strings.Contains(r.body, past) || (!strings.Contains(strings.ToLower(r.body), "deletion paused by a court order") && path != "/data/staff-access" && path != "/data/consents") {
				t.Errorf("%s: want %q shown with deletion paused", path, past)
			}
			if m := pastDate.FindString(r.body); m != "" {
				t.Errorf("%s promises a deletion date: %q", path, m)
			}
			// Said where the page says how long, not only in a table
			// column a phone scrolls out of view.
			if got := strings.TrimSpace(r.doc(t).Find(`.facts [data-testid="paused"]`).Text()); got != "Deletion paused by a court order: nothing here is deleted while it lasts." {
				t.Errorf("%s: How long does not say deletion is paused: %q", path, got)
			}
		}
		if !strings.Contains(c.get("/data/notifications").body, "Daily email of October 27, 2026") {
			t.Error("the email that carried a held notification is not shown")
		}
		if export := c.get("/data/export.json"); !strings.Contains(export.body, "past question") {
			t.Error("the export leaves out the held records the patron may see")
		}
	})
}

// TestNoHoldPatronNeverSeesRecordsPastRetention: before any purge runs, a
// patron with no hold sees none of their records past retention: not in
// the overview's counts, the detail pages, the print view or the export.
func TestNoHoldPatronNeverSeesRecordsPastRetention(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		pastDue(t, a, p)
		c := a.client()
		c.signIn(card, pin)
		doc := c.get("/data").doc(t)
		for slug, want := range map[string]string{"reference": "1 question", "holds": "1 hold", "fines": "1 fine or fee",
			"ill": "Nothing.", "computer-sessions": "1 session", "notifications": "Nothing.", "consents": "1 change", "staff-access": "1 entry"} {
			if held := doc.Find(`[data-testid="card-` + slug + `"] [data-testid="held"]`).Text(); !strings.HasPrefix(held, want) {
				t.Errorf("card %s: %q, want %q", slug, held, want)
			}
		}
		for _, path := range append(patronPages(), "/data/export.json") {
			r := c.get(path)
			if strings.Contains(r.body, "past ") || strings.Contains(r.body, "PC-past") {
				t.Errorf("%s shows a record past its retention", path)
			}
		}
		if strings.Contains(c.get("/data/notifications").body, "Daily email of October 27, 2026") {
			t.Error("the email that carried only past notifications is still shown")
		}
		if n := countRows(t, a.store.DB, "reference_questions", p.ID); n != 2 {
			t.Fatalf("hiding deletes nothing: %d rows", n)
		}
	})
}

var (
	csrfValue = regexp.MustCompile(`(name="csrf_token" value=")[^"]*`)
	timeOfDay = regexp.MustCompile(`\d{1,2}:\d{2} (AM|PM)`)
)

// TestNondisclosureLooksExactlyLikeNoHold: a patron under a hold whose
// nondisclosure order is in force gets the same overview, detail pages,
// print view and export (but for their card number, record IDs and
// generated times) as an identical patron with no hold, after a purge
// deleted the other's records past retention while the database still
// holds theirs. Nothing tells them a court order exists.
//
// Their new-arrival emails are alike too: each has a notification from
// before they chose emails, never emailed and past its retention (the
// purge deleted the other's); once both choose daily emails, neither's
// email carries it, so it never comes back as a recent one.
func TestNondisclosureLooksExactlyLikeNoHold(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	cfg.PrivacyContact = testContact
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		const heldCard = "21000000007777"
		free := a.patron(card, pin, "Rosa", "Parks")
		held := a.patron(heldCard, pin, "Rosa", "Parks")
		pastDue(t, a, free)
		pastDue(t, a, held)
		for _, p := range []models.Patron{free, held} {
			old := models.Notification{PatronID: p.ID, Title: "Old arrival", Author: "Butler, Octavia E.", Reason: "r",
				CreatedAt: a.clock.Now().AddDate(0, 0, -40)}
			if err := a.store.DB.Create(&old).Error; err != nil {
				t.Fatal(err)
			}
		}
		legalRows(t, a, held, true, nil, true)
		purgeCounts(t, a)
		if countRows(t, a.store.DB, "reference_questions", held.ID) != 2 || countRows(t, a.store.DB, "reference_questions", free.ID) != 1 {
			t.Fatal("the hold keeps the held patron's records; the purge took the other's")
		}
		cf, ch := a.client(), a.client()
		cf.signIn(card, pin)
		ch.signIn(heldCard, pin)
		norm := func(s string) string {
			s = strings.ReplaceAll(strings.ReplaceAll(s, card, "CARD"), heldCard, "CARD")
			s = strings.ReplaceAll(strings.ReplaceAll(s, "ending in 9999", "ending in CARD"), "ending in 7777", "ending in CARD")
			s = csrfValue.ReplaceAllString(s, "$1")
			return timeOfDay.ReplaceAllString(s, "TIME")
		}
		same := func(when string) {
			t.Helper()
			for _, path := range patronPages() {
				f, h := cf.get(path), ch.get(path)
				wantStatus(t, h, 200)
				if norm(f.body) != norm(h.body) {
					t.Errorf("%s: %s differs under nondisclosure:\nfree: %s\nheld: %s", when, path, excerpt(diffAt(norm(f.body), norm(h.body))), excerpt(diffAt(norm(h.body), norm(f.body))))
				}
			}
			ef, eh := exportShape(t, cf.get("/data/export.json").body), exportShape(t, ch.get("/data/export.json").body)
			if ef != eh {
				t.Errorf("%s: the export differs under nondisclosure:\nfree: %s\nheld: %s", when, excerpt(diffAt(ef, eh)), excerpt(diffAt(eh, ef)))
			}
			// Nothing the legal workflow writes reaches the held patron:
			// not the hold or the production in their staff-access
			// entries, not the court, not the notice, not a paused date.
			for _, path := range append(patronPages(), "/data/export.json") {
				body := ch.get(path).body
				for _, tell := range []string{"Produced your records", "Suspended deletion", "Deletion paused", "legal-notice",
					"CO-2026-0417", "Superior Court", "legal.hold", "legal.produce", "Old arrival"} {
					if strings.Contains(body, tell) {
						t.Errorf("%s: %s tells the held patron: %q", when, path, tell)
					}
				}
			}
		}
		same("after the purge")
		// Both choose daily emails; the next day's emails are alike and
		// carry only the arrival of today.
		for _, p := range []models.Patron{free, held} {
			mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
			mailtest.Notify(t, a.store, p, "New arrival", "b1")
		}
		a.clock.Advance(15 * time.Hour)
		if rep := run(t, deliverer(a, cfg, &strings.Builder{})); rep.Sent != 2 {
			t.Fatalf("emails: %s, want one each", rep)
		}
		msgs := srv.Messages()
		var texts []string
		for _, m := range msgs {
			e := mailtest.ParseEmail(t, m.Data)
			texts = append(texts, noticeToken.ReplaceAllString(e.Text, "TOKEN"))
			if strings.Contains(e.Text, "Old arrival") || strings.Contains(e.HTML, "Old arrival") {
				t.Errorf("an email carries a notification past its retention:\n%s", e.Text)
			}
		}
		if len(texts) != 2 || texts[0] != texts[1] {
			t.Errorf("the two patrons' emails differ:\n%s", strings.Join(texts, "\n----\n"))
		}
		cf.signIn(card, pin)
		ch.signIn(heldCard, pin)
		same("after the emails")
	})
}

var noticeToken = regexp.MustCompile(`/unsubscribe/notices/[A-Za-z0-9_-]+`)

func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[max(0, i-80):]
}

// exportShape is an export without what differs between two patrons of
// the same records: IDs, the card number and the generation time.
func exportShape(t *testing.T, body string) string {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("export: %v", err)
	}
	var strip func(v any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k := range x {
				if k == "id" || strings.HasSuffix(k, "_id") || strings.HasSuffix(k, "_ids") || k == "generated_at" || k == "card_number" ||
					k == "last_sign_in_at" || k == "record_created_at" {
					delete(x, k)
					continue
				}
				x[k] = strip(x[k])
			}
		case []any:
			for i := range x {
				x[i] = strip(x[i])
			}
		}
		return v
	}
	out, _ := json.Marshal(strip(doc))
	return string(out)
}

// TestNoticeListsAProductionFirst: without a nondisclosure order the
// "since your last visit" notice starts with what was produced: the
// court, the kind and reference, the date, the categories and the dates
// they covered, and how to reach the privacy contact; under a
// nondisclosure order it shows nothing.
func TestNoticeListsAProductionFirst(t *testing.T) {
	forEachDB(t, contactConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		legalRows(t, a, p, false, nil, true)
		// Staff also helped: the legal notice still comes first.
		staff := a.staff("deskclerk", models.RoleAssistant)
		err := a.store.DB.Transaction(func(tx *gorm.DB) error {
			return a.store.AppendAudit(tx, &models.AuditEntry{StaffID: &staff.ID, PatronID: &p.ID, Action: models.AuditAssistStart, Reason: "desk"})
		})
		if err != nil {
			t.Fatal(err)
		}
		c := a.client()
		c.signIn(card, pin)
		doc := c.get("/data").doc(t)
		first := doc.Find(`.assist-notice`).First()
		if id, _ := first.Attr("data-testid"); id != "legal-notice" {
			t.Fatalf("the first notice is %q", id)
		}
		// The assistance notice, after it, asks the patron to tell the
		// library, and says how.
		if doc.Find(`[data-testid="assist-notice"] a[href="mailto:privacy@library.example"]`).Length() != 1 {
			t.Error("the assistance notice does not say how to reach the privacy contact")
		}
		text := strings.Join(strings.Fields(first.Text()), " ")
		for _, want := range []string{"Your records were produced for a court order", "Superior Court of California, County of Los Angeles",
			"Court order, reference CO-2026-0417", "November 26, 2026: the library produced your “Email reference questions” and “Fines and fees” (records dated January 1, 2025 to October 31, 2026)",
			"privacy@library.example"} {
			if !strings.Contains(text, want) {
				t.Errorf("notice lacks %q: %s", want, text)
			}
		}
		// Read: it goes until something new happens.
		wantStatus(t, c.post("/data/assist-notice/dismiss", dismissForm(t, doc)), 303)
		if c.get("/data").doc(t).Find(`[data-testid="legal-notice"]`).Length() != 0 {
			t.Error("the notice stays after the patron read it")
		}
	})
	forEachDB(t, contactConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		legalRows(t, a, p, true, nil, true)
		c := a.client()
		c.signIn(card, pin)
		if body := c.get("/data").body; strings.Contains(body, "legal-notice") {
			t.Error("under a nondisclosure order the overview shows a legal notice")
		}
	})
}

// TestEndedNondisclosureIsToldOnceByEmail: when a nondisclosure order is
// lifted, or runs out, the patron's next visit tells everything that
// happened under the request, and exactly one plain email goes out (none
// while it is in force, none again on later passes, none to a patron
// with no address), with the contact and no record in it. Without a mail
// server nothing is marked told, so the email goes once one is set up.
func TestEndedNondisclosureIsToldOnceByEmail(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	cfg.PrivacyContact = testContact
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		ctx := context.Background()
		lifted := a.patron(card, pin, "Rosa", "Parks")
		expiring := a.patron("21000000007777", pin, "Ida", "Wells")
		pastDue(t, a, lifted)
		until := a.clock.Now().Add(48 * time.Hour)
		reqL := legalRows(t, a, lifted, true, nil, true)
		legalRows(t, a, expiring, true, &until, false)
		// Also covered, with no email address: told at their next visit.
		noMail := a.patron("21000000005555", pin, "Ann", "Lee")
		a.store.DB.Model(&models.Patron{}).Where("id = ?", noMail.ID).Update("email", "")
		if err := a.store.DB.Create(&models.LegalRequestPatron{RequestID: reqL.ID, PatronID: noMail.ID}).Error; err != nil {
			t.Fatal(err)
		}
		d := deliverer(a, cfg, &strings.Builder{})
		if n, err := d.TellLegal(ctx); err != nil || n != 0 || len(srv.Messages()) != 0 {
			t.Fatalf("while in force: told %d, %d emails (%v)", n, len(srv.Messages()), err)
		}
		// Released, then lifted.
		now := a.clock.Now()
		a.store.DB.Model(&models.LegalHold{}).Where("patron_id = ?", lifted.ID).Update("released_at", now.Add(-time.Hour))
		a.store.DB.Model(&models.LegalRequest{}).Where("id = ?", reqL.ID).Update("nondisclosure_lifted_at", now)
		c := a.client()
		c.signIn(card, pin)
		text := strings.Join(strings.Fields(c.get("/data").doc(t).Find(`[data-testid="legal-notice"]`).Text()), " ")
		for _, want := range []string{"Your records were produced for a court order", "November 25, 2026: the library paused the deletion",
			"November 27, 2026: deletion of your records resumed", "November 26, 2026: the library produced",
			"A nondisclosure order kept the library from telling you until November 27, 2026", "privacy@library.example"} {
			if !strings.Contains(text, want) {
				t.Errorf("notice lacks %q: %s", want, text)
			}
		}
		if n, err := d.TellLegal(ctx); err != nil || n != 1 {
			t.Fatalf("told %d (%v), want 1", n, err)
		}
		if n, _ := d.TellLegal(ctx); n != 0 {
			t.Fatalf("told again: %d", n)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "rosa@example.org" {
			t.Fatalf("%d emails: %+v", len(msgs), msgs)
		}
		body := plainEmail(t, msgs[0].Data)
		for _, want := range []string{"CO-2026-0417", "Email reference questions", "privacy@library.example", "deletion of your records resumed"} {
			if !strings.Contains(body, want) {
				t.Errorf("email lacks %q", want)
			}
		}
		for _, bad := range []string{"past question", "kept question", "past fine", "text/html"} {
			if strings.Contains(body, bad) {
				t.Errorf("email carries %q", bad)
			}
		}
		var rp models.LegalRequestPatron
		a.store.DB.Where("request_id = ? AND patron_id = ?", reqL.ID, lifted.ID).Take(&rp)
		if rp.ToldAt == nil {
			t.Fatal("told_at not set")
		}
		var rpNoMail models.LegalRequestPatron
		a.store.DB.Where("request_id = ? AND patron_id = ?", reqL.ID, noMail.ID).Take(&rpNoMail)
		if rpNoMail.ToldAt == nil {
			t.Fatal("a patron with no address is not marked told, so every pass would look at them again")
		}
		// The other order runs out; with no mail server nothing is marked.
		a.clock.Advance(49 * time.Hour)
		off := deliverer(a, demoConfig(), &strings.Builder{})
		if _, err := off.TellLegal(ctx); err == nil {
			t.Fatal("telling with no mail server should say so")
		}
		var rp2 models.LegalRequestPatron
		a.store.DB.Where("patron_id = ?", expiring.ID).Take(&rp2)
		if rp2.ToldAt != nil {
			t.Fatal("marked told with no mail server")
		}
		if rep := run(t, d); rep.Told != 1 || len(srv.Messages()) != 2 {
			t.Fatalf("after expiry: %s, %d emails", rep, len(srv.Messages()))
		}
	})
}

// plainEmail reads a plain-text email's body, decoded; it fails on any
// other kind of message.
func plainEmail(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want text/plain only", ct)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOneStuckLegalEmailBlocksNoOne: when the mail server keeps saying
// "try again later" for the first patron to be told that a nondisclosure
// order ended, the patrons after them are emailed on the same pass; the
// first is tried again after a wait, and emailed once the server takes
// it. The digests of that pass go out even when telling fails outright
// (here: its table cannot be read), which is logged and counted.
func TestOneStuckLegalEmailBlocksNoOne(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	cfg.PrivacyContact = testContact
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		srv.SetRefused("rosa@example.org")
		stuck := a.patron(card, pin, "Rosa", "Parks")
		req := legalRows(t, a, stuck, true, nil, false)
		var later []models.Patron
		for i, name := range []string{"Ida", "Ann", "Mae"} {
			p := a.patron("2100000000700"+strconv.Itoa(i), pin, name, "Wells")
			if err := a.store.DB.Create(&models.LegalRequestPatron{RequestID: req.ID, PatronID: p.ID}).Error; err != nil {
				t.Fatal(err)
			}
			later = append(later, p)
		}
		a.store.DB.Model(&models.LegalRequest{}).Where("id = ?", req.ID).Update("nondisclosure_lifted_at", a.clock.Now())
		logs := &strings.Builder{}
		d := deliverer(a, cfg, logs)
		to := func() map[string]int {
			out := map[string]int{}
			for _, m := range srv.Messages() {
				out[m.To[0]]++
			}
			return out
		}
		rep := run(t, d)
		got := to()
		if rep.Told != 3 || got["ida@example.org"] != 1 || got["ann@example.org"] != 1 || got["mae@example.org"] != 1 || got["rosa@example.org"] != 0 {
			t.Fatalf("first pass: %s, emails %v; want the three after the stuck one told", rep, got)
		}
		if rep.LegalRetrying != 1 {
			t.Errorf("first pass: %s, want the stuck one counted as retrying", rep)
		}
		if strings.Contains(logs.String(), "rosa@") || strings.Contains(logs.String(), "Greylisted") {
			t.Error("the log names the address or repeats the server's words")
		}
		var rp models.LegalRequestPatron
		a.store.DB.Where("request_id = ? AND patron_id = ?", req.ID, stuck.ID).Take(&rp)
		if rp.ToldAt != nil {
			t.Fatal("the stuck patron is marked told though no email went")
		}
		// The server takes it now; it is tried again after a wait, once.
		srv.SetRefused()
		if rep := run(t, d); rep.Told != 0 {
			t.Errorf("tried again at once: %s", rep)
		}
		a.clock.Advance(2 * time.Minute)
		if rep := run(t, d); rep.Told != 1 || to()["rosa@example.org"] != 1 {
			t.Fatalf("after the wait: %s, emails %v", rep, to())
		}
		if rep := run(t, d); rep.Told != 0 || len(srv.Messages()) != 4 {
			t.Fatalf("told again: %s, %d emails", rep, len(srv.Messages()))
		}

		// Telling fails outright: the digests still go, and the failure
		// is counted and logged.
		mailtest.NoticesOn(t, a.store, later[0], models.NoticeDaily)
		mailtest.Notify(t, a.store, later[0], "Kindred", "k1")
		a.clock.Advance(15 * time.Hour)
		if err := a.store.DB.Exec("ALTER TABLE legal_request_patrons RENAME TO legal_request_patrons_away").Error; err != nil {
			t.Fatal(err)
		}
		rep, err := d.RunOnce(context.Background())
		if err := a.store.DB.Exec("ALTER TABLE legal_request_patrons_away RENAME TO legal_request_patrons").Error; err != nil {
			t.Fatal(err)
		}
		if err != nil || rep.Sent != 1 || rep.LegalErrors != 1 {
			t.Fatalf("with telling broken: %s (%v), want the digest sent and the error counted", rep, err)
		}
		if !strings.Contains(logs.String(), "legal notice emails") {
			t.Errorf("the failure is not logged:\n%s", logs)
		}
	})
}

// dismissForm reads the "I have read this" form of an overview as
// rendered: every field it posts.
func dismissForm(t *testing.T, doc *goquery.Document) url.Values {
	t.Helper()
	form := url.Values{}
	doc.Find(`form[action="/data/assist-notice/dismiss"]`).First().Find("input").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		value, _ := in.Attr("value")
		form.Set(name, value)
	})
	if form.Get("csrf_token") == "" {
		t.Fatal("the overview has no dismiss form")
	}
	return form
}

// TestDismissHidesOnlyWhatThePageShowed: "I have read this" dismisses
// what the page showed when it was rendered, not what happened between
// then and the click: an assistance and a production in between are
// shown at the next visit, and an old tab's button never brings back,
// nor hides, anything a newer page dealt with. A rendered time from the
// future, from before the sign-in, or none, dismisses nothing.
func TestDismissHidesOnlyWhatThePageShowed(t *testing.T) {
	forEachDB(t, contactConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		staff := a.staff("deskclerk", models.RoleAssistant)
		assist := func(reason string) {
			t.Helper()
			err := a.store.DB.Transaction(func(tx *gorm.DB) error {
				return a.store.AppendAudit(tx, &models.AuditEntry{StaffID: &staff.ID, PatronID: &p.ID, Action: models.AuditAssistStart, Reason: reason})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		assist("first visit")
		a.clock.Advance(time.Minute)
		c := a.client()
		c.signIn(card, pin)
		a.clock.Advance(time.Minute)
		old := c.get("/data").doc(t)
		if !strings.Contains(old.Find(`[data-testid="assist-notice"]`).Text(), "first visit") {
			t.Fatal("no notice to dismiss")
		}
		oldForm := dismissForm(t, old)
		seenAt := func() *time.Time {
			var q models.Patron
			a.store.DB.Where("id = ?", p.ID).Take(&q)
			return q.AssistSeenAt
		}

		// Refused: nothing is dismissed.
		for name, bad := range map[string]string{"none": "", "garbage": "yesterday",
			"future":         strconv.FormatInt(a.clock.Now().Add(time.Hour).UnixMicro(), 10),
			"before sign-in": strconv.FormatInt(a.clock.Now().Add(-90*time.Second).UnixMicro(), 10)} {
			f := url.Values{"csrf_token": {oldForm.Get("csrf_token")}}
			if bad != "" {
				f.Set("seen_until", bad)
			}
			wantRedirect(t, c.post("/data/assist-notice/dismiss", f), "/data")
			if seenAt() != nil {
				t.Fatalf("%s: a bad rendered time dismissed the notice", name)
			}
		}

		// Between rendering and the click: another assistance, and a
		// production under a court order with no nondisclosure.
		a.clock.Advance(time.Minute)
		assist("second visit")
		req := legalRows(t, a, p, false, nil, true)
		now := a.clock.Now()
		a.store.DB.Model(&models.LegalHold{}).Where("request_id = ?", req.ID).Update("placed_at", now)
		a.store.DB.Model(&models.LegalProduction{}).Where("request_id = ?", req.ID).Update("produced_at", now)
		a.clock.Advance(time.Minute)
		wantRedirect(t, c.post("/data/assist-notice/dismiss", oldForm), "/data")
		doc := c.get("/data").doc(t)
		if n := doc.Find(`[data-testid="assist-notice"]`).Text(); !strings.Contains(n, "second visit") || strings.Contains(n, "first visit") {
			t.Errorf("after the click the notice says %q: want the second visit only", n)
		}
		if doc.Find(`[data-testid="legal-notice"]`).Length() != 1 {
			t.Error("the production that came after the page was rendered is never shown")
		}

		// A newer tab reads it all; the old tab's button then changes
		// nothing.
		wantRedirect(t, c.post("/data/assist-notice/dismiss", dismissForm(t, doc)), "/data")
		seen := seenAt()
		wantRedirect(t, c.post("/data/assist-notice/dismiss", oldForm), "/data")
		if after := seenAt(); after == nil || seen == nil || !after.Equal(*seen) {
			t.Errorf("the old tab moved the last-read time from %v to %v", seen, after)
		}
		doc = c.get("/data").doc(t)
		if doc.Find(`[data-testid="assist-notice"]`).Length() != 0 || doc.Find(`[data-testid="legal-notice"]`).Length() != 0 {
			t.Error("what the newer page dismissed came back")
		}
	})
}

// sharedParties are the parties outside the library a category's "Who
// else may see it" can name, each by the words that must name it.
var sharedParties = map[string]string{
	"law":    models.CourtOrder,
	"agency": "collection agency",
	"lender": "lending library",
	"mail":   "library's mail service",
}

// whereDataGoes is, for every category, who outside the library gets its
// data: law enforcement under a reviewed court order gets anything; the
// collection agency gets what recovering long-overdue materials and
// unpaid fines needs (the patron's contact details, the loans, the
// fines); the lending library what a loan needs; the library's mail
// service the name and address of everyone it emails, and what the
// emails carry (mailing lists, new arrivals and the favorites that
// matched them). Changing where data goes means changing this table, and
// the category's text with it.
var whereDataGoes = map[string][]string{
	"contact":           {"law", "agency", "mail"},
	"card":              {"law"},
	"loans":             {"law", "agency"},
	"reading-history":   {"law"},
	"holds":             {"law"},
	"fines":             {"law", "agency"},
	"ill":               {"law", "lender"},
	"reference":         {"law"},
	"computer-sessions": {"law"},
	"mailing-lists":     {"law", "mail"},
	"favorites":         {"law", "mail"},
	"notifications":     {"law", "mail"},
	"consents":          {"law"},
	"staff-access":      {"law"},
	"sessions":          {"law"},
}

// TestWhoElseMaySeeItNamesWhereEachCategoryGoes: every category names
// exactly the parties its data goes to (whereDataGoes), on its page; and
// the emails the portal really sends, a new-arrival email and the email
// telling of legal process, carry only data of categories that name the
// library's mail service: the address and name (contact details), the
// favorite that matched (favorites) and the arrival (notifications), and
// never the card number. The favorites page says the same.
func TestWhoElseMaySeeItNamesWhereEachCategoryGoes(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	cfg.PrivacyContact = testContact
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		ctx := context.Background()
		if len(whereDataGoes) != len(models.Categories()) {
			t.Fatalf("whereDataGoes has %d categories, the portal %d", len(whereDataGoes), len(models.Categories()))
		}
		p := a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		for _, cat := range models.Categories() {
			want, ok := whereDataGoes[cat.Slug]
			if !ok {
				t.Errorf("%s: not in whereDataGoes", cat.Slug)
				continue
			}
			page := strings.Join(strings.Fields(c.get("/data/"+cat.Slug).doc(t).Find("dt:contains('Who else may see it') + dd").Text()), " ")
			for party, words := range sharedParties {
				if named := strings.Contains(page, words); named != slicesContains(want, party) {
					t.Errorf("%s: names %q: %v, but its data goes to %v: %q", cat.Slug, words, named, want, page)
				}
			}
		}

		// What really leaves by email.
		wantRedirect(t, c.post("/favorites/link", url.Values{"csrf_token": {c.csrf("/favorites")}, "consent": {"yes"},
			"version": {models.FavoritesConsentVersion}}), "/favorites")
		fav, _, err := a.store.AddFavorite(ctx, p.ID, models.FavoriteAuthor, "Jemisin, N. K.", models.Actor{Channel: models.ChannelWeb})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.SetFavoritesNotice(ctx, p.ID, models.NoticeDaily, models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
		arrival := models.Notification{PatronID: p.ID, Title: "The Fifth Season", Author: "Jemisin, N. K.", Reason: fav.Display, CreatedAt: a.clock.Now()}
		if err := a.store.DB.Create(&arrival).Error; err != nil {
			t.Fatal(err)
		}
		req := legalRows(t, a, p, true, nil, true)
		a.store.DB.Model(&models.LegalRequest{}).Where("id = ?", req.ID).Update("nondisclosure_lifted_at", a.clock.Now())
		a.clock.Advance(15 * time.Hour)
		if rep := run(t, deliverer(a, cfg, &strings.Builder{})); rep.Sent != 1 || rep.Told != 1 {
			t.Fatalf("%s: want a new-arrival email and a legal one", rep)
		}
		var out strings.Builder
		for _, m := range srv.Messages() {
			out.WriteString(strings.Join(m.To, ",") + "\n" + string(m.Data) + "\n")
		}
		sent := out.String()
		carries := map[string][]string{
			"contact":       {p.Email, "Rosa Parks"},
			"card":          {p.CardNumber},
			"favorites":     {fav.Display},
			"notifications": {arrival.Title},
		}
		for slug, marks := range carries {
			in := false
			for _, m := range marks {
				in = in || strings.Contains(sent, m)
			}
			if in != slicesContains(whereDataGoes[slug], "mail") {
				t.Errorf("%s: its data is in the emails: %v; whereDataGoes says the mail service gets it: %v", slug, in, !in)
			}
		}

		// The favorites page, linked and not, says where favorites go.
		c.signIn(card, pin)
		linked := strings.Join(strings.Fields(c.get("/favorites").doc(t).Find(`[data-testid="linked"]`).Text()), " ")
		for _, words := range []string{"library's mail service", models.CourtOrder[:len("Law enforcement")]} {
			if !strings.Contains(strings.ToLower(linked), strings.ToLower(words)) {
				t.Errorf("the linked favorites page does not name %q: %s", words, linked)
			}
		}
		fresh := a.client()
		a.patron("21000000007777", pin, "Ida", "Wells")
		fresh.signIn("21000000007777", pin)
		page := fresh.get("/favorites").doc(t)
		for _, text := range []string{page.Find(`[data-testid="not-linked"] ul`).Text(), models.FavoritesConsentText} {
			if !strings.Contains(strings.Join(strings.Fields(text), " "), "library's mail service") {
				t.Errorf("linking favorites does not say they go to the library's mail service: %s", text)
			}
		}
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestHeldNotificationsPastRetentionAreNeverEmailed: under a hold the
// patron is told of, a notification past its retention stays in view
// (deletion paused) but is not emailed when the patron then chooses
// daily emails, and its row says so rather than promising an email.
func TestHeldNotificationsPastRetentionAreNeverEmailed(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	cfg.PrivacyContact = testContact
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		srv.Reset()
		p := a.patron(card, pin, "Rosa", "Parks")
		old := models.Notification{PatronID: p.ID, Title: "Old arrival", Author: "Butler, Octavia E.", Reason: "r",
			CreatedAt: a.clock.Now().AddDate(0, 0, -40)}
		if err := a.store.DB.Create(&old).Error; err != nil {
			t.Fatal(err)
		}
		legalRows(t, a, p, false, nil, false)
		purgeCounts(t, a)
		mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
		mailtest.Notify(t, a.store, p, "New arrival", "b1")
		a.clock.Advance(15 * time.Hour)
		if rep := run(t, deliverer(a, cfg, &strings.Builder{})); rep.Sent != 1 {
			t.Fatalf("%s: want one email", rep)
		}
		if text := mailtest.ParseEmail(t, srv.Messages()[0].Data).Text; strings.Contains(text, "Old arrival") || !strings.Contains(text, "New arrival") {
			t.Errorf("the email:\n%s", text)
		}
		c := a.client()
		c.signIn(card, pin)
		row := strings.Join(strings.Fields(c.get("/data/notifications").doc(t).Find(`tr:contains("Old arrival")`).Text()), " ")
		if !strings.Contains(row, "Not emailed") || strings.Contains(row, "Waiting") {
			t.Errorf("the held, unsent notification says: %q", row)
		}
	})
}
