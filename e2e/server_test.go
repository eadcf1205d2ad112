package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// portal is one running `carrel serve --demo`.
type portal struct {
	DB   string // "sqlite" or "postgres"
	Base string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	// env is the server's environment (its data folder and database), for
	// running other carrel commands against the same data (see carrel).
	env  []string
	cmd  *exec.Cmd
	logs *syncBuffer // the server's stderr: its log
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// URL is the absolute address of a path on the portal.
func (p *portal) URL(path string) string { return p.Base + path }

// startPortal seeds a fresh database on engine db with the demo data and
// serves the portal on it. When t ends the server gets SIGTERM and must exit
// 0, and its log must hold no error and no patron identifier.
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
	env = append(cleanEnv(), env...)

	seed := exec.Command(carrelBin, "seed", "--demo")
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("carrel seed --demo on %s: %v\n%s", db, err, out)
	}

	p := &portal{DB: db, env: env, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(carrelBin, "serve", "--demo")
	p.cmd.Env = env
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start carrel serve: %v", err)
	}
	addr := make(chan string, 1)
	stdoutDone := make(chan struct{})
	go func() {
		defer close(stdoutDone)
		// "Carrel is serving <library> at http://127.0.0.1:PORT"
		re := regexp.MustCompile(`^Carrel is serving .* at (http://\S+)$`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		<-stdoutDone // Wait closes the pipe: read it to the end first
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })

	select {
	case base := <-addr:
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("carrel serve printed a bad address %q", base)
		}
		p.Base, p.Host = base, u.Host
	case <-p.done:
		t.Fatalf("carrel serve on %s exited before serving: %v\n%s", db, p.err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("carrel serve on %s did not say where it serves within 30s\n%s", db, p.logs)
	}
	return p
}

// stop sends SIGTERM and checks a clean exit and a clean log.
func (p *portal) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Errorf("carrel serve on %s exited on its own: %v\n%s", p.DB, p.err, p.logs)
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(25 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("carrel serve on %s did not exit within 25s of SIGTERM\n%s", p.DB, p.logs)
		return
	}
	if p.err != nil {
		t.Errorf("carrel serve on %s: want exit status 0 after SIGTERM, got %v\n%s", p.DB, p.err, p.logs)
	}
	logs := p.logs.String()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("carrel serve on %s logged an error: %s", p.DB, line)
		}
	}
	// The access log names routes, never people (README: "Nothing leaks").
	for _, pt := range demoPatrons {
		for _, id := range pt.identifiers() {
			if strings.Contains(strings.ToLower(logs), strings.ToLower(id)) {
				t.Errorf("carrel serve on %s wrote the patron identifier %q to its log", p.DB, id)
			}
		}
	}
}

// cleanEnv is the environment without CARREL_* settings, so a developer's
// own settings cannot leak into the server under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CARREL_") {
			env = append(env, kv)
		}
	}
	return env
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
