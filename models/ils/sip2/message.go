package sip2

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// maxMessage bounds one response: a line longer than this without its
// CR is not SIP2.
const maxMessage = 64 << 10

// Patron status positions in the 14-character patron status field of a 64
// response (PatronInfo.Status); 'Y' at a position means that privilege is
// denied or that condition holds.
const (
	StatusChargeDenied = iota
	StatusRenewalDenied
	StatusRecallDenied
	StatusHoldDenied
	StatusCardLost
	StatusTooManyCharged
	StatusTooManyOverdue
	StatusTooManyRenewals
	StatusTooManyClaimsReturned
	StatusTooManyLost
	StatusExcessiveFines
	StatusExcessiveFees
	StatusRecallOverdue
	StatusTooManyBilled
)

// Flag reports whether position i (StatusChargeDenied ... StatusTooManyBilled)
// of the patron status is set ('Y').
func (p PatronInfo) Flag(i int) bool {
	return i >= 0 && i < len(p.Status) && p.Status[i] == 'Y'
}

// ErrBadInput is a card, PIN or setting that cannot be sent: it holds a
// field separator or control character, or a character the configured
// encoding cannot carry. Nothing was sent.
var ErrBadInput = errors.New("sip2: value cannot be sent in a SIP2 field")

// checksum is the SIP2 error-detection checksum of b: the two's
// complement of the sum of its bytes, low 16 bits.
func checksum(b []byte) uint16 {
	var sum uint16
	for _, c := range b {
		sum += uint16(c)
	}
	return -sum
}

// seqDigit is the AY sequence number's one digit: SIP2 counts 0 to 9.
func seqDigit(seq int) byte { return "0123456789"[(seq%10+10)%10] }

// appendErrorDetection ends body with AY<seq>AZ<checksum> and the CR.
func appendErrorDetection(body []byte, seq int) []byte {
	msg := append(body, 'A', 'Y', seqDigit(seq), 'A', 'Z')
	msg = fmt.Appendf(msg, "%04X", checksum(msg))
	return append(msg, '\r')
}

// codec carries text to and from the wire in the configured encoding.
type codec struct{ latin1 bool }

func newCodec(name string) (codec, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utf-8", "utf8":
		return codec{}, nil
	case "latin-1", "latin1", "iso-8859-1":
		return codec{latin1: true}, nil
	}
	return codec{}, fmt.Errorf("sip2: encoding %q: want utf-8 or latin-1", name)
}

func (c codec) encode(s string) ([]byte, error) {
	if !c.latin1 {
		if !utf8.ValidString(s) {
			return nil, ErrBadInput
		}
		return []byte(s), nil
	}
	b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, ErrBadInput
	}
	return b, nil
}

