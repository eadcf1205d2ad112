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
