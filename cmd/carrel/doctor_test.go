package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/koha/kohatest"
	"github.com/carrel-library/carrel/models/ils/sip2/sip2test"
	"github.com/carrel-library/carrel/models/mail/mailtest"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/web"
)

// doctorKey is a recognisable secret key: no doctor line may show it.
var doctorKey = base64.RawURLEncoding.EncodeToString([]byte("DOCTOR-KEY-must-never-be-printed"))

// healthyDoctor sets up what carrel doctor finds healthy: a key file only
// its owner reads, a migrated SQLite database, and CARREL_PUBLIC_URL at
// a TLS proxy, trusted by the portal, in front of the real router. It
// returns the data folder and the database's path.
func healthyDoctor(t *testing.T) (dir, dbPath string) {
	t.Helper()
	dir = isolate(t)
	keyFile := filepath.Join(dir, "secret-keys")
	if err := os.WriteFile(keyFile, []byte(doctorKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARREL_SECRET_KEYS_FILE", keyFile)
	if code, _, errs := carrel(t, "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errs)
	}
	dbPath = filepath.Join(dir, "carrel.db")
	proxy := portalBehindProxy(t, dbPath, true)
	t.Setenv("CARREL_PUBLIC_URL", proxy)
	t.Setenv("CARREL_TRUSTED_PROXIES", "127.0.0.1")
	return dir, dbPath
}

// portalBehindProxy runs the real router over the database at dbPath
// behind a TLS reverse proxy that passes the Host on and says
// X-Forwarded-Proto: https, as Caddy does; trusted says whether the
// portal believes the proxy (TrustedProxies covering 127.0.0.1). It
// returns the proxy's URL and makes doctor trust its certificate.
func portalBehindProxy(t *testing.T, dbPath string, trusted bool) string {
	t.Helper()
	db, err := models.Open(context.Background(), dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	cfg := web.Config{Addr: "127.0.0.1:8080"}
	if trusted {
		_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
		cfg.TrustedProxies = []*net.IPNet{loopback}
	}
	srv, err := web.New(modeltest.NewStore(t, db, nil), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	portal := httptest.NewServer(srv)
	t.Cleanup(portal.Close)
	target, _ := url.Parse(portal.URL)
	proxy := httptest.NewTLSServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
		r.Out.Header.Set("X-Forwarded-Proto", "https")
	}})
	t.Cleanup(proxy.Close)
	trust(t, proxy.Certificate())
	return proxy.URL
}

// trust adds cert to the authorities doctor trusts, until the test ends.
func trust(t *testing.T, cert *x509.Certificate) {
	t.Helper()
	old := doctorSeams.roots
	pool := x509.NewCertPool()
	if old != nil {
		pool = old.Clone()
	}
	pool.AddCert(cert)
	doctorSeams.roots = pool
	t.Cleanup(func() { doctorSeams.roots = old })
}

// doctorLines runs carrel doctor and returns its exit code and lines.
func doctorLines(t *testing.T, args ...string) (int, []string, string) {
	t.Helper()
	code, out, errs := carrel(t, append([]string{"doctor"}, args...)...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, l := range lines {
		if !regexp.MustCompile(`^(ok   |warn |FAIL |skip )[^\t]+: [^\t]+$`).MatchString(l) {
			t.Errorf("not a doctor line: %q", l)
		}
	}
	for _, secret := range []string{doctorKey, "hunter2-smtp", "pg-hunter2", "METRICS-token-hunter2", "sip2-hunter2"} {
		if strings.Contains(out+errs, secret) {
			t.Errorf("doctor printed the secret %q:\n%s%s", secret, out, errs)
		}
	}
	// doctor blanks out any secret that reaches a line; none should.
	if strings.Contains(out, "[secret]") {
		t.Errorf("a secret reached a line (blanked out):\n%s", out)
	}
	return code, lines, out
}

// wantLine finds the line about what with status (the first, if
// several) and checks that it contains each of contains.
func wantLine(t *testing.T, lines []string, what, status string, contains ...string) {
	t.Helper()
	l := ""
	for _, x := range lines {
		if len(x) > 5 && strings.HasPrefix(x[5:], what+": ") && strings.HasPrefix(x, status) {
			l = x
			break
		}
	}
	if l == "" {
		t.Errorf("no %s line about %q in:\n%s", status, what, strings.Join(lines, "\n"))
		return
	}
	for _, c := range contains {
		if !strings.Contains(l, c) {
			t.Errorf("%s: want %q in %q", what, c, l)
		}
	}
}

func TestDoctorHealthySQLite(t *testing.T) {
	healthyDoctor(t)
	t.Setenv("CARREL_METRICS_TOKEN", "METRICS-token-hunter2")
	code, lines, out := doctorLines(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "FAIL") {
			t.Errorf("a FAIL in a healthy configuration: %q", l)
		}
	}
	wantLine(t, lines, "secret keys", "ok", "1 key")
	wantLine(t, lines, "database", "ok", "SQLite 3.")
	wantLine(t, lines, "migrations", "ok", "all ")
	wantLine(t, lines, "demo accounts", "ok", "none")
	wantLine(t, lines, "clock", "ok")
	wantLine(t, lines, "SMTP", "skip")
	wantLine(t, lines, "ILS", "skip")
	wantLine(t, lines, "trusted proxies", "ok", "127.0.0.1/32")
	wantLine(t, lines, "public URL", "ok", "reaches Carrel as https://127.0.0.1:")
	wantLine(t, lines, "metrics", "ok")
}

func TestDoctorSecretKeys(t *testing.T) {
	healthyDoctor(t)
	t.Setenv("CARREL_SECRET_KEYS_FILE", "")
	short := base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))
	t.Setenv("CARREL_SECRET_KEYS", doctorKey+","+short)
	code, lines, out := doctorLines(t)
	if code != 1 {
		t.Errorf("a short key: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "secret keys", "FAIL", "key 2 of 2", "at least 32 bytes", "carrel keygen")
	if strings.Contains(out, short) {
		t.Errorf("the short key was printed:\n%s", out)
	}

	t.Setenv("CARREL_SECRET_KEYS", models.GenerateKey()+","+doctorKey)
	code, lines, out = doctorLines(t)
	if code != 0 {
		t.Errorf("two good keys: exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "secret keys", "ok", "2 keys", "rotation is in progress")

	// A key file others may read: a warning, not a failure.
	t.Setenv("CARREL_SECRET_KEYS", "")
	f := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(f, []byte(doctorKey), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARREL_SECRET_KEYS_FILE", f)
	code, lines, out = doctorLines(t)
	if code != 0 {
		t.Errorf("a key file mode 0644: exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "secret keys file", "warn", "0644", "chmod 600")

	t.Setenv("CARREL_SECRET_KEYS_FILE", "")
	code, lines, _ = doctorLines(t)
	if code != 1 {
		t.Errorf("no key: exit %d, want 1", code)
	}
	wantLine(t, lines, "secret keys", "FAIL", "neither CARREL_SECRET_KEYS nor CARREL_SECRET_KEYS_FILE")
}

func TestDoctorMigrations(t *testing.T) {
	_, dbPath := healthyDoctor(t)
	db, err := models.Open(context.Background(), dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	applied, err := models.AppliedMigrations(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	newest := applied[len(applied)-1]
	// The newest step forgotten: the database as the release before
	// left it, as far as the migrations table says.
	if err := db.Exec("DELETE FROM migrations WHERE id = ?", newest).Error; err != nil {
		t.Fatal(err)
	}
	code, lines, out := doctorLines(t)
	if code != 0 {
		t.Errorf("a pending step: exit %d, want 0 (serve applies it):\n%s", code, out)
	}
	wantLine(t, lines, "migrations", "warn", "1 step(s) pending", newest, "carrel migrate")
	if pending, _ := models.PendingMigrations(context.Background(), db); len(pending) != 1 {
		t.Errorf("doctor changed the migrations: %d pending after it, want 1", len(pending))
	}

	if err := db.Exec("INSERT INTO migrations (id) VALUES (?), (?)", newest, "299912310001_from_a_newer_release").Error; err != nil {
		t.Fatal(err)
	}
	code, lines, out = doctorLines(t)
	if code != 1 {
		t.Errorf("a step this binary does not know: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "migrations", "FAIL", "1 step(s) this binary does not know", "299912310001_from_a_newer_release", "newer")
}

func TestDoctorDemoDataInProduction(t *testing.T) {
	healthyDoctor(t)
	if code, _, errs := carrel(t, "seed", "--demo"); code != 0 {
		t.Fatalf("seed: exit %d: %s", code, errs)
	}
	code, lines, out := doctorLines(t)
	if code != 1 {
		t.Errorf("demo data outside demo mode: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "demo accounts", "FAIL", "outside demo mode")

	code, lines, out = doctorLines(t, "--demo")
	if code != 0 {
		t.Errorf("demo data in demo mode: exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "demo accounts", "ok")
	wantLine(t, lines, "demo mode", "warn")
}

func TestDoctorClock(t *testing.T) {
	healthyDoctor(t)
	for _, c := range []struct {
		skew   time.Duration
		status string
		code   int
	}{{10 * time.Second, "FAIL", 1}, {-10 * time.Second, "FAIL", 1}, {2 * time.Second, "warn", 0}, {0, "ok", 0}} {
		doctorSeams.now = func() time.Time { return time.Now().Add(c.skew) }
		code, lines, out := doctorLines(t)
		doctorSeams.now = time.Now
		if code != c.code {
			t.Errorf("skew %s: exit %d, want %d:\n%s", c.skew, code, c.code, out)
		}
		wantLine(t, lines, "clock", c.status)
	}
}

func TestDoctorPublicURL(t *testing.T) {
	_, dbPath := healthyDoctor(t)
	// https, but doctor's settings trust no proxy: serve would not
	// believe the one in front.
	t.Setenv("CARREL_TRUSTED_PROXIES", "")
	code, lines, out := doctorLines(t)
	if code != 1 {
		t.Errorf("https without trusted proxies: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "trusted proxies", "FAIL", "CARREL_TRUSTED_PROXIES is not set")
	t.Setenv("CARREL_TRUSTED_PROXIES", "127.0.0.1")

	// The portal does not believe the proxy: it sees http.
	t.Setenv("CARREL_PUBLIC_URL", portalBehindProxy(t, dbPath, false))
	code, lines, out = doctorLines(t)
	if code != 1 {
		t.Errorf("an untrusted proxy: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "public URL", "FAIL", "arrive at Carrel as http://127.0.0.1:", "CARREL_TRUSTED_PROXIES")

	// Something else answers at the address.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer other.Close()
	t.Setenv("CARREL_PUBLIC_URL", other.URL)
	t.Setenv("CARREL_TRUSTED_PROXIES", "")
	code, lines, out = doctorLines(t)
	if code != 1 {
		t.Errorf("not Carrel: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "public URL", "FAIL", "without a Carrel-Seen-As header")
	wantLine(t, lines, "public URL", "warn", "is http") // the first public URL line

	// Nothing answers: doctor may run where the address is not reachable.
	other.Close()
	code, lines, out = doctorLines(t)
	wantLine(t, lines, "public URL", "warn", "is http")
	if !strings.Contains(out, "warn public URL: could not reach") || code != 0 {
		t.Errorf("unreachable: exit %d, want 0 and a warning:\n%s", code, out)
	}

	t.Setenv("CARREL_PUBLIC_URL", "")
	code, lines, _ = doctorLines(t)
	if code != 1 {
		t.Errorf("no public URL: exit %d, want 1", code)
	}
	wantLine(t, lines, "public URL", "FAIL", "not set", "http://127.0.0.1:8080")
}

func TestDoctorPostgreSQL(t *testing.T) {
	healthyDoctor(t)
	dbURL := modeltest.PostgresURL(t)
	t.Setenv("CARREL_DATABASE_URL", dbURL)
	code, lines, out := doctorLines(t)
	if code != 0 {
		t.Errorf("an empty PostgreSQL database: exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "database", "ok", "PostgreSQL 1")
	wantLine(t, lines, "migrations", "warn", "the database is empty")
	if code, _, errs := carrel(t, "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errs)
	}
	code, lines, out = doctorLines(t)
	if code != 0 {
		t.Errorf("a migrated PostgreSQL database: exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "migrations", "ok", "all ")
	wantLine(t, lines, "clock", "ok")
}

func TestDoctorPostgreSQLUnreachable(t *testing.T) {
	healthyDoctor(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	t.Setenv("CARREL_DATABASE_URL", "postgres://carrel:pg-hunter2@"+closed+"/carrel?sslmode=disable")
	start := time.Now()
	code, lines, out := doctorLines(t)
	if took := time.Since(start); took > doctorTimeout {
		t.Errorf("doctor took %s against a closed port", took)
	}
	if code != 1 {
		t.Errorf("exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "database", "FAIL", "PostgreSQL "+closed+"/carrel", "CARREL_DATABASE_URL")
	wantLine(t, lines, "migrations", "skip")
}

// selfSigned makes a certificate for 127.0.0.1 that no authority signed.
func selfSigned(t *testing.T) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert
}

// smtpServer is a real SMTP server (emersion/go-smtp) on a loopback port
// that offers STARTTLS with a certificate for 127.0.0.1, signed by no
// authority (cert), and AUTH PLAIN for user with password.
func smtpServer(t *testing.T, user, password string) (port string, cert *x509.Certificate) {
	t.Helper()
	pair, cert := selfSigned(t)
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &authSession{user: user, password: password}, nil
	}))
	s.Domain = "mail.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, cert
}

type authSession struct{ user, password string }

func (*authSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (a *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != a.user || password != a.password {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}
func (*authSession) Mail(string, *smtp.MailOptions) error {
	return errors.New("doctor must send nothing")
}
func (*authSession) Rcpt(string, *smtp.RcptOptions) error {
	return errors.New("doctor must send nothing")
}
func (*authSession) Data(io.Reader) error { return errors.New("doctor must send nothing") }
func (*authSession) Reset()               {}
func (*authSession) Logout() error        { return nil }

func TestDoctorSMTP(t *testing.T) {
	healthyDoctor(t)
	port, cert := smtpServer(t, "carrel", "hunter2-smtp")
	t.Setenv("CARREL_SMTP_HOST", "127.0.0.1")
	t.Setenv("CARREL_SMTP_PORT", port)
	t.Setenv("CARREL_SMTP_FROM", "Library <news@library.example>")
	t.Setenv("CARREL_SMTP_USERNAME", "carrel")
	t.Setenv("CARREL_SMTP_PASSWORD", "hunter2-smtp")

	// A self-signed certificate does not verify: sending would fail too.
	code, lines, out := doctorLines(t)
	if code != 1 {
		t.Errorf("an unverifiable certificate: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "SMTP", "ok", "127.0.0.1:"+port+" answers")
	wantLine(t, lines, "SMTP TLS", "FAIL", "certificate")
	wantLine(t, lines, "SMTP sign-in", "skip")

	trust(t, cert)
	code, lines, out = doctorLines(t)
	if code != 0 {
		t.Errorf("STARTTLS with a trusted certificate: exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "SMTP TLS", "ok", "starttls, TLS 1.3, the certificate verified for 127.0.0.1")
	wantLine(t, lines, "SMTP sign-in", "ok", "AUTH accepted")

	t.Setenv("CARREL_SMTP_PASSWORD", "hunter2-smtp-wrong")
	code, lines, out = doctorLines(t)
	if code != 1 {
		t.Errorf("a wrong password: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "SMTP sign-in", "FAIL", "refused AUTH", "CARREL_SMTP_PASSWORD")

	// A server without STARTTLS.
	plain := mailtest.Start(t)
	t.Setenv("CARREL_SMTP_PORT", strconv.Itoa(plain.Port()))
	t.Setenv("CARREL_SMTP_USERNAME", "")
	t.Setenv("CARREL_SMTP_PASSWORD", "")
	code, lines, out = doctorLines(t)
	if code != 1 {
		t.Errorf("no STARTTLS: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "SMTP TLS", "FAIL", "does not offer STARTTLS", "587")
	t.Setenv("CARREL_SMTP_TLS", "none")
	code, lines, out = doctorLines(t)
	if code != 0 {
		t.Errorf("plain text to this machine: exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "SMTP TLS", "ok", "relay on this machine")
	wantLine(t, lines, "SMTP sign-in", "skip")
	if n := len(plain.Messages()); n != 0 {
		t.Errorf("doctor sent %d messages", n)
	}

	// Nothing listens.
	t.Setenv("CARREL_SMTP_PORT", "1")
	code, lines, _ = doctorLines(t)
	if code != 1 {
		t.Errorf("nothing at the port: exit %d, want 1", code)
	}
	wantLine(t, lines, "SMTP", "FAIL", "127.0.0.1:1", "CARREL_SMTP_PORT")
}

func TestDoctorSIP2(t *testing.T) {
	healthyDoctor(t)
	srv := sip2test.Start(t, sip2test.Config{User: "carrel", Password: "sip2-hunter2", Institution: "SMPL"})
	t.Setenv("CARREL_PATRON_AUTH", "sip2")
	t.Setenv("CARREL_SIP2_ADDR", srv.Addr())
	t.Setenv("CARREL_SIP2_TLS", "none")
	t.Setenv("CARREL_SIP2_INSTITUTION", "SMPL")
	t.Setenv("CARREL_SIP2_USER", "carrel")
	t.Setenv("CARREL_SIP2_PASSWORD", "sip2-hunter2")
	code, lines, out := doctorLines(t)
	if code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "ILS SIP2", "ok", "93 login accepted", "99 SC status on line")
	wantLine(t, lines, "ILS", "warn", "plain text")
	if srv.Requests("63") != 0 {
		t.Errorf("doctor asked for a patron")
	}

	t.Setenv("CARREL_SIP2_PASSWORD", "sip2-hunter2-wrong")
	code, lines, out = doctorLines(t)
	if code != 1 {
		t.Errorf("a refused login: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "ILS SIP2", "FAIL", "refused the 93 login")
}

func TestDoctorKoha(t *testing.T) {
	healthyDoctor(t)
	srv := kohatest.Start(t)
	t.Setenv("CARREL_PATRON_AUTH", "koha")
	t.Setenv("CARREL_KOHA_URL", srv.URL)
	t.Setenv("CARREL_KOHA_CLIENT_ID", srv.ClientID)
	t.Setenv("CARREL_KOHA_CLIENT_SECRET", srv.ClientSecret)
	code, lines, out := doctorLines(t)
	if code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "ILS Koha", "ok", "OAuth2 token")
	if strings.Contains(out, srv.ClientSecret) {
		t.Errorf("the client secret was printed:\n%s", out)
	}
	if srv.Calls(kohatest.PathValidation) != 0 {
		t.Errorf("doctor validated a password")
	}

	t.Setenv("CARREL_KOHA_CLIENT_SECRET", "wrong-"+srv.ClientSecret)
	code, lines, out = doctorLines(t)
	if code != 1 {
		t.Errorf("a refused key: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "ILS Koha", "FAIL", "refused the API client")
}

func TestDoctorWebhooks(t *testing.T) {
	healthyDoctor(t)
	posted := 0
	receiver := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { posted++ }))
	pair, cert := selfSigned(t)
	receiver.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	receiver.StartTLS()
	defer receiver.Close()
	t.Setenv("CARREL_WEBHOOK_URL", receiver.URL+"/hooks/path-token")
	t.Setenv("CARREL_WEBHOOK_SECRET", "whsec_"+base64.StdEncoding.EncodeToString([]byte("webhook-secret-of-32-bytes-long!")))
	code, lines, out := doctorLines(t)
	if code != 1 {
		t.Errorf("an unverifiable certificate: exit %d, want 1:\n%s", code, out)
	}
	wantLine(t, lines, "ILS webhook "+receiver.URL, "FAIL", "certificate")
	trust(t, cert)
	code, lines, out = doctorLines(t)
	if code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out)
	}
	wantLine(t, lines, "ILS webhook "+receiver.URL, "ok", "TLS handshake verified")
	if posted != 0 || strings.Contains(out, "path-token") || strings.Contains(out, "webhook-secret") {
		t.Errorf("doctor posted %d webhooks, or printed the path or the secret:\n%s", posted, out)
	}
}

// TestDoctorPrintsNoSecret puts recognisable secrets in every setting
// that holds one, fails as many checks as it can, and looks for them in
// everything doctor printed (doctorLines looks).
func TestDoctorPrintsNoSecret(t *testing.T) {
	healthyDoctor(t)
	t.Setenv("CARREL_METRICS_TOKEN", "METRICS-token-hunter2")
	t.Setenv("CARREL_SMTP_HOST", "127.0.0.1")
	t.Setenv("CARREL_SMTP_PORT", "1")
	t.Setenv("CARREL_SMTP_FROM", "news@library.example")
	t.Setenv("CARREL_SMTP_USERNAME", "carrel")
	t.Setenv("CARREL_SMTP_PASSWORD", "hunter2-smtp")
	t.Setenv("CARREL_PATRON_AUTH", "sip2")
	t.Setenv("CARREL_SIP2_ADDR", "127.0.0.1:1")
	t.Setenv("CARREL_SIP2_TLS", "none")
	t.Setenv("CARREL_SIP2_INSTITUTION", "SMPL")
	t.Setenv("CARREL_SIP2_USER", "carrel")
	t.Setenv("CARREL_SIP2_PASSWORD", "sip2-hunter2")
	t.Setenv("CARREL_DATABASE_URL", "postgres://carrel:pg-hunter2@127.0.0.1:1/carrel")
	code, _, out := doctorLines(t)
	if code != 1 {
		t.Errorf("exit %d, want 1:\n%s", code, out)
	}
	t.Setenv("CARREL_DATABASE_URL", "")
	// The SMTP password reaches the server, which refuses it.
	port, cert := smtpServer(t, "carrel", "other")
	trust(t, cert)
	t.Setenv("CARREL_SMTP_PORT", port)
	if code, _, out := doctorLines(t); code != 1 || !strings.Contains(out, "FAIL SMTP sign-in") {
		t.Errorf("exit %d, want 1 and a refused sign-in:\n%s", code, out)
	}
}
