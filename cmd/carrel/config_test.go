package main

import (
	"strings"
	"testing"

	"github.com/carrel-library/carrel/web"
)

func defaultSettings() map[string]*string {
	vals := map[string]*string{}
	for _, s := range settings {
		v := s.def
		vals[s.env] = &v
	}
	return vals
}

// TestBadPrivacyContactIsRefused: a CARREL_PRIVACY_CONTACT that pages
// could not show truthfully (no name, no way to reach anyone, a broken
// address or number) stops serve with one line naming the setting.
func TestBadPrivacyContactIsRefused(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"no name", "; privacy@library.example", "a name first"},
		{"name only", "Privacy Officer", "at least an email address or a phone number"},
		{"name and address only", "Privacy Officer; ; ; 1 Main St", "at least an email address or a phone number"},
		{"bad email", "Privacy Officer; privacy-at-library", "is not an email address"},
		{"email with a display name", "Privacy Officer; Bob <bob@library.example>", "is not an email address"},
		{"bad phone", "Privacy Officer; ; call us maybe", "is not a phone number"},
		{"too many parts", "A; a@library.example; 555 0100; 1 Main St; extra", "at most four parts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("CARREL_PRIVACY_CONTACT", tc.value)
			code, _, errs := carrel(t, "serve", "--demo")
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errs)
			}
			if lines := strings.Count(strings.TrimSpace(errs), "\n") + 1; lines != 1 ||
				!strings.Contains(errs, "CARREL_PRIVACY_CONTACT") || !strings.Contains(errs, tc.want) {
				t.Fatalf("want one line naming CARREL_PRIVACY_CONTACT and saying %q, got %q", tc.want, errs)
			}
		})
	}
}

// TestPrivacyContactIsParsed: a good contact reaches web.Config part by
// part; unset, there is none outside demo mode, and demo mode shows an
// obvious example; the help lists the setting.
func TestPrivacyContactIsParsed(t *testing.T) {
	isolate(t)
	vals := defaultSettings()
	*vals["CARREL_PRIVACY_CONTACT"] = " Jane Roe, Privacy Officer ;privacy@smpl.example; +1 (310) 458-8600 ; 601 Santa Monica Blvd "
	c, err := parseConfig(vals)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Web.PrivacyContact
	if got.Name != "Jane Roe, Privacy Officer" || got.Email != "privacy@smpl.example" || got.Phone != "+1 (310) 458-8600" ||
		got.Address != "601 Santa Monica Blvd" {
		t.Fatalf("contact %+v", got)
	}
	if got.Tel() != "tel:+13104588600" || got.MailTo() != "mailto:privacy@smpl.example" {
		t.Fatalf("links %q %q", got.Tel(), got.MailTo())
	}
	*vals["CARREL_PRIVACY_CONTACT"] = "Privacy desk; ; 310 458 8600"
	if c, err = parseConfig(vals); err != nil || c.Web.PrivacyContact.Phone != "310 458 8600" || c.Web.PrivacyContact.Email != "" {
		t.Fatalf("phone only: %v %+v", err, c)
	}
	*vals["CARREL_PRIVACY_CONTACT"] = ""
	if c, err = parseConfig(vals); err != nil || c.Web.PrivacyContact.Set() {
		t.Fatalf("unset: %v %+v", err, c.Web.PrivacyContact)
	}
	*vals["CARREL_DEMO"] = "true"
	if c, err = parseConfig(vals); err != nil || c.Web.PrivacyContact != web.DemoPrivacyContact ||
		!strings.Contains(c.Web.PrivacyContact.Name, "Example") {
		t.Fatalf("demo: %v %+v", err, c.Web.PrivacyContact)
	}
	if code, out, _ := carrel(t, "help"); code != 0 || !strings.Contains(out, "CARREL_PRIVACY_CONTACT") {
		t.Fatalf("help does not list CARREL_PRIVACY_CONTACT (%d)", code)
	}
}
