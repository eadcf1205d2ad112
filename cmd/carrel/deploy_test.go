package main

// Tests of what ships around the binary: the Dockerfile, compose.yaml, the
// systemd unit and its example settings, the reverse-proxy examples. This
// machine has no container daemon, so the image itself is never built
// here; instead the binary is built the way the Dockerfile builds it and
// run the way the image runs it, and every setting the files hand to
// carrel goes through the real configuration parser.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository's top folder, where the deploy files are.
const repoRoot = "../.."

// The contract's names (contract of issue 23): other files and docs refer
// to these paths.
const (
	binaryPath  = "/usr/local/bin/carrel"
	dataDir     = "/var/lib/carrel"
	keysFile    = "/etc/carrel/secret-keys"
	envFile     = "/etc/carrel/carrel.env"
	nonrootUser = 65532
)

// dockerfile is the Dockerfile's instructions, continuation lines joined,
// comments dropped.
type instruction struct{ cmd, args string }

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// finalStage is the instructions after the last FROM.
func finalStage(ins []instruction) []instruction {
	last := 0
	for i, in := range ins {
		if in.cmd == "FROM" {
			last = i
		}
	}
	return ins[last:]
}

// shellWords splits a command line the way sh does for plain words and
// double- or single-quoted strings (enough for the Dockerfile's RUN).
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// dockerGoBuild is the Dockerfile's `go build` command: its environment
// assignments and its arguments after "go build", ${VAR}s expanded from
// args.
func dockerGoBuild(t *testing.T, buildArgs map[string]string) (env, args []string) {
	t.Helper()
	for _, in := range readDockerfile(t) {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		words := shellWords(os.Expand(in.args, func(k string) string { return buildArgs[k] }))
		for len(words) > 0 && strings.HasPrefix(words[0], "--mount=") {
			words = words[1:]
		}
		for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
			env = append(env, words[0])
			words = words[1:]
		}
		if len(words) < 2 || words[0] != "go" || words[1] != "build" {
			t.Fatalf("Dockerfile: cannot read the go build command in RUN %s", in.args)
		}
		return env, words[2:]
	}
	t.Fatal("Dockerfile: no RUN with go build")
	return nil, nil
}

// Build values the tests give the Dockerfile's ARGs.
var testBuildArgs = map[string]string{"VERSION": "v9.8.7-test", "COMMIT": "0123456789abcdef0123456789abcdef01234567", "BUILD_DATE": "2026-01-02T03:04:05Z"}

// buildAsDockerfile builds carrel as the Dockerfile builds it (its env
// and flags, -o replaced) into a folder every user may read, removed when
// the test ends.
func buildAsDockerfile(t *testing.T) string {
	t.Helper()
	env, args := dockerGoBuild(t, testBuildArgs)
	return buildCarrel(t, env, args)
}