func (c codec) decode(b []byte) string {
	if !c.latin1 {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	s, err := charmap.ISO8859_1.NewDecoder().Bytes(b)
	if err != nil { // cannot happen: every byte is a Latin-1 character
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

// checkField refuses a value that would break out of its field: the
// separator, CR, LF or any other control character.
func checkField(s string) error {
	for _, r := range s {
		if r == '|' || r < 0x20 || r == 0x7f {
			return ErrBadInput
		}
	}
	return nil
}

// transactionDate is the 18-character SIP2 date YYYYMMDDZZZZHHMMSS in
// local time (the zone left blank, as the standard allows).
func transactionDate(t time.Time) string { return t.Format("20060102    150405") }

// loginBody is 93 Login with plain-text user id and password.
func loginBody(user, password, location string) string {
	return "9300CN" + user + "|CO" + password + "|CP" + location + "|"
}

// scStatusBody is 99 SC Status: status ok, print width 80, version 2.00.
func scStatusBody() string { return "990" + "080" + "2.00" }

// patronInfoBody is 63 Patron Information in English with no summary.
func patronInfoBody(now time.Time, institution, card, terminalPassword, pin string) string {
	return "63" + "001" + transactionDate(now) + "          " +
		"AO" + institution + "|AA" + card + "|AC" + terminalPassword + "|AD" + pin + "|"
}

// protocolError wraps ErrProtocol with what was wrong, never with the
// message itself (it holds names and card numbers).
func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// checkResponse verifies a response (without its CR): it must end with
// AY<seq>AZ<checksum>, the checksum must be right, and it must be the
// answer want ("94", "98", "64"). It returns the message without the
// error-detection fields.
func checkResponse(msg []byte, want string, seq int) ([]byte, error) {
	n := len(msg)
	if n < 2+9 {
		return nil, protocolError("response too short")
	}
	tail := msg[n-9:]
	if tail[0] != 'A' || tail[1] != 'Y' || tail[3] != 'A' || tail[4] != 'Z' {
		return nil, protocolError("no error detection fields")
	}
	var sum uint16
	for _, c := range tail[5:] {
		v, ok := hexDigit(c)
		if !ok {
			return nil, protocolError("checksum is not hexadecimal")
		}
		sum = sum<<4 | v
	}
	if checksum(msg[:n-4]) != sum {
		return nil, protocolError("bad checksum")
	}
	if tail[2] != seqDigit(seq) {
		return nil, protocolError("sequence number is not the request's")
	}
	body := msg[:n-9]
	if string(body[:2]) != want {
		return nil, protocolError("answer is not a %s", want)
	}
	return body, nil
}

func hexDigit(c byte) (uint16, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint16(c - '0'), true
	case c >= 'A' && c <= 'F':
		return uint16(c-'A') + 10, true
	case c >= 'a' && c <= 'f':
		return uint16(c-'a') + 10, true
	}
	return 0, false
}

// Fixed-part lengths of the responses read.
const (
	loginRespFixed    = 2 + 1                  // 94 ok
	acsStatusFixed    = 2 + 6 + 3 + 3 + 18 + 4 // 98 ... protocol version
	patronInfoFixed   = 2 + 14 + 3 + 18 + 6*4  // 64 ... unavailable holds count
	patronStatusStart = 2                      // in 64
	languageStart     = patronStatusStart + 14 // in 64
	patronCountsStart = languageStart + 3 + 18 // in 64
)

// parseLogin reads a checked 94 body: ok is '1' or '0'.
func parseLogin(body []byte) (bool, error) {
	if len(body) < loginRespFixed {
		return false, protocolError("94 too short")
	}
	switch body[2] {
	case '1':
		return true, nil
	case '0':
		return false, nil
	}
	return false, protocolError("94 ok is neither 0 nor 1")
}

// parseACSStatus reads a checked 98 body: whether the ACS is on line.
func parseACSStatus(body []byte) (bool, error) {
	if len(body) < acsStatusFixed {
		return false, protocolError("98 too short")
	}
	return body[2] == 'Y', nil
}

// field is one variable-length field: a two-letter code and its value.
type field struct{ code, value string }

// splitFields reads the variable part of a message: two-letter code,
// value, "|"; the last field may lack its "|".
func splitFields(s string) ([]field, error) {
	var out []field
	for s != "" {
		part, rest, _ := strings.Cut(s, "|")
		s = rest
		if part == "" {
			continue
		}
		if len(part) < 2 || !isLetter(part[0]) || !isLetter(part[1]) {
			return nil, protocolError("malformed field")
		}
		out = append(out, field{part[:2], part[2:]})
	}
	return out, nil
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parsePatronInfo reads a checked 64 body, decoded with cd.
func parsePatronInfo(body []byte, cd codec) (PatronInfo, error) {
	if len(body) < patronInfoFixed {
		return PatronInfo{}, protocolError("64 too short")
	}
	for _, c := range body[patronCountsStart:patronInfoFixed] {
		if !isDigit(c) && c != ' ' {
			return PatronInfo{}, protocolError("64 counts are not numbers")
		}
	}
	// The fixed part must be ASCII, so that its offsets hold after
	// decoding in either encoding.
	for _, c := range body[:patronInfoFixed] {
		if c < 0x20 || c >= 0x7f {
			return PatronInfo{}, protocolError("64 fixed fields are not text")
		}
	}
	text := cd.decode(body)
	p := PatronInfo{
		Status:   text[patronStatusStart:languageStart],
		Language: text[languageStart : languageStart+3],
	}
	fields, err := splitFields(text[patronInfoFixed:])
	if err != nil {
		return PatronInfo{}, err
	}
	seen := map[string]string{}
	for _, f := range fields {
		switch f.code {
		case "AO", "AA", "AE", "BL", "CQ", "BE", "BF", "BD":
			if prev, ok := seen[f.code]; ok && prev != f.value {
				return PatronInfo{}, protocolError("64 field %s given twice", f.code)
			}
			seen[f.code] = f.value
		}
		switch f.code {
		case "AO":
			p.Institution = f.value
		case "AA":
			p.Identifier = f.value
		case "AE":
			p.Name = f.value
		case "BL":
			p.HasValidPatron = true
			p.ValidPatron = f.value == "Y"
		case "CQ":
			p.HasValidPIN = true
			p.ValidPassword = f.value == "Y"
		case "BE":
			p.Email = f.value
		case "BF":
			p.Phone = f.value
		case "BD":
			p.Address = f.value
		case "AF":
			p.ScreenMessages = append(p.ScreenMessages, f.value)
		}
	}
	return p, nil
}

// ParseResponse checks raw (one 64 Patron Information Response, with or
// without its CR) as an answer to a request with sequence number seq and
// parses it; encoding is "utf-8" or "latin-1". It is what the client does
// with every answer to PatronInformation, exported for tests and tools.
func ParseResponse(raw []byte, seq int, encoding string) (PatronInfo, error) {
	cd, err := newCodec(encoding)
	if err != nil {
		return PatronInfo{}, err
	}
	if seq < 0 || seq > 9 {
		return PatronInfo{}, errors.New("sip2: sequence number is 0 to 9")
	}
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	body, err := checkResponse(raw, "64", seq)
	if err != nil {
		return PatronInfo{}, err
	}
	return parsePatronInfo(body, cd)
}
