package main

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// goodWebhookSecret is a Standard Webhooks secret of 32 bytes.
var goodWebhookSecret = "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))

// TestILSSettingsRefusals: each setting of the library's system that
// cannot work, or would send card numbers and PINs in clear across a
// network, stops serve with one line naming the setting and saying what
// is expected, and never quoting a secret.
func TestILSSettingsRefusals(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("s3cret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // the setting named, then what the line says
		says string
	}{
		{"unknown provider", map[string]string{"CARREL_PATRON_AUTH": "ldap"}, "CARREL_PATRON_AUTH", "local, sip2 or koha"},
		{"sip2 without an address", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_INSTITUTION": "MAIN"},
			"CARREL_SIP2_ADDR", "required with CARREL_PATRON_AUTH=sip2"},
		{"sip2 address without a port", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example", "CARREL_SIP2_INSTITUTION": "MAIN"},
			"CARREL_SIP2_ADDR", "host:port"},
		{"sip2 without an institution", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001"},
			"CARREL_SIP2_INSTITUTION", "required with CARREL_PATRON_AUTH=sip2"},
		{"sip2 in clear to a public name", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN", "CARREL_SIP2_TLS": "none"}, "CARREL_SIP2_TLS", "not a loopback or private address"},
		{"sip2 in clear to a public address", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "203.0.113.5:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN", "CARREL_SIP2_TLS": "none"}, "CARREL_SIP2_TLS", "use tls"},
		{"sip2 TLS word", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN", "CARREL_SIP2_TLS": "ssl"}, "CARREL_SIP2_TLS", "tls or none"},
		{"sip2 encoding", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN", "CARREL_SIP2_ENCODING": "ebcdic"}, "CARREL_SIP2_ENCODING", "utf-8 or latin-1"},
		{"sip2 user without a password", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN", "CARREL_SIP2_USER": "carrel"}, "CARREL_SIP2_PASSWORD", "needed with CARREL_SIP2_USER"},
		{"sip2 password file missing", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN", "CARREL_SIP2_USER": "carrel", "CARREL_SIP2_PASSWORD_FILE": "/nonexistent/sip2"},
			"CARREL_SIP2_PASSWORD_FILE", "a readable file"},
		{"sip2 field separator", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN|AC"}, "CARREL_SIP2_INSTITUTION", "must not contain |"},
		{"sip2 settings without sip2", map[string]string{"CARREL_SIP2_ADDR": "sip.library.example:6001"},
			"CARREL_SIP2_ADDR", "CARREL_PATRON_AUTH is local"},
		{"koha without a URL", map[string]string{"CARREL_PATRON_AUTH": "koha", "CARREL_KOHA_CLIENT_ID": "id", "CARREL_KOHA_CLIENT_SECRET": "s3cret-value"},
			"CARREL_KOHA_URL", "required with CARREL_PATRON_AUTH=koha"},
		{"koha URL not a URL", map[string]string{"CARREL_PATRON_AUTH": "koha", "CARREL_KOHA_URL": "koha.library.example",
			"CARREL_KOHA_CLIENT_ID": "id", "CARREL_KOHA_CLIENT_SECRET": "s3cret-value"}, "CARREL_KOHA_URL", "an https address"},
		{"koha over http to a public host", map[string]string{"CARREL_PATRON_AUTH": "koha", "CARREL_KOHA_URL": "http://koha.library.example",
			"CARREL_KOHA_CLIENT_ID": "id", "CARREL_KOHA_CLIENT_SECRET": "s3cret-value"}, "CARREL_KOHA_URL", "use https"},
		{"koha without a client id", map[string]string{"CARREL_PATRON_AUTH": "koha", "CARREL_KOHA_URL": "https://koha.library.example",
			"CARREL_KOHA_CLIENT_SECRET": "s3cret-value"}, "CARREL_KOHA_CLIENT_ID", "required with CARREL_PATRON_AUTH=koha"},
		{"koha without a secret", map[string]string{"CARREL_PATRON_AUTH": "koha", "CARREL_KOHA_URL": "https://koha.library.example",
			"CARREL_KOHA_CLIENT_ID": "id"}, "CARREL_KOHA_CLIENT_SECRET", "required with CARREL_PATRON_AUTH=koha"},
		{"koha settings with sip2", map[string]string{"CARREL_PATRON_AUTH": "sip2", "CARREL_SIP2_ADDR": "sip.library.example:6001",
			"CARREL_SIP2_INSTITUTION": "MAIN", "CARREL_KOHA_URL": "https://koha.library.example"}, "CARREL_KOHA_URL", "CARREL_PATRON_AUTH is sip2"},
		{"webhook without a secret", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/carrel"},
			"CARREL_WEBHOOK_SECRET", "required with CARREL_WEBHOOK_URL"},
		{"webhook secret without whsec_", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/carrel",
			"CARREL_WEBHOOK_SECRET": "s3cret-value"}, "CARREL_WEBHOOK_SECRET", "starts with whsec_"},
		{"webhook secret too short", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/carrel",
			"CARREL_WEBHOOK_SECRET": "whsec_" + base64.StdEncoding.EncodeToString([]byte("s3cret-value"))}, "CARREL_WEBHOOK_SECRET", "24 to 64 bytes"},
		{"webhook secret not base64", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/carrel",
			"CARREL_WEBHOOK_SECRET": "whsec_s3cret-value!!"}, "CARREL_WEBHOOK_SECRET", "not base64"},
		{"webhook secret file missing", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/carrel",
			"CARREL_WEBHOOK_SECRET_FILE": "/nonexistent/whsec"}, "CARREL_WEBHOOK_SECRET_FILE", "a readable file"},
		{"webhook secret file not whsec_", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/carrel",
			"CARREL_WEBHOOK_SECRET_FILE": secretFile}, "CARREL_WEBHOOK_SECRET", "starts with whsec_"},
		{"webhook over http to a public host", map[string]string{"CARREL_WEBHOOK_URL": "http://hooks.library.example/carrel",
			"CARREL_WEBHOOK_SECRET": goodWebhookSecret}, "CARREL_WEBHOOK_URL", "use https"},
		{"webhook not a URL", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/a, hooks.library.example",
			"CARREL_WEBHOOK_SECRET": goodWebhookSecret}, "CARREL_WEBHOOK_URL", "https addresses"},
		{"webhook with a password in it", map[string]string{"CARREL_WEBHOOK_URL": "https://user:s3cret-value@hooks.library.example/carrel",
			"CARREL_WEBHOOK_SECRET": goodWebhookSecret}, "CARREL_WEBHOOK_URL", "user name or password"},
		{"webhook listed twice", map[string]string{"CARREL_WEBHOOK_URL": "https://hooks.library.example/a,https://hooks.library.example/a",
			"CARREL_WEBHOOK_SECRET": goodWebhookSecret}, "CARREL_WEBHOOK_URL", "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errs := carrel(t, "serve", "--demo")
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errs)
			}
			if lines := strings.Count(strings.TrimSpace(errs), "\n") + 1; lines != 1 ||
				!strings.Contains(errs, tc.want) || !strings.Contains(errs, tc.says) {
				t.Fatalf("want one line naming %s and saying %q, got %q", tc.want, tc.says, errs)
			}
			if strings.Contains(errs, "s3cret-value") {
				t.Fatalf("the refusal quotes a secret: %q", errs)
			}
		})
	}
}

