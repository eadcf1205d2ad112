package sip2

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Published SIP2 messages whose checksums agree in independent sources:
// the 3M SIP2 Developers Guide (page 26, "990 402.00AY1AZFCB4", also in
// Koha's C4/SIP test of Sip::Checksum) and the guide's examples as
// collected in dp2SSL's SIP2 unit tests. (Some of the guide's other
// examples carry typos and do not add up in any implementation; they are
// left out.)
var publishedMessages = []string{
	"990 402.00AY1AZFCB4",
	"9900401.00AY1AZFCA5",
	"6300119980723    091905Y         AOInstitutionID|AAPatronID|BP00001|BQ00005|AY1AZEA83",
	"01N19960213    162352AO|ALCARD BLOCK TEST|AA104000000705|AC|AY2AZF02F",
	"2519980723    094240AOCertification Institute ID|AAPatronID|AY4AZEBF1",
	"941AY3AZFDFA",
}

func TestChecksumOfPublishedMessages(t *testing.T) {
	for _, m := range publishedMessages {
		body, want := m[:len(m)-4], m[len(m)-4:]
		if got := fmt.Sprintf("%04X", checksum([]byte(body))); got != want {
			t.Errorf("checksum(%q) = %s, the published message says %s", body, got, want)
		}
		seq := int(m[len(m)-7] - '0')
		if got := string(appendErrorDetection([]byte(m[:len(m)-9]), seq)); got != m+"\r" {
			t.Errorf("appendErrorDetection = %q, want %q", got, m+"\r")
		}
	}
	// The 94 above is a response: it checks as one.
	body, err := checkResponse([]byte("941AY3AZFDFA"), "94", 3)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := parseLogin(body); !ok || err != nil {
		t.Errorf("parseLogin(941) = %v, %v", ok, err)
	}
}

// The requests are byte for byte what the standard lays out.
func TestRequestLayout(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 5, 7, 0, time.Local)
	if got, want := patronInfoBody(now, "CPL", "21000000000001", "tp", "1234"),
		"6300120261203    090507          AOCPL|AA21000000000001|ACtp|AD1234|"; got != want {
		t.Errorf("63 = %q, want %q", got, want)
	}
	if got, want := loginBody("sipuser", "sippass", "MAIN"), "9300CNsipuser|COsippass|CPMAIN|"; got != want {
		t.Errorf("93 = %q, want %q", got, want)
	}
	if got, want := scStatusBody(), "9900802.00"; got != want {
		t.Errorf("99 = %q, want %q", got, want)
	}
}

// spec64 is the 3M guide's example 64 response, its checksum corrected
// (as printed it does not add up) and with its sequence number 4.
func spec64() []byte {
	body := "64              00119980723    104009000100000002000100020000AOInstitutionID for PatronID|AAPatronID|AEPatron Name|BZ0002|CA0003|CB0010|BLY|ASItemID1 for PatronID|AUChargeItem1|AUChargeItem2|BDHome Address|BEE Mail Address|BFHome Phone for PatronID|AFScreenMessage 0 for PatronID, Language 1|AFScreen Message 1 for PatronID, Language 1|AFScreen Message 2 for PatronID, Language 1|AGPrint Line 0 for PatronID, Language 1|AGPrint Line 1 for PatronID, Language 1|AGPrint Line 2 for PatronID, language 1|"
	return appendErrorDetection([]byte(body), 4)
}

// koha64 is a 64 as Koha's SIP server writes one for a good card and PIN.
func koha64(seq int) []byte {
	body := "64  Y           00120261203    090507000000000001000000000000AOCPL|AA21000000000001|AEOkafor, Ngozi|BLY|CQY|BHUSD|BV0.00|CC5|PB19800101|PCPT|PIY|BDTwelve Elm Street, Springfield|BEngozi@example.org|BF555-0100|AFGreetings from Koha. |"
	return appendErrorDetection([]byte(body), seq)
}

func TestParseResponse(t *testing.T) {
	p, err := ParseResponse(spec64(), 4, "utf-8")
	if err != nil {
		t.Fatal(err)
	}
	if p.Identifier != "PatronID" || p.Name != "Patron Name" || !p.ValidPatron || !p.HasValidPatron ||
		p.HasValidPIN || p.Email != "E Mail Address" || p.Phone != "Home Phone for PatronID" ||
		p.Address != "Home Address" || len(p.ScreenMessages) != 3 || p.Language != "001" {
		t.Errorf("spec 64 parsed as %+v", p)
	}

	p, err = ParseResponse(koha64(2), 2, "utf-8")
	if err != nil {
		t.Fatal(err)
	}
	if p.Identifier != "21000000000001" || p.Name != "Okafor, Ngozi" || !p.ValidPatron || !p.ValidPassword ||
		!p.HasValidPIN || p.Institution != "CPL" || p.Email != "ngozi@example.org" || !p.Flag(StatusRecallDenied) ||
		p.Flag(StatusCardLost) || p.ScreenMessages[0] != "Greetings from Koha. " {
		t.Errorf("Koha 64 parsed as %+v", p)
	}
}

