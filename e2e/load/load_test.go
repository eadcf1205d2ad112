package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The load run itself needs PostgreSQL, wrk and minutes; these tests check
// the pieces it is built from that can go wrong quietly.

func TestSeedScriptParses(t *testing.T) {
	steps, err := parseSeed(seedSQL)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]seedStep{}
	for _, s := range steps {
		if len(s.statements) == 0 {
			t.Errorf("step %s has no statements", s.name)
		}
		byName[s.name] = s
	}
	for _, stage := range seedStages {
		for _, name := range stage {
			if _, ok := byName[name]; !ok {
				t.Errorf("stage step %s is not in seed.sql", name)
			}
		}
	}
	if _, ok := byName["cleanup"]; !ok {
		t.Error("seed.sql has no cleanup step")
	}
	// The functions' bodies hold no statement ends of their own: each
	// CREATE FUNCTION is one statement.
	if got := len(byName["functions"].statements); got != 3 {
		t.Errorf("functions step: %d statements, want 3", got)
	}
	for _, name := range []string{"patrons", "reading_history", "favorites", "consent_entries"} {
		if !byName[name].chunked {
			t.Errorf("step %s should run in chunks of patron IDs", name)
		}
	}
	if byName["patrons_sequence"].chunked || !strings.Contains(byName["patrons_sequence"].statements[0], "{{patrons}}") {
		t.Error("patrons_sequence should run once, with the patron count")
	}
}

func TestParseSeedRejectsUnterminated(t *testing.T) {
	if _, err := parseSeed("-- step: a\nSELECT 1\n"); err == nil {
		t.Error("a statement without its semicolon was accepted")
	}
	steps, err := parseSeed("-- step: a\nSELECT 1;\n-- a comment\nSELECT $$x;\ny$$;\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := steps[0].statements; len(got) != 2 || got[1] != "SELECT $$x;\ny$$;" {
		t.Errorf("statements %q", got)
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	m := marker{Seed: "abc123", Scale: "0.5", Migrations: "6-deadbeef",
		SeededAt: time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC), Took: 5*time.Minute + 3*time.Second,
		Sizes: sizes{Patrons: 1_500_000, History: 10_000_000, Favorites: 1_500_001, Consents: 7}}
	got, ok := parseMarker(m.String())
	if !ok || got != m {
		t.Errorf("parseMarker(%q) = %+v, %v", m.String(), got, ok)
	}
	for _, bad := range []string{"", "a comment someone wrote", "carrel-load seed=abc"} {
		if _, ok := parseMarker(bad); ok {
			t.Errorf("parseMarker(%q) accepted it", bad)
		}
	}
}

func TestParseWrk(t *testing.T) {
	out := []byte("Running 20s test @ http://127.0.0.1:1\n  2 threads and 32 connections\n" +
		`CARREL_WRK {"requests":1000,"duration_us":2000000,"bytes":5,"connect":1,"read":2,"write":3,"status":4,"timeout":5,` +
		`"p50_us":1500,"p90_us":2500,"p99_us":9000,"max_us":12000,"mean_us":1700}` + "\n")
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS() != 500 || r.SocketErrors() != 11 || r.P99 != 9000 || r.Status != 4 {
		t.Errorf("parsed %+v", r)
	}
	if _, err := parseWrk([]byte("wrk: unknown option\n")); err == nil {
		t.Error("output without a result line was accepted")
	}
}

func TestRequestLine(t *testing.T) {
	r := request{Method: "POST", Path: "/login", Body: "card=1&pin=2",
		Headers: map[string]string{"X-Forwarded-For": "10.1.0.1", "Cookie": "__Host-carrel_session=abc"}}
	if got, want := r.line(), "POST\t/login\tCookie: __Host-carrel_session=abc|X-Forwarded-For: 10.1.0.1\tcard=1&pin=2"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	if err := writeRequests(t.TempDir()+"/r", []request{{Method: "GET", Path: "/x\n"}}); err == nil {
		t.Error("a request with a line break was written")
	}
}

