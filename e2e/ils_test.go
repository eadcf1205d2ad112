package e2e

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	harness "github.com/carrel-library/carrel/e2e/internal/portal"
	"github.com/carrel-library/carrel/models/ils/koha/kohatest"
	"github.com/chromedp/chromedp"
)

// kohaPatron is a patron the fake Koha knows and the portal has never
// seen: their record is made at their first sign-in.
var kohaPatron = patron{Card: "21000000000301", PIN: "koha-pass-7531", FullName: "Grace Hopper",
	Short: "G. Hopper", GivenName: "Grace", Email: "grace.hopper@example.org", Phone: "310-555-0199"}

// outboxWait bounds the wait for the consent outbox to reach Koha and the
// webhook receiver: serve runs it every 30 seconds, with no setting to
// run it more often.
const outboxWait = 75 * time.Second

// TestLibrarySystemJourney: with CARREL_PATRON_AUTH=koha, against a fake
// Koha (its REST API and OAuth2, over plain HTTP on 127.0.0.1) and a
// webhook receiver that checks every signature. The demo patron's own PIN
// no longer counts. A patron the portal has never seen signs in with the
// card and password Koha holds: the first page welcomes them to a record
// made just now from the library's system, and says so only once. They
// turn reading history on, then off; the consent history has a "Library
// catalog" column saying whether Koha has each change yet. The outbox
// then brings Koha's privacy to 2 (never keep), the consent history says
// both changes were sent, and the receiver gets both, signed, in order,
// naming the card and the choice and nothing the patron reads. Koha goes
// down: a new sign-in gets a 503 page saying the library's system is not
// answering, and sets no cookie; the patron already signed in keeps
// working. A staff member's console shows the koha connector failing,
// with its last error, and the webhook receiver's connector healthy.
// Every page is audited; the pages the patron and staff member land on
// are audited again at 390 CSS pixels and must not scroll sideways.
func TestLibrarySystemJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		k := kohatest.Start(t)
		expiry := time.Now().AddDate(2, 0, 0).Format("2006-01-02")
		kohaID := k.AddPatron(kohatest.Patron{Cardnumber: kohaPatron.Card, Password: kohaPatron.PIN,
			Firstname: "Grace", Surname: "Hopper", Email: kohaPatron.Email, Phone: kohaPatron.Phone,
			Address: "12 Harbor Lane", City: "Arlington", PostalCode: "22201", LibraryID: "MAIN",
			ExpiryDate: expiry, Privacy: 1})
		hooks := startWebhookReceiver(t)

		p := startPortalWith(t, db, []string{
			"CARREL_PATRON_AUTH=koha",
			"CARREL_KOHA_URL=" + k.URL,
			"CARREL_KOHA_CLIENT_ID=" + k.ClientID,
			"CARREL_KOHA_CLIENT_SECRET=" + k.ClientSecret,
			"CARREL_WEBHOOK_URL=" + hooks.url,
			"CARREL_WEBHOOK_SECRET=" + hooks.secretText,
		})
		if logs := p.waitLog("CARREL_KOHA_URL is http", "CARREL_WEBHOOK_URL"); !strings.Contains(logs, "CARREL_KOHA_URL is http") ||
			!strings.Contains(logs, "CARREL_WEBHOOK_URL") {
			t.Errorf("serve did not warn that Koha and the webhook receiver are reached over plain http:\n%s", logs)
		}

		tb := b.newTab(t, p, "ils")

		// The portal's own demo PIN no longer counts: Koha decides.
		login := tb.open("/login", "login")
		wantPage(t, login, http.StatusOK, "/login", "Sign in")
		refused := tb.signIn(alex, "demo-pin-refused")
		wantPage(t, refused, http.StatusUnauthorized, "/login", "Sign in")
		wantText(t, refused, "That card number and PIN do not match our records.")
		tb.wantEmptyJar("after Koha refused the demo patron's local PIN")
		do(tb, "clear the card field", chromedp.Clear(chromedp.CSS(selCard)))

		// 1. First sign-in with the card and password Koha holds.
		data := tb.signIn(kohaPatron, "welcome")
		wantPage(t, data, http.StatusOK, "/data", "What we hold about you")
		wantText(t, data, kohaPatron.Short)
		tb.wantElement(data, `[data-testid="ils-welcome"]`,
			"Your record here was made just now from the library's system", "Reading history is off")
		if c := tb.sessionCookie(); strings.Contains(c, kohaPatron.Card) {
			t.Errorf("the session cookie holds the card number")
		}
		again := tb.open("/data", "data-again")
		wantPage(t, again, http.StatusOK, "/data", "What we hold about you")
		tb.wantNoElement(again, `[data-testid="ils-welcome"]`, "the welcome is said once")

		// 2. Reading history on, then off.
		rh := tb.open("/data/reading-history", "reading-history")
		wantPage(t, rh, http.StatusOK, "/data/reading-history", "Reading history")
		tb.wantElement(rh, `[data-testid="history-state"]`, "Reading history is off.")
		on := tb.click(`[data-testid="history-on"]`, "history-on")
		wantPage(t, on, http.StatusOK, "/data/reading-history", "Reading history")
		tb.wantNotice(on, "Reading history is on")
		confirm := tb.click(`[data-testid="history-off"]`, "history-off-confirm")
		wantPage(t, confirm, http.StatusOK, "/data/reading-history/off", "Turn off reading history?")
		off := tb.click(selConfirm, "history-off")
		wantPage(t, off, http.StatusOK, "/data/reading-history", "Reading history")
		tb.wantNotice(off, "Reading history is off")
		tb.wantElement(off, `[data-testid="history-state"]`, "Reading history is off.")

		ledger := tb.open("/data/consents", "consents")
		wantPage(t, ledger, http.StatusOK, "/data/consents", "")
		want := [][]string{
			{"Reading history", "On", "Off", "You", "This portal"},
			{"Reading history", "Off", "On", "You", "This portal"},
		}
		tb.wantConsentRows(ledger, want, "Waiting to be sent", "Sent on ")

		// 3. The outbox sends both changes, in order, to the webhook
		// receiver and to Koha: privacy 2 at last. serve runs it every 30 s.
		got := hooks.wait(t, 2)
		// The same run writes to Koha; the fake says nothing when it has,
		// so its state is polled, for as long.
		deadline := time.Now().Add(outboxWait)
		for k.Privacy(kohaID) != 2 && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
		if got := k.Privacy(kohaID); got != 2 {
			t.Fatalf("Koha's privacy for the patron is %d %s after reading history was turned off; want 2 (never keep)",
				got, outboxWait)
		}
		var privacies []string
		for _, put := range k.Puts() {
			privacies = append(privacies, fmt.Sprint(put["privacy"]))
		}
		if !slices.Equal(privacies, []string{"0", "2"}) {
			t.Errorf("Koha got privacy writes %q; want on then off, [0 2]", privacies)
		}
		sent := tb.open("/data/consents", "consents-sent")
		wantPage(t, sent, http.StatusOK, "/data/consents", "")
		tb.wantConsentRows(sent, want, "Sent on ")

		// The webhooks: both changes, signed, in order, and nothing else.
		for i, w := range []struct{ old, new string }{{"off", "on"}, {"on", "off"}} {
			d := got[i].Data
			if d.Card != kohaPatron.Card || d.Subject != "reading_history" || d.OldValue != w.old ||
				d.NewValue != w.new || d.Channel != "web" {
				t.Errorf("webhook %d: want the card, reading_history %s → %s from the web; got %+v", i+1, w.old, w.new, d)
			}
			if got[i].Type != "consent.changed" {
				t.Errorf("webhook %d: type %q, want consent.changed", i+1, got[i].Type)
			}
			for _, key := range got[i].keys {
				if !slices.Contains([]string{"card_number", "ils_id", "subject", "old_value", "new_value",
					"actor", "channel", "changed_at", "consent_id"}, key) {
					t.Errorf("webhook %d: the payload carries %q, which the receiver has no need of", i+1, key)
				}
			}
		}
		if bad := hooks.refused(); len(bad) > 0 {
			t.Errorf("the webhook receiver refused: %q", bad)
		}

		// 4. Koha goes down: a new sign-in is told so, the patron already
		// signed in keeps working.
		k.Down(true)
		down := b.newTab(t, p, "ils-down")
		dl := down.open("/login", "login")
		wantPage(t, dl, http.StatusOK, "/login", "Sign in")
		unavailable := down.signIn(kohaPatron, "koha-down")
		wantPage(t, unavailable, http.StatusServiceUnavailable, "/login", "Sign in")
		down.wantVisible(selFormError)
		wantText(t, unavailable, "The library's system is not answering", "Nothing was changed", "try again in a few minutes")
		down.wantEmptyJar("after a sign-in Koha could not check")
		still := tb.open("/data", "data-while-koha-down")
		wantPage(t, still, http.StatusOK, "/data", "What we hold about you")
		wantText(t, still, kohaPatron.Short)

		// 5. Staff see the connectors' state.
		staff := b.newTab(t, p, "ils-staff")
		console := staff.staffSignIn(demoAssistant, "/staff", "console")
		wantPage(t, console, http.StatusOK, "/staff", "Staff console")
		kohaRow := `[data-testid="connectors"] [data-testid="connector-koha"]`
		staff.wantElement(console, kohaRow+` [data-testid="connector-error"]`, "Failing")
		if e := staff.textOf(kohaRow + ` [data-testid="connector-error"]`); strings.Contains(e, "None") ||
			!strings.Contains(e, "M: ") || !strings.Contains(e, "HTTP 500") {
			t.Errorf("/staff: the koha connector's last error is %q; want when it failed, then \": \" and why (HTTP 500)", e)
		}
		if cells := staff.rowCells(kohaRow); len(cells) < 7 || cells[1] == "Never" || cells[6] != "0" {
			t.Errorf("/staff: the koha connector's row is %q; want a last success (the sign-in, the writes) and nothing waiting", cells)
		}
		hookRow := `[data-testid="connectors"] [data-testid="connector-webhook ` + hooks.host + `"]`
		if cells := staff.rowCells(hookRow); len(cells) < 7 || cells[1] == "Never" || cells[2] != "None" || cells[6] != "0" {
			t.Errorf("/staff: the webhook connector's row is %q; want a last success, no error and nothing waiting", cells)
		}
		staff.wantNoIdentifiers(console, kohaPatron, "the connectors hold no patron's data")

		// The log names connectors, never the patron.
		logs := strings.ToLower(p.logs.String())
		for _, id := range kohaPatron.identifiers() {
			if strings.Contains(logs, strings.ToLower(id)) {
				t.Errorf("carrel serve wrote the Koha patron's %q to its log", id)
			}
		}
	})
}

