package main

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The documented-flags test: every flag the documentation names for a
// command is collected from the documentation itself (the README's
// Commands table and every code span or code block naming carrel in the
// README and docs/*.md, carrel help, each carrel COMMAND --help and
// carrel COMMAND SUB --help) and run against a real data folder, so that a
// flag documented later is run too, and a flag or command documented but
// missing fails.

// docFlag is one flag the documentation names for a command.
type docFlag struct {
	cmd, sub, flag string
	// hint is the value written after the flag where one is, such as N
	// in --batch N.
	hint string
}

func (f docFlag) key() string { return callKey(f.cmd, f.sub) + " --" + f.flag }

func callKey(cmd, sub string) string { return strings.TrimSpace(cmd + " " + sub) }

// flagDocs is what the documentation says: the commands and subcommands it
// shows (calls), their flags, and what it names that does not exist.
type flagDocs struct {
	cmds    map[string]command
	calls   map[string][]string // "cmd sub" -> where documented
	flags   map[string]docFlag
	sources map[string][]string // docFlag.key() -> where documented
	faults  []string
}

func (d *flagDocs) fault(source, format string, args ...any) {
	d.faults = append(d.faults, source+": "+fmt.Sprintf(format, args...))
}

func (d *flagDocs) addCall(source, cmd, sub string) {
	k := callKey(cmd, sub)
	if !slices.Contains(d.calls[k], source) {
		d.calls[k] = append(d.calls[k], source)
	}
}

// addFlag records --flag for carrel cmd sub, or checks a setting's flag,
// which every command takes.
func (d *flagDocs) addFlag(source, cmd, sub, flag, hint string) {
	if flag == "help" || flag == "h" {
		return
	}
	if isSettingFlag(flag) {
		return
	}
	c := d.cmds[cmd]
	if c.subs != nil && sub == "" {
		d.fault(source, "names --%s for carrel %s without saying which subcommand", flag, cmd)
		return
	}
	f := docFlag{cmd: cmd, sub: sub, flag: flag, hint: hint}
	if old, ok := d.flags[f.key()]; ok && old.hint != "" {
		f.hint = old.hint
	}
	d.flags[f.key()] = f
	if !slices.Contains(d.sources[f.key()], source) {
		d.sources[f.key()] = append(d.sources[f.key()], source)
	}
}

func isSettingFlag(name string) bool {
	return slices.ContainsFunc(settings, func(s setting) bool { return s.flag == name })
}

