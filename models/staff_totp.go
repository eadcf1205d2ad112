package models

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
)

// Second factor policies (CARREL_STAFF_TOTP), as web.Config.StaffTOTP
// spells them.
const (
	TOTPRequiredForOfficers = "required-for-officers"
	TOTPRequired            = "required"
	TOTPOptional            = "optional"
)

// ParseTOTPPolicy reads CARREL_STAFF_TOTP ("" is the default,
// required-for-officers).
func ParseTOTPPolicy(s string) (string, error) {
	switch p := strings.ToLower(strings.TrimSpace(s)); p {
	case "":
		return TOTPRequiredForOfficers, nil
	case TOTPRequiredForOfficers, TOTPRequired, TOTPOptional:
		return p, nil
	}
	return "", errors.New("CARREL_STAFF_TOTP is required-for-officers, required or optional")
}

// SecondFactorRequired reports whether a local staff account of role must
// have a second factor under policy: under required-for-officers (also
// "") privacy officers and admins, under required everyone, under
// optional nobody.
func SecondFactorRequired(policy, role string) bool {
	switch policy {
	case TOTPOptional:
		return false
	case TOTPRequired:
		return true
	}
	return RoleRank(role) >= RoleRank(RolePrivacyOfficer)
}

// HasSecondFactor reports whether the account has enrolled a TOTP
// authenticator.
func (st Staff) HasSecondFactor() bool { return st.TOTPSecret != "" }

// The time-based one-time passwords: RFC 6238 with SHA-1, six digits and
// thirty-second steps, what every authenticator app reads from a QR code;
// a code is accepted one step either side of now, for clocks that drift.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1
	// TOTPIssuer names the portal in the authenticator app.
	TOTPIssuer = "Carrel"
	// RecoveryCodeCount is how many recovery codes an enrolment makes.
	RecoveryCodeCount = 10
	// totpSealPurpose seals the secret in the database.
	totpSealPurpose = "staff-totp-secret"
)

// Audit entries of the second factor (action AuditSecondFactor).
const (
	AuditSecondFactor       = "staff.second_factor"
	SecondFactorEnrolled    = "second factor enrolled"
	SecondFactorRecoveryUse = "recovery code used"
	SecondFactorReset       = "second factor reset (by CLI)"
)

// ErrSecondFactorCode refuses a confirmation code at enrolment that does
// not match the new secret.
var ErrSecondFactorCode = errors.New("models: the code does not match the new authenticator")

// NewTOTPKey makes a new random secret for the staff member username, as
// an authenticator app reads it: Secret() is its base32 text, URL() the
// otpauth:// address a QR code holds.
func NewTOTPKey(username string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{
		Issuer: TOTPIssuer, AccountName: username, Period: totpPeriod,
		SecretSize: 20, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
}

// TOTPKeyFromSecret is the key for a base32 secret made earlier (an
// enrolment under way, or the demo's fixed secret).
func TOTPKeyFromSecret(username, secret string) (*otp.Key, error) {
	q := url.Values{"algorithm": {"SHA1"}, "digits": {"6"}, "issuer": {TOTPIssuer},
		"period": {strconv.Itoa(totpPeriod)}, "secret": {secret}}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + TOTPIssuer + ":" + username, RawQuery: q.Encode()}
	return otp.NewKeyFromURL(u.String())
}

// TOTPCode is the code for secret at t (tests and the demo's help).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts())
}

func totpOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: totpPeriod, Skew: totpSkew, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
}

// totpStep finds the time step at which code is secret's, within the skew
// around now, comparing in constant time; 0 when none.
func totpStep(secret, code string, now time.Time) int64 {
	var found int64
	for d := -totpSkew; d <= totpSkew; d++ {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts())
		if err == nil && hmac.Equal([]byte(want), []byte(code)) {
			found = t.Unix() / totpPeriod
		}
	}
	return found
}

// normalizeCode strips what people type around a code: spaces and
// dashes; letters are lowercased, and Crockford's look-alikes (o, i, l)
// read as the digits they resemble.
func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		case 'o', 'O':
			return '0'
		case 'i', 'I', 'l', 'L':
			return '1'
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, strings.TrimSpace(code))
}

