package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MinKeyBytes is the least amount of secret a server key must hold.
const MinKeyBytes = 32

// Keys holds the server's secret keys. They never reach the database: a
// stolen database alone cannot be used to test PINs offline, because every
// PIN hash is keyed with them. The first key is current; the others are
// kept only so that hashes made with them still verify, and are replaced
// by hashes under the current key at the next successful sign-in.
type Keys struct {
	keys [][]byte
	ids  []string
}

// NewKeys builds a key set, current key first.
func NewKeys(keys ...[]byte) (*Keys, error) {
	if len(keys) == 0 {
		return nil, errors.New("no secret key")
	}
	k := &Keys{}
	for _, key := range keys {
		if len(key) < MinKeyBytes {
			return nil, fmt.Errorf("a secret key must be at least %d bytes", MinKeyBytes)
		}
		k.keys = append(k.keys, key)
		k.ids = append(k.ids, hex.EncodeToString(derive(key, "key-id")[:4]))
	}
	return k, nil
}

// ParseKeys reads a comma-separated list of keys, each base64 (standard or
// URL alphabet) or hex encoded, current key first.
func ParseKeys(s string) (*Keys, error) {
	var raw [][]byte
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		b, err := decodeKey(part)
		if err != nil {
			return nil, err
		}
		raw = append(raw, b)
	}
	return NewKeys(raw...)
}

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("a secret key must be hex or base64")
}

// GenerateKey returns a new random key, base64 encoded.
func GenerateKey() string {
	return base64.RawURLEncoding.EncodeToString(RandomBytes(MinKeyBytes))
}

// RandomBytes returns n bytes from the operating system's random source.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("models: no randomness: " + err.Error())
	}
	return b
}

// RandomToken returns an unguessable URL-safe token of 256 bits.
func RandomToken() string {
	return base64.RawURLEncoding.EncodeToString(RandomBytes(32))
}

// HashToken is the form in which a bearer token is stored: its SHA-256.
// The token itself has 256 bits of entropy, so no key or salt is needed.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// derive returns a subkey of key for one purpose, so that no two uses of
// the server secret share a key.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("carrel/" + purpose))
	return m.Sum(nil)
}

// MAC returns a keyed hash of msg under the current key's subkey for
// purpose, hex encoded.
func (k *Keys) MAC(purpose, msg string) string {
	return hex.EncodeToString(mac(derive(k.keys[0], purpose), msg))
}

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// byID finds a key by the short identifier stored beside each hash.
func (k *Keys) byID(id string) ([]byte, bool) {
	for i, kid := range k.ids {
		if kid == id {
			return k.keys[i], true
		}
	}
	return nil, false
}

// currentID identifies the current key.
func (k *Keys) currentID() string { return k.ids[0] }

// macWith returns a keyed hash of msg under the subkey for purpose of the
// key whose identifier is id, or false when that key is not configured.
// What a key signed carries its id, so it still verifies after rotation
// for as long as the old key stays configured.
func (k *Keys) macWith(id, purpose, msg string) ([]byte, bool) {
	key, ok := k.byID(id)
	if !ok {
		return nil, false
	}
	return mac(derive(key, purpose), msg), true
}

// Errors of CheckStamp.
var (
	ErrStampInvalid = errors.New("models: stamp not issued here")
	ErrStampExpired = errors.New("models: stamp too old")
)

// stampSkew is how far in the future a stamp's time may be: instances of
// the portal behind one load balancer may disagree by a few seconds.
const stampSkew = time.Minute

// Stamp returns a token that proves this server issued it at time t for
// one purpose: a random nonce and the time, with a MAC under the current
// key's subkey for that purpose. It holds nothing about anyone and is
// stored nowhere, so a page can carry it without a session; the price is
// that whoever holds one may present it again until it is too old.
func (k *Keys) Stamp(purpose string, t time.Time) string {
	msg := base64.RawURLEncoding.EncodeToString(RandomBytes(16)) + "." + strconv.FormatInt(t.Unix(), 10)
	return msg + "." + k.MAC("stamp/"+purpose, msg)
}

// CheckStamp verifies a stamp made by Stamp for purpose under the current
// key, comparing its MAC in constant time, and refuses it once it is life
// old at now. A stamp made under a key since rotated away is refused as
// invalid: the visitor loads the form again.
func (k *Keys) CheckStamp(purpose, stamp string, now time.Time, life time.Duration) error {
	if len(stamp) > 200 {
		return ErrStampInvalid
	}
	i := strings.LastIndexByte(stamp, '.')
	if i < 0 {
		return ErrStampInvalid
	}
	msg, sum := stamp[:i], stamp[i+1:]
	if !hmac.Equal([]byte(sum), []byte(k.MAC("stamp/"+purpose, msg))) {
		return ErrStampInvalid
	}
	j := strings.LastIndexByte(msg, '.')
	if j < 0 {
		return ErrStampInvalid
	}
	secs, err := strconv.ParseInt(msg[j+1:], 10, 64)
	if err != nil {
		return ErrStampInvalid
	}
	issued := time.Unix(secs, 0)
	if issued.After(now.Add(stampSkew)) || !now.Before(issued.Add(life)) {
		return ErrStampExpired
	}
	return nil
}

// ErrUnsealable is Open's one refusal: a sealed text that was altered,
// sealed for another purpose, or sealed under a key no longer configured.
var ErrUnsealable = errors.New("models: sealed text cannot be opened")

// Seal encrypts plaintext for one purpose with AES-256-GCM under the
// current key's subkey for that purpose, and returns it as text: the key's
// id, a dot, and the nonce and ciphertext in base64. The id lets Open find
// the key after a rotation, for as long as the old key stays configured;
// the purpose is bound in as additional data, so a text sealed for one
// use cannot be opened for another.
func (k *Keys) Seal(purpose string, plaintext []byte) string {
	gcm := sealer(k.keys[0], purpose)
	nonce := RandomBytes(gcm.NonceSize())
	out := gcm.Seal(nonce, nonce, plaintext, []byte(purpose))
	return k.currentID() + "." + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a text made by Seal for purpose, under whichever
// configured key sealed it, or returns ErrUnsealable.
func (k *Keys) Open(purpose, sealed string) ([]byte, error) {
	id, body, ok := strings.Cut(sealed, ".")
	if !ok {
		return nil, ErrUnsealable
	}
	key, ok := k.byID(id)
	if !ok {
		return nil, ErrUnsealable
	}
	// Strict: a last character whose unused bits were altered is refused,
	// not read as the same bytes.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	gcm := sealer(key, purpose)
	if err != nil || len(raw) < gcm.NonceSize()+gcm.Overhead() {
		return nil, ErrUnsealable
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, ErrUnsealable
	}
	return plain, nil
}

// sealer is the AES-256-GCM cipher under key's subkey for purpose.
func sealer(key []byte, purpose string) cipher.AEAD {
	block, err := aes.NewCipher(derive(key, "seal/"+purpose))
	if err != nil {
		panic("models: " + err.Error()) // a 32-byte key never fails
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic("models: " + err.Error())
	}
	return gcm
}
