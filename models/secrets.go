package models

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Secrets (patron PINs and staff passwords) are stored as
//
//	v1$<key id>$<bcrypt of base64(HMAC-SHA256(subkey, secret))>
//
// The HMAC under a server key that is not in the database means a copy of
// the database is not enough to recover a 4-digit PIN by trying all 10,000
// (NIST SP 800-63B 5.1.1.2 asks for this keyed step). bcrypt then makes each
// guess slow even for someone who holds the key. bcrypt rather than
// argon2id because its memory cost is tiny: a burst of sign-ins cannot push
// the server over its memory budget.

const secretPrefix = "v1$"

// hashSecret hashes a PIN or password under the current key.
func (s *Store) hashSecret(ctx context.Context, secret string) (string, error) {
	if err := s.acquireHasher(ctx); err != nil {
		return "", err
	}
	defer s.releaseHasher()
	h, err := bcrypt.GenerateFromPassword(s.peppered(s.Keys.keys[0], secret), s.HashCost)
	if err != nil {
		return "", fmt.Errorf("models: hash secret: %w", err)
	}
	return secretPrefix + s.Keys.currentID() + "$" + string(h), nil
}

// HashSecret hashes a PIN or password for storage.
func (s *Store) HashSecret(ctx context.Context, secret string) (string, error) {
	return s.hashSecret(ctx, secret)
}

func (s *Store) peppered(key []byte, secret string) []byte {
	return []byte(base64.StdEncoding.EncodeToString(mac(derive(key, "secret-hash"), secret)))
}

// errUnusableHash says a stored hash cannot be checked: it was made under
// a key the server no longer has, or is not in our format (say, imported
// from elsewhere). Either way the sign-in is refused and counted.
var errUnusableHash = errors.New("models: stored secret hash cannot be checked")

// verifySecret reports whether secret matches stored, and whether stored
// should be replaced because it was made under an old key or a lower cost.
// An empty stored hash is checked against a dummy hash, so that an unknown
// account costs the same time as a known one.
func (s *Store) verifySecret(ctx context.Context, stored, secret string) (ok, rehash bool, err error) {
	if err := s.acquireHasher(ctx); err != nil {
		return false, false, err
	}
	defer s.releaseHasher()
	if s.OnSecretCheck != nil {
		s.OnSecretCheck()
	}
	if stored == "" {
		stored = s.dummyHash
	}
	kid, hash, found := splitSecretHash(stored)
	key, known := s.Keys.byID(kid)
	if !found || !known {
		// Do the same work anyway, then refuse.
		_, hash, _ = splitSecretHash(s.dummyHash)
		_ = bcrypt.CompareHashAndPassword([]byte(hash), s.peppered(s.Keys.keys[0], secret))
		return false, false, errUnusableHash
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), s.peppered(key, secret)); err != nil {
		return false, false, nil
	}
	cost, _ := bcrypt.Cost([]byte(hash))
	return true, kid != s.Keys.currentID() || cost < s.HashCost, nil
}

func splitSecretHash(stored string) (kid, hash string, ok bool) {
	rest, ok := strings.CutPrefix(stored, secretPrefix)
	if !ok {
		return "", "", false
	}
	kid, hash, ok = strings.Cut(rest, "$")
	return kid, hash, ok
}

func (s *Store) acquireHasher(ctx context.Context) error {
	select {
	case s.hashers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) releaseHasher() { <-s.hashers }
