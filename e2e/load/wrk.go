package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed wrk.lua
var wrkScript string

// request is one line of wrk's requests file.
type request struct {
	Method, Path string
	Headers      map[string]string
	Body         string
}

func (r request) line() string {
	var hs []string
	for _, k := range sortedKeys(r.Headers) {
		hs = append(hs, k+": "+r.Headers[k])
	}
	return r.Method + "\t" + r.Path + "\t" + strings.Join(hs, "|") + "\t" + r.Body
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeRequests writes a requests file for wrk.
func writeRequests(path string, reqs []request) error {
	var b bytes.Buffer
	for _, r := range reqs {
		line := r.line()
		if strings.ContainsAny(line, "\n\r") {
			return fmt.Errorf("a request line holds a line break: %q", line)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// wrkResult is what wrk measured, as the script's done() prints it.
// Latencies are in microseconds.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Bytes      int64   `json:"bytes"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"` // responses with a status above 399
	Timeout    int64   `json:"timeout"`
	P50        float64 `json:"p50_us"`
	P90        float64 `json:"p90_us"`
	P99        float64 `json:"p99_us"`
	Max        float64 `json:"max_us"`
	Mean       float64 `json:"mean_us"`
	// ClientCPU is the CPU time wrk itself used.
	ClientCPU time.Duration `json:"-"`
}

// SocketErrors are the requests that got no response at all.
func (r wrkResult) SocketErrors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// RPS is completed requests per second.
func (r wrkResult) RPS() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// parseWrk finds the script's result line in wrk's output.
func parseWrk(out []byte) (wrkResult, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "CARREL_WRK "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return r, fmt.Errorf("wrk result %q: %w", rest, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no result line:\n%s", out)
}

// runWrk drives the portal with wrk for d at conns connections, sending
// the requests in file round and round.
func runWrk(ctx context.Context, wrkBin, script, file, base string, conns int, d time.Duration) (wrkResult, error) {
	threads := min(2, conns)
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s", "--timeout", "10s",
		"-s", script, base, "--", file, strconv.Itoa(threads)}
	cmd := exec.CommandContext(ctx, wrkBin, args...) // #nosec G204 -- runs wrk with arguments this tool builds
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseWrk(out)
	r.ClientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, err
}