var (
	flagToken   = regexp.MustCompile(`^--([a-z][a-z0-9-]*[a-z0-9])(?:=(.*))?$`)
	placeholder = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$|^[a-z0-9/:._|-]+$`)
)

// trimWord drops the punctuation prose and usage put around a word.
func trimWord(w string) string { return strings.Trim(w, "[](){}`'\",;:.") }

// invocation reads "carrel CMD [SUB] ARGS..." (text is what follows
// carrel): CMD must be a command and, for one with subcommands, a SUB
// given must be one of them. It returns the command and subcommand, for
// the standalone flags that follow it in a document.
func (d *flagDocs) invocation(source, text string) (cmd, sub string, ok bool) {
	words := strings.Fields(text)
	if len(words) == 0 {
		return "", "", false
	}
	cmd = trimWord(words[0])
	c, known := d.cmds[cmd]
	if !known {
		d.fault(source, "shows carrel %s, which is not a command", cmd)
		return "", "", false
	}
	rest := words[1:]
	for len(rest) > 0 && (trimWord(rest[0]) == "settings" || trimWord(rest[0]) == "flags") {
		rest = rest[1:]
	}
	if c.subs != nil && len(rest) > 0 && !strings.HasPrefix(trimWord(rest[0]), "-") && trimWord(rest[0]) != "SUBCOMMAND" {
		sub = trimWord(rest[0])
		if c.subs[sub] == "" {
			d.fault(source, "shows carrel %s %s, which is not a subcommand of %s", cmd, sub, cmd)
			return "", "", false
		}
		rest = rest[1:]
	}
	d.addCall(source, cmd, sub)
	for i, w := range rest {
		w = trimWord(w)
		if w == "#" || w == "|" {
			break
		}
		m := flagToken.FindStringSubmatch(w)
		if m == nil {
			continue
		}
		hint := m[2]
		if hint == "" && i+1 < len(rest) && !strings.HasPrefix(trimWord(rest[i+1]), "-") && placeholder.MatchString(trimWord(rest[i+1])) {
			hint = trimWord(rest[i+1])
		}
		if m[1] == "demo" {
			// A setting shown with a command (seed --demo) is run with it.
			f := docFlag{cmd: cmd, sub: sub, flag: m[1]}
			d.flags[f.key()] = f
			d.sources[f.key()] = append(d.sources[f.key()], source)
			continue
		}
		d.addFlag(source, cmd, sub, m[1], hint)
	}
	return cmd, sub, true
}

// prose reads text about carrel cmd (a help text, a summary): a word that
// is one of cmd's subcommands makes the flags after it that
// subcommand's, until a "|" or a blank line; a line holding "carrel CMD"
// is read as an invocation.
func (d *flagDocs) prose(source, cmd, sub, text string) {
	c := d.cmds[cmd]
	for _, para := range strings.Split(text, "\n\n") {
		cur := sub
		for _, line := range strings.Split(para, "\n") {
			if i := strings.Index(line, "carrel "); i >= 0 {
				if w := strings.Fields(line[i+len("carrel "):]); len(w) > 0 {
					if _, ok := d.cmds[trimWord(w[0])]; ok || strings.HasPrefix(strings.TrimSpace(line), "Usage:") {
						for _, part := range strings.Split(line[i+len("carrel "):], " | ") {
							d.invocation(source, part)
						}
						continue
					}
				}
			}
			words := strings.Fields(line)
			for i, w := range words {
				if w == "|" {
					cur = sub
					continue
				}
				t := trimWord(w)
				if c.subs[t] != "" {
					cur = t
					continue
				}
				m := flagToken.FindStringSubmatch(t)
				if m == nil {
					continue
				}
				hint := m[2]
				if hint == "" && i+1 < len(words) && placeholder.MatchString(trimWord(words[i+1])) && !strings.HasPrefix(words[i+1], "-") {
					hint = trimWord(words[i+1])
				}
				d.addFlag(source, cmd, cur, m[1], hint)
			}
		}
	}
}

// helpOutput reads `carrel CMD [SUB] --help`: its usage and prose, and
// the flag package's list of the flags it defines ("  -name type").
func (d *flagDocs) helpOutput(source, cmd, sub, out string) {
	text, defaults, _ := strings.Cut(out, "\nFlags:\n")
	d.prose(source, cmd, sub, text)
	for _, line := range strings.Split(defaults, "\n") {
		if m := regexp.MustCompile(`^  -([a-z][a-z0-9-]*)(?: (\w+))?$`).FindStringSubmatch(line); m != nil {
			d.addFlag(source, cmd, sub, m[1], m[2])
		}
	}
}

// markdown reads one document: the settings table's rows (CARREL_X and
// --x must be a setting and its flag), code blocks' lines that run carrel,
// code spans that show carrel (or one of its commands with a flag), and
// standalone `--flag` spans, which belong to the command the document
// showed last.
func (d *flagDocs) markdown(source, doc string) {
	settingRow := regexp.MustCompile("^\\|\\s*`(CARREL_[A-Z0-9_]+)`\\s*\\|\\s*`--([a-z0-9-]+)`")
	span := regexp.MustCompile("`([^`]+)`")
	// lastCmd and lastSub are the carrel command the document showed
	// last; other, that it showed another program's command line since
	// (wrk -t2, psql --csv), whose flags those after it are.
	var lastCmd, lastSub string
	other := false
	seen := func(cmd, sub string, ok bool) {
		if ok {
			lastCmd, lastSub, other = cmd, sub, false
		}
	}
	otherProgram := regexp.MustCompile(`^[a-z][\w.-]*( \S+)* -`)
	inBlock := false
	var para strings.Builder
	flush := func() {
		for _, m := range span.FindAllStringSubmatch(para.String(), -1) {
			s := strings.Join(strings.Fields(m[1]), " ")
			first, _, _ := strings.Cut(s, " ")
			_, isCmd := d.cmds[first]
			switch {
			case strings.HasPrefix(s, "carrel "):
				seen(d.invocation(source, strings.TrimPrefix(s, "carrel ")))
			case isCmd && strings.Contains(s, " --"):
				seen(d.invocation(source, s))
			case otherProgram.MatchString(s):
				other = true
			case flagToken.MatchString(first):
				f := flagToken.FindStringSubmatch(first)
				switch {
				case isSettingFlag(f[1]) || other:
				case lastCmd == "":
					d.fault(source, "names `%s` before showing any carrel command", s)
				default:
					hint := f[2]
					if _, after, ok := strings.Cut(s, " "); ok && hint == "" {
						hint = after
					}
					d.addFlag(source, lastCmd, lastSub, f[1], hint)
				}
			}
		}
		para.Reset()
	}
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			flush()
			inBlock = !inBlock
			continue
		}
		if inBlock {
			code, _, _ := strings.Cut(line, " #")
			code = strings.TrimPrefix(strings.TrimSpace(code), "$ ")
			if otherProgram.MatchString(code) && !strings.Contains(code, "carrel ") {
				other = true
			}
			for _, m := range regexp.MustCompile(`(^|[\s/;&(])carrel\s+([a-z][a-z0-9-]*)`).FindAllStringSubmatchIndex(code, -1) {
				word := code[m[4]:m[5]]
				if _, ok := d.cmds[word]; ok {
					rest := code[m[4]:]
					for _, sep := range []string{" && ", " ; ", " | ", " || "} {
						rest, _, _ = strings.Cut(rest, sep)
					}
					seen(d.invocation(source, rest))
				} else if head, _, _ := strings.Cut(code, " "); strings.HasSuffix(head, "carrel") && m[0] == 0 {
					d.fault(source, "runs carrel %s, which is not a command", word)
				}
			}
			continue
		}
		if m := settingRow.FindStringSubmatch(line); m != nil {
			if !slices.ContainsFunc(settings, func(s setting) bool { return s.env == m[1] && s.flag == m[2] }) {
				d.fault(source, "lists %s with the flag --%s, which is not its flag", m[1], m[2])
			}
		}
		if strings.TrimSpace(line) == "" {
			flush()
		}
		para.WriteString(line + "\n")
	}
	flush()
}

