package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Hand-off tokens: what the catalog may send and how long they live.
const (
	HandoffAudience = "carrel"
	HandoffMaxLife  = 120 * time.Second
	HandoffLeeway   = 30 * time.Second
)

// HandoffError says why a hand-off was refused. Code is logged (never the
// token or the card number); the patron sees one friendly page whatever
// the reason.
type HandoffError struct{ Code string }

func (e *HandoffError) Error() string { return "hand-off refused: " + e.Code }

var opacIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// NormalizeOrigin reduces an address to its origin (scheme://host[:port]),
// and refuses anything that is not an http(s) origin.
func NormalizeOrigin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", errors.New("an origin is https://host or https://host:port")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// ParseHTTPSOrigin reads an https origin (https://host or
// https://host:port, nothing after it) and returns it as links are
// compared with it: lowercase, without the default port 443.
func ParseHTTPSOrigin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", errors.New("an https origin is https://host or https://host:port, with nothing after it")
	}
	return linkOrigin(u), nil
}

// linkOrigin is an https address's origin as ParseHTTPSOrigin writes it.
func linkOrigin(u *url.URL) string {
	return "https://" + strings.TrimSuffix(strings.ToLower(u.Host), ":443")
}

// sealPurpose is what a catalog's shared secret is sealed for
// (Keys.Seal): the sealed text names the key that sealed it, so that it
// still opens after the keys rotate, for as long as that key stays
// configured.
const sealPurpose = "opac-secret"

func (s *Store) seal(secret []byte) string {
	return s.Keys.Seal(sealPurpose, secret)
}

// unseal opens a catalog's sealed secret. Secrets sealed before sealing
// named its key (plain base64, no key ID) were sealed under the key then
// current: each configured key is tried, so that rotating the keys does
// not break the catalogs registered before.
func (s *Store) unseal(sealed string) ([]byte, error) {
	if strings.Contains(sealed, ".") { // base64.StdEncoding never has a dot
		return s.Keys.Open(sealPurpose, sealed)
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, errors.New("models: sealed secret unreadable")
	}
	for _, key := range s.Keys.keys {
		block, _ := aes.NewCipher(derive(key, "opac-secret"))
		aead, _ := cipher.NewGCM(block)
		if len(raw) < aead.NonceSize() {
			break
		}
		if plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte("opac")); err == nil {
			return plain, nil
		}
	}
	return nil, ErrUnsealable
}

// AddOPAC registers a catalog and returns its first key's ID and secret,
// which are shown once and never again.
func (s *Store) AddOPAC(ctx context.Context, id, origin string) (kid, secret string, err error) {
	if !opacIDPattern.MatchString(id) {
		return "", "", &InputError{Field: "id", Message: "An OPAC id is lowercase letters, digits, dots, hyphens or underscores."}
	}
	origin, err = NormalizeOrigin(origin)
	if err != nil {
		return "", "", &InputError{Field: "origin", Message: err.Error()}
	}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&OPAC{ID: id, Origin: origin}).Error; err != nil {
			return err
		}
		kid, secret, err = s.addKey(tx, id)
		if err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "catalog added: " + id + " at " + origin})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return "", "", &InputError{Field: "id", Message: "An OPAC with that id exists; use carrel opac rotate to add a key."}
	}
	return kid, secret, err
}

// RotateOPAC adds a new key to a catalog; the old keys stay valid until
// retired, so the catalog can switch without a gap.
func (s *Store) RotateOPAC(ctx context.Context, id string) (kid, secret string, err error) {
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var o OPAC
		if err := tx.Where("id = ?", id).Take(&o).Error; err != nil {
			return notFound(err)
		}
		if kid, secret, err = s.addKey(tx, id); err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "catalog key added: " + id + " " + kid})
	})
	return kid, secret, err
}

// RetireOPACKey stops a key from being accepted.
func (s *Store) RetireOPACKey(ctx context.Context, kid string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&OPACKey{}).Where("kid = ? AND retired_at IS NULL", kid).UpdateColumn("retired_at", s.Now())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "catalog key retired: " + kid})
	})
}

func (s *Store) addKey(tx *gorm.DB, opacID string) (kid, secret string, err error) {
	raw := RandomBytes(32)
	kid = opacID + "-" + hex.EncodeToString(RandomBytes(4))
	k := OPACKey{KID: kid, OPACID: opacID, SealedSecret: s.seal(raw)}
	if err := tx.Create(&k).Error; err != nil {
		return "", "", err
	}
	return kid, base64.RawURLEncoding.EncodeToString(raw), nil
}

