package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

// The faults an outside test found (issue 23), each injected here into a
// real database: writes refused (SQLite's query_only, PostgreSQL's
// read-only transactions: what read-only files, a standby or a full
// PostgreSQL disk give), a full SQLite disk (max_page_count), and the one
// write of a session row that carries a message for the next page.

// writesFail makes every write to a's database fail until the returned
// function is called: on SQLite its one connection is put in query_only
// mode; on PostgreSQL the database's transactions become read-only and
// the pool's idle connections are replaced by new ones that are.
func writesFail(t *testing.T, a *app) (restore func()) {
	t.Helper()
	db := a.store.DB.WithContext(context.Background())
	if models.DialectOfDB(db) == models.SQLite {
		if err := db.Exec("PRAGMA query_only = ON").Error; err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := db.Exec("PRAGMA query_only = OFF").Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := db.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`ALTER DATABASE "` + name + `" SET default_transaction_read_only = on`).Error; err != nil {
		t.Fatal(err)
	}
	renew := func() { sqlDB.SetMaxIdleConns(0); sqlDB.SetMaxIdleConns(16) }
	renew()
	return func() {
		err := db.Connection(func(conn *gorm.DB) error {
			if err := conn.Exec("SET default_transaction_read_only = off").Error; err != nil {
				return err
			}
			return conn.Exec(`ALTER DATABASE "` + name + `" RESET default_transaction_read_only`).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		renew()
	}
}

// refuseNoticeWrites makes the database refuse to update a session row
// that carries a message for the next page (a flash), as a connection
// killed at that moment would: everything else, the change the request
// made included, is stored.
func refuseNoticeWrites(t *testing.T, a *app) (restore func()) {
	t.Helper()
	db := a.store.DB
	var stmts, undo []string
	if models.DialectOfDB(db) == models.SQLite {
		stmts = []string{`CREATE TRIGGER refuse_notice BEFORE UPDATE ON sessions WHEN NEW.data LIKE '%"flash%'
			BEGIN SELECT RAISE(ABORT, 'injected fault: session row refused'); END`}
		undo = []string{"DROP TRIGGER refuse_notice"}
	} else {
		stmts = []string{`CREATE FUNCTION refuse_notice() RETURNS trigger AS $$ BEGIN
			IF NEW.data LIKE '%"flash%' THEN RAISE EXCEPTION 'injected fault: session row refused'; END IF;
			RETURN NEW; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER refuse_notice BEFORE UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_notice()`}
		undo = []string{"DROP TRIGGER refuse_notice ON sessions", "DROP FUNCTION refuse_notice()"}
	}
	for _, q := range stmts {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, q := range undo {
			if err := db.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestACommittedChangeIsAnsweredAsDone: once a change has committed, a
// failure to store the message the next page would show must not turn
// the answer into "may or may not have been saved" (a retry would then do
// nothing, or do it again): the visitor is sent on as after a success,
// and the lost message is logged. Every kind of handler that leaves a
// message: a patron's, one that names a record (flashRecord), one that
// also changes the session (ending an assistance), a staff member's.
func TestACommittedChangeIsAnsweredAsDone(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron("21000000000077", "2468", "Rosa", "Parks")
		a.store.DB.Model(&p).UpdateColumn("reading_history_enabled", true)
		a.list("garden", "Garden Club Letters")
		a.staff("sam", models.RoleAssistant)
		a.staff("olga", models.RolePrivacyOfficer)
		patron := a.client()
		wantRedirect(t, patron.signIn("21000000000077", "2468"), "/data")
		tok := patron.csrf("/favorites")
		officer := a.client()
		wantRedirect(t, officer.staffSignIn("olga", staffPassword), "/staff")
		otok := officer.csrf("/staff/audit")
		var assist *client
		ctx := context.Background()

		cases := []struct {
			name      string
			setup     func()
			do        func() response
			to        string
			committed func() bool
		}{
			{"link favorites", nil, func() response {
				return patron.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}})
			}, "/favorites", func() bool {
				q, _ := a.store.Patron(ctx, p.ID)
				return q.FavoritesLinked
			}},
			{"follow an author", nil, func() response {
				return patron.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"Octavia Butler"}})
			}, "/favorites", func() bool {
				var n int64
				a.store.DB.Model(&models.Favorite{}).Where("patron_id = ?", p.ID).Count(&n)
				return n == 1
			}},
			{"subscribe to a list", nil, func() response {
				return patron.post("/mailing-lists/garden/subscribe", url.Values{"csrf_token": {tok}})
			}, "/mailing-lists", func() bool {
				subs, _ := a.store.SubscribedListIDs(ctx, p.ID)
				return len(subs) == 1
			}},
			{"turn reading history off", nil, func() response {
				return patron.post("/data/reading-history/off", url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
			}, "/data/reading-history", func() bool {
				q, _ := a.store.Patron(ctx, p.ID)
				return !q.ReadingHistoryEnabled
			}},
			{"verify the audit log", nil, func() response {
				return officer.post("/staff/audit/verify", url.Values{"csrf_token": {otok}})
			}, "/staff/audit", func() bool {
				var n int64
				a.store.DB.Model(&models.AuditEntry{}).Where("action = ?", models.AuditVerify).Count(&n)
				return n == 1
			}},
			{"end an assistance", func() { assist = a.assisting(t, "sam", p) }, func() response {
				return assist.post("/assist/end", url.Values{"csrf_token": {assist.csrf("/data")}})
			}, "/staff", func() bool {
				var n int64
				a.store.DB.Model(&models.AuditEntry{}).Where("patron_id = ? AND action = ?", p.ID, models.AuditAssistEnd).Count(&n)
				return n == 1
			}},
		}
		for _, tc := range cases {
			if tc.setup != nil {
				tc.setup()
			}
			restore := refuseNoticeWrites(t, a)
			r := tc.do()
			restore()
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tc.to {
				t.Errorf("%s: answered %d %q, want 303 to %s, as for a change that was made:\n%s", tc.name, r.StatusCode, r.Header.Get("Location"), tc.to, excerpt(r.body))
			}
			if !tc.committed() {
				t.Errorf("%s: the change is not in the database", tc.name)
			}
			if !strings.Contains(a.logs.String(), "the message for the next page was not saved") {
				t.Errorf("%s: the lost message is not logged", tc.name)
			}
		}
		// The assistance is over for the staff member's session too.
		if r := assist.get("/data"); r.StatusCode == http.StatusOK {
			t.Error("the staff session still shows the patron's pages after the assistance ended")
		}
	})
}