// collectFlagDocs reads every place the documentation names commands and
// flags.
func collectFlagDocs(t *testing.T) *flagDocs {
	d := &flagDocs{cmds: map[string]command{}, calls: map[string][]string{}, flags: map[string]docFlag{}, sources: map[string][]string{}}
	for _, c := range commands() {
		d.cmds[c.name] = c
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The README's Commands table: `carrel opac rotate ID` / `retire-key
	// KID` / `list` shows three subcommands of opac.
	_, table, ok := strings.Cut(string(readme), "\n## Commands\n")
	if !ok {
		t.Fatal(`README.md has no "## Commands" section`)
	}
	table, _, _ = strings.Cut(table, "\n## ")
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `carrel ") || len(cells) < 2 {
			continue
		}
		rows++
		var cmd string
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[0], -1) {
			if strings.HasPrefix(m[1], "carrel ") {
				cmd, _, _ = d.invocation("README.md Commands", strings.TrimPrefix(m[1], "carrel "))
			} else if cmd != "" {
				d.invocation("README.md Commands", cmd+" "+m[1])
			}
		}
	}
	if rows < 10 {
		t.Fatalf("read %d rows of README.md's Commands table; is it still a table of `carrel ...` rows?", rows)
	}
	d.markdown("README.md", string(readme))
	docs, _ := filepath.Glob("../../docs/*.md")
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		d.markdown(strings.TrimPrefix(p, "../../"), string(b))
	}

	// carrel help: a line per command, its summary.
	code, out, errs := carrel(t, "help")
	if code != 0 {
		t.Fatalf("carrel help: exit %d %q", code, errs)
	}
	_, list, _ := strings.Cut(out, "Commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	for _, line := range strings.Split(list, "\n") {
		name, summary, _ := strings.Cut(strings.TrimSpace(line), " ")
		if _, ok := d.cmds[name]; !ok {
			d.fault("carrel help", "lists %s, which is not a command", name)
			continue
		}
		d.addCall("carrel help", name, "")
		d.prose("carrel help", name, "", summary)
	}
	// Each command's --help, and each subcommand's that it lists or that
	// the documentation showed.
	for _, name := range slices.Sorted(maps.Keys(d.cmds)) {
		if name == "help" {
			continue
		}
		src := "carrel " + name + " --help"
		code, out, errs := carrel(t, name, "--help")
		if code != 0 {
			d.fault(src, "exit %d %q", code, errs)
			continue
		}
		d.helpOutput(src, name, "", out)
		subs := map[string]bool{}
		for k := range d.calls {
			if c, s, ok := strings.Cut(k, " "); ok && c == name {
				subs[s] = true
			}
		}
		for s := range d.cmds[name].subs {
			subs[s] = true
		}
		for _, s := range slices.Sorted(maps.Keys(subs)) {
			src := "carrel " + name + " " + s + " --help"
			code, out, errs := carrel(t, name, s, "--help")
			if code != 0 {
				d.fault(src, "exit %d %q", code, errs)
				continue
			}
			d.addCall(src, name, s)
			d.helpOutput(src, name, s, out)
		}
	}
	return d
}

// flagEnv is the data folder the commands run against, named only by
// --data-dir: CARREL_DATA_DIR names decoy, which must stay empty, so a
// settings flag that was not read shows.
type flagEnv struct {
	t           *testing.T
	data, decoy string
	tmp         string
	template    string // a seeded data folder to copy for cases that change it
	n           int
	smtp        []string // settings for a test SMTP server
	lastCard    string   // the card of the patron patronsCSV wrote last
}

func (e *flagEnv) unique(prefix string) string {
	e.n++
	return fmt.Sprintf("%s%d", prefix, e.n)
}

// run runs carrel with args as given, stdin holding a good password.
func (e *flagEnv) run(args ...string) (code int, out, errs string) {
	e.t.Helper()
	stdin = strings.NewReader("Marginalia in the stacks at dusk\n")
	var imp bytes.Buffer
	importStderr = &imp
	defer func() { stdin, importStderr = os.Stdin, os.Stderr }()
	code, out, errs = carrel(e.t, args...)
	return code, out, imp.String() + errs
}

// must runs carrel CMD --data-dir DATA ARGS... and fails the test unless it
// exits 0.
func (e *flagEnv) must(data string, args ...string) string {
	e.t.Helper()
	full := append([]string{args[0], "--data-dir", data}, args[1:]...)
	code, out, errs := e.run(full...)
	if code != 0 {
		e.t.Fatalf("carrel %s: exit %d\n%s%s", strings.Join(full, " "), code, out, errs)
	}
	return out
}

// copyTemplate is a new data folder holding the seeded demo data.
func (e *flagEnv) copyTemplate() string {
	dir := e.t.TempDir()
	entries, err := os.ReadDir(e.template)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range entries {
		b, err := os.ReadFile(filepath.Join(e.template, f.Name()))
		if err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name()), b, 0o600); err != nil {
			e.t.Fatal(err)
		}
	}
	return dir
}

// patronsCSV is a patrons file with one new patron, whose card it returns.
func (e *flagEnv) patronsCSV(ext string) (path, card string) {
	id := e.unique("")
	card = "210000009" + fmt.Sprintf("%05s", id)
	body := "ils_id,card_number,given_name,family_name,email,home_branch,card_expires_on,borrowing_status\n" +
		"flags" + id + "," + card + ",Flag,Tester,,Central,2030-01-31,active\n"
	if ext == ".jsonl" {
		body = `{"ils_id":"flags` + id + `","card_number":"` + card + `","given_name":"Flag","family_name":"Tester","home_branch":"Central","card_expires_on":"2030-01-31","borrowing_status":"active"}` + "\n"
	}
	e.lastCard = card
	return writeFile(e.t, e.tmp, "patrons"+id+ext, body), card
}

func (e *flagEnv) addOPAC(data string) (id, kid string) {
	id = e.unique("catalog")
	out := e.must(data, "opac", "add", "--id", id, "--origin", "https://"+id+".library.example")
	m := regexp.MustCompile(`kid:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("opac add printed no kid: %q", out)
	}
	return id, m[1]
}

