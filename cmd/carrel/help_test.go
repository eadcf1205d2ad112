package main

import (
	"strings"
	"testing"
)

// TestEveryCommandAnswersHelp runs every command and subcommand in the
// command table with --help and -h: each prints its own usage on stdout,
// naming it, and exits 0 with nothing on stderr (never flag's "help
// requested" and exit 2). A new subcommand is covered by being in the table.
func TestEveryCommandAnswersHelp(t *testing.T) {
	isolate(t)
	for _, c := range commands() {
		if c.name == "help" {
			continue
		}
		calls := [][]string{{c.name}} // then each subcommand: NAME SUB
		for sub := range c.subs {
			calls = append(calls, []string{c.name, sub})
		}
		for _, call := range calls {
			for _, h := range []string{"--help", "-h"} {
				args := append(append([]string{}, call...), h)
				code, out, errs := carrel(t, args...)
				first, _, _ := strings.Cut(out, "\n")
				if code != 0 || errs != "" || !strings.HasPrefix(first, "Usage: carrel ") || !strings.Contains(first, " "+c.name+" ") || !strings.Contains(first+" ", " "+call[len(call)-1]+" ") {
					t.Errorf("carrel %s: exit %d, stdout %q, stderr %q; want 0, its own usage first, no stderr", strings.Join(args, " "), code, out, errs)
				}
			}
		}
	}
}
