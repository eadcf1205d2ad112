package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// AuditStaffSignInRefused records a sign-in through the identity provider
// that the portal refused although the provider vouched for the person
// (no role mapped to them, or their account disabled here).
const AuditStaffSignInRefused = "staff.sign_in_refused"

// StaffOIDCStateLife is how long a sign-in through the identity provider
// may take, from the portal sending the browser there to it coming back.
const StaffOIDCStateLife = 10 * time.Minute

// ErrOIDCStateUnknown is a sign-in coming back from the identity provider
// with a state the portal does not hold: never issued, already used, or
// swept after it expired.
var ErrOIDCStateUnknown = errors.New("models: sign-in state unknown or already used")

// ErrOIDCStateExpired is a sign-in that came back after StaffOIDCStateLife.
var ErrOIDCStateExpired = errors.New("models: sign-in state expired")

// ErrStaffDisabled is a staff account disabled in the portal signing in
// through the identity provider: the provider cannot enable it again.
var ErrStaffDisabled = errors.New("models: staff account disabled")

// StartStaffOIDC keeps a sign-in through the identity provider under way:
// the state (stored hashed, so a database reader cannot finish someone
// else's sign-in), the nonce, the PKCE verifier and the page to go to
// afterwards. It expires after StaffOIDCStateLife.
func (s *Store) StartStaffOIDC(ctx context.Context, state, nonce, verifier, next string) error {
	row := StaffOIDCState{StateHash: HashToken(state), Nonce: nonce, CodeVerifier: verifier, NextPath: next,
		ExpiresAt: s.Now().Add(StaffOIDCStateLife).UTC()}
	if err := s.db(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("models: start staff sign-in: %w", err)
	}
	return nil
}

// TakeStaffOIDC takes back a sign-in under way by its state, once: the
// row is deleted by the same call, and only the caller whose delete
// removed it gets it. ErrOIDCStateUnknown when there is none (or another
// request took it first), ErrOIDCStateExpired when it came back too late
// (deleted all the same).
func (s *Store) TakeStaffOIDC(ctx context.Context, state string) (StaffOIDCState, error) {
	var row StaffOIDCState
	h := HashToken(state)
	err := s.db(ctx).Where("state_hash = ?", h).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return StaffOIDCState{}, ErrOIDCStateUnknown
	} else if err != nil {
		return StaffOIDCState{}, fmt.Errorf("models: read staff sign-in: %w", err)
	}
	res := s.db(ctx).Where("state_hash = ?", h).Delete(&StaffOIDCState{})
	if res.Error != nil {
		return StaffOIDCState{}, fmt.Errorf("models: take staff sign-in: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return StaffOIDCState{}, ErrOIDCStateUnknown // a concurrent request took it
	}
	if !s.Now().Before(row.ExpiresAt) {
		return StaffOIDCState{}, ErrOIDCStateExpired
	}
	return row, nil
}