func (e *flagEnv) addStaff(data string) string {
	u := e.unique("flagstaff")
	e.must(data, "staff", "add", "--username", u, "--role", "assistant")
	return u
}

// flagBases make, for each command and subcommand the documentation
// shows, arguments with which it does its work and exits 0, preparing
// what it needs in data. A command the documentation shows without a base
// here fails the test: add one.
var flagBases = map[string]func(e *flagEnv, data string) []string{
	"migrate": func(*flagEnv, string) []string { return nil },
	"backup": func(e *flagEnv, _ string) []string {
		return []string{filepath.Join(e.tmp, e.unique("backup")+".db")}
	},
	"doctor":  func(*flagEnv, string) []string { return nil },
	"seed":    func(*flagEnv, string) []string { return nil },
	"keygen":  func(*flagEnv, string) []string { return nil },
	"version": func(*flagEnv, string) []string { return nil },
	"purge":   func(*flagEnv, string) []string { return nil },
	"staff add": func(e *flagEnv, _ string) []string {
		return []string{"add", "--username", e.unique("flagstaff"), "--role", "assistant"}
	},
	"staff disable":        func(e *flagEnv, data string) []string { return []string{"disable", e.addStaff(data)} },
	"staff reset-password": func(e *flagEnv, data string) []string { return []string{"reset-password", e.addStaff(data)} },
	"staff reset-2fa":      func(e *flagEnv, data string) []string { return []string{"reset-2fa", e.addStaff(data)} },
	"audit verify":         func(*flagEnv, string) []string { return []string{"verify"} },
	"audit checkpoint":     func(*flagEnv, string) []string { return []string{"checkpoint"} },
	"lists unsubscribe-url": func(*flagEnv, string) []string {
		return []string{"unsubscribe-url", "--card", "21000000000001", "--list", "events"}
	},
	"lists export": func(*flagEnv, string) []string { return []string{"export", "events"} },
	"opac add": func(e *flagEnv, _ string) []string {
		id := e.unique("catalog")
		return []string{"add", "--id", id, "--origin", "https://" + id + ".library.example"}
	},
	"opac rotate": func(e *flagEnv, data string) []string { id, _ := e.addOPAC(data); return []string{"rotate", id} },
	"opac retire-key": func(e *flagEnv, data string) []string {
		_, kid := e.addOPAC(data)
		return []string{"retire-key", kid}
	},
	"opac mint": func(e *flagEnv, data string) []string {
		id, _ := e.addOPAC(data)
		return []string{"mint", "--id", id, "--card", "21000000000001"}
	},
	"opac list":  func(*flagEnv, string) []string { return []string{"list"} },
	"apikey add": func(e *flagEnv, _ string) []string { return []string{"add", "--name", e.unique("flagkey")} },
	"apikey list": func(*flagEnv, string) []string {
		return []string{"list"}
	},
	"apikey revoke": func(e *flagEnv, data string) []string {
		n := e.unique("flagkey")
		e.must(data, "apikey", "add", "--name", n)
		return []string{"revoke", n}
	},
	"import": func(e *flagEnv, _ string) []string {
		p, _ := e.patronsCSV(".csv")
		return []string{"patrons", p}
	},
	"digests status": func(*flagEnv, string) []string { return []string{"status"} },
	"digests send":   func(e *flagEnv, _ string) []string { return append([]string{"send"}, e.smtp...) },
}