// TestILSSettingsGood: good configurations reach the sign-in provider's
// and clients' settings, the secrets come from the environment or a file,
// Koha and each webhook become consent outbox targets, and plain text on
// a private network is allowed with a warning. The default is local,
// with no target: `make run` signs in as today.
func TestILSSettingsGood(t *testing.T) {
	isolate(t)
	vals := defaultSettings()
	c, err := parseConfig(vals)
	if err != nil {
		t.Fatal(err)
	}
	if c.ils.Auth != authLocal || len(c.ils.Targets) != 0 || len(c.ils.Warnings) != 0 {
		t.Fatalf("default: %+v", c.ils)
	}

	t.Setenv("CARREL_SIP2_PASSWORD", "sip-pass")
	t.Setenv("CARREL_SIP2_TERMINAL_PASSWORD", "term-pass")
	*vals["CARREL_PATRON_AUTH"] = "SIP2"
	*vals["CARREL_SIP2_ADDR"] = "10.0.4.20:6001"
	*vals["CARREL_SIP2_TLS"] = "none"
	*vals["CARREL_SIP2_USER"] = "carrel"
	*vals["CARREL_SIP2_INSTITUTION"] = "MAIN"
	*vals["CARREL_SIP2_LOCATION"] = "WEB"
	*vals["CARREL_SIP2_ENCODING"] = "latin1"
	if c, err = parseConfig(vals); err != nil {
		t.Fatal(err)
	}
	s := c.ils.SIP2
	if c.ils.Auth != authSIP2 || s.Addr != "10.0.4.20:6001" || s.TLS || s.User != "carrel" || s.Password != "sip-pass" ||
		s.Institution != "MAIN" || s.Location != "WEB" || s.TerminalPassword != "term-pass" || s.Encoding != "latin-1" {
		t.Fatalf("sip2: %+v", c.ils)
	}
	if len(c.ils.Warnings) != 1 || !strings.Contains(c.ils.Warnings[0], "UNENCRYPTED") || strings.Contains(c.ils.Warnings[0], "sip-pass") {
		t.Fatalf("sip2 in clear on a private network: warnings %q", c.ils.Warnings)
	}
	*vals["CARREL_SIP2_TLS"] = "tls"
	*vals["CARREL_SIP2_ADDR"] = "sip.library.example:6001"
	if c, err = parseConfig(vals); err != nil || !c.ils.SIP2.TLS || len(c.ils.Warnings) != 0 {
		t.Fatalf("sip2 over TLS: %v %+v", err, c.ils)
	}

	vals = defaultSettings()
	dir := t.TempDir()
	secretFile, hookFile := filepath.Join(dir, "koha"), filepath.Join(dir, "whsec")
	os.WriteFile(secretFile, []byte("koha-secret-from-file\n"), 0o600)
	os.WriteFile(hookFile, []byte(goodWebhookSecret+"\n"), 0o600)
	*vals["CARREL_PATRON_AUTH"] = "koha"
	*vals["CARREL_KOHA_URL"] = "https://koha.library.example/"
	*vals["CARREL_KOHA_CLIENT_ID"] = "carrel-client"
	*vals["CARREL_KOHA_CLIENT_SECRET_FILE"] = secretFile
	*vals["CARREL_WEBHOOK_URL"] = "https://hooks.library.example/carrel, http://127.0.0.1:9000/in"
	*vals["CARREL_WEBHOOK_SECRET_FILE"] = hookFile
	if c, err = parseConfig(vals); err != nil {
		t.Fatal(err)
	}
	k := c.ils.Koha
	if c.ils.Auth != authKoha || k.URL != "https://koha.library.example" || k.ClientID != "carrel-client" || k.ClientSecret != "koha-secret-from-file" {
		t.Fatalf("koha: %+v", k)
	}
	want := []string{models.TargetKoha, models.TargetWebhookPrefix + "https://hooks.library.example/carrel",
		models.TargetWebhookPrefix + "http://127.0.0.1:9000/in"}
	if strings.Join(c.ils.Targets, " ") != strings.Join(want, " ") {
		t.Fatalf("targets %q, want %q", c.ils.Targets, want)
	}
	if len(c.ils.Webhooks) != 2 || !bytes.Equal(c.ils.Webhooks[0].Secret, bytes.Repeat([]byte("k"), 32)) {
		t.Fatalf("webhooks %+v", c.ils.Webhooks)
	}
	if len(c.ils.Warnings) != 1 || !strings.Contains(c.ils.Warnings[0], "http://127.0.0.1:9000") ||
		!strings.Contains(c.ils.Warnings[0], "plain text") || strings.Contains(c.ils.Warnings[0], "/in") {
		t.Fatalf("webhook in clear to this machine: warnings %q", c.ils.Warnings)
	}

	// Koha over http on the library's own network.
	*vals["CARREL_KOHA_URL"] = "http://192.168.1.10:8080"
	*vals["CARREL_WEBHOOK_URL"] = ""
	if c, err = parseConfig(vals); err != nil || len(c.ils.Warnings) != 1 || strings.Join(c.ils.Targets, " ") != models.TargetKoha {
		t.Fatalf("koha over http on a private address: %v %+v", err, c.ils)
	}
}

