package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCommonPasswordListIsWhatTheCheckExpects: every line of the bundled
// list is a lowercase password of at least MinStaffPassword characters, so
// none is dead weight and the lowercased lookup finds each one.
func TestCommonPasswordListIsWhatTheCheckExpects(t *testing.T) {
	set := commonPasswords()
	if len(set) < 5000 {
		t.Fatalf("the common-password list has %d entries; it was built with 7,252", len(set))
	}
	for p := range set {
		if utf8.RuneCountInString(p) < MinStaffPassword || strings.ToLower(p) != p {
			t.Errorf("list entry %q: shorter than %d characters or not lowercase", p, MinStaffPassword)
		}
	}
	for _, p := range []string{"passwordpassword", "123456789012345", "QWERTYUIOPASDFGH"} {
		if err := CheckStaffPassword("ada", p); err == nil || !strings.Contains(err.Error(), "common passwords") {
			t.Errorf("%q: %v, want refused as common", p, err)
		}
	}
}

// TestCommonShortPasswordListIsWhatTheCheckExpects: the list for accounts
// with a second factor (8 to 14 characters allowed) holds lowercase
// passwords of 8 to 14 characters, and each is refused.
func TestCommonShortPasswordListIsWhatTheCheckExpects(t *testing.T) {
	set := commonShortPasswords()
	if len(set) < 15000 {
		t.Fatalf("the short common-password list has %d entries; it was built with 15,727", len(set))
	}
	for p := range set {
		if n := utf8.RuneCountInString(p); n < MinStaffPasswordWithSecondFactor || n >= MinStaffPassword || strings.ToLower(p) != p {
			t.Errorf("short list entry %q: not 8 to 14 characters, or not lowercase", p)
		}
		if err := CheckStaffPasswordFor("ada", p, true); err == nil {
			t.Errorf("%q accepted with a second factor", p)
		}
	}
	for _, p := range []string{"Password1", "iloveyou2", "QWERTYUIOP", "trustno1"} {
		if err := CheckStaffPasswordFor("ada", p, true); err == nil || !strings.Contains(err.Error(), "common passwords") {
			t.Errorf("%q: %v, want refused as common", p, err)
		}
	}
}