// notRun are the commands run only with --help here, and why.
var notRun = map[string]string{
	"serve":   "serves until stopped; its settings are every command's",
	"restore": "needs an empty data folder, not the shared one; run by restoreCall",
}

// flagCase is how to run one documented flag and check that it did what
// the documentation says.
type flagCase struct {
	// value is the flag's value; "" for a switch (--flag, --flag=true).
	value func(e *flagEnv, data string) string
	// base replaces the command's base arguments.
	base func(e *flagEnv, data string) []string
	// fresh runs it in a copy of the seeded data folder; empty in a new
	// empty one.
	fresh, empty bool
	// env is set for the case's runs.
	env map[string]string
	// check looks for the flag's effect.
	check func(t *testing.T, e *flagEnv, data, out string)
}

func fixed(v string) func(*flagEnv, string) string { return func(*flagEnv, string) string { return v } }

func wantOut(want ...string) func(*testing.T, *flagEnv, string, string) {
	return func(t *testing.T, _ *flagEnv, _, out string) {
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("stdout lacks %q: %q", w, out)
			}
		}
	}
}

// flagCases are the documented flags whose effect is cheap to see. A
// documented flag without a case is still run: as a switch, or with the
// value the documentation writes after it.
var flagCases = map[string]flagCase{
	"migrate --dry-run": {empty: true, check: func(t *testing.T, e *flagEnv, data, out string) {
		if !strings.Contains(strings.ToLower(out), "pending") {
			t.Errorf("migrate --dry-run does not list the pending steps: %q", out)
		}
		if out2 := e.must(data, "migrate", "--dry-run"); out2 != out {
			t.Errorf("a second migrate --dry-run differs, so the first changed something:\n%s\n%s", out, out2)
		}
	}},
	"seed --demo": {empty: true, env: map[string]string{"CARREL_DEMO": ""}, check: wantOut("Demo data loaded.", "Demo sign-ins:")},
	"purge --dry-run": {fresh: true, check: func(t *testing.T, e *flagEnv, data, out string) {
		m := regexp.MustCompile(`Would delete (\d+) rows in all`).FindStringSubmatch(out)
		if m == nil || m[1] == "0" {
			t.Fatalf("purge --dry-run on the demo data (a reference question past its limit): %q", out)
		}
		if again := e.must(data, "purge", "--dry-run"); !strings.Contains(again, m[0]) {
			t.Errorf("after purge --dry-run another says %q, not %q: it deleted something", again, m[0])
		}
	}},
	"purge --batch": {value: fixed("1"), fresh: true, check: wantOut("Deleted 1 rows in all.")},
	"staff add --username": {value: func(e *flagEnv, _ string) string { return e.unique("flaguser") },
		check: func(t *testing.T, _ *flagEnv, _, out string) {
			if !regexp.MustCompile(`Added flaguser\d+ `).MatchString(out) {
				t.Errorf("%q", out)
			}
		}},
	"staff disable --username": {value: func(e *flagEnv, data string) string { return e.addStaff(data) },
		base: func(*flagEnv, string) []string { return []string{"disable"} }, check: wantOut("Disabled flagstaff")},
	"staff reset-password --username": {value: func(e *flagEnv, data string) string { return e.addStaff(data) },
		base: func(*flagEnv, string) []string { return []string{"reset-password"} }, check: wantOut("New password set for flagstaff")},
	"staff reset-2fa --username": {value: func(e *flagEnv, data string) string { return e.addStaff(data) },
		base: func(*flagEnv, string) []string { return []string{"reset-2fa"} }, check: wantOut("Removed the second factor and recovery codes of flagstaff")},
	"opac mint --id": {value: func(e *flagEnv, data string) string { id, _ := e.addOPAC(data); return id },
		base: func(*flagEnv, string) []string { return []string{"mint", "--card", "21000000000001"} }, check: wantOut("/opac/handoff?", "token=ey")},
	"opac mint --card": {value: fixed("21000000000002"), check: wantOut("/opac/handoff?", "token=ey")},
	"staff add --role": {value: fixed("privacy_officer"), check: wantOut("as Privacy officer.")},
	"staff add --name": {value: fixed("Flag Tester"), check: wantOut("(Flag Tester)")},
	"audit verify --checkpoint": {value: func(e *flagEnv, data string) string {
		return writeFile(e.t, e.tmp, e.unique("checkpoint"), e.must(data, "audit", "checkpoint"))
	}, check: func(t *testing.T, e *flagEnv, data, _ string) {
		missing := filepath.Join(e.tmp, "no-such-checkpoint")
		if code, _, errs := e.run("audit", "verify", "--data-dir", data, "--checkpoint", missing); code != 2 || !strings.Contains(errs, "cannot read "+missing) {
			t.Errorf("audit verify --checkpoint MISSING: exit %d %q: the file is not read", code, errs)
		}
	}},
	"lists unsubscribe-url --card": {value: fixed("21000000000001"), check: wantOut("/unsubscribe/")},
	"lists unsubscribe-url --list": {value: fixed("events"), check: wantOut("/unsubscribe/")},
	"lists export --list":          {value: fixed("events"), base: func(*flagEnv, string) []string { return []string{"export"} }, check: wantOut("name,email,unsubscribe_url")},
	"opac add --id": {value: func(e *flagEnv, _ string) string { return e.unique("catalog") },
		base: func(*flagEnv, string) []string {
			return []string{"add", "--origin", "https://catalog.library.example"}
		}, check: wantOut("new key", "secret:")},
	"opac add --origin": {value: fixed("https://catalog.library.example"), check: wantOut("new key")},
	"opac rotate --id": {value: func(e *flagEnv, data string) string { id, _ := e.addOPAC(data); return id },
		base: func(*flagEnv, string) []string { return []string{"rotate"} }, check: wantOut("new key")},
	"opac retire-key --id": {value: func(e *flagEnv, data string) string { _, kid := e.addOPAC(data); return kid },
		base: func(*flagEnv, string) []string { return []string{"retire-key"} }, check: wantOut("no longer accepted")},
	"opac mint --to": {value: fixed("/favorites"), check: wantOut("to=%2Ffavorites")},
	"opac mint --return": {value: fixed("https://catalog.library.example/record/1"), base: func(e *flagEnv, data string) []string {
		id := e.unique("catalog")
		e.must(data, "opac", "add", "--id", id, "--origin", "https://catalog.library.example")
		return []string{"mint", "--id", id, "--card", "21000000000001"}
	}, check: wantOut("/opac/handoff?", "token=ey")},
	"apikey add --name": {value: func(e *flagEnv, _ string) string { return e.unique("flagkey") }, base: func(*flagEnv, string) []string { return []string{"add"} },
		check: wantOut("API key flagkey")},
	"apikey revoke --name": {value: func(e *flagEnv, data string) string {
		n := e.unique("flagkey")
		e.must(data, "apikey", "add", "--name", n)
		return n
	}, base: func(*flagEnv, string) []string { return []string{"revoke"} }, check: wantOut("revoked")},
	"import --dry-run": {check: func(t *testing.T, e *flagEnv, data, out string) {
		card := e.lastCard
		if !strings.Contains(out, "dry run, nothing written: 1 rows read, 1 good") {
			t.Errorf("import --dry-run: %q", out)
		}
		if code, _, errs := e.run("lists", "unsubscribe-url", "--data-dir", data, "--card", card, "--list", "events"); code != 2 || !strings.Contains(errs, "no patron") {
			t.Errorf("after import --dry-run the patron it read is in the database: exit %d %q", code, errs)
		}
	}},
	"import --report": {value: func(e *flagEnv, _ string) string { return filepath.Join(e.tmp, e.unique("report")+".txt") },
		check: func(t *testing.T, e *flagEnv, _, out string) {
			matches, _ := filepath.Glob(filepath.Join(e.tmp, "report*.txt"))
			found := false
			for _, m := range matches {
				if b, _ := os.ReadFile(m); strings.Contains(string(b), strings.TrimSpace(out)) {
					found = true
				}
			}
			if !found {
				t.Errorf("no report file holds the summary %q", out)
			}
		}},
	"import --format": {value: fixed("jsonl"), base: func(e *flagEnv, _ string) []string {
		p, _ := e.patronsCSV(".jsonl")
		txt := strings.TrimSuffix(p, ".jsonl") + ".txt"
		if err := os.Rename(p, txt); err != nil {
			e.t.Fatal(err)
		}
		return []string{"patrons", txt}
	}, check: wantOut("1 rows read, 1 inserted")},
	"import --full": {empty: true, check: wantOut("patrons: 1 rows read, 1 inserted")},
	// A full snapshot of one patron where there were two deletes half:
	// refused under the default 10 percent, done under 100.
	"import --max-delete": {value: fixed("100"), empty: true, base: func(e *flagEnv, data string) []string {
		before, _ := e.patronsCSV(".csv")
		e.must(data, "import", "patrons", before)
		p, _ := e.patronsCSV(".csv")
		return []string{"patrons", p, "--full"}
	}, check: wantOut("1 deleted as missing from the full snapshot")},
	"import --strict": {check: wantOut("1 rows read, 1 inserted")},
	"import --batch":  {value: fixed("1"), check: wantOut("1 rows read, 1 inserted")},
}

