package ils_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/ils/koha"
	"github.com/carrel-library/carrel/models/ils/koha/kohatest"
	"github.com/carrel-library/carrel/models/modeltest"
)

var testTime = time.Date(2026, time.April, 7, 10, 20, 30, 0, time.UTC)

// testSecret is CARREL_WEBHOOK_SECRET in the tests: 32 random-looking
// bytes in the spec's form.
const testSecret = "whsec_C2FyZWwtd2ViaG9vay10ZXN0LXNlY3JldC0zMmI="

// verifyStandardWebhook checks a request the way a receiver would, with
// nothing from package ils: the key is the base64 after whsec_, the
// signed text is "{id}.{timestamp}.{body}", the header is a
// space-separated list of "v1,<base64>", compared in constant time, and
// the timestamp must be within five minutes of now.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp outside the tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

// delivery is one request the receiver got.
type delivery struct {
	ID, Timestamp string
	Body          []byte
	Status        int // what the receiver answered
	Err           error
	Event         struct {
		Type      string               `json:"type"`
		Timestamp string               `json:"timestamp"`
		Data      models.OutboxPayload `json:"data"`
		Raw       map[string]any       `json:"-"`
	}
	DataKeys []string
}

// receiver is a webhook endpoint that verifies every request and
// answers what answer says (200 when nil).
type receiver struct {
	now    func() time.Time
	mu     sync.Mutex
	got    []delivery
	answer func(n int, d delivery) int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := delivery{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"), Body: body}
	d.Err = verifyStandardWebhook(testSecret, r.Header, body, rv.now())
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		d.Err = errors.New("not a JSON POST")
	}
	if err := json.Unmarshal(body, &d.Event); err != nil && d.Err == nil {
		d.Err = err
	}
	var raw struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(body, &raw)
	for k := range raw.Data {
		d.DataKeys = append(d.DataKeys, k)
	}
	slices.Sort(d.DataKeys)
	rv.mu.Lock()
	n := len(rv.got)
	d.Status = http.StatusOK
	if rv.answer != nil {
		d.Status = rv.answer(n, d)
	}
	rv.got = append(rv.got, d)
	rv.mu.Unlock()
	w.WriteHeader(d.Status)
}

func (rv *receiver) deliveries() []delivery {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]delivery(nil), rv.got...)
}

// lockedBuffer collects log lines from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fixture is a store on one engine whose consent changes go to one
// webhook, a receiver behind it, and a sender for it.
type fixture struct {
	s      *models.Store
	clock  *modeltest.FakeClock
	recv   *receiver
	srv    *httptest.Server
	url    string
	sender *ils.Sender
	logs   *lockedBuffer
	events *lockedBuffer // counted events, one a line
}

func newFixture(t *testing.T, db modeltest.DB) *fixture {
	t.Helper()
	clock := modeltest.NewFakeClock(testTime)
	s := modeltest.NewStore(t, db.Gorm, clock)
	f := &fixture{s: s, clock: clock, logs: &lockedBuffer{}, events: &lockedBuffer{}}
	s.Count = func(name string) { _, _ = f.events.Write([]byte(name + "\n")) }
	f.recv = &receiver{now: s.Now}
	f.srv = httptest.NewServer(f.recv)
	t.Cleanup(f.srv.Close)
	f.url = f.srv.URL + "/carrel/consent?token=t0k3n"
	s.ConsentTargets = []string{models.TargetWebhookPrefix + f.url}
	key, err := ils.ParseWebhookSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	f.sender = f.newSender(key)
	return f
}