// SweepStaffOIDC deletes the sign-ins under way that expired (the browser
// never came back), and says how many.
func (s *Store) SweepStaffOIDC(ctx context.Context) (int64, error) {
	res := s.db(ctx).Where("expires_at <= ?", s.Now().UTC()).Delete(&StaffOIDCState{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: sweep staff sign-ins: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// OIDCIdentity is a staff member as the identity provider vouched for them
// in a verified ID token, with the role the portal maps their groups to.
type OIDCIdentity struct {
	Issuer, Subject string
	// Username is what the new account's username is made from
	// (preferred_username, else the email's local part); DisplayName the
	// name shown in the portal.
	Username, DisplayName string
	Role                  string
	// Method names the sign-in in the audit log: "single sign-on (host)".
	Method string
}

// SignInStaffOIDC signs in a staff member the identity provider vouched
// for, in one transaction: the account keyed by issuer and subject is
// created at the first sign-in (audited, without a password, so that no
// password ever matches it) or brought up to date at every one (display
// name and role: a role the provider no longer grants is gone now), then
// the sign-in is audited naming the method. An account disabled in the
// portal stays disabled: ErrStaffDisabled, audited as refused.
func (s *Store) SignInStaffOIDC(ctx context.Context, id OIDCIdentity) (st Staff, created bool, err error) {
	if RoleRank(id.Role) == 0 || id.Issuer == "" || id.Subject == "" {
		return Staff{}, false, errors.New("models: staff sign-in needs an issuer, a subject and a role")
	}
	name := strings.TrimSpace(id.DisplayName)
	if len(name) > 200 {
		name = name[:200]
	}
	var disabled bool
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("oidc_issuer = ? AND oidc_subject = ?", id.Issuer, id.Subject).Take(&st).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			username, err := freeUsername(tx, id)
			if err != nil {
				return err
			}
			if name == "" {
				name = username
			}
			iss, sub := id.Issuer, id.Subject
			st = Staff{Username: username, DisplayName: name, Role: id.Role, OIDCIssuer: &iss, OIDCSubject: &sub}
			if err := tx.Create(&st).Error; err != nil {
				return err
			}
			created = true
			if err := s.AppendAudit(tx, &AuditEntry{StaffID: &st.ID, Action: AuditConfigChanged,
				Detail: "staff account created by " + id.Method + ": " + username + " (" + id.Role + ")"}); err != nil {
				return err
			}
		case err != nil:
			return err
		case st.DisabledAt != nil:
			disabled = true
			return s.AppendAudit(tx, &AuditEntry{StaffID: &st.ID, Action: AuditStaffSignInRefused,
				Detail: id.Method + ": the account is disabled in the portal"})
		default:
			if name == "" {
				name = st.DisplayName
			}
			if st.Role != id.Role {
				if err := s.AppendAudit(tx, &AuditEntry{StaffID: &st.ID, Action: AuditConfigChanged,
					Detail: "staff role changed by " + id.Method + ": " + st.Username + " (" + st.Role + " to " + id.Role + ")"}); err != nil {
					return err
				}
			}
			if st.Role != id.Role || st.DisplayName != name {
				if err := tx.Model(&Staff{}).Where("id = ?", st.ID).
					UpdateColumns(map[string]any{"role": id.Role, "display_name": name, "updated_at": s.Now()}).Error; err != nil {
					return err
				}
				st.Role, st.DisplayName = id.Role, name
			}
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &st.ID, Action: AuditStaffSignIn, Detail: id.Method})
	})
	if err != nil {
		return Staff{}, false, fmt.Errorf("models: staff single sign-on: %w", err)
	}
	if disabled {
		return Staff{}, false, ErrStaffDisabled
	}
	return st, created, nil
}

// RefuseStaffOIDC audits a person the identity provider vouched for whom
// the portal refused because none of their groups maps to a role. The
// entry names the provider's subject (its opaque identifier for them, so
// that the library's IT can find whom), never a name or an email.
func (s *Store) RefuseStaffOIDC(ctx context.Context, method, subject string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		return s.AppendAudit(tx, &AuditEntry{Action: AuditStaffSignInRefused,
			Detail: method + ": no role in the portal for subject " + cutUTF8(subject, 100)})
	})
}

// freeUsername makes a new account's username from what the provider
// said (lower case, without spaces or colons, at most 64 characters), with
// a number added when another account has it: a local account is never
// taken over by someone from the provider who shares its name.
func freeUsername(tx *gorm.DB, id OIDCIdentity) (string, error) {
	base := strings.ToLower(strings.TrimSpace(id.Username))
	base = strings.Map(func(r rune) rune {
		if r <= ' ' || r == ':' || r == 0x7f {
			return '-'
		}
		return r
	}, base)
	if base == "" {
		base = "sso-" + HashToken(id.Issuer + " " + id.Subject)[:8]
	}
	base = cutUTF8(base, 56)
	for i := 1; i < 1000; i++ {
		cand := base
		if i > 1 {
			cand = base + "-" + strconv.Itoa(i)
		}
		var n int64
		if err := tx.Model(&Staff{}).Where("username = ?", cand).Count(&n).Error; err != nil {
			return "", err
		}
		if n == 0 {
			return cand, nil
		}
	}
	return "", errors.New("models: no free username for a staff account from single sign-on")
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
