package models_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// keyID returns the key identifier of a stored secret hash,
// "v1$<key id>$<bcrypt>".
func keyID(t *testing.T, stored string) string {
	t.Helper()
	parts := strings.SplitN(stored, "$", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		t.Fatalf("stored hash %q is not v1$<key id>$<hash>", stored)
	}
	return parts[1]
}

func bcryptPart(t *testing.T, stored string) []byte {
	t.Helper()
	parts := strings.SplitN(stored, "$", 3)
	if len(parts) != 3 {
		t.Fatalf("stored hash %q is not v1$<key id>$<hash>", stored)
	}
	return []byte(parts[2])
}

func mustKeys(t *testing.T, keys ...[]byte) *models.Keys {
	t.Helper()
	k, err := models.NewKeys(keys...)
	if err != nil {
		t.Fatalf("NewKeys: %v", err)
	}
	return k
}

func mustStore(t *testing.T, db modeltest.DB, clock models.Clock, cost int, keys ...[]byte) *models.Store {
	t.Helper()
	s, err := models.NewStore(db.Gorm, clock, mustKeys(t, keys...), cost)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return s
}

var (
	keyA = bytes.Repeat([]byte{0xA1}, 32)
	keyB = bytes.Repeat([]byte{0xB2}, 32)
	keyC = bytes.Repeat([]byte{0xC3}, 48)
)

func TestHashSecretThenSignIn(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	cases := []struct{ name, card, typed, pin string }{
		{"four-digit PIN", "21000000000001", "21000000000001", "4821"},
		{"six-digit PIN typed with spaces", "21000000000002", " 2100 0000 0000 02 ", "482915"},
		{"long passphrase typed with dashes", "21000000000003", "2100-0000-0000-03", "correct horse battery staple"},
	}
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					p := createPatron(t, s, tc.card, tc.pin)
					stored := storedPINHash(t, db.Gorm, p.ID)
					if !strings.HasPrefix(stored, "v1$") {
						t.Errorf("stored hash %q does not start with v1$", stored)
					}
					if strings.Contains(stored, tc.pin) {
						t.Errorf("stored hash %q contains the PIN", stored)
					}
					// Keyed: bcrypt of the PIN alone does not match, so a
					// copy of the database is not enough to test PINs.
					if bcrypt.CompareHashAndPassword(bcryptPart(t, stored), []byte(tc.pin)) == nil {
						t.Errorf("the stored hash verifies the bare PIN without the server key")
					}
					again, err := s.HashSecret(ctx, tc.pin)
					if err != nil {
						t.Fatalf("HashSecret: %v", err)
					}
					if again == stored {
						t.Errorf("two hashes of the same PIN are equal: not salted")
					}

					if _, err := s.AuthenticatePatron(ctx, tc.typed, tc.pin+"0"); !errors.Is(err, models.ErrBadCredentials) {
						t.Errorf("wrong PIN: err = %v, want ErrBadCredentials", err)
					}
					got, err := s.AuthenticatePatron(ctx, tc.typed, tc.pin)
					if err != nil {
						t.Fatalf("AuthenticatePatron: %v", err)
					}
					if got.ID != p.ID {
						t.Errorf("signed in as patron %d, want %d", got.ID, p.ID)
					}
					if got.LastSignInAt != nil {
						t.Errorf("first sign-in returned LastSignInAt = %v, want the patron as before (nil)", got.LastSignInAt)
					}
					after, err := s.Patron(ctx, p.ID)
					if err != nil {
						t.Fatalf("Patron: %v", err)
					}
					if after.LastSignInAt == nil || !after.LastSignInAt.Equal(s.Now()) {
						t.Errorf("last_sign_in_at = %v, want %v", after.LastSignInAt, s.Now())
					}
					if h := storedPINHash(t, db.Gorm, p.ID); h != stored {
						t.Errorf("pin_hash changed on a sign-in under the current key and cost")
					}
				})
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			const card, pin = "21000000000001", "4821"
			storeA := mustStore(t, db, clock, 4, keyA)
			storeBA := mustStore(t, db, clock, 4, keyB, keyA)
			storeB := mustStore(t, db, clock, 4, keyB)

			p := createPatron(t, storeA, card, pin)
			oldHash := storedPINHash(t, db.Gorm, p.ID)
			hashB, err := storeB.HashSecret(ctx, pin)
			if err != nil {
				t.Fatalf("HashSecret: %v", err)
			}
			if keyID(t, oldHash) == keyID(t, hashB) {
				t.Fatalf("keys A and B have the same id %s", keyID(t, hashB))
			}

			// B is current and A retired: the old hash still verifies, and is
			// replaced by one under B.
			if _, err := storeBA.AuthenticatePatron(ctx, card, pin); err != nil {
				t.Fatalf("sign-in with keys (B, A) over a hash under A: %v", err)
			}
			newHash := storedPINHash(t, db.Gorm, p.ID)
			if newHash == oldHash {
				t.Fatalf("pin_hash was not replaced after signing in with a retired key")
			}
			if got, want := keyID(t, newHash), keyID(t, hashB); got != want {
				t.Errorf("new hash is under key %s, want key B (%s)", got, want)
			}
			if _, err := storeBA.AuthenticatePatron(ctx, card, pin); err != nil {
				t.Fatalf("second sign-in with keys (B, A): %v", err)
			}
			if h := storedPINHash(t, db.Gorm, p.ID); h != newHash {
				t.Errorf("pin_hash replaced again although it is under the current key")
			}

			// With A dropped, the rehashed PIN works and the old hash does not.
			if _, err := storeB.AuthenticatePatron(ctx, card, pin); err != nil {
				t.Errorf("sign-in with key B alone over the rehashed PIN: %v", err)
			}
			if _, err := storeA.AuthenticatePatron(ctx, card, pin); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("sign-in with key A alone over a hash under B: err = %v, want ErrBadCredentials", err)
			}
			if err := db.Gorm.WithContext(ctx).Exec("UPDATE patrons SET pin_hash = ? WHERE id = ?",
				oldHash, p.ID).Error; err != nil {
				t.Fatalf("restore old hash: %v", err)
			}
			if _, err := storeB.AuthenticatePatron(ctx, card, pin); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("sign-in with key B alone over a hash under A: err = %v, want ErrBadCredentials", err)
			}
			if h := storedPINHash(t, db.Gorm, p.ID); h != oldHash {
				t.Errorf("a refused sign-in changed pin_hash")
			}
		})
	}
}