// TestEveryDocumentedFlagWorks collects every command, subcommand and flag
// the documentation names and runs each against a real SQLite data folder
// holding the demo data: the flag is accepted (never "flag provided but not
// defined", exit 2), with the settings before and after the command's own
// flags, spelled --flag value and --flag=value, and where it is cheap to
// see, it does what the documentation says.
func TestEveryDocumentedFlagWorks(t *testing.T) {
	isolate(t)
	e := &flagEnv{t: t, tmp: t.TempDir(), decoy: t.TempDir()}
	t.Setenv("CARREL_DATA_DIR", e.decoy)
	t.Setenv("CARREL_DEMO", "1")
	t.Setenv("CARREL_LOG_LEVEL", "warn")
	srv := &cliSMTP{}
	host, port, _ := net.SplitHostPort(srv.start(t))
	e.smtp = []string{"--smtp-host", host, "--smtp-port", port, "--smtp-tls", "none", "--smtp-from", "Library <news@library.example>"}

	docs := collectFlagDocs(t)
	t.Logf("documented: %d commands and subcommands, %d flags: %s", len(docs.calls), len(docs.flags), strings.Join(slices.Sorted(maps.Keys(docs.flags)), ", "))
	for _, f := range docs.faults {
		t.Errorf("the documentation: %s", f)
	}
	if len(docs.flags) < 20 {
		t.Fatalf("collected only %d documented flags: %v", len(docs.flags), slices.Sorted(maps.Keys(docs.flags)))
	}
	e.template = t.TempDir()
	e.must(e.template, "seed")
	e.data = e.copyTemplate()

	// Every documented command and subcommand, with the settings before
	// its own arguments and after them.
	for _, k := range slices.Sorted(maps.Keys(docs.calls)) {
		cmd, sub, _ := strings.Cut(k, " ")
		if _, skip := notRun[cmd]; skip || cmd == "help" {
			continue
		}
		if cmd != "" && docs.cmds[cmd].subs != nil && sub == "" {
			continue // the command alone asks for a subcommand
		}
		base, ok := flagBases[k]
		if !ok {
			t.Errorf("carrel %s is documented (%s) but flagBases has no way to run it: add one", k, strings.Join(docs.calls[k], ", "))
			continue
		}
		for _, before := range []bool{true, false} {
			own := base(e, e.data)
			args := placeSettings(cmd, own, before, []string{"--data-dir", e.data})
			e.expectWorks(t, cmd, args, nil)
		}
	}
	e.restoreCall(t)

	// Every documented flag.
	for _, key := range slices.Sorted(maps.Keys(docs.flags)) {
		f := docs.flags[key]
		t.Run(strings.ReplaceAll(key, " ", "_"), func(t *testing.T) {
			if why, skip := notRun[f.cmd]; skip {
				t.Errorf("carrel %s documents --%s (%s) but %s is not run here: %s", f.cmd, f.flag, strings.Join(docs.sources[key], ", "), f.cmd, why)
				return
			}
			base, ok := flagBases[callKey(f.cmd, f.sub)]
			c, hasCase := flagCases[key]
			if c.base != nil {
				base, ok = c.base, true
			}
			if !ok {
				t.Fatalf("--%s of carrel %s is documented (%s) but flagBases has no way to run %s", f.flag, callKey(f.cmd, f.sub), strings.Join(docs.sources[key], ", "), callKey(f.cmd, f.sub))
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			for _, before := range []bool{true, false} {
				for _, joined := range []bool{true, false} {
					data := e.data
					switch {
					case c.empty:
						data = t.TempDir()
					case c.fresh:
						data = e.copyTemplate()
					}
					own := base(e, data)
					value := ""
					switch {
					case c.value != nil:
						value = c.value(e, data)
					case !hasCase:
						value = e.probe(f, own, data, docs.cmds[f.cmd].subs != nil)
					}
					own = withFlag(own, f, value, joined, docs.cmds[f.cmd].subs != nil)
					settingsArgs := []string{"--data-dir", data}
					if joined {
						settingsArgs = []string{"--data-dir=" + data}
					}
					args := placeSettings(f.cmd, own, before, settingsArgs)
					out, ok := e.expectWorks(t, f.cmd, args, docs.sources[key])
					if ok && c.check != nil {
						c.check(t, e, data, out)
					}
				}
			}
		})
	}

	// Every command and subcommand answers -h and --help with its usage on
	// stdout, exit 0, with settings before and after.
	for _, c := range commands() {
		if c.name == "help" {
			continue
		}
		calls := [][]string{{c.name}}
		for _, sub := range slices.Sorted(maps.Keys(c.subs)) {
			calls = append(calls, []string{c.name, sub})
		}
		for _, call := range calls {
			for _, h := range []string{"-h", "--help"} {
				for _, args := range [][]string{
					append(append([]string{c.name, "--data-dir", e.data}, call[1:]...), h),
					append(append([]string{c.name}, call[1:]...), h, "--data-dir="+e.data),
				} {
					code, out, errs := e.run(args...)
					if code != 0 || errs != "" || !strings.HasPrefix(out, "Usage: carrel "+c.name) {
						t.Errorf("carrel %s: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", strings.Join(args, " "), code, out, errs)
					}
				}
			}
		}
	}

	if left, _ := os.ReadDir(e.decoy); len(left) != 0 {
		t.Errorf("CARREL_DATA_DIR, which every run overrode with --data-dir, holds %d files: a --data-dir was not read", len(left))
	}
}

// restoreCall runs carrel restore FILE into an empty data folder, with the
// settings before and after FILE.
func (e *flagEnv) restoreCall(t *testing.T) {
	for _, before := range []bool{true, false} {
		src := e.copyTemplate()
		file := filepath.Join(e.tmp, e.unique("restore")+".db")
		if code, out, errs := e.run("backup", "--data-dir", src, file); code != 0 {
			t.Errorf("carrel backup: exit %d %q %q", code, out, errs)
		}
		args := placeSettings("restore", []string{file}, before, []string{"--data-dir", t.TempDir()})
		e.expectWorks(t, "restore", args, nil)
	}
}

// placeSettings is carrel CMD with the settings right after CMD, or after
// everything.
func placeSettings(cmd string, own []string, before bool, settingsArgs []string) []string {
	if before {
		return append(append([]string{cmd}, settingsArgs...), own...)
	}
	return append(append([]string{cmd}, own...), settingsArgs...)
}

// withFlag puts the flag under test in own, replacing the base's own use of
// it: after the subcommand for a command with subcommands (whose flags go
// before their other arguments), else at the end.
func withFlag(own []string, f docFlag, value string, joined, hasSubs bool) []string {
	var kept []string
	for i := 0; i < len(own); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(own[i], "-"), "=")
		if strings.HasPrefix(own[i], "-") && name == f.flag {
			if !hasValue && value != "" {
				i++
			}
			continue
		}
		kept = append(kept, own[i])
	}
	var fl []string
	switch {
	case value == "" && joined:
		fl = []string{"--" + f.flag + "=true"}
	case value == "":
		fl = []string{"--" + f.flag}
	case joined:
		fl = []string{"--" + f.flag + "=" + value}
	default:
		fl = []string{"--" + f.flag, value}
	}
	if hasSubs && len(kept) > 0 {
		return append(append([]string{kept[0]}, fl...), kept[1:]...)
	}
	return append(kept, fl...)
}