// Every way an answer can be wrong is ErrProtocol, and none is a patron.
func TestParseResponseRefusals(t *testing.T) {
	good := koha64(2)
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		return b
	}
	cases := map[string][]byte{
		"empty":               nil,
		"CR alone":            []byte("\r"),
		"garbage":             []byte("\x00\xffHTTP/1.1 400 Bad Request\r"),
		"no error detection":  good[:len(good)-10],
		"one bit in the body": flip(40),
		"one bit in the sum":  flip(len(good) - 2),
		"not hexadecimal":     append(append([]byte(nil), good[:len(good)-5]...), 'G', '\r'),
		"wrong sequence":      koha64(3),
		"wrong code":          appendErrorDetection([]byte("24"+string(good[2:len(good)-10])), 2),
		"short fixed part":    appendErrorDetection([]byte("64  Y     001"), 2),
		"counts not numbers":  appendErrorDetection([]byte(strings.Replace(string(good[:len(good)-10]), "000000000001", "00000000000X", 1)), 2),
		"malformed field":     appendErrorDetection([]byte(string(good[:len(good)-10])+"X|"), 2),
		"conflicting BL":      appendErrorDetection([]byte(string(good[:len(good)-10])+"BLN|"), 2),
		"spec's own sum":      []byte(strings.Replace(string(spec64()), string(spec64()[len(spec64())-5:len(spec64())-1]), "608F", 1)),
	}
	for name, raw := range cases {
		p, err := ParseResponse(raw, 2, "utf-8")
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v, want ErrProtocol", name, err)
		}
		if p.ValidPatron || p.ValidPassword || p.Name != "" {
			t.Errorf("%s: got a patron %+v", name, p)
		}
	}
}

// validErrorDetection is the fuzz test's own check: the message ends in
// AY<digit>AZ<4 hex> and its bytes add up.
func validErrorDetection(raw []byte) bool {
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	n := len(raw)
	if n < 9 || string(raw[n-9:n-7]) != "AY" || string(raw[n-6:n-4]) != "AZ" {
		return false
	}
	var want uint32
	if _, err := fmt.Sscanf(string(raw[n-4:]), "%04x", &want); err != nil {
		return false
	}
	var sum uint32
	for _, c := range raw[:n-4] {
		sum += uint32(c)
	}
	return (sum+want)&0xffff == 0
}

// The parser never panics, and nothing that fails its checksum is a
// patron. The seeds (real responses and near misses) run as a normal test.
func FuzzParseResponse(f *testing.F) {
	f.Add(spec64(), 4)
	f.Add(koha64(2), 2)
	f.Add([]byte("941AY3AZFDFA"), 3)
	f.Add(appendErrorDetection([]byte("64              00120261203    090507000000000000000000000000AOCPL|AA1|AE|BLN|CQN|"), 0), 0)
	f.Add(appendErrorDetection([]byte("64"+strings.Repeat("Y", 14)+"001"+"20261203    090507"+strings.Repeat("0", 24)+"AAx|BLY|CQY|AEM\xfcller, Zo\xeb|"), 9), 9)
	f.Add([]byte("\x00\xffHTTP/1.1 400 Bad Request\r"), 1)
	f.Add([]byte("64AY1AZ0000\r"), 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, raw []byte, seq int) {
		seq = (seq%10 + 10) % 10
		for _, enc := range []string{"utf-8", "latin-1"} {
			p, err := ParseResponse(raw, seq, enc)
			if err != nil {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("error %v is not ErrProtocol", err)
				}
				if p.ValidPatron || p.ValidPassword || p.Identifier != "" || p.Name != "" {
					t.Fatalf("an error came with a patron: %+v", p)
				}
				continue
			}
			if !validErrorDetection(raw) {
				t.Fatalf("accepted a response that fails its checksum: %q", raw)
			}
		}
	})
}

func TestLatin1RoundTrip(t *testing.T) {
	cd, _ := newCodec("latin-1")
	b, err := cd.encode("Müller, Zoë")
	if err != nil || string(b) != "M\xfcller, Zo\xeb" {
		t.Fatalf("encode = %q, %v", b, err)
	}
	if s := cd.decode(b); s != "Müller, Zoë" {
		t.Errorf("decode = %q", s)
	}
	if _, err := cd.encode("Łukasz"); !errors.Is(err, ErrBadInput) {
		t.Errorf("encoding a character Latin-1 lacks: %v, want ErrBadInput", err)
	}
}
