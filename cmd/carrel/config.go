package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/mail"
	"github.com/carrel-library/carrel/web"
)

// configError is a bad setting: reported in one line, exit code 2.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func badSetting(env, flagName, value, want string) error {
	return &configError{fmt.Sprintf("%s (--%s): %q is not %s", env, flagName, value, want)}
}

// setting is one CARREL_* environment variable and its matching flag.
type setting struct {
	env, flag, def, help string
}

// settings are every configuration value Carrel reads, in the order
// `carrel help` and the README list them.
var settings = []setting{
	{"CARREL_ADDR", "addr", "127.0.0.1:8080", "address to listen on"},
	{"CARREL_PUBLIC_URL", "public-url", "", "the portal's address as patrons reach it, for links in emails (default: http:// + the listen address)"},
	{"CARREL_DATA_DIR", "data-dir", "./var", "folder for the embedded database and the demo secret"},
	{"CARREL_DATABASE_URL", "database-url", "", "postgres://... for PostgreSQL; default: the SQLite file carrel.db in the data folder"},
	{"CARREL_DEMO", "demo", "", "demo mode: generated secret, demo banner, plain-HTTP cookie on localhost (1/true)"},
	{"CARREL_LIBRARY_NAME", "library-name", "Santa Monica Public Library", "the library's name as pages show it"},
	{"CARREL_PRIVACY_CONTACT", "privacy-contact", "", "the library's privacy contact, shown on every page: 'name; email; phone; address' (a name and an email or a phone; unset: patrons are sent to any desk; demo: an example)"},
	{"CARREL_LIBRARY_LOGO", "library-logo", "", "path of an SVG or PNG logo (default: Carrel's)"},
	{"CARREL_POLICY_FILE", "policy-file", "", "path of the library's privacy policy as plain text (default: the bundled model policy)"},
	{"CARREL_POLICY_FILE_ES", "policy-file-es", "", "path of the library's own Spanish version of the same policy, plain text like the English one (default: none; the Spanish page then shows the English text and says so)"},
	{"CARREL_POLICY_VERSION", "policy-version", "2026-01", "version of the policy text, recorded with every consent"},
	{"CARREL_TIMEZONE", "timezone", "America/Los_Angeles", "the library's time zone, for dates on pages"},
	{"CARREL_SESSION_IDLE", "session-idle", "15m", "sign a visitor out after this long without a request"},
	{"CARREL_SESSION_ABSOLUTE", "session-absolute", "8h", "sign a visitor out this long after sign-in, whatever they do"},
	{"CARREL_ASSIST_MINUTES", "assist-minutes", "15", "staff assistance ends by itself after this many minutes (1-30)"},
	{"CARREL_COOKIE_SECURE", "cookie-secure", "auto", "auto: Secure cookie except plain-HTTP demo; always: Secure even then"},
	{"CARREL_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed"},
	{"CARREL_SECRET_KEYS_FILE", "secret-keys-file", "", "file holding the secret keys (else CARREL_SECRET_KEYS; see README)"},
	{"CARREL_PURGE_EVERY", "purge-every", "24h", "how often serve purges what retention lets go (0 turns it off; carrel purge runs it by hand)"},
	{"CARREL_SHUTDOWN_DRAIN", "shutdown-drain", "5s", "on SIGTERM, how long serve answers /readyz 503 while still serving, so a load balancer stops sending traffic first (0 to stop at once)"},
	{"CARREL_METRICS_TOKEN_FILE", "metrics-token-file", "", "file holding the bearer token for /metrics (else CARREL_METRICS_TOKEN; unset: no /metrics)"},
	{"CARREL_ARRIVAL_LINK_ORIGINS", "arrival-link-origins", "", "comma-separated https origins (https://host[:port]) that new arrivals' catalog links may point at, besides the catalogs registered with carrel opac add; see docs/arrivals.md"},
	{"CARREL_SMTP_HOST", "smtp-host", "", "the library's SMTP server for new-arrival emails (unset: none are sent; see docs/email.md)"},
	{"CARREL_SMTP_PORT", "smtp-port", "", "its port (default 587, or 465 with --smtp-tls tls)"},
	{"CARREL_SMTP_USERNAME", "smtp-username", "", "user name for SMTP AUTH (unset: no authentication)"},
	{"CARREL_SMTP_PASSWORD_FILE", "smtp-password-file", "", "file holding the SMTP password (else CARREL_SMTP_PASSWORD)"},
	{"CARREL_SMTP_FROM", "smtp-from", "", "sender of new-arrival emails, such as 'Library <news@library.example>' (required with a host)"},
	{"CARREL_SMTP_TLS", "smtp-tls", "starttls", "starttls (required STARTTLS), tls (TLS from the start) or none (plain text: meant for a relay on this machine)"},
	{"CARREL_DIGEST_HOUR", "digest-hour", "8", "local hour (0-23) from which daily and weekly new-arrival emails go out"},
	{"CARREL_DIGEST_WEEKDAY", "digest-weekday", "monday", "the day weekly new-arrival emails go out"},
	{"CARREL_PATRON_AUTH", "patron-auth", "local", "how patrons' cards and PINs are checked: local (PINs kept here, hashed), sip2 or koha (by the library's system; see docs/ils.md)"},
	{"CARREL_SIP2_ADDR", "sip2-addr", "", "the ILS's SIP2 server, host:port (required with --patron-auth sip2)"},
	{"CARREL_SIP2_TLS", "sip2-tls", "tls", "tls, or none (plain text: only to localhost or a private IP address, with a warning; see docs/ils.md for stunnel)"},
	{"CARREL_SIP2_USER", "sip2-user", "", "SIP2 login user (CN of the 93 Login; unset: no login)"},
	{"CARREL_SIP2_PASSWORD_FILE", "sip2-password-file", "", "file holding the SIP2 login password (else CARREL_SIP2_PASSWORD)"},
	{"CARREL_SIP2_INSTITUTION", "sip2-institution", "", "the SIP2 institution id, AO (required with --patron-auth sip2)"},
	{"CARREL_SIP2_LOCATION", "sip2-location", "", "the SIP2 location code, CP, sent with the login"},
	{"CARREL_SIP2_ENCODING", "sip2-encoding", "utf-8", "the SIP2 server's character set: utf-8 or latin-1"},
	{"CARREL_KOHA_URL", "koha-url", "", "Koha's address, such as https://koha.library.example (required with --patron-auth koha; http only to localhost or a private IP)"},
	{"CARREL_KOHA_CLIENT_ID", "koha-client-id", "", "client id of the Koha API key Carrel uses (required with --patron-auth koha)"},
	{"CARREL_KOHA_CLIENT_SECRET_FILE", "koha-client-secret-file", "", "file holding that key's secret (else CARREL_KOHA_CLIENT_SECRET)"},
	{"CARREL_WEBHOOK_URL", "webhook-url", "", "comma-separated https addresses that receive every consent change as a signed webhook (see docs/webhooks.md)"},
	{"CARREL_WEBHOOK_SECRET_FILE", "webhook-secret-file", "", "file holding the webhooks' signing secret, whsec_ and base64 (else CARREL_WEBHOOK_SECRET; required with a URL)"},
	{"CARREL_STAFF_OIDC_ISSUER", "staff-oidc-issuer", "", "the identity provider staff sign in with (OpenID Connect issuer URL, https; unset: no single sign-on; see docs/staff-sign-in.md)"},
	{"CARREL_STAFF_OIDC_NAME", "staff-oidc-name", "", "the provider's name on the button, 'Sign in with <name>' (default: the issuer's host)"},
	{"CARREL_STAFF_OIDC_CLIENT_ID", "staff-oidc-client-id", "", "the portal's client id at the identity provider (required with an issuer)"},
	{"CARREL_STAFF_OIDC_CLIENT_SECRET_FILE", "staff-oidc-client-secret-file", "", "file holding the client secret (else CARREL_STAFF_OIDC_CLIENT_SECRET)"},
	{"CARREL_STAFF_OIDC_ROLES_CLAIM", "staff-oidc-roles-claim", "groups", "the ID token claim listing the staff member's groups or roles"},
	{"CARREL_STAFF_OIDC_ROLES", "staff-oidc-roles", "", "claim values for each role: 'assistant=lib-desk,privacy_officer=lib-privacy,admin=lib-it' (required with an issuer)"},
	{"CARREL_STAFF_LOCAL", "staff-local", "on", "on: staff may also sign in with a local username and password; off: only through the identity provider"},
	{"CARREL_STAFF_TOTP", "staff-totp", "required-for-officers", "second factor for local staff accounts: required-for-officers (privacy officers and admins), required (everyone) or optional"},
	{"CARREL_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
}

// config is the parsed configuration.
type config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	Demo        bool
	LogLevel    string
	// Drain is how long serve keeps serving after SIGTERM, with /readyz
	// failing, before it shuts down (CARREL_SHUTDOWN_DRAIN).
	Drain    time.Duration
	Web      web.Config
	keysFile string
	// arrivalOrigins are CARREL_ARRIVAL_LINK_ORIGINS, normalised, for
	// models.Store.ArrivalLinkOrigins.
	arrivalOrigins []string
	// ils is how patrons sign in and where consent changes go.
	ils ilsConfig
}

