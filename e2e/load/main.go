// Command load is Carrel's load benchmark at the scale of a large county
// library system (issue 3), run by `make bench-load` (part of `make bench`):
//
//  1. It seeds a PostgreSQL database of its own (carrel_load) with three
//     million patrons, twenty million reading-history rows and three million
//     favorites, set-wise in the database (seed.sql), after creating the
//     schema with the real binary's `carrel migrate`. A marker on the
//     database lets the next run reuse the data set.
//  2. It starts the real binary, `carrel serve`, on that database, and signs
//     in a few hundred patrons through the real sign-in form.
//  3. It drives the portal with wrk (wrk.lua), phase by phase: /readyz as the
//     baseline, the overview, a detail page, a consent change and sign-in,
//     each after a warm-up, and reads the server's own access log to count
//     what it answered.
//  4. It prints a Markdown report (and, with -out, writes it to a file) for
//     a person to read and copy into docs/benchmarks.md, between the load
//     markers: a run never edits the documentation itself.
//
// Run `go run ./e2e/load -h` for its flags. It needs wrk (apt-get install
// wrk) and PostgreSQL; see docs/benchmarks.md, "Load at county scale".
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	DatabaseURL string
	Bin         string
	Wrk         string
	Scale       float64
	Reseed      bool
	Sessions    int
	Warmup      time.Duration
	Duration    time.Duration
	Connections []int
	Phases      map[string]bool
	Out         string
	Args        []string
}

// The phases, in the order they run.
var phaseNames = []string{"readyz", "overview", "detail", "consent", "signin"}

func parseOptions(args []string, out io.Writer) (options, error) {
	o := options{Args: args}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(out)
	def := os.Getenv("CARREL_LOAD_DATABASE_URL")
	if def == "" {
		def = "postgres://postgres@127.0.0.1:5432/carrel_load?sslmode=disable"
	}
	fs.StringVar(&o.DatabaseURL, "database-url", def, "the load database (created, seeded and reused) [$CARREL_LOAD_DATABASE_URL]")
	fs.StringVar(&o.Bin, "bin", "bin/carrel", "the carrel binary to measure (built from ./cmd/carrel when missing)")
	fs.StringVar(&o.Wrk, "wrk", "wrk", "the wrk load generator")
	fs.Float64Var(&o.Scale, "scale", 1, "data set size: 1 is 3,000,000 patrons, 20 million history rows, 3 million favorites")
	fs.BoolVar(&o.Reseed, "reseed", false, "seed again even if the marker says the data set is current")
	fs.IntVar(&o.Sessions, "sessions", 256, "signed-in patrons the requests are spread over (even)")
	fs.DurationVar(&o.Warmup, "warmup", 5*time.Second, "warm-up before each measurement")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "each measurement")
	conns := fs.String("connections", "1,8,32", "connection counts for /readyz and the overview; the other phases use the last")
	phases := fs.String("phases", strings.Join(phaseNames, ","), "phases to run")
	fs.StringVar(&o.Out, "out", "", "also write the Markdown report to this file (it always goes to stdout)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-connections: %q is not a list of counts", *conns)
		}
		o.Connections = append(o.Connections, n)
	}
	o.Phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(phaseNames, p) {
			return o, fmt.Errorf("-phases: unknown phase %q (known: %s)", p, strings.Join(phaseNames, ", "))
		}
		o.Phases[p] = true
	}
	if o.Sessions < 2 || o.Sessions%2 != 0 {
		return o, errors.New("-sessions must be an even number, at least 2")
	}
	if o.Phases["consent"] && o.Sessions < 2*slices.Max(o.Connections) {
		// Each change must find the choice the one before it left: no
		// session may have two changes in flight at once.
		return o, errors.New("-sessions must be at least twice the most connections, for the consent phase")
	}
	if o.Scale <= 0 {
		return o, errors.New("-scale must be above 0")
	}
	return o, nil
}