func (f *fixture) newSender(key []byte) *ils.Sender {
	return &ils.Sender{Store: f.s, Webhooks: []ils.Webhook{{URL: f.url, Secret: key}},
		Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

var cards = 0

func (f *fixture) patron(t *testing.T, ilsID string) models.Patron {
	t.Helper()
	cards++
	p := models.Patron{CardNumber: "2100000000" + strconv.Itoa(7000+cards), PINHash: "x", GivenName: "Ada", FamilyName: "Lovelace",
		Email: "ada@example.org", CardExpiresOn: testTime.AddDate(1, 0, 0), BorrowingStatus: models.StatusActive,
		FavoritesNotice: models.NoticeNone, ReadingHistoryEnabled: true}
	if ilsID != "" {
		p.ILSID = &ilsID
	}
	if err := f.s.DB.Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) flip(t *testing.T, p models.Patron, on bool) {
	t.Helper()
	if _, changed, err := f.s.SetReadingHistory(t.Context(), p.ID, on, models.Actor{Channel: models.ChannelWeb}); err != nil || !changed {
		t.Fatalf("SetReadingHistory: %v %v", changed, err)
	}
}

func (f *fixture) run(t *testing.T) ils.Report {
	t.Helper()
	rep, err := f.sender.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return rep
}

func (f *fixture) rows(t *testing.T, patronID int64) []models.OutboxRow {
	t.Helper()
	var rows []models.OutboxRow
	if err := f.s.DB.Where("patron_id = ?", patronID).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// assertNoPersonalData fails if the logs name a patron or the webhook's
// token.
func (f *fixture) assertNoPersonalData(t *testing.T, ps ...models.Patron) {
	t.Helper()
	logs := f.logs.String()
	for _, p := range ps {
		for _, s := range []string{p.CardNumber, p.Email, p.FamilyName} {
			if strings.Contains(logs, s) {
				t.Errorf("the logs name a patron (%s): %s", s, logs)
			}
		}
	}
	if strings.Contains(logs, "t0k3n") {
		t.Errorf("the logs show the webhook URL's token: %s", logs)
	}
}

func TestWebhooksArriveSignedAndInOrder(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newFixture(t, db)
			ada, bo := f.patron(t, "4711"), f.patron(t, "")
			f.flip(t, ada, false)
			f.flip(t, ada, true)
			f.flip(t, ada, false)
			f.flip(t, bo, false)
			adaRows := f.rows(t, ada.ID)
			// The receiver fails Ada's first change once.
			f.recv.answer = func(n int, d delivery) int {
				if d.Event.Data.ConsentID == adaRows[0].ConsentID && n == 0 {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			}

			rep := f.run(t)
			if rep.Sent != 1 || rep.Retrying != 1 || rep.GivenUp != 0 {
				t.Fatalf("first pass: %v, want Bo's sent and Ada's first retrying", rep)
			}
			got := f.recv.deliveries()
			if len(got) != 2 || got[0].Event.Data.ConsentID != adaRows[0].ConsentID || got[1].Event.Data.Card != bo.CardNumber {
				t.Fatalf("first pass delivered %d: %+v; Ada's later changes must wait behind the failed one", len(got), got)
			}
			first := f.rows(t, ada.ID)[0]
			if first.Status != models.OutboxPending || first.Attempts != 1 || first.LastError != "HTTP 500" {
				t.Errorf("failed row = %+v", first)
			}
			// Nothing is due until the backoff has passed.
			if rep := f.run(t); rep != (ils.Report{}) {
				t.Errorf("a pass during the backoff did %v", rep)
			}
			f.clock.Advance(models.DigestBackoff(1))
			if rep := f.run(t); rep.Sent != 3 {
				t.Fatalf("after the backoff: %v, want Ada's three sent", rep)
			}
			got = f.recv.deliveries()
			if len(got) != 5 {
				t.Fatalf("%d deliveries, want 5", len(got))
			}
			var order []int64
			for i, d := range got {
				if d.Err != nil {
					t.Errorf("delivery %d does not verify: %v", i, d.Err)
				}
				if d.ID != "msg_consent_"+strconv.FormatInt(d.Event.Data.ConsentID, 10) {
					t.Errorf("delivery %d: webhook-id %s for consent %d", i, d.ID, d.Event.Data.ConsentID)
				}
				if d.Event.Type != "consent.changed" {
					t.Errorf("delivery %d: type %q", i, d.Event.Type)
				}
				if want := []string{"actor", "card_number", "changed_at", "channel", "consent_id", "ils_id", "new_value", "old_value", "subject"}; d.Event.Data.ILSID != "" && !slices.Equal(d.DataKeys, want) {
					t.Errorf("delivery %d carries %v, want exactly %v", i, d.DataKeys, want)
				}
				if d.Event.Data.Card == ada.CardNumber {
					order = append(order, d.Event.Data.ConsentID)
				}
			}
			want := []int64{adaRows[0].ConsentID, adaRows[0].ConsentID, adaRows[1].ConsentID, adaRows[2].ConsentID}
			if !slices.Equal(order, want) {
				t.Errorf("Ada's changes arrived as %v, want %v (the failed one again, then in order)", order, want)
			}
			// The retry is the same message: same id and body, a new
			// timestamp.
			retry := got[2]
			if retry.ID != got[0].ID || !bytes.Equal(retry.Body, got[0].Body) || retry.Timestamp == got[0].Timestamp {
				t.Errorf("retry: id %s body %s ts %s; first: id %s body %s ts %s", retry.ID, retry.Body, retry.Timestamp,
					got[0].ID, got[0].Body, got[0].Timestamp)
			}
			d := got[2].Event
			if d.Data.ILSID != "4711" || d.Data.Subject != models.ConsentReadingHistory || d.Data.OldValue != "on" ||
				d.Data.NewValue != "off" || d.Data.Channel != models.ChannelWeb || d.Data.Actor != models.ActorPatron ||
				d.Timestamp != d.Data.At.Format(time.RFC3339Nano) {
				t.Errorf("event = %+v", d)
			}
			for _, r := range f.rows(t, ada.ID) {
				if r.Status != models.OutboxSent || r.Payload != "" || r.SentAt == nil {
					t.Errorf("row after delivery = %+v", r)
				}
			}
			// The connector and the counts show it, and the logs name
			// no one.
			var seen bool
			for _, c := range f.s.Connectors.Snapshot() {
				if c.Name == "webhook "+strings.TrimPrefix(f.srv.URL, "http://") {
					seen = c.Attempts == 5 && c.Failures == 1 && c.LastErrorText == "HTTP 500"
				}
			}
			if !seen {
				t.Errorf("connectors = %+v, want the webhook with 5 attempts, 1 failure", f.s.Connectors.Snapshot())
			}
			if ev := f.events.String(); strings.Count(ev, "webhook.sent\n") != 4 || strings.Count(ev, "webhook.failed\n") != 1 {
				t.Errorf("counted events:\n%s", ev)
			}
			f.assertNoPersonalData(t, ada, bo)
		})
	}
}

func TestPayloadCarriesNoFavoritesOrTitles(t *testing.T) {
	db := modeltest.DB{Name: string(models.SQLite), Gorm: modeltest.SQLite(t, nil)}
	f := newFixture(t, db)
	ctx := t.Context()
	p := f.patron(t, "")
	web := models.Actor{Channel: models.ChannelWeb}
	if _, err := f.s.LinkFavorites(ctx, p.ID, web); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.AddFavorite(ctx, p.ID, "author", "Butler, Octavia E.", web); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DB.Create(&models.HistoryEntry{PatronID: p.ID, Title: "Kindred", Author: "Butler, Octavia E.", CheckedOutAt: testTime.AddDate(0, -1, 0), ReturnedAt: testTime}).Error; err != nil {
		t.Fatal(err)
	}
	f.flip(t, p, false)
	if _, err := f.s.SetFavoritesNotice(ctx, p.ID, models.NoticeDaily, web); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.UnlinkFavorites(ctx, p.ID, web); err != nil {
		t.Fatal(err)
	}
	if rep := f.run(t); rep.Sent != 4 {
		t.Fatalf("%v, want four changes sent", rep)
	}
	for _, d := range f.recv.deliveries() {
		for _, bad := range []string{"Butler", "Kindred", "Octavia", p.Email, p.FamilyName, p.GivenName} {
			if bytes.Contains(d.Body, []byte(bad)) {
				t.Errorf("a webhook carries %q: %s", bad, d.Body)
			}
		}
	}
}

// TestTwoSendersDeliverEachChangeOnce: two instances sending at once
// (two stores and two senders over one database) deliver every change
// exactly once, each patron's in order.
func TestTwoSendersDeliverEachChangeOnce(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newFixture(t, db)
			var patrons []models.Patron
			for i := 0; i < 6; i++ {
				p := f.patron(t, "")
				patrons = append(patrons, p)
				for j := 0; j < 4; j++ {
					f.flip(t, p, j%2 == 1)
				}
			}
			other := modeltest.NewStore(t, db.Gorm, f.clock)
			other.ConsentTargets = f.s.ConsentTargets
			key, _ := ils.ParseWebhookSecret(testSecret)
			a, b := f.newSender(key), &ils.Sender{Store: other, Webhooks: []ils.Webhook{{URL: f.url, Secret: key}}}
			var wg sync.WaitGroup
			var reps [2]ils.Report
			for i, s := range []*ils.Sender{a, b} {
				wg.Go(func() {
					// Each pass sends what is due; a row the other
					// sender holds waits for its next pass, so both run
					// until nothing is left.
					for n := 0; n < 50; n++ {
						rep, err := s.RunOnce(t.Context())
						if err != nil {
							t.Error(err)
							return
						}
						reps[i].Sent += rep.Sent
						if backlog, _ := f.s.OutboxBacklog(t.Context()); len(backlog) == 0 {
							return
						}
					}
				})
			}
			wg.Wait()
			if reps[0].Sent+reps[1].Sent != 24 {
				t.Errorf("sent %d + %d, want 24", reps[0].Sent, reps[1].Sent)
			}
			got := f.recv.deliveries()
			seen := map[string]int{}
			order := map[string][]int64{}
			for _, d := range got {
				if d.Err != nil {
					t.Errorf("delivery does not verify: %v", d.Err)
				}
				seen[d.ID]++
				order[d.Event.Data.Card] = append(order[d.Event.Data.Card], d.Event.Data.ConsentID)
			}
			if len(got) != 24 || len(seen) != 24 {
				t.Errorf("%d deliveries of %d changes, want each of 24 once", len(got), len(seen))
			}
			for _, p := range patrons {
				if ids := order[p.CardNumber]; len(ids) != 4 || !slices.IsSorted(ids) {
					t.Errorf("patron %d's changes arrived as %v", p.ID, ids)
				}
			}
		})
	}
}