// registerSettings adds every setting to fs as a flag whose default is the
// environment's value, or the built-in default.
func registerSettings(fs *flag.FlagSet) map[string]*string {
	vals := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v, ok := os.LookupEnv(s.env); ok {
			def = v
		}
		if s.flag == "demo" {
			// --demo works as a plain switch.
			vals[s.env] = new(string)
			*vals[s.env] = def
			fs.BoolFunc("demo", s.help+" [$"+s.env+"]", boolFlag(vals[s.env]))
			continue
		}
		vals[s.env] = fs.String(s.flag, def, s.help+" [$"+s.env+"]")
	}
	return vals
}

func boolFlag(dst *string) func(string) error {
	return func(v string) error { *dst = v; return nil }
}

// parseConfig turns the raw values into a config, checking each.
func parseConfig(vals map[string]*string) (*config, error) {
	get := func(env string) string { return strings.TrimSpace(*vals[env]) }
	flagOf := func(env string) string {
		for _, s := range settings {
			if s.env == env {
				return s.flag
			}
		}
		return ""
	}
	bad := func(env, want string) error { return badSetting(env, flagOf(env), get(env), want) }

	c := &config{Addr: get("CARREL_ADDR"), DataDir: get("CARREL_DATA_DIR"), LogLevel: get("CARREL_LOG_LEVEL")}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return nil, bad("CARREL_ADDR", "a host:port address")
	}
	if c.DataDir == "" {
		return nil, bad("CARREL_DATA_DIR", "a folder")
	}
	c.DatabaseURL = get("CARREL_DATABASE_URL")
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "carrel.db")
	} else if strings.Contains(c.DatabaseURL, "://") && models.DialectOf(c.DatabaseURL) != models.Postgres &&
		!strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		return nil, bad("CARREL_DATABASE_URL", "a postgres:// URL or a SQLite file path")
	}
	switch strings.ToLower(get("CARREL_DEMO")) {
	case "", "0", "false", "no":
	case "1", "true", "yes":
		c.Demo = true
	default:
		return nil, bad("CARREL_DEMO", "1 or 0")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, bad("CARREL_LOG_LEVEL", "debug, info, warn or error")
	}
	var err error
	w := web.Config{
		Addr:          c.Addr,
		PublicURL:     strings.TrimRight(get("CARREL_PUBLIC_URL"), "/"),
		Demo:          c.Demo,
		LibraryName:   get("CARREL_LIBRARY_NAME"),
		LogoFile:      get("CARREL_LIBRARY_LOGO"),
		PolicyVersion: get("CARREL_POLICY_VERSION"),
		CookieSecure:  get("CARREL_COOKIE_SECURE"),
	}
	if w.PublicURL != "" {
		if u, err := url.Parse(w.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return nil, bad("CARREL_PUBLIC_URL", "an http(s) address such as https://privacy.library.example")
		}
	}
	if w.LibraryName == "" {
		return nil, bad("CARREL_LIBRARY_NAME", "a name")
	}
	if w.PrivacyContact, err = web.ParsePrivacyContact(get("CARREL_PRIVACY_CONTACT")); err != nil {
		return nil, &configError{"CARREL_PRIVACY_CONTACT (--privacy-contact): " + err.Error()}
	}
	if !w.PrivacyContact.Set() && c.Demo {
		w.PrivacyContact = web.DemoPrivacyContact
	}
	if w.LogoFile != "" {
		if _, err := os.Stat(w.LogoFile); err != nil {
			return nil, bad("CARREL_LIBRARY_LOGO", "a readable image file")
		}
	}
	if path := get("CARREL_POLICY_FILE"); path != "" {
		b, err := os.ReadFile(path) // #nosec G304 -- the operator names the policy file (CARREL_POLICY_FILE)
		if err != nil || len(strings.TrimSpace(string(b))) == 0 {
			return nil, bad("CARREL_POLICY_FILE", "a readable, non-empty text file")
		}
		w.Policy = string(b)
	}
	if path := get("CARREL_POLICY_FILE_ES"); path != "" {
		b, err := os.ReadFile(path) // #nosec G304 -- the operator names the policy file (CARREL_POLICY_FILE_ES)
		if err != nil || len(strings.TrimSpace(string(b))) == 0 {
			return nil, bad("CARREL_POLICY_FILE_ES", "a readable, non-empty text file")
		}
		w.PolicyES = string(b)
	}
	if w.PolicyVersion == "" || len(w.PolicyVersion) > 40 {
		return nil, bad("CARREL_POLICY_VERSION", "a short version name such as 2026-01")
	}
	loc, err := time.LoadLocation(get("CARREL_TIMEZONE"))
	if err != nil || get("CARREL_TIMEZONE") == "" {
		return nil, bad("CARREL_TIMEZONE", "a time zone such as America/Los_Angeles")
	}
	w.Location = loc
	idle, err := time.ParseDuration(get("CARREL_SESSION_IDLE"))
	if err != nil || idle < time.Minute || idle > 4*time.Hour {
		return nil, bad("CARREL_SESSION_IDLE", "a duration from 1m to 4h, such as 15m")
	}
	abs, err := time.ParseDuration(get("CARREL_SESSION_ABSOLUTE"))
	if err != nil || abs < idle || abs > 24*time.Hour {
		return nil, bad("CARREL_SESSION_ABSOLUTE", "a duration at least the idle timeout and at most 24h, such as 8h")
	}
	w.Sessions = models.SessionLimits{Idle: idle, Absolute: abs}
	mins, err := strconv.Atoi(get("CARREL_ASSIST_MINUTES"))
	if err != nil || mins < 1 || mins > 30 {
		return nil, bad("CARREL_ASSIST_MINUTES", "a whole number of minutes from 1 to 30")
	}
	w.AssistLimit = time.Duration(mins) * time.Minute
	switch w.CookieSecure {
	case "auto", "always":
	default:
		return nil, bad("CARREL_COOKIE_SECURE", "auto or always")
	}
	if v := get("CARREL_TRUSTED_PROXIES"); v != "" {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if !strings.Contains(part, "/") {
				if ip := net.ParseIP(part); ip != nil && ip.To4() != nil {
					part += "/32"
				} else {
					part += "/128"
				}
			}
			_, n, err := net.ParseCIDR(part)
			if err != nil {
				return nil, bad("CARREL_TRUSTED_PROXIES", "a comma-separated list of addresses or CIDRs")
			}
			w.TrustedProxies = append(w.TrustedProxies, n)
		}
	}
	every, err := time.ParseDuration(get("CARREL_PURGE_EVERY"))
	if err != nil || every < 0 || (every > 0 && every < time.Minute) {
		return nil, bad("CARREL_PURGE_EVERY", "a duration of at least 1m, such as 24h, or 0 for off")
	}
	w.PurgeEvery = every
	drain, err := time.ParseDuration(get("CARREL_SHUTDOWN_DRAIN"))
	if err != nil || drain < 0 || drain > 5*time.Minute {
		return nil, bad("CARREL_SHUTDOWN_DRAIN", "a duration from 0 to 5m, such as 5s")
	}
	c.Drain = drain
	w.MetricsToken, err = secretSetting(get, bad, "CARREL_METRICS_TOKEN")
	if err != nil {
		return nil, err
	}
	if w.MetricsToken != "" && len(w.MetricsToken) < 16 {
		return nil, &configError{"CARREL_METRICS_TOKEN: a bearer token needs at least 16 characters"}
	}
	c.keysFile = get("CARREL_SECRET_KEYS_FILE")
	if v := get("CARREL_ARRIVAL_LINK_ORIGINS"); v != "" {
		for _, part := range strings.Split(v, ",") {
			o, err := models.ParseHTTPSOrigin(part)
			if err != nil {
				return nil, bad("CARREL_ARRIVAL_LINK_ORIGINS", "a comma-separated list of https origins such as https://catalog.library.example")
			}
			c.arrivalOrigins = append(c.arrivalOrigins, o)
		}
	}
	if c.Demo && len(c.arrivalOrigins) == 0 {
		c.arrivalOrigins = []string{models.DemoCatalogOrigin}
	}
	if w.Mail, err = parseMail(get, bad); err != nil {
		return nil, err
	}
	if c.ils, err = parseILS(get, bad); err != nil {
		return nil, err
	}
	if err := parseStaffAuth(get, bad, &w); err != nil { // cmd/carrel/staffauth.go
		return nil, err
	}
	if w.StaffTOTP, err = parseStaffTOTP(get, bad); err != nil {
		return nil, err
	}
	c.Web = w
	return c, nil
}