// probe tells a documented flag that has no case a switch ("") from one
// that takes a value (the value documented after it, else 1).
func (e *flagEnv) probe(f docFlag, own []string, data string, hasSubs bool) string {
	args := placeSettings(f.cmd, withFlag(own, f, "", false, hasSubs), true, []string{"--data-dir", data})
	_, _, errs := e.run(args...)
	if !strings.Contains(errs, "flag needs an argument") {
		return ""
	}
	if f.hint != "" && f.hint != strings.ToUpper(f.hint) {
		return f.hint // an example value, such as /favorites
	}
	return "1"
}

// expectWorks runs carrel with args and wants exit 0 (a doctor that finds
// something wrong may exit 1) and no usage error.
func (e *flagEnv) expectWorks(t *testing.T, cmd string, args []string, sources []string) (string, bool) {
	t.Helper()
	code, out, errs := e.run(args...)
	if code == 0 || cmd == "doctor" && code == 1 {
		return out, true
	}
	where := ""
	if len(sources) > 0 {
		where = " (documented in " + strings.Join(sources, ", ") + ")"
	}
	t.Errorf("carrel %s%s: exit %d\nstdout %q\nstderr %q", strings.Join(args, " "), where, code, out, errs)
	return out, false
}

// TestCommandsRefuseWhatTheyDoNotKnow: a flag or an argument a command
// does not take is a usage error naming it (exit 2), never ignored: a
// misspelt --dry-run must not run the real thing.
func TestCommandsRefuseWhatTheyDoNotKnow(t *testing.T) {
	isolate(t)
	e := &flagEnv{t: t, tmp: t.TempDir(), decoy: t.TempDir()}
	t.Setenv("CARREL_DATA_DIR", e.decoy)
	t.Setenv("CARREL_DEMO", "1")
	e.data = t.TempDir()
	e.must(e.data, "seed")
	for _, k := range slices.Sorted(maps.Keys(flagBases)) {
		cmd, _, _ := strings.Cut(k, " ")
		for _, extra := range []string{"--no-such-flag", "stray-argument"} {
			own := flagBases[k](e, e.data)
			if commandByName(cmd).subs != nil && strings.HasPrefix(extra, "-") {
				own = append([]string{own[0], extra}, own[1:]...) // a subcommand's flags go before its arguments
			} else {
				own = append(own, extra)
			}
			args := placeSettings(cmd, own, true, []string{"--data-dir", e.data})
			code, out, errs := e.run(args...)
			if code == 2 && strings.Contains(errs, strings.TrimLeft(extra, "-")) && strings.Count(strings.TrimSpace(errs), "\n") == 0 && out == "" {
				continue
			}
			t.Errorf("carrel %s: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s", strings.Join(args, " "), code, out, errs, extra)
		}
	}
}

func commandByName(name string) command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return command{}
}