func TestSignInUpgradesHashCost(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			cheap := mustStore(t, db, clock, 4, keyA)
			dearer := mustStore(t, db, clock, 5, keyA)
			p := createPatron(t, cheap, "21000000000001", "4821")
			if _, err := dearer.AuthenticatePatron(ctx, p.CardNumber, "4821"); err != nil {
				t.Fatalf("AuthenticatePatron: %v", err)
			}
			stored := storedPINHash(t, db.Gorm, p.ID)
			if cost, err := bcrypt.Cost(bcryptPart(t, stored)); err != nil || cost != 5 {
				t.Errorf("bcrypt cost after signing in = %d, %v; want 5", cost, err)
			}
			if _, err := cheap.AuthenticatePatron(ctx, p.CardNumber, "4821"); err != nil {
				t.Errorf("sign-in over the upgraded hash: %v", err)
			}
		})
	}
}

func TestHashUnderUnknownKeyIsRefused(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			server := mustStore(t, db, clock, 4, keyA, keyB)
			elsewhere := mustStore(t, db, clock, 4, keyC)
			p := createPatron(t, elsewhere, "21000000000001", "4821")
			stored := storedPINHash(t, db.Gorm, p.ID)

			for i := 1; i < models.DefaultSigninLimits().MaxFailures; i++ {
				if _, err := server.AuthenticatePatron(ctx, p.CardNumber, "4821"); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("attempt %d with the right PIN under an unknown key: err = %v, want ErrBadCredentials", i, err)
				}
			}
			// The refusals count as failures like any other.
			var locked *models.LockedError
			if _, err := server.AuthenticatePatron(ctx, p.CardNumber, "4821"); !errors.As(err, &locked) {
				t.Errorf("last allowed attempt: err = %v, want *LockedError", err)
			}
			if h := storedPINHash(t, db.Gorm, p.ID); h != stored {
				t.Errorf("a refused sign-in changed pin_hash")
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	key32 := bytes.Repeat([]byte{0x5a, 0xfe, 0x01, 0xff}, 8)
	key48 := append(bytes.Repeat([]byte{0x3e, 0x3f}, 20), "carrel!!"...)
	short := key32[:31]
	// mac identifies the current key of a set by what it computes.
	mac := func(keys ...[]byte) string { return mustKeys(t, keys...).MAC("test", "message") }

	cases := []struct {
		name    string
		in      string
		current []byte // nil: must be refused
	}{
		{"hex", hex.EncodeToString(key32), key32},
		{"upper-case hex", strings.ToUpper(hex.EncodeToString(key32)), key32},
		{"standard base64", base64.StdEncoding.EncodeToString(key32), key32},
		{"unpadded standard base64", base64.RawStdEncoding.EncodeToString(key32), key32},
		{"URL base64 with - and _", base64.URLEncoding.EncodeToString(key32), key32},
		{"unpadded URL base64", base64.RawURLEncoding.EncodeToString(key48), key48},
		{"surrounding space", "  " + hex.EncodeToString(key48) + "\n", key48},
		{"two keys, current first", base64.StdEncoding.EncodeToString(key48) + ", " + hex.EncodeToString(key32), key48},
		{"empty items are skipped", hex.EncodeToString(key32) + ",,", key32},

		{"hex key of 31 bytes", hex.EncodeToString(short), nil},
		{"base64 key of 31 bytes", base64.StdEncoding.EncodeToString(short), nil},
		{"one good key, one short", hex.EncodeToString(key32) + "," + hex.EncodeToString(short), nil},
		{"nothing", "", nil},
		{"only commas", " , ,", nil},
		{"a sentence", "this is not a secret key at all, is it?", nil},
		{"punctuation", strings.Repeat("%$#!", 16), nil},
		{"one good key, one garbage", hex.EncodeToString(key32) + ",not*a*key", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := models.ParseKeys(tc.in)
			if tc.current == nil {
				if err == nil {
					t.Fatalf("ParseKeys(%q) accepted", tc.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeys(%q): %v", tc.in, err)
			}
			if got, want := keys.MAC("test", "message"), mac(tc.current); got != want {
				t.Errorf("ParseKeys(%q) made another key current", tc.in)
			}
		})
	}

	t.Run("generated keys parse", func(t *testing.T) {
		g := models.GenerateKey()
		if _, err := models.ParseKeys(g); err != nil {
			t.Errorf("ParseKeys(GenerateKey() = %q): %v", g, err)
		}
		if g == models.GenerateKey() {
			t.Errorf("GenerateKey returned the same key twice")
		}
	})
}
