package main

// Sign-in through the library's system and the consent changes sent back
// to it (issue 19): the CARREL_PATRON_AUTH, CARREL_SIP2_*, CARREL_KOHA_*
// and CARREL_WEBHOOK_* settings, and their wiring into serve.

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/ils/koha"
	"github.com/carrel-library/carrel/models/ils/sip2"
)

// Patron sign-in providers (CARREL_PATRON_AUTH).
const (
	authLocal = "local"
	authSIP2  = "sip2"
	authKoha  = "koha"
)

// ilsConfig is how patrons sign in and where consent changes go.
type ilsConfig struct {
	// Auth is authLocal, authSIP2 or authKoha.
	Auth     string
	SIP2     sip2.Config // with authSIP2
	Koha     koha.Config // with authKoha
	Webhooks []ils.Webhook
	// Targets are the consent outbox targets (models.Store.ConsentTargets).
	Targets []string
	// Warnings are said once at start: plain-text connections allowed
	// because they stay on this machine or the library's own network.
	Warnings []string
}

// envOnly are the secrets read from the environment only, never from a
// flag, so that they show neither in a process list nor in --help (a
// flag's default is its variable's value); each has a _FILE setting too.
var envOnly = []struct{ env, help string }{
	{"CARREL_SECRET_KEYS", "comma-separated secret keys, current first (environment only, so keys never show in a process list)"},
	{"CARREL_SMTP_PASSWORD", "the SMTP password (environment only, like the keys; or --smtp-password-file)"},
	{"CARREL_SIP2_PASSWORD", "the SIP2 login password (environment only; or --sip2-password-file)"},
	{"CARREL_SIP2_TERMINAL_PASSWORD", "the SIP2 terminal password, AC (environment only; optional)"},
	{"CARREL_KOHA_CLIENT_SECRET", "the Koha API client's secret (environment only; or --koha-client-secret-file)"},
	{"CARREL_WEBHOOK_SECRET", "the webhooks' signing secret, whsec_ and base64 (environment only; or --webhook-secret-file)"},
	{"CARREL_STAFF_OIDC_CLIENT_SECRET", "the staff identity provider's client secret (environment only; or --staff-oidc-client-secret-file)"},
}

// parseILS reads the sign-in provider, SIP2, Koha and webhook settings.
// Secrets come from the environment or from files, never from flags.
func parseILS(get func(string) string, bad func(env, want string) error) (ilsConfig, error) {
	ic := ilsConfig{Auth: strings.ToLower(get("CARREL_PATRON_AUTH"))}
	switch ic.Auth {
	case authLocal, authSIP2, authKoha:
	default:
		return ic, bad("CARREL_PATRON_AUTH", "local, sip2 or koha")
	}
	// Settings of a provider not chosen are a mistake, not a choice: the
	// operator who set them believes they are in use.
	for _, only := range []struct{ env, auth string }{
		{"CARREL_SIP2_ADDR", authSIP2}, {"CARREL_SIP2_INSTITUTION", authSIP2},
		{"CARREL_KOHA_URL", authKoha}, {"CARREL_KOHA_CLIENT_ID", authKoha},
	} {
		if get(only.env) != "" && ic.Auth != only.auth {
			return ic, &configError{fmt.Sprintf("%s: set, but CARREL_PATRON_AUTH is %s; it is used only with CARREL_PATRON_AUTH=%s",
				only.env, ic.Auth, only.auth)}
		}
	}
	var err error
	switch ic.Auth {
	case authSIP2:
		if ic.SIP2, err = parseSIP2(get, bad, &ic.Warnings); err != nil {
			return ic, err
		}
	case authKoha:
		if ic.Koha, err = parseKoha(get, bad, &ic.Warnings); err != nil {
			return ic, err
		}
		ic.Targets = append(ic.Targets, models.TargetKoha)
	}
	if ic.Webhooks, err = parseWebhooks(get, bad, &ic.Warnings); err != nil {
		return ic, err
	}
	for _, h := range ic.Webhooks {
		ic.Targets = append(ic.Targets, models.TargetWebhookPrefix+h.URL)
	}
	return ic, nil
}