// TestILSSecretsNeverShow: the secrets are environment-only (no flag), so
// neither `carrel help` nor a command's --help prints them as a flag's
// default, while both name the variables.
func TestILSSecretsNeverShow(t *testing.T) {
	isolate(t)
	secrets := map[string]string{"CARREL_SIP2_PASSWORD": "sip-pass-1234", "CARREL_SIP2_TERMINAL_PASSWORD": "term-pass-1234",
		"CARREL_KOHA_CLIENT_SECRET": "koha-secret-1234", "CARREL_WEBHOOK_SECRET": goodWebhookSecret}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{{"help"}, {"serve", "--help"}} {
		code, out, _ := carrel(t, args...)
		if code != 0 {
			t.Fatalf("carrel %v: exit %d", args, code)
		}
		for k, v := range secrets {
			if strings.Contains(out, v) {
				t.Errorf("carrel %v prints %s's value", args, k)
			}
			if args[0] == "help" && !strings.Contains(out, k) {
				t.Errorf("carrel help does not name %s", k)
			}
		}
		for _, s := range settings {
			if strings.HasPrefix(s.env, "CARREL_SIP2") || strings.HasPrefix(s.env, "CARREL_KOHA") || strings.HasPrefix(s.env, "CARREL_WEBHOOK") {
				if strings.HasSuffix(s.env, "PASSWORD") || strings.HasSuffix(s.env, "SECRET") {
					t.Errorf("%s is a flag: a secret must be environment-only", s.env)
				}
			}
		}
	}
}