// startPortalWith is startPortal with extra settings for serve (the seed
// runs without them, as an operator's would before the link is set up).
func startPortalWith(t *testing.T, db string, settings []string) *portal {
	t.Helper()
	base := []string{
		"CARREL_ADDR=127.0.0.1:0",
		"CARREL_DATA_DIR=" + t.TempDir(),
		"CARREL_LOG_LEVEL=info",
	}
	if db == "postgres" {
		base = append(base, "CARREL_DATABASE_URL="+postgresDatabase(t))
	}
	env := append(harness.CleanEnv(), base...)
	seedDemo(t, env)
	p := launchPortal(t, "on "+db+" with "+settings[0], append(slices.Clone(env), settings...))
	p.DB = db
	return p
}

// wantConsentRows checks the consent history's newest rows: their first
// cells, and a last cell (the "Library catalog" column) that starts with
// one of states.
func (tb *tab) wantConsentRows(st *pageState, want [][]string, states ...string) {
	tb.t.Helper()
	cols := eval[[]string](tb, `Array.from(document.querySelectorAll('[data-testid="records"] thead th')).map(th => th.innerText.trim())`)
	if len(cols) == 0 || cols[len(cols)-1] != "Library catalog" {
		tb.t.Errorf("%s: want a last column \"Library catalog\", the columns are %q", st.Path(), cols)
	}
	rows := tb.tableRows(selRecords)
	if len(rows) < len(want) {
		tb.t.Fatalf("%s: want the %d changes just made, got %d rows: %q", st.Path(), len(want), len(rows), rows)
	}
	for i, w := range want {
		r := rows[i]
		if len(r) < len(w) || !slices.Equal(r[:len(w)], w) {
			tb.t.Errorf("%s row %d: want %q, got %q", st.Path(), i+1, w, r)
			continue
		}
		last := r[len(r)-1]
		if !slices.ContainsFunc(states, func(s string) bool { return strings.HasPrefix(last, s) }) {
			tb.t.Errorf("%s row %d: the Library catalog column says %q, want one of %q", st.Path(), i+1, last, states)
		}
	}
}