// parseMail reads the SMTP and digest settings (models/mail.Config).
func parseMail(get func(string) string, bad func(env, want string) error) (mail.Config, error) {
	m := mail.Config{Host: get("CARREL_SMTP_HOST"), Username: get("CARREL_SMTP_USERNAME"),
		From: get("CARREL_SMTP_FROM"), TLS: strings.ToLower(get("CARREL_SMTP_TLS"))}
	hour, err := strconv.Atoi(get("CARREL_DIGEST_HOUR"))
	if err != nil || hour < 0 || hour > 23 {
		return m, bad("CARREL_DIGEST_HOUR", "an hour from 0 to 23")
	}
	m.DigestHour = hour
	day, ok := weekdays[strings.ToLower(get("CARREL_DIGEST_WEEKDAY"))]
	if !ok {
		return m, bad("CARREL_DIGEST_WEEKDAY", "a day of the week such as monday")
	}
	m.DigestWeekday = day
	switch m.TLS {
	case "starttls", "tls", "none":
	default:
		return m, bad("CARREL_SMTP_TLS", "starttls, tls or none")
	}
	if v := get("CARREL_SMTP_PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return m, bad("CARREL_SMTP_PORT", "a port number from 1 to 65535")
		}
		m.Port = port
	}
	if m.Host == "" {
		return m, nil
	}
	if strings.ContainsAny(m.Host, " /:@") && net.ParseIP(m.Host) == nil {
		return m, bad("CARREL_SMTP_HOST", "a host name or address such as smtp.library.example (the port goes in CARREL_SMTP_PORT)")
	}
	if m.From == "" {
		return m, &configError{"CARREL_SMTP_FROM: required with CARREL_SMTP_HOST: the sender of new-arrival emails, such as 'Library <news@library.example>'"}
	}
	if a, err := netmail.ParseAddress(m.From); err != nil || !strings.Contains(a.Address, ".") {
		return m, bad("CARREL_SMTP_FROM", "an email address, optionally with a name: 'Library <news@library.example>'")
	}
	m.Password, err = secretSetting(get, bad, "CARREL_SMTP_PASSWORD")
	if err != nil {
		return m, err
	}
	if m.Username != "" && m.Password == "" {
		return m, &configError{"CARREL_SMTP_PASSWORD: needed with CARREL_SMTP_USERNAME (or set CARREL_SMTP_PASSWORD_FILE)"}
	}
	if m.TLS == "none" && m.Username != "" && !loopbackHost(m.Host) {
		return m, &configError{"CARREL_SMTP_TLS: none would send the SMTP password in clear to " + m.Host +
			", which is not this machine; use starttls or tls"}
	}
	return m, nil
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// loopbackHost reports whether host is this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// mailWarning is the loud warning for plain-text SMTP to another machine,
// or "" when there is nothing to warn about.
func mailWarning(m mail.Config) string {
	if m.Host == "" || m.TLS != "none" || loopbackHost(m.Host) {
		return ""
	}
	return "CARREL_SMTP_TLS=none: new-arrival emails (patrons' addresses and the titles they follow) cross the network " +
		"to " + m.Host + " UNENCRYPTED; use starttls or tls unless that network is entirely the library's own"
}

