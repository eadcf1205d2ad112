package main

// carrel doctor (issue 23): checks the settings and what they point at,
// one line each, changing nothing.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/koha"
	"github.com/carrel-library/carrel/models/ils/sip2"
	"github.com/carrel-library/carrel/models/mail"
)

// doctorHelp is what `carrel doctor --help` prints.
const doctorHelp = `Usage: carrel doctor [settings]

Checks the settings and what they point at, and prints one line per check:

  ok   WHAT: detail
  warn WHAT: detail                 worth a look; does not fail
  FAIL WHAT: detail (what to do)
  skip WHAT: why it was not checked

It changes nothing: it neither migrates nor writes to the database, and
sends no email, no webhook and no patron lookup. It prints no secret.
Exit status: 0 when no check failed, 1 when one did, 2 when the settings
themselves are wrong (one line naming the setting, as for every command).

The checks, in order:
  secret keys    CARREL_SECRET_KEYS or CARREL_SECRET_KEYS_FILE holds keys, each
                 at least 32 bytes (FAIL otherwise); several keys: a rotation in
                 progress; the file readable by others than its owner: warn;
                 demo mode: the generated demo key (warn)
  demo mode      on: warn (a generated key, a banner, plain-HTTP cookies)
  database       answers within 5 s, and its version (SQLite's; PostgreSQL below
                 11 cannot hold the schema: FAIL; below 15, the version Carrel is
                 tested on: warn); a missing SQLite file: warn (serve creates it)
  migrations     steps this binary does not know, applied by a newer release:
                 FAIL; steps pending: warn (serve or carrel migrate applies them)
  demo accounts  demo patrons or staff in a database outside demo mode: FAIL
  clock          this machine's clock against the database's: more than 1 s
                 apart warns, more than 5 s fails
  SMTP           with CARREL_SMTP_HOST: the server answers; TLS as CARREL_SMTP_TLS
                 says, the certificate verified for the host (starttls, tls) or
                 a warning (none, unless to this machine); AUTH accepted when
                 CARREL_SMTP_USERNAME is set; then QUIT, nothing sent
  ILS            sip2: connect, 93 login, 99 SC status; koha: an OAuth2 token
                 for the API key, no patron asked for; webhooks: a verified TLS
                 handshake (https) or a TCP connection (http), nothing posted;
                 local without webhooks: skip
  public URL     CARREL_PUBLIC_URL set (unset outside demo mode: FAIL, links in
                 emails would point at the listen address); http outside demo
                 mode: warn; https without CARREL_TRUSTED_PROXIES: FAIL;
                 GET <CARREL_PUBLIC_URL>/readyz (5 s, no cookies, redirects
                 followed on the same host only) must answer a Carrel-Seen-As
                 header equal to the URL's scheme://host: a different scheme or
                 host (the proxy not trusted, or Host not passed on) or no
                 header (not Carrel) FAILs; unreachable from here: warn
  metrics        whether /metrics is on (CARREL_METRICS_TOKEN)

Flags: the settings, listed by carrel help.
`

// doctorTimeout bounds each check's connection.
const doctorTimeout = 5 * time.Second

// doctorSeams are what tests replace: the clock compared with the
// database's, and the certificate authorities trusted (nil: the system's).
var doctorSeams = struct {
	now   func() time.Time
	roots *x509.CertPool
}{now: time.Now}

// errDoctorFailed is doctor's error when a check failed: exit code 1.
var errDoctorFailed = errors.New("a check failed (the FAIL lines above)")

// doctor runs the checks and prints their lines.
type doctor struct {
	c       *config
	out     io.Writer
	now     func() time.Time
	roots   *x509.CertPool
	failed  bool
	secrets []string // replaced in every line, whatever the check
	keys    *models.Keys
}

func doctorCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	if err := noArgs("doctor", args, out); err != nil {
		return err
	}
	d := &doctor{c: c, out: out, now: doctorSeams.now, roots: doctorSeams.roots}
	d.secrets = c.secretValues()
	d.checkKeys()
	if c.Demo {
		d.warn("demo mode", "on: a generated secret key, the demo banner, cookies over plain HTTP; never for real patrons")
	}
	db := d.checkDatabase(ctx)
	if db != nil {
		defer func() {
			if sqlDB, err := db.DB(); err == nil {
				_ = sqlDB.Close()
			}
		}()
		if d.checkMigrations(ctx, db) {
			d.checkDemoData(ctx, db)
		} else {
			d.skip("demo accounts", "the database has no schema yet")
		}
		d.checkClock(ctx, db)
	} else {
		for _, what := range []string{"migrations", "demo accounts", "clock"} {
			d.skip(what, "no database to ask")
		}
	}
	d.checkSMTP(ctx)
	d.checkILS(ctx)
	d.checkPublicURL(ctx)
	if c.Web.MetricsToken != "" {
		d.ok("metrics", "/metrics is on, behind the bearer token (CARREL_METRICS_TOKEN)")
	} else {
		d.skip("metrics", "/metrics is off: CARREL_METRICS_TOKEN is not set")
	}
	if d.failed {
		return errDoctorFailed
	}
	return nil
}

