package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary's environment, found once by TestMain.
var (
	// moduleRoot is the folder holding go.mod.
	moduleRoot string
	// carrelBin is the carrel binary built for this run.
	carrelBin string
	// chromiumPath is the browser, or "" when none was found.
	chromiumPath string
	// axeJS is the path of axe.min.js, or "" when it is not installed.
	axeJS string
	// inCI is true when CI=true: missing tools fail instead of skipping.
	inCI = os.Getenv("CI") == "true"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if moduleRoot, err = findModuleRoot(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: find the module root: %v\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "carrel-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	carrelBin = filepath.Join(tmp, "carrel")
	build := exec.Command(goCommand(), "build", "-o", carrelBin, "./cmd/carrel")
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/carrel: %v\n%s", err, out)
		return 1
	}
	chromiumPath = findChromium()
	axeJS = findAxe()
	return checkRouteCoverage(m.Run())
}

// goCommand is the go tool that runs this test, or "go" from PATH.
func goCommand() string {
	if p := os.Getenv("GOROOT"); p != "" {
		if _, err := os.Stat(filepath.Join(p, "bin", "go")); err == nil {
			return filepath.Join(p, "bin", "go")
		}
	}
	return "go"
}

// findModuleRoot asks the go tool for go.mod; a test runs in its package
// folder, so the parent folder is the fallback.
func findModuleRoot() (string, error) {
	if out, err := exec.Command(goCommand(), "env", "GOMOD").Output(); err == nil {
		if mod := strings.TrimSpace(string(out)); mod != "" && mod != os.DevNull {
			return filepath.Dir(mod), nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", err
	}
	return root, nil
}

// findChromium returns CARREL_CHROMIUM, else chromium on PATH, else "".
func findChromium() string {
	if p := os.Getenv("CARREL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// findAxe returns CARREL_AXE_JS, else the file `make axe` installs, if
// either exists.
func findAxe() string {
	p := os.Getenv("CARREL_AXE_JS")
	if p == "" {
		p = filepath.Join(moduleRoot, ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// required stops t because something it needs is missing: in CI that is a
// failure, elsewhere a loud skip.
func required(t testing.TB, what, hint string, err error) {
	t.Helper()
	if inCI {
		t.Fatalf("e2e: %s is required in CI (CI=true) but unavailable: %v\n%s", what, err, hint)
	}
	t.Skipf("\n\n*** WARNING: %s is unavailable (%v).\n*** This browser test was SKIPPED. %s\n\n", what, err, hint)
}