func TestWebhookFailuresAreRetried(t *testing.T) {
	db := modeltest.DB{Name: string(models.SQLite), Gorm: modeltest.SQLite(t, nil)}
	cases := []struct {
		name, reason string
		handler      func(hit *int) http.Handler
	}{
		{"a redirect is not followed", "HTTP 302 (redirects are not followed)", func(hit *int) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("/carrel/consent", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			})
			mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { *hit++ })
			return mux
		}},
		{"a receiver that never answers", "timeout", func(hit *int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Read the body, so the server notices when the sender
				// hangs up; until then, never answer.
				_, _ = io.ReadAll(r.Body)
				<-r.Context().Done()
			})
		}},
		{"a 410 is a failure too", "HTTP 410", func(hit *int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, db)
			hit := 0
			srv := httptest.NewServer(tc.handler(&hit))
			t.Cleanup(srv.Close)
			f.url = srv.URL + "/carrel/consent"
			f.s.ConsentTargets = []string{models.TargetWebhookPrefix + f.url}
			key, _ := ils.ParseWebhookSecret(testSecret)
			f.sender = f.newSender(key)
			f.sender.Timeout = 50 * time.Millisecond
			p := f.patron(t, "")
			f.flip(t, p, false)
			f.flip(t, p, true)
			if rep := f.run(t); rep.Retrying != 1 || rep.Sent != 0 {
				t.Fatalf("%v, want one retrying and the later change waiting", rep)
			}
			rows := f.rows(t, p.ID)
			if rows[0].Status != models.OutboxPending || rows[0].LastError != tc.reason || rows[1].Attempts != 0 {
				t.Errorf("rows = %+v, want the first pending with %q, the second untried", rows, tc.reason)
			}
			if hit != 0 {
				t.Errorf("the redirect was followed")
			}
			if ev := f.events.String(); !strings.Contains(ev, "webhook.failed") {
				t.Errorf("no failure counted: %s", ev)
			}
			f.assertNoPersonalData(t, p)
		})
	}
}

