package web_test

// The "done when", through the real router, a real database and
// fakes that speak the real protocols: a SIP2 server with checksums and a
// Koha REST API with OAuth2. No test double of Carrel's own interfaces.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/ils/koha"
	"github.com/carrel-library/carrel/models/ils/koha/kohatest"
	"github.com/carrel-library/carrel/models/ils/sip2"
	"github.com/carrel-library/carrel/models/ils/sip2/sip2test"
)

func TestSignInWithSIP2EndToEnd(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		srv := sip2test.Start(t, sip2test.Config{User: "carrel", Password: "sip-pw", Institution: "SMPL",
			Patrons: map[string]sip2test.Patron{
				"21000000000101": {PIN: "4321", Name: "Okafor, Ngozi", Email: "ngozi@example.org", Phone: "310 555 0101"},
				"21000000000102": {PIN: "1111", Name: "Invalid, Ivy", Invalid: true},
			}})
		cfg := srv.ClientConfig()
		cfg.ResponseTimeout = 500 * time.Millisecond
		c, err := sip2.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		a.store.PatronAuth = ils.NewSIP2(c)
		// A patron the portal knows with a local PIN the ILS does not
		// accept: the portal's own PIN no longer counts.
		a.patron("21000000000103", "2468", "Local", "Only")

		// A new card the ILS accepts becomes a record with the ILS's name.
		ngozi := a.client()
		wantRedirect(t, ngozi.signIn("21000000000101", "4321"), "/data")
		p, err := a.store.PatronByCard(t.Context(), "21000000000101")
		if err != nil {
			t.Fatalf("no record made at first sign-in: %v", err)
		}
		if p.GivenName != "Ngozi" || p.FamilyName != "Okafor" || p.Email != "ngozi@example.org" || p.ReadingHistoryEnabled || p.ILSLink != "sip2" {
			t.Errorf("the record made at sign-in is %+v", p)
		}
		page := ngozi.get("/data")
		wantStatus(t, page, http.StatusOK)
		if !strings.Contains(page.body, "Okafor") {
			t.Errorf("the overview does not name the patron from the ILS:\n%s", excerpt(page.body))
		}

		// Refusals: a wrong PIN, a patron the ILS marks invalid, the local PIN.
		for _, tc := range []struct{ card, pin string }{
			{"21000000000101", "0000"}, {"21000000000102", "1111"}, {"21000000000103", "2468"},
		} {
			r := a.client().signIn(tc.card, tc.pin)
			wantStatus(t, r, http.StatusUnauthorized)
		}
		if _, err := a.store.PatronByCard(t.Context(), "21000000000102"); err == nil {
			t.Error("a card the ILS marks invalid became a record")
		}

		// The ILS stops answering: a clear 503, nothing written, and the
		// patron already signed in keeps working.
		srv.SetFault(sip2test.Hang)
		stranger := a.client()
		r := stranger.signIn("21000000000101", "4321")
		wantStatus(t, r, http.StatusServiceUnavailable)
		if !strings.Contains(r.body, "not answering") || r.Header.Get("Retry-After") == "" {
			t.Errorf("the 503 does not say the library's system is not answering (Retry-After %q):\n%s",
				r.Header.Get("Retry-After"), excerpt(r.body))
		}
		if stranger.sessionCookie() != "" {
			t.Error("a sign-in the ILS could not check set a session cookie")
		}
		wantStatus(t, ngozi.get("/data"), http.StatusOK)
		srv.SetFault(sip2test.None)
		wantRedirect(t, a.client().signIn("21000000000101", "4321"), "/data")
	})
}

func TestKohaSignInWriteBackAndFollow(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		k := kohatest.StartTLS(t)
		id := k.AddPatron(kohatest.Patron{Cardnumber: "21000000000201", Password: "9876", Firstname: "Grace",
			Surname: "Hopper", Email: "grace@example.org", LibraryID: "MAIN", ExpiryDate: "2028-06-30",
			Privacy: models.KohaPrivacyDefault})
		kc, err := koha.New(k.Config())
		if err != nil {
			t.Fatal(err)
		}
		a.store.PatronAuth = ils.NewKoha(kc)
		a.store.ConsentTargets = []string{models.TargetKoha}
		sender := &ils.Sender{Store: a.store, Koha: kc}

		c := a.client()
		wantRedirect(t, c.signIn("21000000000201", "9876"), "/data")
		p, err := a.store.PatronByCard(t.Context(), "21000000000201")
		if err != nil || p.ILSID == nil || *p.ILSID != strconv.FormatInt(id, 10) || p.HomeBranch != "MAIN" {
			t.Fatalf("record made at first sign-in: %+v, %v", p, err)
		}

		// On, then off: Koha ends with privacy 2 (never keep), in order.
		wantRedirect(t, c.post("/data/reading-history/on", url.Values{"csrf_token": {c.csrf("/data/reading-history")}}), "/data/reading-history")
		tok := c.csrf("/data/reading-history/off")
		wantRedirect(t, c.post("/data/reading-history/off", url.Values{"csrf_token": {tok}, "confirm": {"yes"}}), "/data/reading-history")
		if page := c.get("/data/reading-history"); !strings.Contains(page.body, "catalog will be told too") {
			t.Errorf("turning history off does not say the catalog will be told:\n%s", excerpt(page.body))
		}
		history := c.get("/data/consents")
		if !strings.Contains(history.body, "Waiting to be sent") {
			t.Errorf("the consent history does not say the catalog has yet to hear of it:\n%s", excerpt(history.body))
		}
		for range 2 {
			if _, err := sender.RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if got := k.Privacy(id); got != models.KohaPrivacyNever {
			t.Fatalf("Koha privacy is %d after reading history was turned off, want 2", got)
		}
		if len(k.Puts()) != 2 {
			t.Errorf("Koha got %d writes, want 2 (on, then off, in order)", len(k.Puts()))
		}
		if history := c.get("/data/consents"); !strings.Contains(history.body, "Sent on") {
			t.Errorf("the consent history does not say the catalog has it:\n%s", excerpt(history.body))
		}

		// The patron turns history back on in the catalog; at their next
		// sign-in Carrel follows, records it, and says so once.
		k.SetPrivacy(id, models.KohaPrivacyKeep)
		again := a.client()
		wantRedirect(t, again.signIn("21000000000201", "9876"), "/data")
		p, _ = a.store.PatronByCard(t.Context(), "21000000000201")
		if !p.ReadingHistoryEnabled {
			t.Fatal("Carrel did not follow the choice made in the catalog")
		}
		var entry models.ConsentEntry
		if err := a.store.DB.Where("patron_id = ?", p.ID).Order("id DESC").Take(&entry).Error; err != nil || entry.Channel != models.ChannelILS {
			t.Errorf("the last ledger entry is %+v, %v; want channel ils", entry, err)
		}
		first := again.get("/data")
		if !strings.Contains(first.body, "catalog") {
			t.Errorf("the next page does not tell the patron what was followed:\n%s", excerpt(first.body))
		}
		if backlog, _ := a.store.OutboxBacklog(t.Context()); backlog[models.TargetKoha] != 0 {
			t.Errorf("a change that came from Koha was queued to be written back to it: %v", backlog)
		}

		// Koha down: 503, and nothing about the card decided.
		k.Down(true)
		wantStatus(t, a.client().signIn("21000000000201", "9876"), http.StatusServiceUnavailable)
	})
}