// consentList is the mailing list the consent phase subscribes to and
// unsubscribes from, turn and turn about.
const consentList = "events"

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseOptions(args, out)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	if _, err := exec.LookPath(o.Wrk); err != nil {
		return fmt.Errorf("wrk not found (%v): install Debian's package with `apt-get install -y wrk`, or pass -wrk PATH", err)
	}
	tmp, err := os.MkdirTemp("", "carrel-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.Bin, err = ensureBinary(ctx, o.Bin, tmp, logf); err != nil {
		return err
	}
	rep := &report{Options: o}

	db, err := newDatabase(o.DatabaseURL)
	if err != nil {
		return err
	}
	logf("Preparing %s (scale %g)...", db.name, o.Scale)
	mk, reused, err := db.prepare(ctx, o.Bin, o.Scale, o.Reseed, logf)
	if err != nil {
		return err
	}
	rep.Marker, rep.Reused = mk, reused
	rep.DatabaseBytes = db.databaseBytes(ctx)
	if reused {
		logf("Reusing the data set seeded %s (seeding took %s): %s", mk.SeededAt.UTC().Format(time.RFC3339), mk.Took.Round(time.Second), sizeLine(mk.Sizes))
	} else {
		logf("Seeded in %s: %s", mk.Took.Round(time.Second), sizeLine(mk.Sizes))
	}

	mon, err := models.Open(ctx, db.URL, nil)
	if err != nil {
		return err
	}
	defer closeDB(mon)
	if err := resetTransient(mon, mk.SeededAt); err != nil {
		return err
	}
	pick, err := pickPatrons(mon, o.Sessions)
	if err != nil {
		return err
	}
	rep.Sample = pick.summary

	logf("Starting %s serve...", o.Bin)
	srv, err := startServer(ctx, o.Bin, db.URL, filepath.Join(tmp, "data"))
	if err != nil {
		return err
	}
	defer srv.stop()
	pc := newPortalClient(srv.Base)
	sessions := make([]session, len(pick.ids))
	start := time.Now()
	if err := parallel(ctx, len(sessions), 4, func(ctx context.Context, i int) error {
		s, err := pc.signIn(ctx, pick.ids[i], pick.cards[i])
		sessions[i] = s
		return err
	}); err != nil {
		return fmt.Errorf("signing in the load sessions: %w", err)
	}
	logf("Signed in %d patrons through POST /login in %s", len(sessions), time.Since(start).Round(100*time.Millisecond))
	if err := checkOverview(ctx, pc, sessions, pick.history); err != nil {
		return err
	}
	srv.log.swap()

	rep.Started, rep.LoadBefore = time.Now(), loadAverage()
	r := &runner{o: o, srv: srv, pc: pc, mon: mon, tmp: tmp, sessions: sessions, patrons: mk.Sizes.Patrons, logf: logf}
	for _, c := range o.Connections {
		for _, name := range []string{"readyz", "overview"} {
			if o.Phases[name] {
				if err := r.run(ctx, name, c); err != nil {
					return err
				}
			}
		}
	}
	maxConns := slices.Max(o.Connections)
	for _, name := range []string{"detail", "consent", "signin"} {
		if o.Phases[name] {
			if err := r.run(ctx, name, maxConns); err != nil {
				return err
			}
		}
	}
	rep.Phases = r.results
	rep.PeakRSSKB = procStatusKB(srv.pid(), "VmHWM")
	srv.stop()
	rep.LoadAfter = loadAverage()
	rep.Finished = time.Now()
	rep.Machine = describeMachine(ctx, mon, o.Bin, o.Wrk)

	md := rep.markdown()
	fmt.Fprintln(out)
	fmt.Fprint(out, md)
	if o.Out != "" {
		if err := os.WriteFile(o.Out, []byte(md), 0o644); err != nil { // #nosec G306 -- a benchmark report meant to be read and copied
			return err
		}
		logf("\nWrote the report to %s.", o.Out)
	}
	logf("\nTo publish it, copy it between the %s and %s markers of docs/benchmarks.md.", beginMarker, endMarker)
	return nil
}