// buildCarrel runs go build with env and args into a fresh folder.
func buildCarrel(t *testing.T, env, args []string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "carrel-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "carrel")
	if err := goBuild(env, args, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// goBuild runs go build with env and args, writing to out instead of the
// -o the args name.
func goBuild(env, args []string, out string) error {
	args = slices.Clone(args)
	for i := range args {
		if args[i] == "-o" && i+1 < len(args) {
			args[i+1] = out
		}
	}
	if err := os.Chmod(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// TestDockerfileAgreesWithTheContract reads the Dockerfile: the final
// stage is a distroless static (or scratch) image that runs
// /usr/local/bin/carrel serve as the non-root user, with the data folder
// /var/lib/carrel as a volume and the settings that go with it; the
// builder makes a static binary with the release's flags.
func TestDockerfileAgreesWithTheContract(t *testing.T) {
	ins := readDockerfile(t)
	final := finalStage(ins)
	from := strings.Fields(final[0].args)[0]
	if !strings.HasPrefix(from, "gcr.io/distroless/static") && from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless static or scratch", from)
	}
	got := map[string][]string{}
	for _, in := range final[1:] {
		got[in.cmd] = append(got[in.cmd], in.args)
	}
	jsonList := func(cmd string) []string {
		if len(got[cmd]) != 1 {
			t.Errorf("final stage has %d %s, want 1", len(got[cmd]), cmd)
			return nil
		}
		var list []string
		if err := yaml.Unmarshal([]byte(got[cmd][0]), &list); err != nil {
			t.Errorf("%s %s is not an exec-form list: %v", cmd, got[cmd][0], err)
		}
		return list
	}
	if ep := jsonList("ENTRYPOINT"); !slices.Equal(ep, []string{binaryPath}) {
		t.Errorf("ENTRYPOINT %q, want [%q]", ep, binaryPath)
	}
	if c := jsonList("CMD"); !slices.Equal(c, []string{"serve"}) {
		t.Errorf("CMD %q, want [serve]", c)
	}
	if v := jsonList("VOLUME"); !slices.Equal(v, []string{dataDir}) {
		t.Errorf("VOLUME %q, want [%q]", v, dataDir)
	}
	if u := got["USER"]; len(u) != 1 || u[0] != fmt.Sprintf("%d:%d", nonrootUser, nonrootUser) {
		t.Errorf("USER %q, want %d:%d (distroless's nonroot)", u, nonrootUser, nonrootUser)
	}
	env := map[string]string{}
	for _, e := range got["ENV"] {
		for _, kv := range shellWords(e) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	if env["CARREL_DATA_DIR"] != dataDir {
		t.Errorf("ENV CARREL_DATA_DIR=%q, want the volume %s", env["CARREL_DATA_DIR"], dataDir)
	}
	host, port, err := net.SplitHostPort(env["CARREL_ADDR"])
	if err != nil || host != "0.0.0.0" || !slices.Equal(got["EXPOSE"], []string{port}) {
		t.Errorf("ENV CARREL_ADDR=%q and EXPOSE %q: want 0.0.0.0 and the exposed port", env["CARREL_ADDR"], got["EXPOSE"])
	}
	for k := range env {
		if !knownVariable(k) {
			t.Errorf("ENV %s: carrel reads no such setting", k)
		}
	}
	// The binary, and the folders nonroot must own, come from the builder.
	copies := map[string]string{}
	for _, c := range got["COPY"] {
		w := strings.Fields(c)
		chown := ""
		for _, f := range w {
			if strings.HasPrefix(f, "--chown=") {
				chown = strings.TrimPrefix(f, "--chown=")
			}
		}
		copies[strings.TrimSuffix(w[len(w)-1], "/")] = chown
	}
	want := map[string]string{binaryPath: "", dataDir: "65532:65532", path.Dir(keysFile): "65532:65532"}
	for dst, chown := range want {
		if got, ok := copies[dst]; !ok || got != chown {
			t.Errorf("COPY to %s with --chown=%q (found: %v), want --chown=%q", dst, got, ok, chown)
		}
	}

	envs, args := dockerGoBuild(t, testBuildArgs)
	if !slices.Contains(envs, "CGO_ENABLED=0") || !slices.Contains(args, "-trimpath") {
		t.Errorf("the builder's go build: env %q, args %q; want CGO_ENABLED=0 and -trimpath", envs, args)
	}
	if i := slices.Index(args, "-ldflags"); i < 0 || !strings.Contains(args[i+1], "-X main.version="+testBuildArgs["VERSION"]) ||
		!strings.Contains(args[i+1], "-X main.commit="+testBuildArgs["COMMIT"]) || !strings.Contains(args[i+1], "-X main.buildDate="+testBuildArgs["BUILD_DATE"]) {
		t.Errorf("the builder's -ldflags do not set main.version, main.commit and main.buildDate from the build args: %q", args)
	}
}

// knownVariable reports whether carrel reads the environment variable.
func knownVariable(env string) bool {
	for _, s := range settings {
		if s.env == env {
			return true
		}
	}
	for _, e := range envOnly {
		if e.env == env {
			return true
		}
	}
	return false
}

// parseEnv runs the real settings parser on exactly env (every other
// setting at its default), as `carrel serve` would with that
// environment, and loads the secret keys.
func parseEnv(t *testing.T, env map[string]string) error {
	t.Helper()
	isolate(t)
	for k, v := range env {
		if !knownVariable(k) {
			return fmt.Errorf("%s: carrel reads no such setting", k)
		}
		t.Setenv(k, v)
	}
	vals := registerSettings(flag.NewFlagSet("carrel serve", flag.ContinueOnError))
	c, err := parseConfig(vals)
	if err != nil {
		return err
	}
	_, err = c.loadKeys()
	return err
}

// keyFile writes a fresh secret key and returns its path.
func keyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret-keys")
	if err := os.WriteFile(p, []byte(models.GenerateKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// composeFile is the part of compose.yaml the tests read.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       string            `yaml:"build"`
		User        string            `yaml:"user"`
		ReadOnly    bool              `yaml:"read_only"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Tmpfs       []string          `yaml:"tmpfs"`
		Ports       []string          `yaml:"ports"`
		DependsOn   yaml.Node         `yaml:"depends_on"`
		Networks    yaml.Node         `yaml:"networks"`
		Configs     []struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		} `yaml:"configs"`
	} `yaml:"services"`
	Configs map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
	Volumes  map[string]any `yaml:"volumes"`
	Networks map[string]struct {
		Ipam struct {
			Config []struct {
				Subnet string `yaml:"subnet"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// mounts maps each volume mount's target to its source.
func mounts(vols []string) map[string]string {
	m := map[string]string{}
	for _, v := range vols {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			m[parts[1]] = parts[0]
		}
	}
	return m
}

// TestComposeSettingsPassTheParser hands the carrel service's environment
// in compose.yaml to the real settings parser (the key file replaced by a
// real one), and checks that what the settings name exists in the file:
// the volumes behind the data folder and the key, the keygen service that
// writes that key, the proxy the portal trusts, the mail and database
// services, and the address Caddy serves.
func TestComposeSettingsPassTheParser(t *testing.T) {
	c := readCompose(t)
	carrelSvc, ok := c.Services["carrel"]
	if !ok {
		t.Fatal("compose.yaml has no carrel service")
	}
	env := carrelSvc.Environment
	parsed := map[string]string{}
	for k, v := range env {
		parsed[k] = v
	}
	parsed["CARREL_SECRET_KEYS_FILE"] = keyFile(t)
	if err := parseEnv(t, parsed); err != nil {
		t.Fatalf("the carrel service's settings: %v", err)
	}
	if env["CARREL_DEMO"] != "" {
		t.Errorf("CARREL_DEMO=%q: the trial runs in production mode", env["CARREL_DEMO"])
	}

	// The container: the image's user, a read-only root, /tmp for exports.
	if !carrelSvc.ReadOnly || carrelSvc.User != fmt.Sprintf("%d:%d", nonrootUser, nonrootUser) || !slices.ContainsFunc(carrelSvc.Tmpfs, func(s string) bool { return strings.HasPrefix(s, "/tmp") }) {
		t.Errorf("carrel service: read_only %v, user %q, tmpfs %q; want true, 65532:65532, /tmp", carrelSvc.ReadOnly, carrelSvc.User, carrelSvc.Tmpfs)
	}
	m := mounts(carrelSvc.Volumes)
	if _, named := c.Volumes[m[dataDir]]; env["CARREL_DATA_DIR"] != dataDir || !named {
		t.Errorf("the data folder %q is not the named volume mounted at %s (%v)", env["CARREL_DATA_DIR"], dataDir, m)
	}
	keyDir := path.Dir(env["CARREL_SECRET_KEYS_FILE"])
	if env["CARREL_SECRET_KEYS_FILE"] != keysFile || m[keyDir] == "" {
		t.Errorf("CARREL_SECRET_KEYS_FILE=%q is not %s in a mounted volume (%v)", env["CARREL_SECRET_KEYS_FILE"], keysFile, m)
	}
	keygen := c.Services["keygen"]
	if !slices.Equal(keygen.Command, []string{"keygen", "--file", keysFile}) || mounts(keygen.Volumes)[keyDir] != m[keyDir] || keygen.Image != carrelSvc.Image {
		t.Errorf("keygen service: command %q, volumes %q, image %q; want carrel keygen --file %s into the volume the portal reads, same image", keygen.Command, keygen.Volumes, keygen.Image, keysFile)
	}
	var deps map[string]struct{ Condition string }
	if err := carrelSvc.DependsOn.Decode(&deps); err != nil || deps["keygen"].Condition != "service_completed_successfully" ||
		deps["postgres"].Condition != "service_healthy" {
		t.Errorf("carrel must wait for keygen to finish and PostgreSQL to be healthy: depends_on %v (%v)", deps, err)
	}

	// The database: the postgres service, with its user, password and name.
	pg := c.Services["postgres"]
	u, err := url.Parse(env["CARREL_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	if u.Hostname() != "postgres" || u.User.Username() != pg.Environment["POSTGRES_USER"] || pw != pg.Environment["POSTGRES_PASSWORD"] || strings.TrimPrefix(u.Path, "/") != pg.Environment["POSTGRES_DB"] {
		t.Errorf("CARREL_DATABASE_URL %q does not match the postgres service %v", env["CARREL_DATABASE_URL"], pg.Environment)
	}

	// Mail goes to Mailpit, plain SMTP on the compose network, no password.
	if env["CARREL_SMTP_HOST"] != "mailpit" || c.Services["mailpit"].Image == "" || env["CARREL_SMTP_USERNAME"] != "" {
		t.Errorf("CARREL_SMTP_HOST %q: want the mailpit service, without a user name", env["CARREL_SMTP_HOST"])
	}

	// Caddy: the one trusted proxy, serving the public URL, proxying to
	// the portal's port.
	caddy := c.Services["caddy"]
	caddyIP := ""
	var nets map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	}
	if err := caddy.Networks.Decode(&nets); err == nil {
		for name, n := range nets {
			caddyIP = n.IPv4
			if sub := c.Networks[name].Ipam.Config; len(sub) != 1 || !cidrHas(sub[0].Subnet, caddyIP) {
				t.Errorf("caddy's address %s is not in network %s's subnet %v", caddyIP, name, sub)
			}
		}
	}
	if caddyIP == "" || env["CARREL_TRUSTED_PROXIES"] != caddyIP {
		t.Errorf("CARREL_TRUSTED_PROXIES=%q, want caddy's fixed address %q alone", env["CARREL_TRUSTED_PROXIES"], caddyIP)
	}
	pub, _ := url.Parse(env["CARREL_PUBLIC_URL"])
	if len(caddy.Configs) != 1 {
		t.Fatalf("caddy service: configs %v, want the Caddyfile", caddy.Configs)
	}
	caddyfile := c.Configs[caddy.Configs[0].Source].Content
	_, carrelPort, _ := net.SplitHostPort(env["CARREL_ADDR"])
	for _, want := range []string{"\n" + pub.Host + " {", "reverse_proxy carrel:" + carrelPort + "\n", "tls internal"} {
		if !strings.Contains("\n"+caddyfile, want) {
			t.Errorf("compose's Caddyfile lacks %q (CARREL_PUBLIC_URL %s, CARREL_ADDR %s):\n%s", want, pub, env["CARREL_ADDR"], caddyfile)
		}
	}
	if !slices.ContainsFunc(caddy.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+pub.Port()+":"+pub.Port()) }) {
		t.Errorf("caddy publishes %q, not the public URL's port %s", caddy.Ports, pub.Port())
	}
	if caddy.Configs[0].Target != "/etc/caddy/Caddyfile" {
		t.Errorf("the Caddyfile goes to %s, not where caddy:2 reads it", caddy.Configs[0].Target)
	}
}

func cidrHas(cidr, ip string) bool {
	_, n, err := net.ParseCIDR(cidr)
	return err == nil && n.Contains(net.ParseIP(ip))
}

// unitFile is deploy/carrel.service: each key's values in order.
func readUnit(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "deploy", "carrel.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit := map[string][]string{}
	sc := bufio.NewScanner(f)
	section := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("carrel.service: %q is not KEY=VALUE", line)
			}
			unit[section+"."+k] = append(unit[section+"."+k], v)
		}
	}
	return unit
}

