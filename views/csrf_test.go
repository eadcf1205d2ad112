package views

import (
	"context"
	"strings"
	"testing"
)

// TestCSRFFieldIsTheHiddenInput pins the field's markup, the token
// escaped as an attribute value.
func TestCSRFFieldIsTheHiddenInput(t *testing.T) {
	var b strings.Builder
	if err := csrfField(`tok"<&>`).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if want := `<input type="hidden" name="csrf_token" value="tok&#34;&lt;&amp;&gt;">`; b.String() != want {
		t.Errorf("csrfField renders %s, want %s", b.String(), want)
	}
}