// ensureBinary returns bin if it exists, or builds ./cmd/carrel.
func ensureBinary(ctx context.Context, bin, tmp string, logf func(string, ...any)) (string, error) {
	if bin != "" {
		if _, err := os.Stat(bin); err == nil {
			return filepath.Abs(bin)
		}
	}
	out := filepath.Join(tmp, "carrel")
	logf("Building %s from ./cmd/carrel...", out)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./cmd/carrel") // #nosec G204 -- a command this tool builds, not user input
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/carrel: %v\n%s", err, b)
	}
	return out, nil
}

// resetTransient deletes what earlier runs left that is not part of the
// data set: sessions (each run signs its own patrons in), sign-in
// counters and consent-ledger entries; then it vacuums what the runs change.
func resetTransient(db *gorm.DB, seededAt time.Time) error {
	for _, t := range []string{"sessions", "signin_throttles", "signin_failure_buckets"} {
		if err := db.Exec("DELETE FROM " + t).Error; err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	// The consent phase of every earlier run added tens of thousands of
	// ledger entries to the same patrons' records: left there, each run
	// would measure patrons with longer and longer ledgers than the last.
	if err := db.Exec("DELETE FROM consent_entries WHERE created_at > ?", seededAt).Error; err != nil {
		return fmt.Errorf("clear earlier runs' consent entries: %w", err)
	}
	return vacuumChurned(db)
}

// churned are the tables the phases update or delete from: every page
// view touches its session now and then, a form saves it, a consent
// change updates its patron and their subscriptions, a sign-in its
// patron and the counters.
var churned = []string{"sessions", "signin_throttles", "signin_failure_buckets", "usage_counters",
	"patrons", "subscriptions", "consent_entries"}

// vacuumChurned does what autovacuum would do between phases on a live
// server: without it (PostgreSQL with autovacuum off), the dead rows each
// phase leaves behind slow the phases after it, and the next run. The
// visibility map lets VACUUM skip the pages no phase changed, so even
// patrons takes a moment.
func vacuumChurned(db *gorm.DB) error {
	for _, t := range churned {
		if err := db.Exec("VACUUM (ANALYZE) " + t).Error; err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}

// picked are the patrons the load signs in.
type picked struct {
	ids     []int64
	cards   []string
	history map[int64]int64 // reading-history rows, by patron
	summary sample
}

// sample describes the signed-in patrons' reading histories.
type sample struct {
	Patrons                      int
	Min, Median, P90, Max, Total int64
}

// pickPatrons chooses n patrons with reading history on and an email
// address, spread evenly over the IDs, so that their history sizes follow
// the data set's skew (most have a few, some thousands).
func pickPatrons(db *gorm.DB, n int) (picked, error) {
	var rows []struct {
		ID         int64
		CardNumber string
	}
	err := db.Raw(`WITH e AS (
			SELECT id, card_number, row_number() OVER (ORDER BY id) AS rn, count(*) OVER () AS total
			FROM patrons WHERE reading_history_enabled AND email <> '' AND card_number LIKE '29%')
		SELECT id, card_number FROM e WHERE (rn - 1) % GREATEST(1, total / ?) = 0 ORDER BY id LIMIT ?`, n, n).
		Scan(&rows).Error
	if err != nil {
		return picked{}, fmt.Errorf("pick patrons: %w", err)
	}
	if len(rows) < n {
		return picked{}, fmt.Errorf("only %d patrons to sign in, want %d", len(rows), n)
	}
	var p picked
	for _, r := range rows {
		p.ids = append(p.ids, r.ID)
		p.cards = append(p.cards, r.CardNumber)
	}
	var history []struct{ ID, N int64 }
	if err := db.Raw(`SELECT p.id, count(h.id) AS n FROM unnest(?::bigint[]) AS p(id)
		LEFT JOIN reading_history h ON h.patron_id = p.id GROUP BY p.id ORDER BY 2, 1`, int64Array(p.ids)).
		Scan(&history).Error; err != nil {
		return picked{}, fmt.Errorf("count their history: %w", err)
	}
	p.history = map[int64]int64{}
	var counts []int64
	for _, h := range history {
		p.history[h.ID] = h.N
		counts = append(counts, h.N)
	}
	p.summary = sample{Patrons: len(counts), Min: counts[0], Median: counts[len(counts)/2],
		P90: counts[len(counts)*9/10], Max: counts[len(counts)-1]}
	for _, c := range counts {
		p.summary.Total += c
	}
	return p, nil
}

var heldHistory = regexp.MustCompile(`(?s)data-testid="card-reading-history".*?data-testid="held">([^<]*)<`)

// checkOverview makes sure the portal sees the data set as seeded: the
// overview of the patrons with the most and the median reading history
// must state the rows really there. Derived data the seed did not keep
// up (a count kept by a trigger, say) would show here.
func checkOverview(ctx context.Context, pc *portalClient, sessions []session, history map[int64]int64) error {
	byCount := slices.Clone(sessions)
	slices.SortFunc(byCount, func(a, b session) int { return cmp.Compare(history[a.PatronID], history[b.PatronID]) })
	for _, s := range []session{byCount[len(byCount)-1], byCount[len(byCount)/2]} {
		r, err := pc.client(s.Addr, s.Cookie).Get(ctx, "/data")
		if err != nil {
			return err
		}
		code, body := r.Code, r.Body
		m := heldHistory.FindStringSubmatch(body)
		want := thousands(history[s.PatronID]) + " item"
		if history[s.PatronID] == 0 {
			want = "Nothing"
		}
		if code != 200 || m == nil || !strings.HasPrefix(strings.TrimSpace(m[1]), want) {
			held := "nothing"
			if m != nil {
				held = strings.TrimSpace(m[1])
			}
			return fmt.Errorf("the overview of patron %d (status %d) says their reading history holds %q, but it has %d rows: "+
				"the data set is not what the portal would have written (run again with -reseed)", s.PatronID, code, held, history[s.PatronID])
		}
	}
	return nil
}

// int64Array spells a PostgreSQL bigint[] literal.
func int64Array(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return "{" + strings.Join(s, ",") + "}"
}

// runner runs the phases against one server.
type runner struct {
	o        options
	srv      *server
	pc       *portalClient
	mon      *gorm.DB
	tmp      string
	sessions []session
	patrons  int64
	logf     func(string, ...any)
	results  []phaseResult
	signins  int // cards used by the sign-in phase so far
}

// phaseResult is one measured phase.
type phaseResult struct {
	Name, Label string
	Conns       int
	Wrk         wrkResult
	Log         *logTally
	Expected    int // requests the server answered as expected
	Unexpected  int // requests it answered otherwise
	Unexpect    []string
	CutOff      int // requests in flight when wrk stopped, answered to no one
	// ErrorLines are the portal's error log lines from before wrk stopped;
	// those after it are about the requests it cut off.
	ErrorLines  []string
	LateErrors  int
	DBConnects  int64
	ServerCPU   time.Duration
	DBCPU       time.Duration
	MachineBusy float64 // share of the machine's CPU in use
	// OtherCPU is the share of the machine's CPU used by anything but the
	// portal, its PostgreSQL backends and wrk: other work on the machine
	// (and the kernel's own network and PostgreSQL's background processes).
	OtherCPU   float64
	PeakRSSKB  int64
	LoadBefore string
	LoadAfter  string
	Note       string
}

// Errors are the requests that failed: no response, or a status other
// than the phase expects (a 303 to the sign-in page included).
func (p phaseResult) Errors() int64 { return p.Wrk.SocketErrors() + int64(p.Unexpected) }

func (p phaseResult) ServerPercentile(q float64) float64 {
	d := slices.Clone(p.Log.Durations)
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[max(0, min(len(d)-1, int(math.Ceil(q*float64(len(d))))-1))]
}

var phaseLabels = map[string]string{
	"readyz":   "`/readyz` (baseline)",
	"overview": "overview `GET /data`",
	"detail":   "detail `GET /data/reading-history`",
	"consent":  "consent change `POST /mailing-lists/" + consentList + "/(un)subscribe`",
	"signin":   "sign-in `POST /login`",
}

var phaseExpect = map[string][]string{
	"readyz":   {"GET /readyz 200"},
	"overview": {"GET /data 200"},
	"detail":   {"GET /data/:category 200"},
	"consent":  {"POST /mailing-lists/:slug/subscribe 303", "POST /mailing-lists/:slug/unsubscribe 303"},
	"signin":   {"POST /login 303"},
}

// run warms up, then measures one phase.
func (r *runner) run(ctx context.Context, name string, conns int) error {
	r.logf("Phase %s at %d %s: %s warm-up, %s measured", name, conns, plural(conns, "connection", "connections"), r.o.Warmup, r.o.Duration)
	file := filepath.Join(r.tmp, "requests.txt")
	var warm *logTally
	if r.o.Warmup > 0 {
		reqs, err := r.requests(ctx, name, r.o.Warmup, nil)
		if err != nil {
			return err
		}
		if err := writeRequests(file, reqs); err != nil {
			return err
		}
		if _, err := runWrk(ctx, r.o.Wrk, r.script(), file, r.srv.Base, conns, r.o.Warmup); err != nil {
			return err
		}
		r.srv.log.settle()
		warm = r.srv.log.swap()
	}
	reqs, err := r.requests(ctx, name, r.o.Duration, warm)
	if err != nil {
		return err
	}
	if err := writeRequests(file, reqs); err != nil {
		return err
	}
	if err := vacuumChurned(r.mon); err != nil {
		return err
	}
	var ledgerBefore int64
	if name == "consent" {
		if err := r.mon.Raw("SELECT COALESCE(MAX(id), 0) FROM consent_entries").Row().Scan(&ledgerBefore); err != nil {
			return err
		}
	}
	res := phaseResult{Name: name, Label: phaseLabels[name], Conns: conns, LoadBefore: loadAverage()}
	pgBefore := r.dbTicks()
	connsBefore := r.dbSessions()
	srvBefore := cpuTicks(r.srv.pid())
	busy0, total0 := machineTicks()
	r.srv.resetPeak()
	r.srv.log.swap()
	// wrk stops sending at about this moment.
	stopAt := time.Now().Add(r.o.Duration - 100*time.Millisecond)
	res.Wrk, err = runWrk(ctx, r.o.Wrk, r.script(), file, r.srv.Base, conns, r.o.Duration)
	if err != nil {
		return err
	}
	busy1, total1 := machineTicks()
	res.ServerCPU = ticks(cpuTicks(r.srv.pid()) - srvBefore)
	res.DBCPU = ticks(r.dbTicks().since(pgBefore))
	res.DBConnects = r.dbSessions() - connsBefore
	if total1 > total0 {
		res.MachineBusy = float64(busy1-busy0) / float64(total1-total0)
		other := ticks(busy1-busy0) - res.ServerCPU - res.DBCPU - res.Wrk.ClientCPU
		res.OtherCPU = max(0, float64(other)/float64(ticks(total1-total0)))
	}
	res.LoadAfter = loadAverage()
	r.srv.log.settle()
	res.PeakRSSKB = r.srv.resetPeak()
	res.Log = r.srv.log.swap()
	expect := phaseExpect[name]
	// When its time is up, wrk closes its connections with a request in
	// flight on each: the portal sees the client gone, and answers a 503
	// that nobody reads. Those (503s logged after wrk stopped, at most
	// one per connection) are not errors of the portal.
	cutOff := conns
	for _, k := range sortedKeys(res.Log.Count) {
		n := res.Log.Count[k]
		if slices.Contains(expect, k) {
			res.Expected += n
			continue
		}
		if route, ok := strings.CutSuffix(k, " 503"); ok {
			for _, at := range res.Log.Unavailable[route] {
				if cutOff > 0 && n > 0 && !at.Before(stopAt) {
					cutOff--
					n--
					res.CutOff++
				}
			}
		}
		if n > 0 {
			res.Unexpected += n
			res.Unexpect = append(res.Unexpect, fmt.Sprintf("%s ×%d", k, n))
		}
	}
	for _, e := range res.Log.Errors {
		if res.CutOff > 0 && !e.At.Before(stopAt) {
			res.LateErrors++
		} else {
			res.ErrorLines = append(res.ErrorLines, e.Text)
		}
	}
	if name == "consent" {
		var n int64
		if err := r.mon.Raw("SELECT count(*) FROM consent_entries WHERE id > ? AND subject = ?",
			ledgerBefore, "mailing_list:"+consentList).Row().Scan(&n); err != nil {
			return err
		}
		res.Note = fmt.Sprintf("%s consent-ledger entries written for %s changes answered", thousands(n), thousands(int64(res.Expected)))
		if extra := n - int64(res.Expected); extra > 0 && extra <= int64(res.CutOff) {
			res.Note += fmt.Sprintf(". The %d more are requests cut off when wrk stopped, whose change was committed before "+
				"the portal noticed the client had gone; it answered them 503, \"may or may not have been saved\"", extra)
		}
	}
	r.results = append(r.results, res)
	r.logf("  %.0f req/s, p50 %s, p99 %s, errors %d (server answered %d as expected, %d otherwise)",
		res.Wrk.RPS(), ms(res.Wrk.P50), ms(res.Wrk.P99), res.Errors(), res.Expected, res.Unexpected)
	if res.Note != "" {
		r.logf("  %s", res.Note)
	}
	return nil
}

func (r *runner) script() string {
	path := filepath.Join(r.tmp, "carrel.lua")
	if _, err := os.Stat(path); err != nil {
		_ = os.WriteFile(path, []byte(wrkScript), 0o600)
	}
	return path
}

// requests builds the requests of one phase run of length d. warm is the
// warm-up's tally, from which the sign-in phase sizes its pool.
func (r *runner) requests(ctx context.Context, name string, d time.Duration, warm *logTally) ([]request, error) {
	var reqs []request
	get := func(path string, cookie bool) {
		for _, s := range r.sessions {
			h := proxyHeaders(s.Addr)
			if cookie {
				h["Cookie"] = s.Cookie
			}
			reqs = append(reqs, request{Method: "GET", Path: path, Headers: h})
		}
	}
	switch name {
	case "readyz":
		get("/readyz", false)
	case "overview":
		get("/data", true)
	case "detail":
		get("/data/reading-history", true)
	case "consent":
		// Every request changes the patron's choice: subscribe where they
		// are not subscribed now, unsubscribe where they are, then the
		// other way round, for 64 rounds (an even number, so the rounds
		// can start over).
		var subscribed []int64
		ids := make([]int64, len(r.sessions))
		for i, s := range r.sessions {
			ids[i] = s.PatronID
		}
		if err := r.mon.Raw(`SELECT s.patron_id FROM subscriptions s JOIN mailing_lists l ON l.id = s.list_id
			WHERE l.slug = ? AND s.patron_id = ANY(?::bigint[])`, consentList, int64Array(ids)).Scan(&subscribed).Error; err != nil {
			return nil, err
		}
		for round := range 64 {
			for _, s := range r.sessions {
				action := "subscribe"
				if slices.Contains(subscribed, s.PatronID) == (round%2 == 0) {
					action = "unsubscribe"
				}
				h := merge(proxyHeaders(s.Addr), r.pc.formHeaders())
				h["Cookie"] = s.Cookie
				reqs = append(reqs, request{Method: "POST", Path: "/mailing-lists/" + consentList + "/" + action,
					Headers: h, Body: "csrf_token=" + s.CSRF})
			}
		}
	case "signin":
		// Each sign-in gets a form token of its own, as a browser opening
		// the form would: enough for half as many again as the warm-up's
		// rate, each from its own address.
		n := 100 + int(60*d.Seconds())
		if warm != nil && r.o.Warmup > 0 {
			rate := float64(warm.Count["POST /login 303"]) / r.o.Warmup.Seconds()
			n = 200 + int(1.5*rate*d.Seconds())
		}
		n += n % 2
		anon := make([]session, n)
		if err := parallel(ctx, n, 8, func(ctx context.Context, i int) error {
			var err error
			anon[i], err = r.pc.anonymous(ctx, r.pc.nextAddr())
			return err
		}); err != nil {
			return nil, fmt.Errorf("opening the sign-in forms: %w", err)
		}
		r.srv.log.swap() // those GETs are not part of any phase
		for _, a := range anon {
			// A different patron each time, spread over all of them.
			r.signins++
			id := 1 + (int64(r.signins)*104_729)%r.patrons
			h := merge(proxyHeaders(a.Addr), r.pc.formHeaders())
			reqs = append(reqs, request{Method: "POST", Path: "/login", Headers: h,
				Body: loginForm(fmt.Sprintf("29%012d", id), a.CSRF).Encode()})
		}
	}
	return reqs, nil
}

// dbSessions is how many connections the load database has had since
// PostgreSQL's statistics were last reset.
func (r *runner) dbSessions() int64 {
	var n int64
	_ = r.mon.Raw("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Row().Scan(&n)
	return n
}

// pgTicks is the CPU time of each PostgreSQL backend serving the load
// database, by process ID.
type pgTicks map[int]int64

func (r *runner) dbTicks() pgTicks {
	var pids []int
	_ = r.mon.Raw(`SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).
		Scan(&pids).Error
	t := pgTicks{}
	for _, pid := range pids {
		t[pid] = cpuTicks(pid)
	}
	return t
}

// since is the CPU time used since before, counting a backend that
// started in between from its start.
func (t pgTicks) since(before pgTicks) int64 {
	var n int64
	for pid, v := range t {
		n += v - before[pid]
	}
	return n
}

func ticks(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

func ms(us float64) string {
	switch {
	case us >= 100_000:
		return fmt.Sprintf("%.0f ms", us/1000)
	case us >= 10_000:
		return fmt.Sprintf("%.1f ms", us/1000)
	default:
		return fmt.Sprintf("%.2f ms", us/1000)
	}
}

func sizeLine(s sizes) string {
	return fmt.Sprintf("%s patrons, %s reading-history rows, %s favorites", thousands(s.Patrons), thousands(s.History), thousands(s.Favorites))
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// machine describes where the run happened.
type machine struct {
	CPUs       int
	CPUModel   string
	MemoryKB   int64
	Postgres   string
	Autovacuum string
	// SharedBuffers is PostgreSQL's buffer cache.
	SharedBuffers string
	Go            string
	Wrk           string
	Commit        string
	GOMAXPROCS    int
}

func describeMachine(ctx context.Context, db *gorm.DB, bin, wrkBin string) machine {
	m := machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	m.MemoryKB = procMemTotal()
	_ = db.Raw("SHOW server_version").Row().Scan(&m.Postgres)
	_ = db.Raw("SHOW autovacuum").Row().Scan(&m.Autovacuum)
	_ = db.Raw("SHOW shared_buffers").Row().Scan(&m.SharedBuffers)
	if b, err := exec.CommandContext(ctx, "go", "version", bin).Output(); err == nil { // #nosec G204 -- a command this tool builds, not user input
		if f := strings.Fields(string(b)); len(f) >= 2 {
			m.Go = f[len(f)-1]
		}
	}
	// wrk -v prints its version and exits 1.
	b, _ := exec.CommandContext(ctx, wrkBin, "-v").CombinedOutput()
	m.Wrk, _, _ = strings.Cut(strings.TrimSpace(string(b)), "\n")
	m.Wrk, _, _ = strings.Cut(m.Wrk, " Copyright")
	if b, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	return m
}

func procMemTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return 0
}