// TestSignInWhileTheDatabaseRefusesWrites: a sign-in form that cannot be
// stored says the portal cannot save anything right now, with the form
// again and what was typed, never "refused… you may not have access" or
// "may or may not have been saved"; nobody is signed in and no cookie
// is sent. Patrons, staff, and the staff code step.
func TestSignInWhileTheDatabaseRefusesWrites(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron("21000000000077", "2468", "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		a.staff("olga", models.RolePrivacyOfficer)
		patron, staff, officer := a.client(), a.client(), a.client()
		ptok, stok := patron.csrf("/login"), staff.csrf("/staff/login")
		pending, _ := officer.staffPasswordStep("olga", staffPassword).doc(t).Find(`input[name="pending"]`).Attr("value")
		otok := officer.csrf("/staff/login")
		cookiesBefore := len(a.cookies.all())

		restore := writesFail(t, a)
		defer restore()
		code, _ := models.TOTPCode(testTOTPSecret, a.clock.Now())
		for _, tc := range []struct {
			name string
			c    *client
			r    response
			keep string
		}{
			{"patron", patron, patron.post("/login", url.Values{"card": {"21000000000077"}, "pin": {"2468"}, "csrf_token": {ptok}}), "21000000000077"},
			{"staff", staff, staff.post("/staff/login", url.Values{"username": {"sam"}, "password": {staffPassword}, "csrf_token": {stok}}), "sam"},
			{"staff code step", officer, officer.post("/staff/login/code", url.Values{"pending": {pending}, "code": {code}, "csrf_token": {otok}}), ""},
		} {
			if tc.r.StatusCode != http.StatusServiceUnavailable || tc.r.Header.Get("Retry-After") == "" {
				t.Errorf("%s: %d (Retry-After %q), want 503 with Retry-After", tc.name, tc.r.StatusCode, tc.r.Header.Get("Retry-After"))
			}
			doc := tc.r.doc(t)
			text := doc.Find("main").Text()
			if !strings.Contains(text, "cannot save anything right now") || strings.Contains(text, "may not have access") || strings.Contains(text, "may or may not") {
				t.Errorf("%s: the page says:\n%s", tc.name, excerpt(text))
			}
			if doc.Find(`form input[name="csrf_token"]`).Length() == 0 {
				t.Errorf("%s: the sign-in form is not there to try again", tc.name)
			}
			if tc.keep != "" && !strings.Contains(tc.r.body, `value="`+tc.keep+`"`) {
				t.Errorf("%s: what was typed (%s) is gone", tc.name, tc.keep)
			}
			if doc.Find(`[data-testid="signed-in"]`).Length() != 0 {
				t.Errorf("%s: the page shows someone signed in", tc.name)
			}
		}
		if got := a.cookies.all(); len(got) != cookiesBefore {
			t.Errorf("a cookie was sent though nobody could be signed in: %v", got[cookiesBefore:])
		}
		restore() // and once more, harmlessly, when the test ends
		wantRedirect(t, patron.signIn("21000000000077", "2468"), "/data")
	})
}

