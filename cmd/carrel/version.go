package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// commit and buildDate are set at build time, like version (main.go), with
// -ldflags "-X main.commit=... -X main.buildDate=...": make release and the
// Dockerfile set all three. A plain go build leaves them empty and
// versionLine reads what the Go toolchain stamped into the binary instead.
var commit, buildDate string

func printVersion(_ context.Context, _ *config, args []string, out io.Writer) error {
	if err := noArgs("version", args, out); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(out, versionLine(version, commit, buildDate, info))
	return nil
}

// versionLine is what carrel version prints:
//
//	carrel VERSION (commit COMMIT, built DATE, GOVERSION)
//
// Each of version, commit and date set by -ldflags wins; otherwise it comes
// from info, the build information the toolchain stamps (the module's
// version, and vcs.revision, vcs.modified and vcs.time when the binary was
// built in a git checkout), and "dev" or "unknown" when info has none.
func versionLine(version, commit, date string, info *debug.BuildInfo) string {
	if version == "" {
		version = "dev"
	}
	if info != nil {
		if version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		vcs := map[string]string{}
		for _, s := range info.Settings {
			vcs[s.Key] = s.Value
		}
		if commit == "" && vcs["vcs.revision"] != "" {
			commit = vcs["vcs.revision"]
			if vcs["vcs.modified"] == "true" {
				commit += "-dirty"
			}
		}
		if date == "" {
			date = vcs["vcs.time"]
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("carrel %s (commit %s, built %s, %s)", version, commit, date, runtime.Version())
}
