package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Where a Probe stopped.
const (
	StageConnect = "connect" // no SMTP server answered at the address
	StageTLS     = "tls"     // TLS as configured failed: no STARTTLS, no TLS, or a certificate that does not verify
	StageAuth    = "auth"    // the server refused the sign-in (AUTH)
)

// Probe is what carrel doctor learned of the SMTP server.
type Probe struct {
	// Addr is the host:port dialled; Reached says a TCP connection to
	// it was made.
	Addr    string
	Reached bool
	// Stage is where the conversation stopped, with Err; "" when it went
	// through: connected, TLS as configured, signed in when a user is set.
	Stage string
	Err   error
	// OffersSTARTTLS is whether the server offered STARTTLS on the plain
	// connection (known with starttls and none).
	OffersSTARTTLS bool
	// TLSVersion is the version negotiated ("" without TLS), and
	// CertExpires when the server's certificate does.
	TLSVersion  string
	CertExpires time.Time
}

// Check talks to the SMTP server as the digests' sender does (the same
// client, port, TLS policy, HELO name and AUTH), signs in when a user is
// set, and sends nothing: QUIT follows. Before that it connects once in
// plain text to learn whether the server is there and, unless TLS starts
// at once, whether it offers STARTTLS, so that a failure says which step
// failed. roots, when not nil, replaces the system's certificate
// authorities (tests); timeout bounds each connection.
func Check(ctx context.Context, m Config, lib Library, roots *x509.CertPool, timeout time.Duration) Probe {
	d := &Deliverer{Mail: m, Library: lib, Timeout: timeout}
	client, err := d.client()
	if err != nil {
		return Probe{Stage: StageConnect, Err: err}
	}
	p := Probe{Addr: client.ServerAddr()}
	if roots != nil {
		if err := client.SetTLSConfig(&tls.Config{ServerName: m.Host, RootCAs: roots, MinVersion: gomail.DefaultTLSMinVersion}); err != nil {
			return Probe{Stage: StageTLS, Err: err}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dialer := net.Dialer{}
	conn, err := dialer.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		p.Stage, p.Err = StageConnect, err
		return p
	}
	p.Reached = true
	if m.TLS == "tls" {
		conn.Close()
	} else {
		if deadline, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(deadline)
		}
		c, err := smtp.NewClient(conn, m.Host)
		if err != nil {
			conn.Close()
			p.Stage, p.Err = StageConnect, err
			return p
		}
		if err := c.Hello(d.domain()); err != nil {
			c.Close()
			p.Stage, p.Err = StageConnect, err
			return p
		}
		p.OffersSTARTTLS, _ = c.Extension("STARTTLS")
		_ = c.Quit()
		c.Close()
	}

	c, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		p.Stage, p.Err = stageOf(err, m, p), err
		return p
	}
	if st, err := c.GetTLSConnectionState(); err == nil && st != nil {
		p.TLSVersion = tls.VersionName(st.Version)
		if len(st.PeerCertificates) > 0 {
			p.CertExpires = st.PeerCertificates[0].NotAfter
		}
	}
	_ = client.CloseWithSMTPClient(c)
	return p
}

// stageOf says which step of the sender's conversation err comes from.
func stageOf(err error, m Config, p Probe) string {
	var (
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert),
		errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return StageTLS
	case m.TLS == "starttls" && !p.OffersSTARTTLS:
		return StageTLS
	case m.Username != "" && (strings.Contains(err.Error(), "AUTH") || errors.Is(err, gomail.ErrNoSupportedAuthDiscovered)):
		return StageAuth
	}
	return StageConnect
}