func isTOTPCode(code string) bool {
	return len(code) == 6 && strings.Trim(code, "0123456789") == ""
}

// recoveryAlphabet is Crockford's base32: no i, l, o or u to misread.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newRecoveryCode is ten random characters (50 bits) shown in two groups
// of five.
func newRecoveryCode() string {
	b := RandomBytes(10)
	out := make([]byte, 0, 11)
	for i, x := range b {
		if i == 5 {
			out = append(out, '-')
		}
		out = append(out, recoveryAlphabet[x&31])
	}
	return string(out)
}

// recoveryHash is how a recovery code is stored: keyed under the server
// key (its id first, so codes made before a rotation still verify while
// the old key stays configured) and bound to the account.
func (k *Keys) recoveryHash(id string, staffID int64, code string) (string, bool) {
	sum, ok := k.macWith(id, "staff-recovery-code", strconv.FormatInt(staffID, 10)+":"+code)
	if !ok {
		return "", false
	}
	return id + "$" + fmt.Sprintf("%x", sum), true
}

// EnrolSecondFactor saves secret (base32, from NewTOTPKey) as the staff
// member's authenticator once code shows that the app holds it, and
// returns ten new recovery codes, to be shown once. Enrolling again
// replaces the secret and every recovery code. The accepted code's time
// step is used up. Audited.
func (s *Store) EnrolSecondFactor(ctx context.Context, staffID int64, secret, code string) ([]string, error) {
	if s.OnSecretCheck != nil {
		s.OnSecretCheck()
	}
	step := totpStep(secret, normalizeCode(code), s.Now())
	if step == 0 {
		return nil, ErrSecondFactorCode
	}
	codes := make([]string, RecoveryCodeCount)
	now := s.Now()
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Staff{}).Where("id = ? AND disabled_at IS NULL", staffID).UpdateColumns(map[string]any{
			"totp_secret": s.Keys.Seal(totpSealPurpose, []byte(secret)), "totp_enrolled_at": now, "totp_last_step": step,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Where("staff_id = ?", staffID).Delete(&StaffRecoveryCode{}).Error; err != nil {
			return err
		}
		rows := make([]StaffRecoveryCode, len(codes))
		for i := range codes {
			codes[i] = newRecoveryCode()
			h, _ := s.Keys.recoveryHash(s.Keys.currentID(), staffID, normalizeCode(codes[i]))
			rows[i] = StaffRecoveryCode{StaffID: staffID, CodeHash: h, CreatedAt: now}
		}
		if err := tx.Create(&rows).Error; err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditSecondFactor, Detail: SecondFactorEnrolled})
	})
	if err != nil {
		return nil, fmt.Errorf("models: enrol second factor: %w", err)
	}
	return codes, nil
}

