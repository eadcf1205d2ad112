package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/web"
)

// The spray scenario (issue 16, item 2).
const (
	sprayAddresses = 6                      // attacking client addresses
	sprayInterval  = 500 * time.Millisecond // each address at the per-client limit, 2 a second
	sprayMeasure   = 40 * time.Second       // how long patrons keep signing in, one a second
	sprayPatience  = 60 * time.Second       // a patron's sign-in taking longer counts as this long
	sprayCard      = "21000000000777"
	sprayPIN       = "5296"
)

// BenchmarkSigninUnderSpray measures a patron's sign-in while six client
// addresses each send wrong PINs across many cards at the per-client limit
// (2 a second), which soon puts sign-in into the slow lane. It reports the
// patron's p50 and p99 sign-in latency (the POST only; a sign-in still
// unanswered after a minute counts as a minute) and how the attackers were
// answered. It uses only what the portal had before issue 16, so the same
// file measures the code before the fix. One iteration is the whole
// scenario (about a minute): run it with -benchtime 1x.
func BenchmarkSigninUnderSpray(b *testing.B) {
	fmt.Println("BenchmarkSigninUnderSpray load average before:", loadAverage())
	defer func() { fmt.Println("BenchmarkSigninUnderSpray load average after:", loadAverage()) }()
	db := benchDatabase(b)
	keys, err := models.NewKeys(modeltest.TestKey)
	if err != nil {
		b.Fatal(err)
	}
	// bcrypt at its default cost, as in production: the check is the work
	// the slow lane protects.
	store, err := models.NewStore(db, models.SystemClock{}, keys, 0)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := store.HashSecret(context.Background(), sprayPIN)
	if err != nil {
		b.Fatal(err)
	}
	err = db.Create(&models.Patron{CardNumber: sprayCard, PINHash: hash, GivenName: "Ada", FamilyName: "Reader",
		CardExpiresOn: time.Now().AddDate(2, 0, 0), BorrowingStatus: models.StatusActive, FavoritesNotice: "none"}).Error
	if err != nil {
		b.Fatal(err)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := web.New(store, web.Config{Demo: true, LibraryName: "Bench Library", PolicyVersion: "bench-1",
		TrustedProxies: []*net.IPNet{loopback}}, log)
	if err != nil {
		b.Fatal(err)
	}
	server := httptest.NewServer(srv)
	defer server.Close()
	b.ResetTimer()
	for range b.N {
		runSpray(b, server, store)
	}
}

// sprayClient is one browser at one address.
type sprayClient struct {
	base, addr string
	http       *http.Client
}

func newSprayClient(base, addr string) *sprayClient {
	jar, _ := cookiejar.New(nil)
	return &sprayClient{base: base, addr: addr, http: &http.Client{
		Jar: jar, Timeout: sprayPatience,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *sprayClient) token() (string, error) {
	req, _ := http.NewRequest(http.MethodGet, c.base+"/login", nil)
	req.Header.Set("X-Forwarded-For", c.addr)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		return "", err
	}
	tok, _ := doc.Find(`input[name="csrf_token"]`).Attr("value")
	return tok, nil
}

// signIn posts the sign-in form and returns the status (0 on a transport
// error or timeout).
func (c *sprayClient) signIn(ctx context.Context, tok, card, pin string) int {
	form := url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", c.addr)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func runSpray(b *testing.B, server *httptest.Server, store *models.Store) {
	ctx, stopAttack := context.WithCancel(context.Background())
	var attacks sync.WaitGroup
	var mu sync.Mutex
	answers := map[int]int{} // attackers' statuses
	var nextCard atomic.Int64
	for i := range sprayAddresses {
		c := newSprayClient(server.URL, fmt.Sprintf("198.51.100.%d", i+1))
		tok, err := c.token()
		if err != nil {
			b.Fatal(err)
		}
		attacks.Go(func() {
			tick := time.NewTicker(sprayInterval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				card := fmt.Sprintf("2900%010d", nextCard.Add(1))
				attacks.Go(func() {
					s := c.signIn(ctx, tok, card, "0000")
					if ctx.Err() == nil {
						mu.Lock()
						answers[s]++
						mu.Unlock()
					}
				})
			}
		})
	}
	defer func() { stopAttack(); attacks.Wait() }()

	// Wait for the spike: from then on, every sign-in takes the slow lane.
	start := time.Now()
	for {
		n, err := store.RecentFailures(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n >= store.Limits.SpikeFailures {
			break
		}
		if time.Since(start) > time.Minute {
			b.Fatalf("no spike after a minute: %d recent failures", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("BenchmarkSigninUnderSpray: failures spiked after %s\n", time.Since(start).Round(100*time.Millisecond))
	mu.Lock()
	clear(answers)
	mu.Unlock()

	// A patron signs in once a second, whatever happened to the previous
	// sign-in: each time a different patron's fresh browser at an address
	// of its own, as patrons arrive at a library's portal.
	var patrons sync.WaitGroup
	var lats latencies
	outcomes := map[int]int{}
	measured := time.Now()
	tick := time.NewTicker(time.Second)
	for i := 0; time.Since(measured) < sprayMeasure; i++ {
		patrons.Go(func() {
			c := newSprayClient(server.URL, fmt.Sprintf("203.0.113.%d", 1+i%250))
			tok, err := c.token()
			if err != nil {
				b.Error(err)
				return
			}
			t0 := time.Now()
			s := c.signIn(context.Background(), tok, sprayCard, sprayPIN)
			d := min(time.Since(t0), sprayPatience)
			mu.Lock()
			lats = append(lats, d)
			outcomes[s]++
			mu.Unlock()
		})
		<-tick.C
	}
	tick.Stop()
	patrons.Wait()
	elapsed := time.Since(measured)

	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)/2])/float64(time.Millisecond), "patron-p50-ms")
	b.ReportMetric(lats.p99(), "patron-p99-ms")
	b.ReportMetric(float64(outcomes[http.StatusSeeOther]), "patron-signed-in")
	b.ReportMetric(float64(len(lats)-outcomes[http.StatusSeeOther]), "patron-refused")
	b.ReportMetric(float64(answers[http.StatusUnauthorized])/elapsed.Seconds(), "attacker-checked/s")
	b.ReportMetric(float64(answers[http.StatusTooManyRequests]+answers[http.StatusServiceUnavailable])/elapsed.Seconds(), "attacker-refused/s")
	fmt.Printf("BenchmarkSigninUnderSpray: patron outcomes %v (0 = no answer within %s); attacker answers %v\n",
		outcomes, sprayPatience, answers)
}