func TestAccessLogTally(t *testing.T) {
	l := newAccessLog()
	l.read(strings.NewReader(strings.Join([]string{
		`time=2026-11-27T14:00:00Z level=INFO msg=request method=GET route=/data status=200 duration_ms=3.5`,
		`time=2026-11-27T14:00:00Z level=INFO msg=request method=GET route=/data status=303 duration_ms=0.5`,
		`time=2026-11-27T14:00:00Z level=ERROR msg="request failed" route=/data status=503 err="web: load session: context canceled"`,
		`time=2026-11-27T14:00:00Z level=INFO msg=request method=GET route=/data status=503 duration_ms=9`,
		`time=2026-11-27T14:00:00Z level=ERROR msg="request failed" route=/data status=500 err="boom"`,
	}, "\n")))
	got := l.swap()
	want := map[string]int{"GET /data 200": 1, "GET /data 303": 1, "GET /data 503": 1}
	if len(got.Count) != len(want) {
		t.Errorf("counts %v, want %v", got.Count, want)
	}
	for k, n := range want {
		if got.Count[k] != n {
			t.Errorf("%s: %d, want %d", k, got.Count[k], n)
		}
	}
	if at := got.Unavailable["GET /data"]; len(at) != 1 || !at[0].Equal(time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("503s logged at %v", at)
	}
	if len(got.Errors) != 2 || !strings.Contains(got.Errors[1].Text, "boom") || !slices.Equal(got.Durations, []float64{3.5, 0.5, 9}) {
		t.Errorf("errors %v, durations %v", got.Errors, got.Durations)
	}
	if len(l.swap().Count) != 0 {
		t.Error("swap did not start a new tally")
	}
}

func TestBudgetVerdicts(t *testing.T) {
	phase := func(name string, rps, p99us float64, unexpected int) phaseResult {
		return phaseResult{Name: name, Label: phaseLabels[name], Conns: 32, Unexpected: unexpected, LoadBefore: "0.5 0.5 0.5",
			Wrk: wrkResult{Requests: int64(rps * 20), DurationUS: 20_000_000, P50: p99us / 2, P99: p99us}, Log: newTally()}
	}
	rows := func(md string) []string {
		var out []string
		for line := range strings.Lines(md) {
			if strings.HasPrefix(line, "| overview throughput") || strings.HasPrefix(line, "| overview p99") ||
				strings.HasPrefix(line, "| zero errors") || strings.HasPrefix(line, "| the portal's peak RSS") {
				out = append(out, line)
			}
		}
		return out
	}
	good := &report{Machine: machine{CPUs: 2}, PeakRSSKB: 100 * 1024,
		Phases: []phaseResult{phase("readyz", 4000, 5000, 0), phase("overview", 1200, 20_000, 0)}}
	md := good.markdown()
	for _, row := range rows(md) {
		if !strings.HasSuffix(strings.TrimSpace(row), "| met |") {
			t.Errorf("within budget, yet: %s", row)
		}
	}
	if strings.Contains(md, "machine was busy") {
		t.Error("a quiet machine was reported busy")
	}
	bad := &report{Machine: machine{CPUs: 2}, PeakRSSKB: 151 * 1024,
		Phases: []phaseResult{phase("readyz", 4000, 5000, 0), phase("overview", 999, 25_000, 1)}}
	bad.Phases[0].OtherCPU = 0.3
	md = bad.markdown()
	got := rows(md)
	if len(got) != 4 {
		t.Fatalf("budget rows: %q", got)
	}
	for _, row := range got {
		if !strings.Contains(row, "**NOT met**") {
			t.Errorf("over budget, yet: %s", row)
		}
	}
	if !strings.Contains(md, "25.0% (999 of 4,000 req/s)") { // rounded for show, not for the verdict
		t.Errorf("the share is not stated: %s", md)
	}
	if !strings.Contains(md, "during 1 of the 2 phases") {
		t.Error("a busy machine was not reported")
	}
}