func parseSIP2(get func(string) string, bad func(env, want string) error, warnings *[]string) (sip2.Config, error) {
	s := sip2.Config{Addr: get("CARREL_SIP2_ADDR"), User: get("CARREL_SIP2_USER"),
		Institution: get("CARREL_SIP2_INSTITUTION"), Location: get("CARREL_SIP2_LOCATION"),
		Encoding: strings.ToLower(get("CARREL_SIP2_ENCODING")), TerminalPassword: os.Getenv("CARREL_SIP2_TERMINAL_PASSWORD")}
	if s.Addr == "" {
		return s, &configError{"CARREL_SIP2_ADDR: required with CARREL_PATRON_AUTH=sip2: the ILS's SIP2 server as host:port, such as sip.library.example:6001"}
	}
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" || port == "" {
		return s, bad("CARREL_SIP2_ADDR", "a host:port address such as sip.library.example:6001")
	}
	if s.Institution == "" {
		return s, &configError{"CARREL_SIP2_INSTITUTION: required with CARREL_PATRON_AUTH=sip2: the institution id (AO) the ILS's SIP2 server expects"}
	}
	switch s.Encoding {
	case "utf-8", "latin-1":
	case "utf8":
		s.Encoding = "utf-8"
	case "latin1", "iso-8859-1":
		s.Encoding = "latin-1"
	default:
		return s, bad("CARREL_SIP2_ENCODING", "utf-8 or latin-1")
	}
	switch strings.ToLower(get("CARREL_SIP2_TLS")) {
	case "tls":
		s.TLS = true
	case "none":
		if !ils.PrivateHost(host) {
			return s, &configError{"CARREL_SIP2_TLS: none would send patrons' card numbers and PINs in clear to " + host +
				", which is not a loopback or private address; use tls (or stunnel on this machine, see docs/ils.md), " +
				"and with none give the address as an IP, such as 127.0.0.1:6001"}
		}
		*warnings = append(*warnings, plainTextWarning("CARREL_SIP2_TLS=none", "patrons' card numbers and PINs", s.Addr, host,
			"use tls, or stunnel (docs/ils.md)"))
	default:
		return s, bad("CARREL_SIP2_TLS", "tls or none")
	}
	s.Password, err = secretSetting(get, bad, "CARREL_SIP2_PASSWORD")
	if err != nil {
		return s, err
	}
	if s.User != "" && s.Password == "" {
		return s, &configError{"CARREL_SIP2_PASSWORD: needed with CARREL_SIP2_USER (or set CARREL_SIP2_PASSWORD_FILE)"}
	}
	if s.User == "" && s.Password != "" {
		return s, &configError{"CARREL_SIP2_USER: needed with a SIP2 password: the login user (CN) of the 93 Login"}
	}
	for _, f := range []struct{ env, v string }{{"CARREL_SIP2_USER", s.User}, {"CARREL_SIP2_PASSWORD", s.Password},
		{"CARREL_SIP2_INSTITUTION", s.Institution}, {"CARREL_SIP2_LOCATION", s.Location},
		{"CARREL_SIP2_TERMINAL_PASSWORD", s.TerminalPassword}} {
		// A field separator would end the field early and start another.
		if strings.ContainsAny(f.v, "|\r\n") {
			return s, &configError{f.env + ": must not contain | or a line break (SIP2 ends a field with |)"}
		}
	}
	return s, nil
}

func parseKoha(get func(string) string, bad func(env, want string) error, warnings *[]string) (koha.Config, error) {
	k := koha.Config{URL: strings.TrimRight(get("CARREL_KOHA_URL"), "/"), ClientID: get("CARREL_KOHA_CLIENT_ID")}
	if k.URL == "" {
		return k, &configError{"CARREL_KOHA_URL: required with CARREL_PATRON_AUTH=koha: Koha's address, such as https://koha.library.example"}
	}
	u, err := url.Parse(k.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return k, bad("CARREL_KOHA_URL", "an https address such as https://koha.library.example")
	}
	if u.Scheme == "http" {
		if !ils.PrivateHost(u.Hostname()) {
			return k, &configError{"CARREL_KOHA_URL: http would send patrons' card numbers and PINs in clear to " + u.Hostname() +
				", which is not a loopback or private address; use https (http is allowed only to an IP such as 10.0.0.5 or to localhost)"}
		}
		*warnings = append(*warnings, plainTextWarning("CARREL_KOHA_URL is http", "patrons' card numbers and PINs", u.Host, u.Hostname(),
			"use https"))
	}
	if k.ClientID == "" {
		return k, &configError{"CARREL_KOHA_CLIENT_ID: required with CARREL_PATRON_AUTH=koha: the client id of a Koha API key (see docs/ils.md)"}
	}
	k.ClientSecret, err = secretSetting(get, bad, "CARREL_KOHA_CLIENT_SECRET")
	if err != nil {
		return k, err
	}
	if k.ClientSecret == "" {
		return k, &configError{"CARREL_KOHA_CLIENT_SECRET: required with CARREL_PATRON_AUTH=koha (or set CARREL_KOHA_CLIENT_SECRET_FILE): the secret of the Koha API key"}
	}
	return k, nil
}

