package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	harness "github.com/carrel-library/carrel/e2e/internal/portal"
	"github.com/carrel-library/carrel/models/modeltest"
)

// databases are the engines every journey runs on, as subtest names.
var databases = []string{"sqlite", "postgres"}

// eachDatabase runs journey once per engine, as the subtests "sqlite" and
// "postgres". They run one after the other: side by side they were no
// faster on two cores, only noisier.
func eachDatabase(t *testing.T, journey func(t *testing.T, db string)) {
	t.Helper()
	for _, db := range databases {
		t.Run(db, func(t *testing.T) { journey(t, db) })
	}
}

// portal is one running `carrel serve --demo`, started by launchPortal.
type portal struct {
	*harness.Process
	DB   string // "sqlite" or "postgres"
	name string // for messages: the engine, or what the fault test calls it

	// env is the server's environment (its data folder and database), for
	// running other carrel commands against the same data (see carrel).
	env  []string
	logs *syncBuffer // the server's stderr: its log
	// tolerate accepts a level=ERROR log line the test expects.
	tolerate func(line string) bool

	termMu   sync.Mutex
	termSent bool
}

// waitLog waits up to a few seconds for the server's log to hold every
// one of wants, and returns the log as it then is. The portal is ready
// once it listens, but its log arrives through a pipe of its own: a line
// written just before may not have been read yet.
func (p *portal) waitLog(wants ...string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs := p.logs.String()
		all := true
		for _, w := range wants {
			all = all && strings.Contains(logs, w)
		}
		if all || time.Now().After(deadline) {
			return logs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startPortal seeds a fresh database on engine db with the demo data and
// serves the portal on it; see launchPortal for its end.
func startPortal(t *testing.T, db string) *portal {
	t.Helper()
	env := []string{
		"CARREL_ADDR=127.0.0.1:0",
		"CARREL_DATA_DIR=" + t.TempDir(),
		"CARREL_LOG_LEVEL=info",
	}
	if db == "postgres" {
		env = append(env, "CARREL_DATABASE_URL="+postgresDatabase(t))
	}
	env = append(harness.CleanEnv(), env...)
	seedDemo(t, env)
	p := launchPortal(t, "on "+db, env)
	p.DB = db
	return p
}

// seedDemo runs `carrel seed --demo` with env.
func seedDemo(t *testing.T, env []string) {
	t.Helper()
	seed := exec.Command(carrelBin, "seed", "--demo")
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("carrel seed --demo: %v\n%s", err, out)
	}
}

// launchPortal starts `carrel serve --demo` with env and waits until it
// says where it serves; without a CARREL_SHUTDOWN_DRAIN in env, it stops
// without draining. When t ends it gets SIGTERM (unless the test sent
// it) and must exit 0 within 25s, without a panic, an unexpected error or
// a patron identifier in its log.
func launchPortal(t *testing.T, name string, env []string) *portal {
	t.Helper()
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "CARREL_SHUTDOWN_DRAIN=") }) {
		// One portal and no load balancer: nothing to drain for, and
		// every test's end would wait the default 5 s.
		env = harness.WithSetting(env, "CARREL_SHUTDOWN_DRAIN", "0")
	}
	p := &portal{DB: "postgres", name: name, env: env, logs: &syncBuffer{}}
	proc, err := harness.Start(context.Background(), carrelBin, env, p.logs, "serve", "--demo")
	if err != nil {
		t.Fatalf("carrel serve (%s): %v\n%s", name, err, p.logs)
	}
	p.Process = proc
	t.Cleanup(func() { p.stop(t) })
	return p
}

// terminate sends SIGTERM; the cleanup then only checks the exit.
func (p *portal) terminate() {
	p.termMu.Lock()
	defer p.termMu.Unlock()
	p.termSent = true
	p.Terminate()
}

// stop ends the portal (unless the test did) and checks a clean exit and
// a clean log.
func (p *portal) stop(t *testing.T) {
	t.Helper()
	p.termMu.Lock()
	sent := p.termSent
	p.termMu.Unlock()
	if !sent && p.Exited() {
		t.Errorf("carrel serve (%s) exited on its own: %v\n%s", p.name, p.Err(), p.logs)
		return
	}
	p.terminate()
	switch err := p.Wait(25 * time.Second); {
	case errors.Is(err, harness.ErrKilled):
		t.Errorf("carrel serve (%s) did not exit within 25s of SIGTERM\n%s", p.name, p.logs)
		return
	case err != nil:
		t.Errorf("carrel serve (%s): want exit status 0 after SIGTERM, got %v\n%s", p.name, err, p.logs)
	}
	logs := p.logs.String()
	if strings.Contains(strings.ToLower(logs), "panic") || strings.Contains(logs, "goroutine ") {
		t.Errorf("carrel serve (%s) panicked:\n%s", p.name, logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=ERROR") && (p.tolerate == nil || !p.tolerate(line)) {
			t.Errorf("carrel serve (%s) logged an unexpected error: %s", p.name, line)
		}
	}
	// The access log names routes, never people (README: "Nothing leaks").
	for _, pt := range demoPatrons {
		for _, id := range pt.identifiers() {
			if strings.Contains(strings.ToLower(logs), strings.ToLower(id)) {
				t.Errorf("carrel serve (%s) wrote the patron identifier %q to its log", p.name, id)
			}
		}
	}
}

// postgresDatabase creates a fresh, empty database on the PostgreSQL server
// that tests use and drops it when t ends; the server under test migrates
// it. Without a reachable server t is skipped, or fails in CI.
func postgresDatabase(t *testing.T) string {
	t.Helper()
	return modeltest.PostgresURL(t)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// patron is a demo patron and what identifies them.
type patron struct {
	Card, PIN        string
	FullName, Short  string // "Alex Demo", "A. Demo"
	GivenName, Email string
	Phone            string
}

// identifiers are the strings that must never appear in a cookie, in the
// server log, or on a page after sign-out.
func (p patron) identifiers() []string {
	return []string{p.Card, p.FullName, p.Short, p.GivenName, p.Email, p.Phone}
}

var (
	alex = patron{Card: "21000000000001", PIN: "1234", FullName: "Alex Demo", Short: "A. Demo",
		GivenName: "Alex", Email: "alex.demo@example.org", Phone: "310-555-0142"}
	blake = patron{Card: "21000000000002", PIN: "5678", FullName: "Blake Sample", Short: "B. Sample",
		GivenName: "Blake", Email: "blake.sample@example.org", Phone: "310-555-0187"}
	demoPatrons = []patron{alex, blake}
)
