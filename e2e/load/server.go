package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	harness "github.com/carrel-library/carrel/e2e/internal/portal"
)

// server is the real binary, `carrel serve`, running on the load database
// (started by the harness e2e tests share).
type server struct {
	*harness.Process
	log *accessLog
	rss atomic.Int64 // the highest VmRSS sampled since the last resetPeak, kB
}

// serverEnv is the settings the portal runs with. Only these CARREL_*
// variables reach it, whatever the caller's environment holds.
func serverEnv(dbURL, dataDir string) []string {
	return append(harness.CleanEnv(),
		"CARREL_ADDR=127.0.0.1:0",
		"CARREL_DATABASE_URL="+dbURL,
		"CARREL_DATA_DIR="+dataDir,
		"CARREL_SECRET_KEYS="+loadKey(),
		// wrk stands in for the reverse proxy in front of the portal: it
		// sends X-Forwarded-For with a different address per simulated
		// client, which the per-client sign-in limit then tells apart.
		"CARREL_TRUSTED_PROXIES=127.0.0.1",
		// Sessions signed in at the start must outlive every phase.
		"CARREL_SESSION_IDLE=4h",
		"CARREL_SESSION_ABSOLUTE=24h",
		// No purge in the middle of a measurement, and the data set stays
		// what the marker says it is.
		"CARREL_PURGE_EVERY=0",
		"CARREL_LOG_LEVEL=info",
	)
}

// startServer starts `carrel serve` on a free port and waits until
// /readyz answers.
func startServer(ctx context.Context, bin, dbURL, dataDir string) (*server, error) {
	s := &server{log: newAccessLog()}
	logR, logW := io.Pipe()
	go s.log.read(logR)
	proc, err := harness.Start(ctx, bin, serverEnv(dbURL, dataDir), logW, "serve")
	if err != nil {
		logW.Close()
		return nil, fmt.Errorf("%w; its last log lines:\n%s", err, s.log.tail())
	}
	s.Process = proc
	go func() { <-proc.Done(); logW.Close() }()
	go s.sampleRSS()

	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.Base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.Done():
			return nil, fmt.Errorf("carrel serve exited: %v; its last log lines:\n%s", s.Err(), s.log.tail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("carrel serve did not become ready within 2 minutes")
		}
	}
}

// stop ends the server as an operator would: SIGTERM, then a wait.
func (s *server) stop() { _ = s.Stop(30 * time.Second) }

func (s *server) pid() int { return s.Pid() }

// sampleRSS keeps the highest resident set size seen, every 50 ms.
func (s *server) sampleRSS() {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if kb := procStatusKB(s.pid(), "VmRSS"); kb > s.rss.Load() {
			s.rss.Store(kb)
		}
		select {
		case <-s.Done():
			return
		case <-t.C:
		}
	}
}

// resetPeak starts a new RSS peak and returns the last one.
func (s *server) resetPeak() int64 {
	return s.rss.Swap(procStatusKB(s.pid(), "VmRSS"))
}

// procStatusKB reads one "kB" field of /proc/PID/status (VmRSS, VmHWM).
func procStatusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cpuTicks is a process's user plus system CPU time, in clock ticks
// (1/100 s on Linux).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count after it.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return u + sys
}

// machineTicks is the whole machine's busy and total CPU time, in ticks.
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// accessLog reads the server's log as it is written. The portal logs one
// line per request with its method, route pattern, status and duration
// (and nothing that identifies anyone); the benchmark counts those per
// phase, so a GET answered with a redirect to the sign-in page (an expired
// session), which wrk counts as a success, is still seen.
type accessLog struct {
	mu      sync.Mutex
	current *logTally
	last    []string
	lastAt  time.Time
}

// logLine is one line of the log and the time it carries.
type logLine struct {
	At   time.Time
	Text string
}

// logTally is what the log said during one phase.
type logTally struct {
	Count     map[string]int // "METHOD route status"
	Durations []float64      // ms, as the server measured them
	// Errors are the level=ERROR lines and when each was logged.
	Errors []logLine
	// Unavailable is when each 503 was logged, by "METHOD route".
	Unavailable map[string][]time.Time
}

func newAccessLog() *accessLog { return &accessLog{current: newTally()} }

func newTally() *logTally {
	return &logTally{Count: map[string]int{}, Unavailable: map[string][]time.Time{}}
}

// swap starts a new tally and returns the one that was filling.
func (l *accessLog) swap() *logTally {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.current
	l.current = newTally()
	return t
}

func (l *accessLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		if len(l.last) >= 20 {
			l.last = l.last[1:]
		}
		l.last = append(l.last, line)
		l.lastAt = time.Now()
		at, _ := time.Parse(time.RFC3339Nano, logValue(" "+line, "time"))
		if strings.Contains(line, " level=ERROR ") {
			l.current.Errors = append(l.current.Errors, logLine{At: at, Text: line})
		}
		if strings.Contains(line, " msg=request ") {
			method, route, status := logValue(line, "method"), logValue(line, "route"), logValue(line, "status")
			l.current.Count[method+" "+route+" "+status]++
			if status == "503" {
				l.current.Unavailable[method+" "+route] = append(l.current.Unavailable[method+" "+route], at)
			}
			if ms, err := strconv.ParseFloat(logValue(line, "duration_ms"), 64); err == nil {
				l.current.Durations = append(l.current.Durations, ms)
			}
		}
		l.mu.Unlock()
	}
}

func (l *accessLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, "\n")
}

// settle waits until the log has been quiet for half a second (at most
// five seconds), so that the lines of the last requests of a run are in.
func (l *accessLog) settle() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		quiet := time.Since(l.lastAt) > 500*time.Millisecond
		l.mu.Unlock()
		if quiet {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logValue finds key=value in a slog text line (values without spaces).
func logValue(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return strings.Trim(v, `"`)
}