// OPACs lists the configured catalogs.
func (s *Store) OPACs(ctx context.Context) ([]OPAC, error) {
	var out []OPAC
	err := s.db(ctx).Order("id").Find(&out).Error
	return out, err
}

// OPACOrigins lists the catalogs' origins, for return addresses.
func (s *Store) OPACOrigins(ctx context.Context) (map[string]bool, error) {
	var origins []string
	if err := s.db(ctx).Model(&OPAC{}).Pluck("origin", &origins).Error; err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, o := range origins {
		out[o] = true
	}
	return out, nil
}

// arrivalLinkOrigins are the origins new arrivals' catalog links may be
// on: the registered catalogs' https origins and ArrivalLinkOrigins.
func (s *Store) arrivalLinkOrigins(ctx context.Context) (map[string]bool, error) {
	registered, err := s.OPACOrigins(ctx)
	if err != nil {
		return nil, fmt.Errorf("models: catalog origins: %w", err)
	}
	out := map[string]bool{}
	for o := range registered {
		if o, err := ParseHTTPSOrigin(o); err == nil {
			out[o] = true
		}
	}
	for _, o := range s.ArrivalLinkOrigins {
		if o, err := ParseHTTPSOrigin(o); err == nil {
			out[o] = true
		}
	}
	return out, nil
}

// secretFor finds an active key by its ID and returns its catalog and
// secret (decoded from the base64 the catalog was given).
func (s *Store) secretFor(ctx context.Context, kid string) (string, []byte, error) {
	var k OPACKey
	if err := s.db(ctx).Where("kid = ? AND retired_at IS NULL", kid).Take(&k).Error; err != nil {
		return "", nil, notFound(err)
	}
	raw, err := s.unseal(k.SealedSecret)
	if err != nil {
		return "", nil, err
	}
	return k.OPACID, []byte(base64.RawURLEncoding.EncodeToString(raw)), nil
}

// HandoffClaims are the claims a catalog signs.
type HandoffClaims struct {
	Return string `json:"ret,omitempty"`
	jwt.RegisteredClaims
}

// MintHandoff signs a hand-off token with a catalog's newest active key,
// as the catalog would: for testing and for `carrel opac mint`.
func (s *Store) MintHandoff(ctx context.Context, opacID, card, ret string) (string, error) {
	var k OPACKey
	if err := s.db(ctx).Where("opac_id = ? AND retired_at IS NULL", opacID).Order("created_at DESC").Take(&k).Error; err != nil {
		return "", notFound(err)
	}
	_, secret, err := s.secretFor(ctx, k.KID)
	if err != nil {
		return "", err
	}
	n := s.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, HandoffClaims{Return: ret, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: opacID, Audience: jwt.ClaimStrings{HandoffAudience}, Subject: card,
		IssuedAt: jwt.NewNumericDate(n), ExpiresAt: jwt.NewNumericDate(n.Add(HandoffMaxLife)), ID: RandomToken(),
	}})
	t.Header["kid"] = k.KID
	return t.SignedString(secret)
}

// CheckHandoff verifies a hand-off token as AcceptHandoff does, including
// that it was not used yet, but does not consume it: for a hand-off that
// must first ask the visitor (someone else is signed in), whose answer
// then consumes it with AcceptHandoff. It returns the patron and the
// signed return address, if any.
func (s *Store) CheckHandoff(ctx context.Context, token string) (Patron, string, error) {
	claims, opacID, err := s.verifyHandoff(ctx, token)
	if err != nil {
		return Patron{}, "", err
	}
	var used int64
	if err := s.db(ctx).Model(&HandoffToken{}).Where("jti = ?", opacID+":"+claims.ID).Count(&used).Error; err != nil {
		return Patron{}, "", fmt.Errorf("models: hand-off check: %w", err)
	}
	if used > 0 {
		return Patron{}, "", &HandoffError{"replayed"}
	}
	var p Patron
	if err := s.db(ctx).Where("card_number = ?", NormalizeCard(claims.Subject)).Take(&p).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Patron{}, "", &HandoffError{"unknown_patron"}
		}
		return Patron{}, "", fmt.Errorf("models: hand-off patron: %w", err)
	}
	return p, claims.Return, nil
}