// TestSenderGivesUpWhatNoRetryCanSend: a change for a webhook no longer
// configured, for Koha when Koha is not, or for a URL that is not https,
// is given up at once, without a request; the patron's next change goes.
func TestSenderGivesUpWhatNoRetryCanSend(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newFixture(t, db)
			gone := models.TargetWebhookPrefix + "https://old.example.org/hook"
			plain := "http://hooks.example.org/hook"
			f.s.ConsentTargets = []string{models.TargetKoha, gone, models.TargetWebhookPrefix + plain}
			p := f.patron(t, "4711")
			f.flip(t, p, false)
			// Then the configuration changes: only the receiver is left.
			f.s.ConsentTargets = []string{models.TargetWebhookPrefix + f.url}
			f.flip(t, p, true)
			key, _ := ils.ParseWebhookSecret(testSecret)
			f.sender.Webhooks = append(f.sender.Webhooks, ils.Webhook{URL: plain, Secret: key})
			rep := f.run(t)
			if rep.GivenUp != 3 || rep.Sent != 1 || rep.Retrying != 0 {
				t.Fatalf("%v, want three given up and the receiver's sent", rep)
			}
			reasons := map[string]string{}
			for _, r := range f.rows(t, p.ID) {
				if r.Status == models.OutboxGivenUp {
					reasons[r.Target] = r.LastError
					if r.Payload != "" {
						t.Errorf("a given-up row keeps its payload: %+v", r)
					}
				}
			}
			want := map[string]string{
				models.TargetKoha:                  "koha is no longer configured",
				gone:                               "webhook no longer configured",
				models.TargetWebhookPrefix + plain: "webhook URL refused: must be https",
				models.TargetWebhookPrefix + f.url: "",
			}
			for k, v := range want {
				if reasons[k] != v {
					t.Errorf("%s: %q, want %q", k, reasons[k], v)
				}
			}
			// A row whose senders kept dying mid-way is given up too.
			f.flip(t, p, false)
			if err := f.s.DB.Model(&models.OutboxRow{}).Where("patron_id = ? AND status = ?", p.ID, models.OutboxPending).
				UpdateColumn("attempts", 100).Error; err != nil {
				t.Fatal(err)
			}
			if rep := f.run(t); rep.GivenUp != 1 || rep.Sent != 0 {
				t.Errorf("a row tried 100 times: %v, want given up", rep)
			}
			if rows := f.rows(t, p.ID); rows[len(rows)-1].LastError != "interrupted too often" {
				t.Errorf("last row = %+v", rows[len(rows)-1])
			}
			if got := f.recv.deliveries(); len(got) != 1 || got[0].Event.Data.NewValue != "on" {
				t.Errorf("the receiver got %+v, want the second change only", got)
			}
			var after models.Patron
			if err := f.s.DB.Where("id = ?", p.ID).Take(&after).Error; err != nil {
				t.Fatal(err)
			}
			if after.ILSPrivacy != nil {
				t.Errorf("ils_privacy = %d after a given-up Koha row", *after.ILSPrivacy)
			}
		})
	}
}

