package models

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
)

// API keys let a system (the ILS) post to the portal's API. A key reads
//
//	carrel_<prefix>_<secret>
//
// where the prefix (12 hex digits) finds the row and the secret (256
// random bits) proves the caller holds the key. Only
//
//	<key id>$<HMAC-SHA256(subkey "api-key", prefix "_" secret), hex>
//
// is stored: the secret has full entropy, so a keyed hash is enough (no
// bcrypt), and a copy of the database without the server key cannot be
// used to test guesses. The key ID says which server key made the hash,
// so keys keep working across a rotation and are rehashed at first use.

// APIKeyPrefix starts every API key, so that a key pasted into the wrong
// place is recognisable (and secret scanners can find it).
const APIKeyPrefix = "carrel_"

// ErrBadAPIKey refuses an API key that is malformed, unknown, revoked or
// wrong. Which of these it was is deliberately not told.
var ErrBadAPIKey = errors.New("API key not valid")

var apiKeyNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// lastUsedEvery is how stale last_used_at may get: a busy key writes its
// row at most once a minute.
const lastUsedEvery = time.Minute

// AddAPIKey creates a key named name and returns it with the whole key,
// which is shown once and never stored. Creating it is audited.
func (s *Store) AddAPIKey(ctx context.Context, name string) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	if !apiKeyNamePattern.MatchString(name) {
		return APIKey{}, "", &InputError{Field: "name", Message: "A key's name is 1 to 64 letters, digits, spaces, dots, hyphens or underscores, starting with a letter or digit."}
	}
	prefix := hex.EncodeToString(RandomBytes(6))
	secret := base64.RawURLEncoding.EncodeToString(RandomBytes(32))
	k := APIKey{Name: name, Prefix: prefix, SecretHash: s.apiKeyHash(s.Keys.currentID(), s.Keys.keys[0], prefix, secret), CreatedAt: s.Now()}
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&k).Error; err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "API key added: " + name + " (prefix " + prefix + ")"})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return APIKey{}, "", &InputError{Field: "name", Message: "A key named " + name + " exists already (revoked keys keep their names)."}
	}
	if err != nil {
		return APIKey{}, "", fmt.Errorf("models: add API key: %w", err)
	}
	return k, APIKeyPrefix + prefix + "_" + secret, nil
}

// APIKeys lists every key, oldest first, revoked ones included.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	if err := s.db(ctx).Order("created_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list API keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey stops the key named name from being accepted, at once.
// It is ErrNotFound when no such key is active. Revoking is audited.
func (s *Store) RevokeAPIKey(ctx context.Context, name string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&APIKey{}).Where("name = ? AND revoked_at IS NULL", strings.TrimSpace(name)).UpdateColumn("revoked_at", s.Now())
		if res.Error != nil {
			return fmt.Errorf("models: revoke API key: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "API key revoked: " + strings.TrimSpace(name)})
	})
}

// AuthenticateAPIKey returns the active key that token is, or
// ErrBadAPIKey. The secret is compared in constant time, and an unknown
// prefix costs the same hashing as a known one. The key's last use is
// recorded (at most once a minute), and a hash made under an old server
// key is replaced by one under the current key.
func (s *Store) AuthenticateAPIKey(ctx context.Context, token string) (APIKey, error) {
	prefix, secret, ok := splitAPIKey(token)
	var k APIKey
	if ok {
		if err := s.db(ctx).Where("prefix = ?", prefix).Limit(1).Find(&k).Error; err != nil {
			return APIKey{}, fmt.Errorf("models: find API key: %w", err)
		}
	}
	kid, stored, found := strings.Cut(k.SecretHash, "$")
	key, known := s.Keys.byID(kid)
	if !found || !known {
		// Unknown prefix (or a hash under a key we no longer have): do
		// the same work, then refuse.
		kid, key, stored = s.Keys.currentID(), s.Keys.keys[0], strings.Repeat("0", 64)
	}
	got := s.apiKeyHash(kid, key, prefix, secret)
	_, gotMAC, _ := strings.Cut(got, "$")
	match := hmac.Equal([]byte(gotMAC), []byte(stored))
	if !ok || k.ID == 0 || !found || !known || !match || k.RevokedAt != nil {
		return APIKey{}, ErrBadAPIKey
	}
	now := s.Now()
	updates := map[string]any{"last_used_at": now}
	if kid != s.Keys.currentID() {
		updates["secret_hash"] = s.apiKeyHash(s.Keys.currentID(), s.Keys.keys[0], prefix, secret)
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedEvery || len(updates) > 1 {
		err := s.db(ctx).Model(&APIKey{}).Where("id = ? AND revoked_at IS NULL", k.ID).UpdateColumns(updates).Error
		if err != nil {
			return APIKey{}, fmt.Errorf("models: record API key use: %w", err)
		}
		k.LastUsedAt = &now
	}
	return k, nil
}

// splitAPIKey takes "carrel_<prefix>_<secret>" apart.
func splitAPIKey(token string) (prefix, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, APIKeyPrefix)
	if !ok || len(token) > 200 {
		return "", "", false
	}
	prefix, secret, ok = strings.Cut(rest, "_")
	if !ok || len(prefix) != 12 || secret == "" {
		return "", "", false
	}
	if _, err := hex.DecodeString(prefix); err != nil {
		return "", "", false
	}
	return prefix, secret, true
}

// apiKeyHash is the stored form of a key's secret under one server key.
func (s *Store) apiKeyHash(kid string, key []byte, prefix, secret string) string {
	return kid + "$" + hex.EncodeToString(mac(derive(key, "api-key"), prefix+"_"+secret))
}
