package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"slices"
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

// asCarrel, set in a test binary's environment, makes TestMain run
// carrel's main with the binary's arguments instead of the tests.
const asCarrel = "CARREL_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asCarrel) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// TestHelpThroughTheBinary runs carrel's main (this test binary, as
// carrel) with --help after every command and subcommand, so the exit
// status is the process's own: `carrel opac mint --help` once printed
// "flag: help requested".
func TestHelpThroughTheBinary(t *testing.T) {
	isolate(t)
	t.Setenv(asCarrel, "1")
	calls := [][]string{{"--help"}, {"-h"}, {"help"}}
	for _, c := range commands() {
		if c.name == "help" {
			continue
		}
		calls = append(calls, []string{c.name, "--help"})
		for _, sub := range slices.Sorted(maps.Keys(c.subs)) {
			calls = append(calls, []string{c.name, sub, "--help"}, []string{c.name, sub, "-h"})
		}
	}
	for _, args := range calls {
		cmd := exec.Command(os.Args[0], args...)
		var out, errs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errs
		err := cmd.Run()
		want := "Usage: carrel "
		if len(args) == 1 {
			want = "carrel: the library privacy portal"
		}
		if err != nil || errs.Len() != 0 || !strings.HasPrefix(out.String(), want) {
			t.Errorf("carrel %s: %v, stdout %q, stderr %q; want exit 0 and usage", strings.Join(args, " "), err, out.String(), errs.String())
		}
	}
}
