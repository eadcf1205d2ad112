package main

import (
	"net/url"
	"slices"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
)

// staffRoles are the roles CARREL_STAFF_OIDC_ROLES may name, lowest first.
var staffRoles = []string{models.RoleAssistant, models.RolePrivacyOfficer, models.RoleAdmin}

// parseStaffAuth reads how staff sign in: single sign-on through the
// library's identity provider (CARREL_STAFF_OIDC_*) and whether local
// usernames and passwords stay on (CARREL_STAFF_LOCAL). The provider's
// discovery document is read when serve starts, not here.
func parseStaffAuth(get func(string) string, bad func(env, want string) error, w *web.Config) error {
	switch strings.ToLower(get("CARREL_STAFF_LOCAL")) {
	case "", "on":
	case "off":
		w.StaffLocalOff = true
	default:
		return bad("CARREL_STAFF_LOCAL", "on or off")
	}
	o := web.StaffOIDC{Issuer: get("CARREL_STAFF_OIDC_ISSUER"), Name: get("CARREL_STAFF_OIDC_NAME"),
		ClientID: get("CARREL_STAFF_OIDC_CLIENT_ID"), RolesClaim: get("CARREL_STAFF_OIDC_ROLES_CLAIM")}
	if o.Issuer == "" {
		if w.StaffLocalOff {
			return &configError{"CARREL_STAFF_LOCAL=off needs CARREL_STAFF_OIDC_ISSUER: without an identity provider no staff member could sign in"}
		}
		for _, env := range []string{"CARREL_STAFF_OIDC_CLIENT_ID", "CARREL_STAFF_OIDC_ROLES", "CARREL_STAFF_OIDC_CLIENT_SECRET_FILE"} {
			if get(env) != "" {
				return &configError{env + " is set but CARREL_STAFF_OIDC_ISSUER is not: set the identity provider's issuer URL, or unset " + env}
			}
		}
		return nil
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
		return bad("CARREL_STAFF_OIDC_ISSUER", "an https issuer URL such as https://login.microsoftonline.com/<tenant>/v2.0 (http only to localhost, for testing)")
	}
	if w.PublicURL == "" {
		return &configError{"CARREL_PUBLIC_URL: required with CARREL_STAFF_OIDC_ISSUER: the identity provider sends staff back to <CARREL_PUBLIC_URL>/staff/oidc/callback"}
	}
	if o.ClientID == "" {
		return &configError{"CARREL_STAFF_OIDC_CLIENT_ID: required with CARREL_STAFF_OIDC_ISSUER: the portal's client ID at the identity provider"}
	}
	if o.ClientSecret, err = secretSetting(get, bad, "CARREL_STAFF_OIDC_CLIENT_SECRET"); err != nil {
		return err
	}
	if o.ClientSecret == "" {
		return &configError{"CARREL_STAFF_OIDC_CLIENT_SECRET: required with CARREL_STAFF_OIDC_ISSUER (or CARREL_STAFF_OIDC_CLIENT_SECRET_FILE): the client secret the identity provider gave the portal"}
	}
	if o.RolesClaim == "" {
		o.RolesClaim = "groups"
	} else if strings.ContainsAny(o.RolesClaim, " \t,") {
		return bad("CARREL_STAFF_OIDC_ROLES_CLAIM", "the name of one ID token claim, such as groups or roles")
	}
	if o.Roles, err = parseStaffRoles(get("CARREL_STAFF_OIDC_ROLES")); err != nil {
		return err
	}
	w.StaffOIDC = o
	return nil
}

// parseStaffRoles reads CARREL_STAFF_OIDC_ROLES:
// "role=value[|value...],role=value", each role one of staffRoles, each
// value a group (or role) the ID token's claim may list.
func parseStaffRoles(v string) (map[string][]string, error) {
	const syntax = "CARREL_STAFF_OIDC_ROLES: "
	const example = " (for example assistant=lib-desk,privacy_officer=lib-privacy,admin=lib-it|lib-root)"
	if strings.TrimSpace(v) == "" {
		return nil, &configError{syntax + "required with CARREL_STAFF_OIDC_ISSUER: which groups grant which role" + example}
	}
	roles := map[string][]string{}
	for _, part := range strings.Split(v, ",") {
		role, values, ok := strings.Cut(strings.TrimSpace(part), "=")
		role = strings.TrimSpace(role)
		if !ok {
			return nil, &configError{syntax + "\"" + strings.TrimSpace(part) + "\" is not role=group" + example}
		}
		if !slices.Contains(staffRoles, role) {
			return nil, &configError{syntax + "\"" + role + "\" is not a role: the roles are " + strings.Join(staffRoles, ", ") + example}
		}
		for _, g := range strings.Split(values, "|") {
			if g = strings.TrimSpace(g); g == "" {
				return nil, &configError{syntax + "an empty group for " + role + example}
			}
			roles[role] = append(roles[role], g)
		}
	}
	return roles, nil
}