// secretValues are every secret the settings hold, as given and as
// parsed, for doctor to blank out of its lines should one ever reach an
// error message.
func (c *config) secretValues() []string {
	var s []string
	for _, e := range envOnly {
		s = append(s, os.Getenv(e.env))
	}
	s = append(s, c.Web.Mail.Password, c.ils.SIP2.Password, c.ils.SIP2.TerminalPassword, c.ils.Koha.ClientSecret,
		c.Web.MetricsToken, c.Web.StaffOIDC.ClientSecret)
	for _, h := range c.ils.Webhooks {
		s = append(s, base64.StdEncoding.EncodeToString(h.Secret))
	}
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			s = append(s, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	if raw, err := c.rawKeys(); err == nil {
		s = append(s, raw)
		for _, k := range strings.Split(raw, ",") {
			s = append(s, strings.TrimSpace(k))
		}
	}
	var out []string
	for _, v := range s {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	return out
}

func (d *doctor) line(status, what, detail string) {
	// One line each, whatever an error's text holds (pgx's put each
	// address tried on a line of its own).
	text := lineBreaks.Replace(what + ": " + detail)
	for _, s := range d.secrets {
		text = strings.ReplaceAll(text, s, "[secret]")
	}
	fmt.Fprintf(d.out, "%-4s %s\n", status, text)
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", "")

func (d *doctor) ok(what, detail string)   { d.line("ok", what, detail) }
func (d *doctor) warn(what, detail string) { d.line("warn", what, detail) }
func (d *doctor) skip(what, detail string) { d.line("skip", what, detail) }

// fail prints a FAIL line: what is wrong, then in brackets what to do.
func (d *doctor) fail(what, detail, todo string) {
	d.failed = true
	d.line("FAIL", what, detail+" ("+todo+")")
}

// rawKeys reads the secret keys as loadKeys does, without creating the
// demo key: "" when there are none.
func (c *config) rawKeys() (string, error) {
	if c.keysFile != "" {
		b, err := os.ReadFile(c.keysFile) // #nosec G304 -- the operator names the keys' file
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	if raw := os.Getenv("CARREL_SECRET_KEYS"); raw != "" {
		return raw, nil
	}
	if c.Demo {
		b, err := os.ReadFile(filepath.Join(c.DataDir, "demo-secret.key")) // #nosec G304 -- the demo key in the operator's data folder
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

func (d *doctor) checkKeys() {
	const what = "secret keys"
	c := d.c
	source := "CARREL_SECRET_KEYS"
	if c.keysFile != "" {
		source = "CARREL_SECRET_KEYS_FILE " + c.keysFile
	} else if os.Getenv("CARREL_SECRET_KEYS") == "" && c.Demo {
		source = "the demo key in " + filepath.Join(c.DataDir, "demo-secret.key")
	}
	raw, err := c.rawKeys()
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		d.fail(what, source+" cannot be read: "+err.Error(), "make it readable by the user carrel runs as")
		return
	case raw == "" && c.Demo:
		d.warn(what, "demo mode: carrel serve generates the demo key in "+filepath.Join(c.DataDir, "demo-secret.key")+" at its first start")
		return
	case raw == "":
		d.fail(what, "none: neither CARREL_SECRET_KEYS nor CARREL_SECRET_KEYS_FILE is set", "generate one with carrel keygen and set it, or run with --demo")
		return
	}
	var parts []string
	for _, p := range strings.Split(raw, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	bad := false
	for i, p := range parts {
		if _, err := models.ParseKeys(p); err != nil {
			bad = true
			d.fail(what, fmt.Sprintf("%s: key %d of %d: %v", source, i+1, len(parts), err),
				fmt.Sprintf("replace it with one from carrel keygen, %d random bytes", models.MinKeyBytes))
		}
	}
	if bad {
		return
	}
	keys, err := models.ParseKeys(raw)
	if err != nil {
		d.fail(what, source+": "+err.Error(), "generate one with carrel keygen")
		return
	}
	d.keys = keys
	ids := keys.IDs()
	detail := fmt.Sprintf("%s: 1 key (id %s), at least %d bytes", source, ids[0], models.MinKeyBytes)
	if len(ids) > 1 {
		detail = fmt.Sprintf("%s: %d keys, each at least %d bytes; a rotation is in progress: new hashes and stamps use the first (id %s), "+
			"the others (ids %s) only verify what they made; drop them once every session and sign-in link made with them has expired",
			source, len(ids), models.MinKeyBytes, ids[0], strings.Join(ids[1:], ", "))
	}
	if c.Demo && c.keysFile == "" && os.Getenv("CARREL_SECRET_KEYS") == "" {
		d.warn(what, detail+"; it is the demo's generated key, not one for real patrons")
	} else {
		d.ok(what, detail)
	}
	if c.keysFile != "" {
		if info, err := os.Stat(c.keysFile); err == nil && info.Mode().Perm()&0o077 != 0 {
			d.warn("secret keys file", fmt.Sprintf("%s has mode %04o: others than its owner may read it; chmod 600 it (systemd's LoadCredential does this itself)",
				c.keysFile, info.Mode().Perm()))
		}
	}
}

// databaseName says which database the settings name, without a password.
func (c *config) databaseName() string {
	if models.DialectOf(c.DatabaseURL) != models.Postgres {
		return "SQLite " + strings.TrimPrefix(c.DatabaseURL, "sqlite://")
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "PostgreSQL (CARREL_DATABASE_URL cannot be parsed as a URL)"
	}
	return "PostgreSQL " + u.Host + u.Path
}

// checkDatabase opens the database without migrating it; nil when it
// cannot be opened.
func (d *doctor) checkDatabase(ctx context.Context) *gorm.DB {
	const what = "database"
	c := d.c
	name := c.databaseName()
	dbURL := c.DatabaseURL
	if models.DialectOf(dbURL) == models.Postgres {
		u, err := url.Parse(dbURL)
		if err != nil {
			d.fail(what, "CARREL_DATABASE_URL is not a URL", "write it as postgres://user@host:5432/carrel?sslmode=verify-full")
			return nil
		}
		q := u.Query()
		if q.Get("connect_timeout") == "" {
			q.Set("connect_timeout", fmt.Sprint(int(doctorTimeout.Seconds())))
			u.RawQuery = q.Encode()
		}
		dbURL = u.String()
	} else if _, err := os.Stat(strings.TrimPrefix(dbURL, "sqlite://")); errors.Is(err, os.ErrNotExist) {
		// Opening it would create it: doctor changes nothing.
		d.warn(what, name+" does not exist yet; carrel serve (or carrel migrate) creates it, in a folder the user carrel runs as can write")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	start := time.Now()
	db, err := models.Open(ctx, dbURL, nil)
	if err != nil {
		d.fail(what, fmt.Sprintf("%s: %v (after %s)", name, err, time.Since(start).Round(time.Millisecond)),
			"check CARREL_DATABASE_URL, that the server runs and that this machine may reach it")
		return nil
	}
	version, major, err := models.DatabaseVersion(ctx, db)
	switch {
	case err != nil:
		d.fail(what, name+": "+err.Error(), "check that the database user may run queries")
	case models.DialectOfDB(db) == models.SQLite:
		d.ok(what, name+" answers; SQLite "+version)
	case major < 11:
		d.fail(what, name+" answers; PostgreSQL "+version+" is too old: the schema needs PostgreSQL 11 or later (EXECUTE FUNCTION in its triggers)",
			"upgrade PostgreSQL")
	case major < 15:
		d.warn(what, name+" answers; PostgreSQL "+version+": Carrel is tested on PostgreSQL 15; older versions are not")
	default:
		d.ok(what, name+" answers; PostgreSQL "+version)
	}
	return db
}

// checkMigrations compares the steps applied with those this binary
// knows; it reports whether the database has a schema at all.
func (d *doctor) checkMigrations(ctx context.Context, db *gorm.DB) bool {
	const what = "migrations"
	st, err := models.Migrations(ctx, db)
	if err != nil {
		d.fail(what, err.Error(), "check the database")
		return st.Table
	}
	hasTable, applied, pending, unknown := st.Table, st.Applied, st.Pending, st.Unknown
	switch {
	case len(unknown) > 0:
		d.fail(what, fmt.Sprintf("the database has %d step(s) this binary does not know (newest %s): a newer Carrel migrated it, and this one would run on a schema it was not built for",
			len(unknown), unknown[len(unknown)-1]),
			"run the newer release, or restore the backup taken before the upgrade: migrations only go forward")
	case !hasTable:
		d.warn(what, fmt.Sprintf("the database is empty: carrel serve (at start) or carrel migrate creates the schema (%d steps)", len(pending)))
	case len(pending) > 0:
		d.warn(what, fmt.Sprintf("%d step(s) pending (%s to %s): carrel serve applies them at start, or carrel migrate now (carrel migrate --dry-run lists them)",
			len(pending), pending[0], pending[len(pending)-1]))
	default:
		d.ok(what, fmt.Sprintf("all %d steps applied, the newest %s", len(applied), applied[len(applied)-1]))
	}
	return hasTable
}

func (d *doctor) checkDemoData(ctx context.Context, db *gorm.DB) {
	const what = "demo accounts"
	keys := d.keys
	if keys == nil {
		keys, _ = models.NewKeys(models.RandomBytes(models.MinKeyBytes)) // only to build a Store that reads
	}
	store, err := models.NewStore(db, nil, keys, 4)
	if err != nil {
		d.fail(what, err.Error(), "check the database")
		return
	}
	present, err := store.DemoDataPresent(ctx)
	switch {
	case err != nil:
		d.fail(what, err.Error(), "check the database")
	case present && d.c.Demo:
		d.ok(what, "present, as in demo mode")
	case present:
		d.fail(what, "this database, outside demo mode, holds the demo's patrons or staff accounts (carrel seed --demo), whose PINs and passwords are published",
			"start from a fresh database; at the least disable the demo staff accounts, whose passwords are published, with carrel staff disable USERNAME")
	default:
		d.ok(what, "none")
	}
}

func (d *doctor) checkClock(ctx context.Context, db *gorm.DB) {
	const what = "clock"
	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	before := d.now()
	dbNow, err := models.DatabaseNow(ctx, db)
	after := d.now()
	if err != nil {
		d.fail(what, err.Error(), "check the database")
		return
	}
	here := before.Add(after.Sub(before) / 2)
	skew := here.Sub(dbNow)
	dir := "ahead of"
	if skew < 0 {
		skew, dir = -skew, "behind"
	}
	detail := fmt.Sprintf("this machine's clock is %s %s the database's", skew.Round(time.Millisecond), dir)
	const why = "; session timeouts, purges and audit timestamps compare the two"
	switch {
	case skew > 5*time.Second:
		d.fail(what, detail+why, "keep both machines' clocks synchronised (NTP: chrony or systemd-timesyncd)")
	case skew > time.Second:
		d.warn(what, detail+why+"; synchronise both with NTP")
	default:
		d.ok(what, detail)
	}
}

func (d *doctor) checkSMTP(ctx context.Context) {
	m := d.c.Web.Mail
	if !m.Enabled() {
		d.skip("SMTP", "CARREL_SMTP_HOST is not set: new-arrival emails are not sent")
		return
	}
	p := mail.Check(ctx, m, d.c.Web.MailLibrary(), d.roots, doctorTimeout)
	if !p.Reached {
		d.fail("SMTP", fmt.Sprintf("%s: %v", p.Addr, p.Err), "check CARREL_SMTP_HOST and CARREL_SMTP_PORT, and that this machine may reach the server")
		return
	}
	d.ok("SMTP", p.Addr+" answers")
	switch {
	case m.TLS == "none":
		offers := ""
		if p.OffersSTARTTLS {
			offers = "; the server offers STARTTLS: CARREL_SMTP_TLS=starttls would use it"
		}
		if w := mailWarning(m); w != "" {
			d.warn("SMTP TLS", w+offers)
		} else {
			d.ok("SMTP TLS", "CARREL_SMTP_TLS=none: plain text to a relay on this machine"+offers)
		}
	case p.Stage == mail.StageTLS && m.TLS == "starttls" && !p.OffersSTARTTLS:
		d.fail("SMTP TLS", p.Addr+" does not offer STARTTLS, which CARREL_SMTP_TLS=starttls requires",
			"use the server's submission port with STARTTLS (587), or CARREL_SMTP_TLS=tls with its port for TLS from the start (465)")
	case p.Stage == mail.StageTLS:
		d.fail("SMTP TLS", fmt.Sprintf("%s (%s): %v", p.Addr, m.TLS, p.Err),
			"the server's certificate must be valid for "+m.Host+" and signed by an authority this machine trusts; with tls, the port must speak TLS from its first byte (465)")
	case p.TLSVersion != "":
		detail := fmt.Sprintf("%s, %s, the certificate verified for %s", m.TLS, p.TLSVersion, m.Host)
		if left := p.CertExpires.Sub(d.now()); left < 14*24*time.Hour {
			d.warn("SMTP TLS", detail+fmt.Sprintf("; it expires on %s, in %s: renew it", p.CertExpires.UTC().Format(time.DateOnly), left.Round(time.Hour)))
		} else {
			d.ok("SMTP TLS", detail+", valid until "+p.CertExpires.UTC().Format(time.DateOnly))
		}
	}
	switch {
	case p.Stage == mail.StageConnect:
		d.fail("SMTP", fmt.Sprintf("%s: %v", p.Addr, p.Err), "check that CARREL_SMTP_HOST and CARREL_SMTP_PORT name an SMTP server")
	case m.Username == "":
		d.skip("SMTP sign-in", "CARREL_SMTP_USERNAME is not set: the server is used without AUTH")
	case p.Stage == mail.StageTLS:
		d.skip("SMTP sign-in", "not tried: TLS failed first")
	case p.Stage == mail.StageAuth:
		d.fail("SMTP sign-in", fmt.Sprintf("%s refused AUTH: %v", p.Addr, p.Err), "check CARREL_SMTP_USERNAME and CARREL_SMTP_PASSWORD")
	default:
		d.ok("SMTP sign-in", "AUTH accepted for CARREL_SMTP_USERNAME")
	}
}

func (d *doctor) checkILS(ctx context.Context) {
	ic := d.c.ils
	for _, w := range ic.Warnings {
		d.warn("ILS", w)
	}
	switch ic.Auth {
	case authSIP2:
		d.checkSIP2(ctx)
	case authKoha:
		d.checkKoha(ctx)
	default:
		if len(ic.Webhooks) == 0 {
			d.skip("ILS", "CARREL_PATRON_AUTH=local and no webhooks: no connector to reach")
			return
		}
		d.skip("ILS sign-in", "CARREL_PATRON_AUTH=local: PINs are checked here")
	}
	for _, h := range ic.Webhooks {
		d.checkWebhook(ctx, h.URL)
	}
}

func (d *doctor) checkSIP2(ctx context.Context) {
	const what = "ILS SIP2"
	cfg := d.c.ils.SIP2
	cfg.ConnectTimeout, cfg.ResponseTimeout, cfg.PoolSize = doctorTimeout, doctorTimeout, 1
	if cfg.TLS && d.roots != nil {
		cfg.TLSConfig = &tls.Config{RootCAs: d.roots, MinVersion: tls.VersionTLS12}
	}
	c, err := sip2.New(cfg)
	if err != nil {
		d.fail(what, err.Error(), "check the CARREL_SIP2_* settings")
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*doctorTimeout)
	defer cancel()
	online, err := c.Ping(ctx)
	login := "no login (CARREL_SIP2_USER not set)"
	if cfg.User != "" {
		login = "93 login accepted"
	}
	switch {
	case errors.Is(err, sip2.ErrLogin):
		d.fail(what, cfg.Addr+" refused the 93 login", "check CARREL_SIP2_USER, CARREL_SIP2_PASSWORD and CARREL_SIP2_LOCATION against the ILS's SIP2 account")
	case err != nil:
		d.fail(what, fmt.Sprintf("%s: %v", cfg.Addr, err), "check CARREL_SIP2_ADDR and CARREL_SIP2_TLS, and that this machine may reach the ILS")
	case !online:
		d.warn(what, cfg.Addr+" answers ("+login+"), but its 98 ACS status says it is off line: sign-ins will fail until it is back")
	default:
		d.ok(what, cfg.Addr+" answers: "+login+", 99 SC status on line")
	}
}

func (d *doctor) checkKoha(ctx context.Context) {
	const what = "ILS Koha"
	cfg := d.c.ils.Koha
	cfg.Timeout = doctorTimeout
	if d.roots != nil {
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: d.roots, MinVersion: tls.VersionTLS12}}}
	}
	c, err := koha.New(cfg)
	if err != nil {
		d.fail(what, err.Error(), "check the CARREL_KOHA_* settings")
		return
	}
	switch err := c.CheckToken(ctx); {
	case errors.Is(err, koha.ErrCredentials):
		d.fail(what, cfg.URL+": "+err.Error(), "fix the API key in Koha or in the settings")
	case err != nil:
		d.fail(what, cfg.URL+": "+err.Error(), "check CARREL_KOHA_URL, and that this machine may reach Koha")
	default:
		d.ok(what, cfg.URL+" issued an OAuth2 token for CARREL_KOHA_CLIENT_ID (no patron asked for)")
	}
}

// checkWebhook connects to a webhook's receiver, TLS verified for https,
// and posts nothing. Only its scheme and host are printed: a path may hold
// a token.
func (d *doctor) checkWebhook(ctx context.Context, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		return // parseWebhooks took it
	}
	what := "ILS webhook " + u.Scheme + "://" + u.Host
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	var conn net.Conn
	if u.Scheme == "https" {
		dialer := tls.Dialer{Config: &tls.Config{ServerName: u.Hostname(), RootCAs: d.roots, MinVersion: tls.VersionTLS12}}
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	} else {
		var dialer net.Dialer
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		d.fail(what, err.Error(), "check CARREL_WEBHOOK_URL, the receiver's certificate, and that this machine may reach it")
		return
	}
	conn.Close()
	if u.Scheme == "https" {
		d.ok(what, "TLS handshake verified (nothing posted)")
	} else {
		d.ok(what, "answers (plain HTTP; nothing posted)")
	}
}

func (d *doctor) checkPublicURL(ctx context.Context) {
	const what = "public URL"
	w := d.c.Web
	if w.PublicURL == "" {
		if d.c.Demo {
			d.skip(what, "CARREL_PUBLIC_URL is not set; demo mode links to http://"+w.Addr)
		} else {
			d.fail(what, "CARREL_PUBLIC_URL is not set, so links in emails, unsubscribe links and catalog sign-in links would point at http://"+w.Addr,
				"set it to the address patrons use, such as https://privacy.library.example")
		}
		return
	}
	want, _ := url.Parse(w.PublicURL)
	if want.Scheme == "http" && !d.c.Demo {
		d.warn(what, w.PublicURL+" is http: patrons' card numbers and PINs would cross the network in clear; put the portal behind a TLS proxy (docs/operations.md)")
	}
	if want.Scheme == "https" {
		if len(w.TrustedProxies) == 0 {
			d.fail("trusted proxies", "CARREL_PUBLIC_URL is https but CARREL_TRUSTED_PROXIES is not set: carrel serve speaks plain HTTP, so a TLS proxy is in front, "+
				"and without its address the portal takes every request for http and every patron for the proxy (sign-in throttling lumps them together)",
				"set CARREL_TRUSTED_PROXIES to the proxy's address as the portal sees it, such as 127.0.0.1")
		} else {
			nets := make([]string, len(w.TrustedProxies))
			for i, n := range w.TrustedProxies {
				nets[i] = n.String()
			}
			d.ok("trusted proxies", "X-Forwarded-For and X-Forwarded-Proto believed from "+strings.Join(nets, ", "))
		}
	}
	origin := want.Scheme + "://" + want.Host
	target := w.PublicURL + "/readyz"
	client := &http.Client{
		Timeout: doctorTimeout,
		// Straight to the address, as a patron's browser goes: no
		// HTTP_PROXY, which would add its own forwarding headers.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: d.roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Host != want.Host {
				return fmt.Errorf("redirected to another host, %s", r.URL.Scheme+"://"+r.URL.Host)
			}
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		d.fail(what, err.Error(), "check CARREL_PUBLIC_URL")
		return
	}
	resp, err := client.Do(req)
	var (
		verify *tls.CertificateVerificationError
		ue     *url.Error
	)
	switch {
	case err != nil && errors.As(err, &verify):
		d.fail(what, target+": the certificate does not verify: "+verify.Err.Error(),
			"give the proxy a certificate for "+want.Hostname()+" from an authority browsers trust")
		return
	case err != nil && errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "redirect"):
		d.fail(what, target+": "+ue.Err.Error(), "set CARREL_PUBLIC_URL to the address patrons end up at")
		return
	case err != nil:
		d.warn(what, "could not reach "+target+" from here ("+shortNetError(err)+"): if the public address is not reachable from this machine, run carrel doctor where it is; otherwise check the proxy, DNS and that carrel serve runs")
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	seen := resp.Header.Get("Carrel-Seen-As")
	final := resp.Request.URL
	switch {
	case seen == "":
		d.fail(what, fmt.Sprintf("%s answered HTTP %d without a Carrel-Seen-As header: not Carrel at that address, or a Carrel older than this one", final, resp.StatusCode),
			"point the proxy at carrel serve's address (CARREL_ADDR), and run the same version")
	case strings.EqualFold(seen, origin):
		if resp.StatusCode != http.StatusOK {
			d.warn(what, fmt.Sprintf("%s reaches Carrel as %s, but it answered HTTP %d: %s", target, seen, resp.StatusCode, strings.TrimSpace(string(body))))
		} else {
			d.ok(what, target+" reaches Carrel as "+seen+", as CARREL_PUBLIC_URL says")
		}
	default:
		s, _ := url.Parse(seen)
		todo := "make the proxy pass on the Host header (nginx: proxy_set_header Host $host; Caddy does it) or correct CARREL_PUBLIC_URL"
		if s != nil && s.Scheme != want.Scheme {
			if s.Scheme == "http" {
				todo = "the proxy's address is missing from CARREL_TRUSTED_PROXIES, or the proxy does not send X-Forwarded-Proto: https"
			} else {
				todo = "CARREL_PUBLIC_URL should say https"
			}
		}
		d.fail(what, fmt.Sprintf("requests to %s arrive at Carrel as %s, not %s", target, seen, origin), todo)
	}
}

// shortNetError is err without the URL net/http puts first.
func shortNetError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