// parseWebhooks reads CARREL_WEBHOOK_URL (comma-separated) and the secret
// every receiver checks signatures with.
func parseWebhooks(get func(string) string, bad func(env, want string) error, warnings *[]string) ([]ils.Webhook, error) {
	raw := get("CARREL_WEBHOOK_URL")
	if raw == "" {
		return nil, nil
	}
	var urls []string
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		u, err := url.Parse(part)
		if part == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" || u.Fragment != "" {
			return nil, bad("CARREL_WEBHOOK_URL", "a comma-separated list of https addresses such as https://hooks.library.example/carrel")
		}
		if u.User != nil {
			return nil, &configError{"CARREL_WEBHOOK_URL: " + u.Redacted() + " has a user name or password in it; " +
				"leave it out: receivers check each webhook's signature (CARREL_WEBHOOK_SECRET)"}
		}
		if u.Scheme == "http" {
			if !ils.PrivateHost(u.Hostname()) {
				return nil, &configError{"CARREL_WEBHOOK_URL: " + part + " is http to " + u.Hostname() +
					", which is not a loopback or private address; use https (http is allowed only to an IP such as 10.0.0.5 or to localhost)"}
			}
			*warnings = append(*warnings, plainTextWarning("CARREL_WEBHOOK_URL "+u.Scheme+"://"+u.Host+" is http",
				"patrons' card numbers and choices", u.Host, u.Hostname(), "use https"))
		}
		if slices.Contains(urls, part) {
			return nil, &configError{"CARREL_WEBHOOK_URL: " + part + " is listed twice"}
		}
		urls = append(urls, part)
	}
	secretText, err := secretSetting(get, bad, "CARREL_WEBHOOK_SECRET")
	if err != nil {
		return nil, err
	}
	if secretText == "" {
		return nil, &configError{"CARREL_WEBHOOK_SECRET: required with CARREL_WEBHOOK_URL (or set CARREL_WEBHOOK_SECRET_FILE): " +
			"whsec_ followed by at least 24 random bytes in base64, such as the output of: echo whsec_$(openssl rand -base64 32)"}
	}
	secret, err := ils.ParseWebhookSecret(secretText)
	if err != nil {
		// Never the value: it is a secret.
		return nil, &configError{"CARREL_WEBHOOK_SECRET: " + err.Error()}
	}
	hooks := make([]ils.Webhook, len(urls))
	for i, u := range urls {
		hooks[i] = ils.Webhook{URL: u, Secret: secret}
	}
	return hooks, nil
}

// plainTextWarning is the warning said at start for a plain-text link the
// settings allow: to this machine (behind stunnel, say), or across the
// library's own network.
func plainTextWarning(what, carries, addr, host, instead string) string {
	if loopbackHost(host) {
		return what + ": " + carries + " go in plain text to " + addr + " on this machine; " +
			"that is meant for stunnel or a local proxy that encrypts the rest of the way"
	}
	return what + ": " + carries + " cross the network to " + addr + " UNENCRYPTED; " + instead +
		" unless that network is entirely the library's own"
}

// ilsLink is what serve built to reach the library's system.
type ilsLink struct {
	sip2   *sip2.Client
	koha   *koha.Client
	sender *ils.Sender
}

// Close closes the SIP2 connections, if any.
func (l *ilsLink) Close() error {
	if l.sip2 != nil {
		return l.sip2.Close()
	}
	return nil
}

// wireILS builds the clients and the sign-in provider, names every
// connector for the staff console and sets where consent changes go.
// Only serve signs patrons in, so only serve calls it.
func wireILS(store *models.Store, ic ilsConfig, log *slog.Logger) (*ilsLink, error) {
	l := &ilsLink{}
	for _, w := range ic.Warnings {
		log.Warn(w)
	}
	switch ic.Auth {
	case authSIP2:
		c, err := sip2.New(ic.SIP2)
		if err != nil {
			return nil, fmt.Errorf("CARREL_SIP2_*: %w", err)
		}
		l.sip2 = c
		store.PatronAuth = ils.NewSIP2(c)
		store.Connectors.Register(store.PatronAuth.Name())
		log.Info("patrons sign in with the library's system over SIP2", "addr", ic.SIP2.Addr, "tls", ic.SIP2.TLS)
	case authKoha:
		c, err := koha.New(ic.Koha)
		if err != nil {
			return nil, fmt.Errorf("CARREL_KOHA_*: %w", err)
		}
		l.koha = c
		store.PatronAuth = ils.NewKoha(c)
		store.Connectors.Register(store.PatronAuth.Name())
		log.Info("patrons sign in with Koha's REST API; reading-history choices are written back to Koha", "url", ic.Koha.URL)
	default:
		log.Info("patrons sign in with PINs kept here (CARREL_PATRON_AUTH=local)")
	}
	for _, h := range ic.Webhooks {
		store.Connectors.Register(models.ConnectorOf(models.TargetWebhookPrefix + h.URL))
	}
	store.ConsentTargets = ic.Targets
	if len(ic.Targets) > 0 {
		l.sender = ilsSender(store, l.koha, ic.Webhooks, log)
	}
	return l, nil
}

// ilsSender is the consent outbox's sender for this instance: Koha's
// patron privacy (with koha) and the webhooks.
func ilsSender(store *models.Store, kc *koha.Client, hooks []ils.Webhook, log *slog.Logger) *ils.Sender {
	return &ils.Sender{Store: store, Koha: kc, Webhooks: hooks, Log: log,
		Instance: "outbox-" + models.RandomToken()[:12]}
}