// TestWireILS: serve's wiring names every configured connector for the
// staff console, sets where consent changes go and builds the outbox's
// sender; local sign-in sets no provider and no target.
func TestWireILS(t *testing.T) {
	clock := modeltest.NewFakeClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	store := modeltest.NewStore(t, modeltest.SQLite(t, clock), clock)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	link, err := wireILS(store, ilsConfig{Auth: authLocal}, log)
	if err != nil || store.PatronAuth != nil || len(store.ConsentTargets) != 0 || link.sender != nil ||
		len(store.Connectors.Snapshot()) != 0 {
		t.Fatalf("local: %v %+v", err, store)
	}
	isolate(t)
	vals := defaultSettings()
	t.Setenv("CARREL_WEBHOOK_SECRET", goodWebhookSecret)
	*vals["CARREL_WEBHOOK_URL"] = "https://hooks.library.example/carrel?token=abc,http://127.0.0.1:9000/in"
	c, err := parseConfig(vals)
	if err != nil {
		t.Fatal(err)
	}
	if link, err = wireILS(store, c.ils, log); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range store.Connectors.Snapshot() {
		names = append(names, st.Name)
	}
	if strings.Join(names, ",") != "webhook 127.0.0.1:9000,webhook hooks.library.example" {
		t.Fatalf("connectors %q", names)
	}
	if len(store.ConsentTargets) != 2 || link.sender == nil || len(link.sender.Webhooks) != 2 || link.sender.Koha != nil {
		t.Fatalf("targets %q, sender %+v", store.ConsentTargets, link.sender)
	}
	if !strings.Contains(logs.String(), "plain text") || strings.Contains(logs.String(), "whsec_") ||
		strings.Contains(logs.String(), "token=abc") {
		t.Fatalf("start-up log: %s", logs.String())
	}
	if err := link.Close(); err != nil {
		t.Fatal(err)
	}
}
