package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// staffOIDCSettings are good single sign-on settings; each case below
// spoils one.
func staffOIDCSettings() map[string]*string {
	vals := defaultSettings()
	set := func(env, v string) { *vals[env] = v }
	set("CARREL_PUBLIC_URL", "https://privacy.library.example")
	set("CARREL_STAFF_OIDC_ISSUER", "https://login.library.example/realms/staff")
	set("CARREL_STAFF_OIDC_CLIENT_ID", "carrel")
	set("CARREL_STAFF_OIDC_ROLES", "assistant=lib-desk, privacy_officer=lib-privacy ,admin=lib-it|lib-root")
	return vals
}

// TestStaffOIDCSettingsAreParsed: good settings reach web.Config, the
// secret from the environment or from its file (the file wins), the roles
// claim defaulting to groups and the button to the issuer's host.
func TestStaffOIDCSettingsAreParsed(t *testing.T) {
	isolate(t)
	t.Setenv("CARREL_STAFF_OIDC_CLIENT_SECRET", "from-the-environment")
	c, err := parseConfig(staffOIDCSettings())
	if err != nil {
		t.Fatal(err)
	}
	o := c.Web.StaffOIDC
	want := map[string][]string{"assistant": {"lib-desk"}, "privacy_officer": {"lib-privacy"}, "admin": {"lib-it", "lib-root"}}
	if o.Issuer != "https://login.library.example/realms/staff" || o.ClientID != "carrel" || o.ClientSecret != "from-the-environment" ||
		o.RolesClaim != "groups" || !reflect.DeepEqual(o.Roles, want) || c.Web.StaffLocalOff {
		t.Fatalf("parsed: %+v (local off %v)", o, c.Web.StaffLocalOff)
	}
	file := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(file, []byte("from-the-file\n"), 0o600)
	vals := staffOIDCSettings()
	*vals["CARREL_STAFF_OIDC_CLIENT_SECRET_FILE"] = file
	*vals["CARREL_STAFF_OIDC_ROLES_CLAIM"] = "roles"
	*vals["CARREL_STAFF_LOCAL"] = "off"
	if c, err = parseConfig(vals); err != nil {
		t.Fatal(err)
	}
	if c.Web.StaffOIDC.ClientSecret != "from-the-file" || c.Web.StaffOIDC.RolesClaim != "roles" || !c.Web.StaffLocalOff {
		t.Fatalf("parsed: %+v (local off %v)", c.Web.StaffOIDC, c.Web.StaffLocalOff)
	}
	// Loopback http is for testing against a provider on the same machine.
	vals = staffOIDCSettings()
	*vals["CARREL_STAFF_OIDC_ISSUER"] = "http://127.0.0.1:8080/realms/test"
	if _, err := parseConfig(vals); err != nil {
		t.Errorf("a loopback http issuer: %v", err)
	}
}

// TestStaffOIDCSettingsAreRefused: each bad or missing piece stops serve
// with a message naming the setting and what it wants.
func TestStaffOIDCSettingsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    map[string]string
		secret string
		want   string
	}{
		{"http issuer", map[string]string{"CARREL_STAFF_OIDC_ISSUER": "http://login.library.example"}, "s", "CARREL_STAFF_OIDC_ISSUER (--staff-oidc-issuer): \"http://login.library.example\" is not an https issuer URL"},
		{"not a URL", map[string]string{"CARREL_STAFF_OIDC_ISSUER": "login.library.example"}, "s", "is not an https issuer URL"},
		{"no client id", map[string]string{"CARREL_STAFF_OIDC_CLIENT_ID": ""}, "s", "CARREL_STAFF_OIDC_CLIENT_ID: required with CARREL_STAFF_OIDC_ISSUER"},
		{"no secret", nil, "", "CARREL_STAFF_OIDC_CLIENT_SECRET: required"},
		{"unreadable secret file", map[string]string{"CARREL_STAFF_OIDC_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "", "CARREL_STAFF_OIDC_CLIENT_SECRET_FILE (--staff-oidc-client-secret-file): \"/nonexistent/secret\" is not a readable file"},
		{"no public URL", map[string]string{"CARREL_PUBLIC_URL": ""}, "s", "CARREL_PUBLIC_URL: required with CARREL_STAFF_OIDC_ISSUER"},
		{"no roles", map[string]string{"CARREL_STAFF_OIDC_ROLES": ""}, "s", "CARREL_STAFF_OIDC_ROLES: required with CARREL_STAFF_OIDC_ISSUER"},
		{"unknown role", map[string]string{"CARREL_STAFF_OIDC_ROLES": "librarian=lib-desk"}, "s", "\"librarian\" is not a role: the roles are assistant, privacy_officer, admin"},
		{"no equals", map[string]string{"CARREL_STAFF_OIDC_ROLES": "assistant:lib-desk"}, "s", "\"assistant:lib-desk\" is not role=group"},
		{"empty group", map[string]string{"CARREL_STAFF_OIDC_ROLES": "admin=lib-it|"}, "s", "an empty group for admin"},
		{"two claims", map[string]string{"CARREL_STAFF_OIDC_ROLES_CLAIM": "groups, roles"}, "s", "is not the name of one ID token claim"},
		{"local off without an issuer", map[string]string{"CARREL_STAFF_OIDC_ISSUER": "", "CARREL_STAFF_OIDC_CLIENT_ID": "", "CARREL_STAFF_OIDC_ROLES": "", "CARREL_STAFF_LOCAL": "off"}, "", "CARREL_STAFF_LOCAL=off needs CARREL_STAFF_OIDC_ISSUER"},
		{"local neither on nor off", map[string]string{"CARREL_STAFF_LOCAL": "maybe"}, "s", "CARREL_STAFF_LOCAL (--staff-local): \"maybe\" is not on or off"},
		{"client id without an issuer", map[string]string{"CARREL_STAFF_OIDC_ISSUER": ""}, "", "CARREL_STAFF_OIDC_CLIENT_ID is set but CARREL_STAFF_OIDC_ISSUER is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			if tc.secret != "" {
				t.Setenv("CARREL_STAFF_OIDC_CLIENT_SECRET", tc.secret)
			}
			vals := staffOIDCSettings()
			for k, v := range tc.set {
				*vals[k] = v
			}
			_, err := parseConfig(vals)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "from-the-environment") || (tc.secret != "" && strings.Contains(err.Error(), "\""+tc.secret+"\"")) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// TestStaffOIDCSecretIsEnvironmentOnly: the client secret never becomes a
// flag (it would show in a process list and in --help).
func TestStaffOIDCSecretIsEnvironmentOnly(t *testing.T) {
	for _, s := range settings {
		if s.env == "CARREL_STAFF_OIDC_CLIENT_SECRET" {
			t.Fatal("CARREL_STAFF_OIDC_CLIENT_SECRET is a flag")
		}
	}
	found := false
	for _, e := range envOnly {
		found = found || e.env == "CARREL_STAFF_OIDC_CLIENT_SECRET"
	}
	if !found {
		t.Error("CARREL_STAFF_OIDC_CLIENT_SECRET is not listed among the environment-only secrets")
	}
}