// rowCells are the texts of the cells (th and td) of the first row
// matching sel.
func (tb *tab) rowCells(sel string) []string {
	tb.t.Helper()
	return eval[[]string](tb, `(() => {
		const r = document.querySelector(`+jsQuote(sel)+`);
		return r ? Array.from(r.cells).map(c => c.innerText.trim()) : [];
	})()`)
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// webhook is one webhook the receiver accepted, decoded.
type webhook struct {
	Type string `json:"type"`
	Data struct {
		Card     string `json:"card_number"`
		Subject  string `json:"subject"`
		OldValue string `json:"old_value"`
		NewValue string `json:"new_value"`
		Channel  string `json:"channel"`
	} `json:"data"`
	keys []string // the payload's keys
}

// webhookReceiver is a library's webhook endpoint on 127.0.0.1: it checks
// each webhook's Standard Webhooks signature itself (not with Carrel's
// code) and keeps those it accepts, in the order they came.
type webhookReceiver struct {
	url, host  string
	secretText string // whsec_ and base64, as CARREL_WEBHOOK_SECRET
	key        []byte

	mu      sync.Mutex
	got     []webhook
	seen    map[string]bool // webhook-ids, as a receiver drops repeats
	refusal []string
	arrived chan struct{} // a token per webhook accepted
}

func startWebhookReceiver(t *testing.T) *webhookReceiver {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	r := &webhookReceiver{key: key, secretText: "whsec_" + base64.StdEncoding.EncodeToString(key),
		seen: map[string]bool{}, arrived: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/carrel-hooks"
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *webhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	refuse := func(why string) {
		r.mu.Lock()
		r.refusal = append(r.refusal, why)
		r.mu.Unlock()
		http.Error(w, why, http.StatusBadRequest)
	}
	if err != nil || req.Method != http.MethodPost {
		refuse("not a POST with a body")
		return
	}
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, r.key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ok := false
	for _, sig := range strings.Fields(req.Header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(sig), []byte(want))
	}
	if id == "" || ts == "" || !ok {
		refuse("bad signature")
		return
	}
	var h webhook
	var raw struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &h) != nil || json.Unmarshal(body, &raw) != nil {
		refuse("not JSON")
		return
	}
	for k := range raw.Data {
		h.keys = append(h.keys, k)
	}
	r.mu.Lock()
	repeat := r.seen[id]
	r.seen[id] = true
	if !repeat {
		r.got = append(r.got, h)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	if !repeat {
		r.arrived <- struct{}{}
	}
}

// wait waits up to outboxWait for n webhooks and returns them in order.
func (r *webhookReceiver) wait(t *testing.T, n int) []webhook {
	t.Helper()
	timeout := time.After(outboxWait)
	for {
		r.mu.Lock()
		got := slices.Clone(r.got)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-timeout:
			t.Fatalf("the webhook receiver got %d webhook(s) within %s, want %d", len(got), outboxWait, n)
		}
	}
}

func (r *webhookReceiver) refused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.refusal)
}