// TestAChangeWhileTheDatabaseRefusesWrites: a signed-in patron's page
// still shows (its form token was stored at sign-in, so showing a form
// writes nothing), and a change says the portal cannot save right now.
func TestAChangeWhileTheDatabaseRefusesWrites(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron("21000000000077", "2468", "Rosa", "Parks")
		c := a.client()
		wantRedirect(t, c.signIn("21000000000077", "2468"), "/data")
		restore := writesFail(t, a)
		defer restore()
		r := c.get("/favorites")
		wantStatus(t, r, http.StatusOK)
		tok, _ := r.doc(t).Find(`input[name="csrf_token"]`).Attr("value")
		r = c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}})
		wantStatus(t, r, http.StatusServiceUnavailable)
		if h := r.doc(t).Find("h1").Text(); h != "The portal cannot save anything right now" {
			t.Errorf("heading %q", h)
		}
	})
}

// probeEvery is web.probeEvery, and a little more.
const probeEvery = 1100 * time.Millisecond

// TestReadyzSaysWhenTheDatabaseCannotBeWritten: a load balancer must stop
// sending traffic to a portal whose database answers reads but refuses
// writes: found by the write probe (read-only), or by the writes that
// failed lately (a full disk, which the probe does not fill).
func TestReadyzSaysWhenTheDatabaseCannotBeWritten(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		ready := func() (int, string) {
			r := c.get("/readyz")
			return r.StatusCode, strings.TrimSpace(r.body)
		}
		if code, body := ready(); code != http.StatusOK {
			t.Fatalf("readyz %d %q before any fault", code, body)
		}
		restore := writesFail(t, a)
		time.Sleep(probeEvery) // the probe's last result stands for a second
		if code, body := ready(); code != http.StatusServiceUnavailable || body != "database refuses writes" {
			t.Errorf("read-only database: readyz %d %q", code, body)
		}
		restore()
		time.Sleep(probeEvery)
		if code, body := ready(); code != http.StatusOK {
			t.Errorf("writable again: readyz %d %q", code, body)
		}
		if models.DialectOfDB(a.store.DB) != models.SQLite {
			return
		}
		// A full disk: the file may not grow. The probe still passes;
		// the failed writes of a patron adding favorites tell.
		a.patron("21000000000077", "2468", "Rosa", "Parks")
		wantRedirect(t, c.signIn("21000000000077", "2468"), "/data")
		tok := c.csrf("/favorites")
		wantRedirect(t, c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}}), "/favorites")
		var pages int
		a.store.DB.Raw("PRAGMA page_count").Scan(&pages)
		a.store.DB.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages))
		defer a.store.DB.Exec("PRAGMA max_page_count = 1073741823")
		full := false
		for i := 0; i < 400 && !full; i++ {
			r := c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"subject"}, "name": {fmt.Sprintf("A subject with a long name to fill the page, number %d", i)}})
			full = r.StatusCode == http.StatusServiceUnavailable
		}
		if !full {
			t.Fatal("the disk never filled")
		}
		if code, body := ready(); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "database refused a write") {
			t.Errorf("full disk: readyz %d %q", code, body)
		}
	})
}
