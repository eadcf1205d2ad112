package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServeBinary builds carrel and starts `carrel serve --demo` on a free
// port with env added, returning the process, its address and a channel
// that receives its exit error.
func startServeBinary(t *testing.T, env ...string) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "carrel")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--demo")
	cmd.Env = append(os.Environ(), "CARREL_ADDR=127.0.0.1:0", "CARREL_DATA_DIR="+t.TempDir(), "CARREL_PURGE_EVERY=0")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	found := make(chan string, 1)
	go func() {
		at := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := at.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, base, done
}

func drainGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestSIGTERMDrainsFirst: on SIGTERM the portal does not close its
// listener at once (requests sent in that instant would get no answer):
// /readyz fails at once, so that a load balancer stops sending traffic,
// while every request is still answered for CARREL_SHUTDOWN_DRAIN; then
// it shuts down gracefully and exits 0.
func TestSIGTERMDrainsFirst(t *testing.T) {
	isolate(t)
	cmd, base, done := startServeBinary(t, "CARREL_SHUTDOWN_DRAIN=3s")
	if code, body := drainGet(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz before SIGTERM: %d %q", code, body)
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// readyz turns within moments; the rest is still served.
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, body := drainGet(t, base+"/readyz")
		if code == http.StatusServiceUnavailable && body == "shutting down" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after SIGTERM: %d %q", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, path := range []string{"/healthz", "/login", "/policy"} {
		if code, body := drainGet(t, base+path); code != http.StatusOK {
			t.Errorf("GET %s while draining: %d %q", path, code, body)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
		if waited := time.Since(sent); waited < 3*time.Second {
			t.Errorf("serve stopped %v after SIGTERM, before the 3 s drain", waited)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after the drain")
	}
	if code, _ := drainGet(t, base+"/healthz"); code != 0 {
		t.Error("still answering after it exited")
	}
}

// TestSecondSIGTERMEndsTheDrain: whoever asks twice (Ctrl-C twice at a
// terminal, an impatient supervisor) does not wait out the drain.
func TestSecondSIGTERMEndsTheDrain(t *testing.T) {
	isolate(t)
	cmd, base, done := startServeBinary(t, "CARREL_SHUTDOWN_DRAIN=5m")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if code, _ := drainGet(t, base+"/readyz"); code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a second SIGTERM did not end the 5-minute drain")
	}
}