// AcceptHandoff verifies a hand-off token and consumes it: signature
// (HMAC, compared in constant time by the library), algorithm (HS256
// only), key, issuer (the key's own catalog), audience, expiry with a
// small leeway, a lifetime of at most two minutes, and single use. It
// returns the patron and the signed return address, if any.
func (s *Store) AcceptHandoff(ctx context.Context, token string) (Patron, string, string, error) {
	claims, opacID, err := s.verifyHandoff(ctx, token)
	if err != nil {
		return Patron{}, "", "", err
	}
	var p Patron
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&HandoffToken{JTI: opacID + ":" + claims.ID, OPACID: opacID, ExpiresAt: claims.ExpiresAt.Time.Add(HandoffLeeway)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return &HandoffError{"replayed"}
		}
		if err := tx.Where("card_number = ?", NormalizeCard(claims.Subject)).Take(&p).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return &HandoffError{"unknown_patron"}
			}
			return err
		}
		return tx.Model(&Patron{}).Where("id = ?", p.ID).UpdateColumn("last_sign_in_at", s.Now()).Error
	})
	var he *HandoffError
	if errors.As(err, &he) && he.Code == "unknown_patron" {
		// Keep the token spent even so: it is not to be tried again.
		_ = s.db(ctx).Clauses(clause.OnConflict{DoNothing: true}).
			Create(&HandoffToken{JTI: opacID + ":" + claims.ID, OPACID: opacID, ExpiresAt: claims.ExpiresAt.Time.Add(HandoffLeeway)}).Error
	}
	if err != nil {
		return Patron{}, "", "", err
	}
	return p, claims.Return, opacID, nil
}

// SpendHandoff consumes a hand-off token without signing anyone in: the
// visitor declined it, and a declined token must not work later, from
// the browser's history or anywhere else. A token that does not verify,
// or was spent already, is left as it is.
func (s *Store) SpendHandoff(ctx context.Context, token string) error {
	claims, opacID, err := s.verifyHandoff(ctx, token)
	var he *HandoffError
	if errors.As(err, &he) {
		return nil
	} else if err != nil {
		return err
	}
	err = s.db(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&HandoffToken{JTI: opacID + ":" + claims.ID, OPACID: opacID, ExpiresAt: claims.ExpiresAt.Time.Add(HandoffLeeway)}).Error
	if err != nil {
		return fmt.Errorf("models: spend hand-off: %w", err)
	}
	return nil
}

// verifyHandoff checks everything about a hand-off token but its single
// use, and returns its claims and the catalog whose key signed it.
func (s *Store) verifyHandoff(ctx context.Context, token string) (*HandoffClaims, string, error) {
	if token == "" || len(token) > 4096 {
		return nil, "", &HandoffError{"malformed"}
	}
	var opacID string
	var keyErr error
	claims := &HandoffClaims{}
	parsed, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		id, secret, err := s.secretFor(ctx, kid)
		if err != nil {
			keyErr = err
			return nil, err
		}
		opacID = id
		return secret, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(HandoffAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(HandoffLeeway),
		jwt.WithTimeFunc(s.Now),
		jwt.WithStrictDecoding(),
	)
	switch {
	case keyErr != nil && !errors.Is(keyErr, ErrNotFound):
		return nil, "", fmt.Errorf("models: hand-off key: %w", keyErr)
	case keyErr != nil:
		return nil, "", &HandoffError{"unknown_key"}
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, "", &HandoffError{"expired"}
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, "", &HandoffError{"not_yet_valid"}
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, "", &HandoffError{"wrong_audience"}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, "", &HandoffError{"bad_signature"}
	case errors.Is(err, jwt.ErrTokenUnverifiable) || errors.Is(err, jwt.ErrSignatureInvalid):
		return nil, "", &HandoffError{"bad_algorithm"}
	case err != nil || parsed == nil || !parsed.Valid:
		return nil, "", &HandoffError{"invalid"}
	}
	switch {
	case claims.Issuer != opacID:
		return nil, "", &HandoffError{"wrong_issuer"}
	case claims.Subject == "" || claims.ID == "" || claims.IssuedAt == nil || len(claims.ID) > 200:
		return nil, "", &HandoffError{"missing_claims"}
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > HandoffMaxLife:
		return nil, "", &HandoffError{"too_long_lived"}
	}
	return claims, opacID, nil
}

// SweepHandoffTokens forgets used token IDs once they have expired.
func (s *Store) SweepHandoffTokens(ctx context.Context) error {
	return s.db(ctx).Where("expires_at < ?", s.Now()).Delete(&HandoffToken{}).Error
}
