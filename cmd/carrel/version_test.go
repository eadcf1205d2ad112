package main

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestVersionLine covers where each part of carrel version comes from:
// -ldflags first, then the build information the Go toolchain stamps,
// then "dev" and "unknown".
func TestVersionLine(t *testing.T) {
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "abc123"},
		{Key: "vcs.time", Value: "2026-03-04T05:06:07Z"}, {Key: "vcs.modified", Value: "false"},
	}}
	dirty := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-03-04T05:06:07Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	module := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}
	goVersion := runtime.Version()
	cases := []struct {
		name                  string
		version, commit, date string
		info                  *debug.BuildInfo
		want                  string
	}{
		{"all from ldflags", "v1.2.3", "deadbeef", "2026-01-02T03:04:05Z", stamped,
			"carrel v1.2.3 (commit deadbeef, built 2026-01-02T03:04:05Z, " + goVersion + ")"},
		{"from the vcs stamp", "dev", "", "", stamped,
			"carrel dev (commit abc123, built 2026-03-04T05:06:07Z, " + goVersion + ")"},
		{"a modified checkout", "dev", "", "", dirty,
			"carrel dev (commit abc123-dirty, built 2026-03-04T05:06:07Z, " + goVersion + ")"},
		{"version by ldflags, the rest stamped", "v2.0.0", "", "", dirty,
			"carrel v2.0.0 (commit abc123-dirty, built 2026-03-04T05:06:07Z, " + goVersion + ")"},
		{"go install of a module version", "dev", "", "", module,
			"carrel v1.4.0 (commit unknown, built unknown, " + goVersion + ")"},
		{"nothing known", "dev", "", "", nil,
			"carrel dev (commit unknown, built unknown, " + goVersion + ")"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := versionLine(c.version, c.commit, c.date, c.info); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestVersionOfBuiltBinaries builds carrel twice and runs carrel version:
// with the Dockerfile's -ldflags -X values it prints exactly those; built
// without them, it prints what the toolchain stamped into that binary
// (read back with debug/buildinfo), which in a git clone is the commit
// git names (worktrees are not stamped by go build).
func TestVersionOfBuiltBinaries(t *testing.T) {
	bin := buildAsDockerfile(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	want := "carrel " + testBuildArgs["VERSION"] + " (commit " + testBuildArgs["COMMIT"] + ", built " + testBuildArgs["BUILD_DATE"] + ", " + runtime.Version() + ")\n"
	if err != nil || string(out) != want {
		t.Errorf("with -ldflags: %v\ngot  %q\nwant %q", err, out, want)
	}

	// Without -X, and with VCS stamping on whatever GOFLAGS says.
	_, args := dockerGoBuild(t, testBuildArgs)
	if i := slices.Index(args, "-ldflags"); i >= 0 {
		args = slices.Delete(args, i, i+2)
	}
	plain := buildCarrel(t, []string{"CGO_ENABLED=0", "GOFLAGS=-buildvcs=auto"}, args)
	info, err := buildinfo.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	commit, date := "unknown", "unknown"
	if rev := vcs["vcs.revision"]; rev != "" {
		head, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output()
		if err != nil || strings.TrimSpace(string(head)) != rev {
			t.Errorf("stamped revision %s, git says %q (%v)", rev, head, err)
		}
		commit, date = rev, vcs["vcs.time"]
		if vcs["vcs.modified"] == "true" {
			commit += "-dirty"
		}
	} else if fi, err := os.Stat(repoRoot + "/.git"); err == nil && fi.IsDir() {
		t.Errorf("built in a git clone with -buildvcs=auto, yet no vcs.revision stamped: %v", info.Settings)
	}
	out, err = exec.Command(plain, "version").CombinedOutput()
	// The toolchain also stamps a version made from the commit (a
	// pseudo-version) when it knows one.
	ver := "dev"
	if v := info.Main.Version; v != "" && v != "(devel)" {
		ver = v
	}
	want = "carrel " + ver + " (commit " + commit + ", built " + date + ", " + runtime.Version() + ")\n"
	if err != nil || string(out) != want {
		t.Errorf("without -ldflags: %v\ngot  %q\nwant %q", err, out, want)
	}
}
