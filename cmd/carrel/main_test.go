package main

import (
	"bytes"
	"context"
	"github.com/carrel-library/carrel/models"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// carrel runs the command in-process, as the binary would.
func carrel(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	// A command expected to fail must never hang the suite by serving.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// isolate points every setting away from the developer's environment.
func isolate(t *testing.T) string {
	t.Helper()
	for _, s := range settings {
		t.Setenv(s.env, "")
		os.Unsetenv(s.env)
	}
	for _, e := range envOnly {
		t.Setenv(e.env, "")
		os.Unsetenv(e.env)
	}
	dir := t.TempDir()
	t.Setenv("CARREL_DATA_DIR", dir)
	return dir
}

func TestHelpListsCommandsAndSettings(t *testing.T) {
	isolate(t)
	code, out, _ := carrel(t, "help")
	if code != 0 {
		t.Fatalf("help exited %d", code)
	}
	for _, want := range []string{"serve", "migrate", "seed", "version", "CARREL_ADDR", "CARREL_DATABASE_URL", "CARREL_DATA_DIR", "CARREL_DEMO", "CARREL_SECRET_KEYS"} {
		if !strings.Contains(out, want) {
			t.Errorf("help does not mention %s", want)
		}
	}
	if code, _, _ := carrel(t); code != 2 {
		t.Errorf("no command should exit 2, got %d", code)
	}
	if code, _, errs := carrel(t, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
	if code, out, _ := carrel(t, "version"); code != 0 || !strings.HasPrefix(out, "carrel ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestBadConfigurationIsOneLineNamingTheSetting(t *testing.T) {
	cases := []struct {
		name, env, value string
		args             []string
	}{
		{"address", "CARREL_ADDR", "no-port", nil},
		{"idle timeout", "CARREL_SESSION_IDLE", "soon", nil},
		{"absolute shorter than idle", "CARREL_SESSION_ABSOLUTE", "5m", nil},
		{"time zone", "CARREL_TIMEZONE", "Mars/Olympus_Mons", nil},
		{"cookie security", "CARREL_COOKIE_SECURE", "never", nil},
		{"trusted proxies", "CARREL_TRUSTED_PROXIES", "10.0.0.0/99", nil},
		{"demo flag", "CARREL_DEMO", "maybe", []string{}},
		{"database url", "CARREL_DATABASE_URL", "mysql://x", nil},
		{"policy file", "CARREL_POLICY_FILE", "/no/such/policy.txt", nil},
		{"arrival link origin over http", "CARREL_ARRIVAL_LINK_ORIGINS", "http://catalog.library.example", nil},
		{"arrival link origin with a path", "CARREL_ARRIVAL_LINK_ORIGINS", "https://catalog.library.example/record/", nil},
		{"arrival link origin with userinfo", "CARREL_ARRIVAL_LINK_ORIGINS", "https://catalog.library.example@evil.example", nil},
		{"arrival link origins, one bad", "CARREL_ARRIVAL_LINK_ORIGINS", "https://catalog.library.example, shelf.example.net", nil},
		{"flag too", "CARREL_SESSION_IDLE", "", []string{"--demo", "--session-idle", "forever"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			if tc.value != "" {
				t.Setenv(tc.env, tc.value)
			}
			args := tc.args
			if args == nil {
				args = []string{"--demo"}
			}
			code, _, errs := carrel(t, append([]string{"serve"}, args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errs)
			}
			if lines := strings.Count(strings.TrimSpace(errs), "\n") + 1; lines != 1 || !strings.Contains(errs, tc.env) {
				t.Fatalf("want one line naming %s, got %q", tc.env, errs)
			}
		})
	}
}

func TestServeRefusesToStartWithoutASecretOutsideDemoMode(t *testing.T) {
	isolate(t)
	code, _, errs := carrel(t, "serve")
	if code != 2 || !strings.Contains(errs, "CARREL_SECRET_KEYS") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	t.Setenv("CARREL_SECRET_KEYS", "too-short")
	if code, _, errs := carrel(t, "serve"); code != 2 || !strings.Contains(errs, "CARREL_SECRET_KEYS") {
		t.Fatalf("short key: exit %d, stderr %q", code, errs)
	}
	code, _, errs = carrel(t, "seed")
	if code != 2 || !strings.Contains(errs, "--demo") {
		t.Fatalf("seed without --demo: exit %d, stderr %q", code, errs)
	}
}

// TestMakeRun is what `make run` does: seed twice (nothing changes the
// second time), then serve, sign in as the demo patron, and stop the way
// SIGTERM stops it.
func TestMakeRun(t *testing.T) {
	dir := isolate(t)
	t.Setenv("CARREL_ADDR", "127.0.0.1:0")
	code, out, errs := carrel(t, "seed", "--demo")
	if code != 0 || !strings.Contains(out, "21000000000001") || !strings.Contains(out, "staff-demo-pass") {
		t.Fatalf("seed: %d %q %q", code, out, errs)
	}
	if code, out, _ := carrel(t, "seed", "--demo"); code != 0 || !strings.Contains(out, "already there") {
		t.Fatalf("second seed: %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "carrel.db")); err != nil {
		t.Fatal("the embedded database should be in the data folder")
	}
	if code, out, _ := carrel(t, "migrate"); code != 0 || !strings.Contains(out, "initial") {
		t.Fatalf("migrate: %d %q", code, out)
	}

	ctx, stop := context.WithCancel(context.Background())
	stdout := &lockedBuffer{}
	done := make(chan int)
	go func() { done <- run(ctx, []string{"serve", "--demo"}, stdout, &lockedBuffer{}) }()
	var base string
	addr := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	for i := 0; i < 200 && base == ""; i++ {
		if m := addr.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		time.Sleep(25 * time.Millisecond)
	}
	if base == "" {
		stop()
		t.Fatalf("serve did not start: %q", stdout.String())
	}
	if !strings.Contains(stdout.String(), "21000000000001") {
		t.Error("serve in demo mode should print the demo sign-ins")
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	tok, _ := doc.Find(`input[name="csrf_token"]`).Attr("value")
	resp, err = c.PostForm(base+"/login", url.Values{"card": {"21000000000001"}, "pin": {"1234"}, "csrf_token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ = goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/data" || !strings.Contains(doc.Find(`[data-testid="signed-in"]`).Text(), "A. Demo") {
		t.Fatalf("demo patron should land on /data signed in, got %s", resp.Request.URL.Path)
	}

	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after shutdown", code)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

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

func TestStaffCommandsAndAuditVerify(t *testing.T) {
	isolate(t)
	t.Setenv("CARREL_DEMO", "1")
	withStdin := func(s string) { stdin = strings.NewReader(s) }
	t.Cleanup(func() { stdin = os.Stdin })

	withStdin("short\n")
	if code, _, errs := carrel(t, "staff", "add", "--username", "rita", "--role", "assistant"); code != 2 || !strings.Contains(errs, "at least 15") {
		t.Fatalf("a short password: %d %q", code, errs)
	}
	withStdin("a long enough password\n")
	if code, _, errs := carrel(t, "staff", "add", "--username", "rita", "--role", "wizard"); code != 2 || !strings.Contains(errs, "role") {
		t.Fatalf("a bad role: %d %q", code, errs)
	}
	withStdin("a long enough password\n")
	code, out, errs := carrel(t, "staff", "add", "--username", "rita", "--role", "privacy_officer", "--name", "Rita Reader")
	if code != 0 || !strings.Contains(out, "Privacy officer") {
		t.Fatalf("staff add: %d %q %q", code, out, errs)
	}
	withStdin("a long enough password\n")
	if code, _, errs := carrel(t, "staff", "add", "--username", "rita", "--role", "assistant"); code != 2 || !strings.Contains(errs, "already exists") {
		t.Fatalf("a duplicate: %d %q", code, errs)
	}
	withStdin("another long password\n")
	if code, out, _ := carrel(t, "staff", "reset-password", "rita"); code != 0 || !strings.Contains(out, "sessions have ended") {
		t.Fatalf("reset-password: %d %q", code, out)
	}
	if code, out, _ := carrel(t, "staff", "disable", "rita"); code != 0 || !strings.Contains(out, "Disabled rita") {
		t.Fatalf("disable: %d %q", code, out)
	}
	if code, _, errs := carrel(t, "staff", "disable", "rita"); code != 2 || !strings.Contains(errs, "no active account") {
		t.Fatalf("disable twice: %d %q", code, errs)
	}
	code, out, errs = carrel(t, "audit", "verify")
	if code != 0 || !strings.Contains(out, "intact: 3 entries") {
		t.Fatalf("audit verify: %d %q %q", code, out, errs)
	}
	// Tamper with the middle entry: verify names it and fails.
	db, err := models.Open(context.Background(), filepath.Join(os.Getenv("CARREL_DATA_DIR"), "carrel.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE audit_entries SET detail = 'nothing happened' WHERE id = 2").Error; err == nil {
		t.Fatal("the database let an audit entry be changed")
	}
	// Someone who can write to the database drops the trigger and edits
	// the entry: verify names it and fails.
	db.Exec("DROP TRIGGER audit_entries_no_update")
	if err := db.Exec("UPDATE audit_entries SET detail = 'nothing happened' WHERE id = 2").Error; err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	sqlDB.Close()
	code, _, errs = carrel(t, "audit", "verify")
	if code != 1 || !strings.Contains(errs, "broken at entry 2") {
		t.Fatalf("tampered audit verify: %d %q", code, errs)
	}
}

func TestArrivalLinkOriginsSettingIsNormalised(t *testing.T) {
	isolate(t)
	vals := map[string]*string{}
	for _, s := range settings {
		v := s.def
		vals[s.env] = &v
	}
	*vals["CARREL_ARRIVAL_LINK_ORIGINS"] = " https://Catalog.Library.example:443/ , https://shelf.example.net:8443"
	c, err := parseConfig(vals)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://catalog.library.example", "https://shelf.example.net:8443"}; !slices.Equal(c.arrivalOrigins, want) {
		t.Fatalf("origins %q, want %q", c.arrivalOrigins, want)
	}
	// Demo mode links to the demo data's catalog unless told otherwise.
	*vals["CARREL_ARRIVAL_LINK_ORIGINS"] = ""
	*vals["CARREL_DEMO"] = "true"
	if c, err = parseConfig(vals); err != nil {
		t.Fatal(err)
	}
	if want := []string{models.DemoCatalogOrigin}; !slices.Equal(c.arrivalOrigins, want) {
		t.Fatalf("demo origins %q, want %q", c.arrivalOrigins, want)
	}
}

// TestPurgeFlagsReachPurge: the flags the README and `carrel purge --help`
// document work, before or after a setting (the settings' parser once
// refused them: "flag provided but not defined: -dry-run", exit 2).
func TestPurgeFlagsReachPurge(t *testing.T) {
	isolate(t)
	t.Setenv("CARREL_DEMO", "1")
	for _, args := range [][]string{
		{"purge", "--dry-run"},
		{"purge", "--dry-run", "--batch", "50"},
		{"purge", "--log-level", "warn", "--batch=10", "--dry-run"},
		{"purge", "--dry-run", "--log-level=warn"},
	} {
		code, out, errs := carrel(t, args...)
		if code != 0 || !strings.Contains(out, "Would delete 0 rows in all.") {
			t.Errorf("carrel %s: exit %d, %q %q", strings.Join(args, " "), code, out, errs)
		}
	}
	if code, out, _ := carrel(t, "purge", "--batch", "20"); code != 0 || !strings.Contains(out, "Deleted 0 rows in all.") {
		t.Errorf("carrel purge --batch 20: exit %d, %q", code, out)
	}
	if code, _, errs := carrel(t, "purge", "--batch", "0"); code != 2 || !strings.Contains(errs, "usage: carrel purge") {
		t.Errorf("carrel purge --batch 0: exit %d, %q", code, errs)
	}
	if code, out, _ := carrel(t, "purge", "--help"); code != 0 || !strings.Contains(out, "--dry-run") {
		t.Errorf("carrel purge --help: exit %d, %q", code, out)
	}
}