// TestSenderFinishesTheDeliveryInFlightWhenStopped: the scheduler's
// context ends while a webhook is being posted: that one is finished and
// recorded, and no other is started.
func TestSenderFinishesTheDeliveryInFlightWhenStopped(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newFixture(t, db)
			a, b := f.patron(t, ""), f.patron(t, "")
			f.flip(t, a, false)
			f.flip(t, b, false)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			f.recv.answer = func(n int, d delivery) int {
				cancel() // the server is shutting down
				return http.StatusOK
			}
			rep, err := f.sender.RunOnce(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("RunOnce = %v, want context.Canceled", err)
			}
			if rep.Sent != 1 || len(f.recv.deliveries()) != 1 {
				t.Fatalf("%v, %d deliveries; want the one in flight sent and recorded", rep, len(f.recv.deliveries()))
			}
			sent, waiting := f.rows(t, a.ID)[0], f.rows(t, b.ID)[0]
			if sent.Status != models.OutboxSent {
				t.Errorf("the delivery in flight was not recorded: %+v", sent)
			}
			if waiting.Status != models.OutboxPending || waiting.Attempts != 0 || waiting.LeaseUntil != nil {
				t.Errorf("a delivery was started after the stop: %+v", waiting)
			}
		})
	}
}

func TestReadingHistoryOffReachesKohaAsPrivacy2(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newFixture(t, db)
			fk := kohatest.StartTLS(t)
			id := fk.AddPatron(kohatest.Patron{Cardnumber: "21000000004711", Password: "unused", Firstname: "Ada",
				Surname: "Lovelace", Privacy: models.KohaPrivacyDefault})
			kc, err := koha.New(fk.Config())
			if err != nil {
				t.Fatal(err)
			}
			f.sender.Koha = kc
			f.s.ConsentTargets = append(f.s.ConsentTargets, models.TargetKoha)
			p := f.patron(t, strconv.FormatInt(id, 10))
			f.flip(t, p, false)
			if rep := f.run(t); rep.Sent != 2 {
				t.Fatalf("%v, want Koha and the webhook sent", rep)
			}
			if puts := fk.Puts(); len(puts) != 1 || fmt.Sprint(puts[0]["privacy"]) != "2" || puts[0]["surname"] != "Lovelace" {
				t.Errorf("Koha got %v, want the whole patron back with privacy 2", puts)
			}
			var after models.Patron
			if err := f.s.DB.Where("id = ?", p.ID).Take(&after).Error; err != nil {
				t.Fatal(err)
			}
			if after.ILSPrivacy == nil || *after.ILSPrivacy != models.KohaPrivacyNever {
				t.Errorf("ils_privacy = %v, want 2", after.ILSPrivacy)
			}
			d, err := f.s.ConsentDeliveries(t.Context(), p.ID, []int64{f.rows(t, p.ID)[0].ConsentID})
			if err != nil || len(d) != 1 {
				t.Fatalf("deliveries = %v, %v", d, err)
			}
			for _, st := range d {
				if st.Status != models.OutboxSent {
					t.Errorf("the consent history says %+v", st)
				}
			}
			f.flip(t, p, true)
			fk.PUTFails(1)
			if rep := f.run(t); rep.Retrying != 1 || rep.Sent != 1 {
				t.Fatalf("with Koha failing: %v, want Koha retrying and the webhook sent", rep)
			}
			if ev := f.events.String(); strings.Count(ev, "ils.koha.writeback\n") != 1 {
				t.Errorf("counted events:\n%s", ev)
			}
			f.clock.Advance(models.DigestBackoff(1))
			if rep := f.run(t); rep.Sent != 1 || fk.Privacy(id) != models.KohaPrivacyKeep {
				t.Errorf("after the backoff: %v, Koha privacy %d; want 0", rep, fk.Privacy(id))
			}
			f.assertNoPersonalData(t, p)
		})
	}
}