// CheckSecondFactor checks the second step of a staff sign-in: a code
// from the authenticator app, or one of the recovery codes. It has the
// lockout and pacing of the password step (throttled, under its own
// account key), and the attempt is counted before the code is checked, so
// a locked account's codes are not checked at all. A code is accepted
// once: its time step is stored with a conditional update, so the same
// code presented again, even at once in another session, is refused; a
// recovery code is marked used the same way. It reports whether a
// recovery code was used (audited).
func (s *Store) CheckSecondFactor(ctx context.Context, staffID int64, code string) (recovery bool, err error) {
	var st Staff
	if err := s.db(ctx).Where("id = ? AND disabled_at IS NULL", staffID).Take(&st).Error; err != nil {
		return false, notFound(err)
	}
	if !st.HasSecondFactor() {
		return false, ErrBadCredentials
	}
	code = normalizeCode(code)
	err = s.throttled(ctx, "staff-totp:"+st.Username, func() (bool, error) {
		if s.OnSecretCheck != nil {
			s.OnSecretCheck()
		}
		if isTOTPCode(code) {
			secret, err := s.Keys.Open(totpSealPurpose, st.TOTPSecret)
			if err != nil {
				return false, fmt.Errorf("models: second factor of staff %d: %w", st.ID, err)
			}
			step := totpStep(string(secret), code, s.Now())
			if step == 0 {
				return false, nil
			}
			res := s.db(ctx).Model(&Staff{}).Where("id = ? AND totp_last_step < ?", st.ID, step).
				UpdateColumn("totp_last_step", step)
			return res.RowsAffected == 1, res.Error
		}
		if len(code) != 10 {
			return false, nil
		}
		var ok bool
		err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
			for _, kid := range s.Keys.ids {
				h, _ := s.Keys.recoveryHash(kid, st.ID, code)
				res := tx.Model(&StaffRecoveryCode{}).Where("staff_id = ? AND code_hash = ? AND used_at IS NULL", st.ID, h).
					UpdateColumn("used_at", s.Now())
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 1 {
					ok = true
					// The sign-in it completes uses up the current time
					// step too, so the pending sign-in cannot be replayed.
					if err := tx.Model(&Staff{}).Where("id = ? AND totp_last_step < ?", st.ID, s.Now().Unix()/totpPeriod).
						UpdateColumn("totp_last_step", s.Now().Unix()/totpPeriod).Error; err != nil {
						return err
					}
					return s.AppendAudit(tx, &AuditEntry{StaffID: &st.ID, Action: AuditSecondFactor, Detail: SecondFactorRecoveryUse})
				}
			}
			return nil
		})
		recovery = ok
		return ok, err
	}, nil)
	if err != nil {
		return false, err
	}
	return recovery, nil
}

// RecoveryCodesLeft counts the staff member's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, staffID int64) (int64, error) {
	var n int64
	err := s.db(ctx).Model(&StaffRecoveryCode{}).Where("staff_id = ? AND used_at IS NULL", staffID).Count(&n).Error
	return n, err
}

// StaffSignedIn records a completed staff sign-in in the audit log, with
// how it was done (method: "password", "password and authenticator
// code", ...).
func (s *Store) StaffSignedIn(ctx context.Context, staffID int64, method string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditStaffSignIn, Detail: method})
	})
}

// StaffPasswordStep checks a staff username and password with the same
// lockout, pacing and uniform refusal as patron sign-in (a disabled
// account is refused like a wrong password), without signing anyone in:
// a second step may follow. Nothing is audited here; the sign-in is, once
// complete (StaffSignedIn), naming the method.
func (s *Store) StaffPasswordStep(ctx context.Context, username, password string) (Staff, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var found Staff
	err := s.authenticate(ctx, "staff:"+username, password, func() (string, error) {
		err := s.db(ctx).Where("username = ? AND disabled_at IS NULL", username).Take(&found).Error
		if err := notFound(err); err != nil {
			return "", err
		}
		return found.PasswordHash, nil
	}, func(hash string) error {
		if hash == "" {
			return nil
		}
		return s.db(ctx).Model(&Staff{}).Where("id = ?", found.ID).UpdateColumn("password_hash", hash).Error
	})
	if err != nil {
		return Staff{}, err
	}
	return found, nil
}

// ResetSecondFactor removes a staff member's authenticator and recovery
// codes (a lost phone), and ends their sessions; at the next sign-in they
// enrol again if their role needs a second factor. Audited.
func (s *Store) ResetSecondFactor(ctx context.Context, username string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var st Staff
		if err := tx.Where("username = ?", strings.ToLower(strings.TrimSpace(username))).Take(&st).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&Staff{}).Where("id = ?", st.ID).UpdateColumns(map[string]any{
			"totp_secret": "", "totp_enrolled_at": nil, "totp_last_step": 0,
		}).Error; err != nil {
			return err
		}
		if err := tx.Where("staff_id = ?", st.ID).Delete(&StaffRecoveryCode{}).Error; err != nil {
			return err
		}
		if _, err := s.endSessions(tx, AssistEndedSession, "staff_id = ?", st.ID); err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &st.ID, Action: AuditSecondFactor, Detail: SecondFactorReset})
	})
}