// readEnvFile reads deploy/carrel.env.example as systemd's EnvironmentFile
// does for KEY="value" lines (the quotes dropped), which a shell reads the
// same way (the operations guide sources the file to run a command).
func readEnvFile(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "carrel.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("carrel.env.example: %q is not KEY=value", line)
		}
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || strings.ContainsAny(v[1:len(v)-1], "\"\\$`") {
			t.Fatalf("carrel.env.example: %s's value is not in plain double quotes, so a shell would not read it as systemd does", k)
		}
		env[k] = v[1 : len(v)-1]
	}
	return env
}

// TestSystemdUnitAgreesWithTheContract reads deploy/carrel.service: it
// runs /usr/local/bin/carrel serve with the data folder /var/lib/carrel
// as its state directory, the secret keys through LoadCredential, the
// settings from /etc/carrel/carrel.env, the hardening the issue asks for,
// and a stop timeout longer than the drain and the graceful shutdown. The
// example settings file with the unit's own settings passes the real
// parser. systemd-analyze verify must find nothing to say.
func TestSystemdUnitAgreesWithTheContract(t *testing.T) {
	unit := readUnit(t)
	one := func(key string) string {
		if v := unit["Service."+key]; len(v) == 1 {
			return v[0]
		}
		t.Errorf("carrel.service: %s is set %d times, want once", key, len(unit["Service."+key]))
		return ""
	}
	if one("ExecStart") != binaryPath+" serve" {
		t.Errorf("ExecStart=%s, want %s serve", one("ExecStart"), binaryPath)
	}
	for key, want := range map[string]string{
		"StateDirectory": path.Base(dataDir), "LoadCredential": "secret-keys:" + keysFile, "EnvironmentFile": envFile,
		"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
		"ProtectHome": "yes", "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter": "@system-service", "KillSignal": "SIGTERM", "Restart": "on-failure",
	} {
		if got := one(key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	unitEnv := map[string]string{}
	for _, e := range unit["Service.Environment"] {
		for _, kv := range shellWords(e) {
			k, v, _ := strings.Cut(kv, "=")
			unitEnv[k] = v
		}
	}
	if unitEnv["CARREL_DATA_DIR"] != dataDir || unitEnv["CARREL_SECRET_KEYS_FILE"] != "%d/secret-keys" {
		t.Errorf("Environment: %v; want CARREL_DATA_DIR=%s and CARREL_SECRET_KEYS_FILE=%%d/secret-keys (the credential)", unitEnv, dataDir)
	}

	// The settings as the service sees them: the example file, then the
	// unit's own (which the file must not override), %d the credentials.
	example := readEnvFile(t)
	env := map[string]string{}
	for k, v := range unitEnv {
		env[k] = v
	}
	for k, v := range example {
		if _, clash := unitEnv[k]; clash {
			t.Errorf("carrel.env.example sets %s, which the unit sets (and EnvironmentFile would override)", k)
		}
		env[k] = v
	}
	env["CARREL_SECRET_KEYS_FILE"] = keyFile(t) // %d/secret-keys
	env["CARREL_DATA_DIR"] = t.TempDir()
	if err := parseEnv(t, env); err != nil {
		t.Fatalf("deploy/carrel.env.example with the unit's settings: %v", err)
	}
	if example["CARREL_TRUSTED_PROXIES"] != "127.0.0.1" || !strings.HasPrefix(example["CARREL_ADDR"], "127.0.0.1:") {
		t.Errorf("the example listens on %q and trusts %q; want loopback behind the proxy on this machine", example["CARREL_ADDR"], example["CARREL_TRUSTED_PROXIES"])
	}

	// Stopping: the drain, then up to 20s for requests in flight.
	drain := 5 * time.Second
	if v := example["CARREL_SHUTDOWN_DRAIN"]; v != "" {
		drain, _ = time.ParseDuration(v)
	}
	stop, err := time.ParseDuration(one("TimeoutStopSec"))
	if err != nil || stop <= drain+20*time.Second {
		t.Errorf("TimeoutStopSec=%s: want more than the drain (%s) + 20s", one("TimeoutStopSec"), drain)
	}

	// systemd's own reading of the unit, with ExecStart pointing at a real
	// binary (verify checks that it exists).
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		missingTool(t, "systemd-analyze", "systemd")
		return
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "carrel.service"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "carrel.service")
	if err := os.WriteFile(copyPath, []byte(strings.Replace(string(b), "ExecStart="+binaryPath, "ExecStart="+exe, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// missingTool fails under CI (where .ci/run installs it) and skips, loudly,
// elsewhere.
func missingTool(t *testing.T, tool, pkg string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not installed (apt-get install %s), so this check did not run", tool, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED: " + msg)
}

// TestImageBinaryIsStaticAndRunsOnAReadOnlyRoot builds carrel as the
// Dockerfile does and runs it as the image does: as uid 65532 (when the
// test runs as root, which can write anywhere), from a working directory
// it cannot write, HOME unset, the key made by carrel keygen --file into
// a folder of its own, and only the data folder writable. The binary has
// no program interpreter and no shared libraries; serve answers /healthz
// and /readyz and stops cleanly on SIGTERM, having written nothing outside
// the data folder.
func TestImageBinaryIsStaticAndRunsOnAReadOnlyRoot(t *testing.T) {
	bin := buildAsDockerfile(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the image's binary has a %v program header: it is not statically linked", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the image's binary needs shared libraries %q", libs)
	}

	root, err := os.MkdirTemp("", "carrel-root-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	work, data, keys := filepath.Join(root, "work"), filepath.Join(root, "data"), filepath.Join(root, "keys")
	for _, d := range []string{work, data, keys} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	asImageUser := os.Geteuid() == 0
	for _, d := range []string{root, work} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	if asImageUser {
		for _, d := range []string{data, keys} {
			if err := os.Chown(d, nonrootUser, nonrootUser); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() { os.Chmod(root, 0o700); os.Chmod(work, 0o700) })
	command := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = work
		cmd.Env = []string{"PATH=/usr/bin:/bin", "CARREL_ADDR=127.0.0.1:0", "CARREL_DATA_DIR=" + data,
			"CARREL_SECRET_KEYS_FILE=" + filepath.Join(keys, "secret-keys"), "CARREL_SHUTDOWN_DRAIN=0s"}
		if asImageUser {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nonrootUser, Gid: nonrootUser}}
		}
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if out, err := command(ctx, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "carrel "+testBuildArgs["VERSION"]+" ") {
		t.Fatalf("carrel version: %v %q", err, out)
	}
	if out, err := command(ctx, "keygen", "--file", filepath.Join(keys, "secret-keys")).CombinedOutput(); err != nil {
		t.Fatalf("carrel keygen --file: %v %q", err, out)
	}

	serve := command(ctx, "serve")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	serve.Stderr = &stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`serving .* at http://(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	var base string
	select {
	case a, ok := <-addr:
		if !ok {
			serve.Wait()
			t.Fatalf("serve stopped before serving: %s", stderr.String())
		}
		base = "http://" + a
	case <-ctx.Done():
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := serve.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v, want exit 0\n%s", err, stderr.String())
	}
	if entries, _ := os.ReadDir(work); len(entries) > 0 {
		t.Errorf("serve wrote %v into its working directory", entries)
	}
	if _, err := os.Stat(filepath.Join(data, "carrel.db")); err != nil {
		t.Errorf("no database in the data folder: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(keys, "secret-keys")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key keygen --file wrote: %v, mode %v; want 0600", err, fi.Mode())
	}
	if asImageUser {
		fi, _ := os.Stat(filepath.Join(data, "carrel.db"))
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != nonrootUser {
			t.Errorf("the database is not owned by uid %d", nonrootUser)
		}
	}
}

// TestKeygenFileWritesOnce checks carrel keygen --file, which compose.yaml
// runs at every start: the first run writes a key carrel accepts, mode
// 0600; later runs keep it; a folder that does not exist is a one-line
// error naming the file, exit 1; an unknown flag or argument is exit 2.
func TestKeygenFileWritesOnce(t *testing.T) {
	isolate(t)
	p := filepath.Join(t.TempDir(), "secret-keys")
	code, out, errs := carrel(t, "keygen", "--file", p)
	if code != 0 || !strings.Contains(out, "Wrote a new secret key to "+p) {
		t.Fatalf("first keygen --file: %d %q %q", code, out, errs)
	}
	first, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.ParseKeys(strings.TrimSpace(string(first))); err != nil {
		t.Errorf("the written key does not parse: %v", err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	code, out, _ = carrel(t, "keygen", "--file", p)
	again, _ := os.ReadFile(p)
	if code != 0 || string(again) != string(first) || !strings.Contains(out, "exists already") {
		t.Errorf("second keygen --file: %d %q; the key changed: %v", code, out, string(again) != string(first))
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 1 {
		t.Errorf("keygen left files behind: %v", entries)
	}
	missing := filepath.Join(t.TempDir(), "no-such-folder", "secret-keys")
	if code, _, errs := carrel(t, "keygen", "--file", missing); code != 1 || !strings.Contains(errs, missing) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("keygen --file in a missing folder: %d %q; want 1 and one line naming the file", code, errs)
	}
	for _, args := range [][]string{{"keygen", "--frobnicate"}, {"keygen", "extra"}} {
		if code, _, errs := carrel(t, args...); code != 2 {
			t.Errorf("carrel %s: %d %q, want 2", strings.Join(args, " "), code, errs)
		}
	}
	if code, out, _ := carrel(t, "keygen"); code != 0 {
		t.Errorf("keygen: %d", code)
	} else if _, err := models.ParseKeys(strings.TrimSpace(out)); err != nil {
		t.Errorf("keygen printed %q: %v", out, err)
	}
}

// TestReverseProxyExamplesAreValid has Caddy and nginx read the examples:
// caddy adapt --validate on deploy/Caddyfile and compose's Caddyfile, and
// nginx -t on deploy/nginx.conf inside an http block (its certificate
// paths pointed at a certificate made here). Both carry HSTS for two years, as the portal does
// and proxy to 127.0.0.1:8080, which the example settings trust.
func TestReverseProxyExamplesAreValid(t *testing.T) {
	for _, name := range []string{"Caddyfile", "nginx.conf"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"max-age=63072000; includeSubDomains", "127.0.0.1:8080", "CARREL_TRUSTED_PROXIES=127.0.0.1"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("deploy/%s lacks %q", name, want)
			}
		}
	}
	t.Run("caddy", func(t *testing.T) {
		caddy, err := exec.LookPath("caddy")
		if err != nil {
			missingTool(t, "caddy", "caddy")
			return
		}
		composeCaddy := filepath.Join(t.TempDir(), "Caddyfile")
		c := readCompose(t)
		if err := os.WriteFile(composeCaddy, []byte(c.Configs["caddyfile"].Content), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(repoRoot, "deploy", "Caddyfile"), composeCaddy} {
			cmd := exec.Command(caddy, "adapt", "--adapter", "caddyfile", "--validate", "--config", f)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("caddy adapt --validate %s: %v\n%s", f, err, out)
			}
		}
	})
	t.Run("nginx", func(t *testing.T) {
		nginx, err := exec.LookPath("nginx")
		if err != nil {
			missingTool(t, "nginx", "nginx")
			return
		}
		dir := t.TempDir()
		cert, key := selfSignedCert(t, dir, "privacy.library.example")
		b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "nginx.conf"))
		if err != nil {
			t.Fatal(err)
		}
		conf := regexp.MustCompile(`(?m)^(\s*ssl_certificate)\s+\S+;`).ReplaceAllString(string(b), "${1} "+cert+";")
		conf = regexp.MustCompile(`(?m)^(\s*ssl_certificate_key)\s+\S+;`).ReplaceAllString(conf, "${1} "+key+";")
		conf = strings.ReplaceAll(conf, "/var/log/nginx/", dir+"/")
		if err := os.WriteFile(filepath.Join(dir, "carrel.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		main := "error_log stderr;\npid " + dir + "/nginx.pid;\nevents {}\nhttp {\n access_log off;\n include " + dir + "/carrel.conf;\n}\n"
		if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(nginx, "-t", "-q", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput()
		if err != nil || strings.Contains(string(out), "[warn]") || strings.Contains(string(out), "[emerg]") {
			t.Errorf("nginx -t: %v\n%s", err, out)
		}
	})
}

// TestNginxLogFormatKeepsTokensOut checks deploy/nginx.conf's access log:
// built from $uri (never the query string) with unsubscribe tokens
// replaced, and without the client's address.
func TestNginxLogFormatKeepsTokensOut(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	format := regexp.MustCompile(`(?m)^log_format carrel '([^']*)';`).FindStringSubmatch(conf)
	if format == nil {
		t.Fatal("deploy/nginx.conf has no log_format carrel")
	}
	for _, leak := range []string{"$request ", "$request_uri", "$args", "$query_string", "$remote_addr", "$http_user_agent", "$http_referer", "$uri"} {
		if strings.Contains(format[1]+" ", leak) {
			t.Errorf("log_format carrel logs %s", leak)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*access_log\s+(\S+)(?:\s+(\S+))?;`).FindAllStringSubmatch(conf, -1) {
		if m[1] != "off" && strings.TrimSuffix(m[2], ";") != "carrel" {
			t.Errorf("access_log %s uses format %q, not carrel", m[1], m[2])
		}
	}
	// Each unsubscribe route's token is replaced in the logged path.
	for _, route := range []string{"/unsubscribe/", "/unsubscribe/notices/"} {
		if !strings.Contains(conf, "~^"+route+" ") {
			t.Errorf("the log map does not hide the token in %sTOKEN", route)
		}
	}
}

// selfSignedCert writes a certificate and key for host into dir.
func selfSignedCert(t *testing.T, dir, host string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