// loadKeys finds the server's secret keys: CARREL_SECRET_KEYS, or the file
// named by CARREL_SECRET_KEYS_FILE, or, in demo mode only, a key generated
// once and kept in the data folder.
func (c *config) loadKeys() (*models.Keys, error) {
	raw := os.Getenv("CARREL_SECRET_KEYS")
	if c.keysFile != "" {
		b, err := os.ReadFile(c.keysFile)
		if err != nil {
			return nil, badSetting("CARREL_SECRET_KEYS_FILE", "secret-keys-file", c.keysFile, "a readable file")
		}
		raw = strings.TrimSpace(string(b))
	}
	if raw == "" {
		if !c.Demo {
			return nil, &configError{"CARREL_SECRET_KEYS: not set; generate one with `carrel keygen` " +
				"and set it (or CARREL_SECRET_KEYS_FILE), or run with --demo"}
		}
		var err error
		if raw, err = demoKey(c.DataDir); err != nil {
			return nil, err
		}
	}
	keys, err := models.ParseKeys(raw)
	if err != nil {
		return nil, &configError{"CARREL_SECRET_KEYS: " + err.Error() + " (comma-separated, current key first)"}
	}
	return keys, nil
}

// demoKey reads the demo secret from the data folder, creating it once.
func demoKey(dir string) (string, error) {
	path := filepath.Join(dir, "demo-secret.key")
	if b, err := os.ReadFile(path); err == nil { // #nosec G304 -- the demo key in the operator's data folder (CARREL_DATA_DIR)
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read demo secret: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data folder: %w", err)
	}
	key := models.GenerateKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the demo key in the operator's data folder (CARREL_DATA_DIR)
	if errors.Is(err, os.ErrExist) {
		return demoKey(dir)
	} else if err != nil {
		return "", fmt.Errorf("write demo secret: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(key + "\n"); err != nil {
		return "", fmt.Errorf("write demo secret: %w", err)
	}
	return key, nil
}

// secretSetting reads a secret from the environment variable env (never a
// flag, so it shows neither in a process list nor in --help) or, when
// env_FILE names one, from that file, trimmed. "" when neither is set.
func secretSetting(get func(string) string, bad func(env, want string) error, env string) (string, error) {
	v := os.Getenv(env)
	if path := get(env + "_FILE"); path != "" {
		b, err := os.ReadFile(path) // #nosec G304 -- the operator names the secret's file (the setting's _FILE)
		if err != nil {
			return "", bad(env+"_FILE", "a readable file")
		}
		v = strings.TrimSpace(string(b))
	}
	return v, nil
}
