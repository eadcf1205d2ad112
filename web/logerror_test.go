package web

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
)

// A client that hangs up mid-answer makes the write fail with an error that
// names its address; the logs must not keep it.
func TestLoggedErrorsHoldNoAddress(t *testing.T) {
	for _, remote := range []net.Addr{
		&net.TCPAddr{IP: net.ParseIP("203.0.113.5"), Port: 51234},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::42"), Port: 443},
		&net.TCPAddr{IP: net.ParseIP("::1"), Port: 8080},
	} {
		err := &net.OpError{Op: "write", Net: "tcp", Source: &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 8080}, Addr: remote, Err: syscall.EPIPE}
		got := logError(errors.Join(errors.New("export"), err))
		for _, leak := range []string{"203.0.113.5", "2001:db8", "::1", "192.0.2.1", "51234"} {
			if strings.Contains(got, leak) {
				t.Errorf("logged %q: it holds %q", got, leak)
			}
		}
		if !strings.Contains(got, "broken pipe") || !strings.Contains(got, "write tcp") {
			t.Errorf("logged %q: the cause is lost", got)
		}
	}
	if got := logError(errors.New(`models: purge: audit: ERROR: relation "x" does not exist (SQLSTATE 42P01)`)); strings.Contains(got, "[address]") {
		t.Errorf("an error without an address is changed: %q", got)
	}
}
