package sip2test

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// The server speaks the wire format itself, checked here byte for byte
// without the client: a login from the 3M guide's layout, a request with
// a bad checksum answered 96, and a patron asked before logging in
// closes the connection.
func TestWire(t *testing.T) {
	srv := Start(t, Config{User: "LoginUserID", Password: "LoginPassword", Institution: "CPL",
		Patrons: map[string]Patron{"1": {PIN: "9", Name: "Doe, Jo"}}})
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	say := func(msg string) string {
		t.Helper()
		if _, err := nc.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		resp, err := br.ReadString('\r')
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// A request whose checksum is off by one.
	if got := say("9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZEC7C\r"); got != "96AZFEF6\r" {
		t.Errorf("bad checksum answered %q, want 96AZFEF6", got)
	}
	if got, want := say("9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZEC7B\r"), "941AY5AZ"; !strings.HasPrefix(got, want) {
		t.Errorf("login answered %q, want %s...", got, want)
	} else if seq, _, ok := verify([]byte(strings.TrimSuffix(got, "\r"))); !ok || seq != 5 {
		t.Errorf("login answer %q fails its own checksum", got)
	}
	if srv.Logins() != 1 || srv.BadChecksums() != 1 {
		t.Errorf("logins %d, bad checksums %d", srv.Logins(), srv.BadChecksums())
	}

	resp := say(string(withSeq("6300120261203    090507          AOCPL|AA1|AC|AD9|", 6)))
	if !strings.HasPrefix(resp, "64") || !strings.Contains(resp, "|AEDoe, Jo|BLY|CQY|") || !strings.Contains(resp, "AY6AZ") {
		t.Errorf("63 answered %q", resp)
	}

	// Not logged in: the connection is closed, nothing answered.
	nc2, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	nc2.Write(withSeq("6300120261203    090507          AOCPL|AA1|AC|AD9|", 0))
	if b, err := bufio.NewReader(nc2).ReadString('\r'); err == nil {
		t.Errorf("a connection without login got %q", b)
	}
}

func withSeq(body string, seq int) []byte {
	b := []byte(body + "AY" + string(rune('0'+seq)) + "AZ")
	return append(b, []byte(strings.ToUpper(hex4(sip2Sum(b)))+"\r")...)
}

func hex4(v int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12&15], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}
