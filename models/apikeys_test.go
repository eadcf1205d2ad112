package models_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

func TestAPIKeysAddAuthenticateRevoke(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			s := modeltest.NewStore(t, db.Gorm, clock)
			ctx := t.Context()
			k, token, err := s.AddAPIKey(ctx, "ils")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(token, "carrel_"+k.Prefix+"_") || len(token) < 60 {
				t.Fatalf("token %q, prefix %q", token, k.Prefix)
			}
			secret := strings.TrimPrefix(token, "carrel_"+k.Prefix+"_")
			var stored models.APIKey
			db.Gorm.Where("name = ?", "ils").Take(&stored)
			if strings.Contains(stored.SecretHash, secret) || stored.SecretHash == "" {
				t.Fatalf("the secret must not be stored: %q", stored.SecretHash)
			}
			for _, bad := range []string{"", "  ", "-dash-first", strings.Repeat("x", 65), "tab\there"} {
				var in *models.InputError
				if _, _, err := s.AddAPIKey(ctx, bad); !errors.As(err, &in) {
					t.Errorf("name %q: want an input error, got %v", bad, err)
				}
			}
			var in *models.InputError
			if _, _, err := s.AddAPIKey(ctx, "ils"); !errors.As(err, &in) || !strings.Contains(in.Message, "exists") {
				t.Fatalf("a second key of the same name: %v", err)
			}

			got, err := s.AuthenticateAPIKey(ctx, token)
			if err != nil || got.ID != k.ID || got.LastUsedAt == nil {
				t.Fatalf("authenticate: %+v %v", got, err)
			}
			first := *got.LastUsedAt
			clock.Advance(10 * time.Second)
			s.AuthenticateAPIKey(ctx, token)
			db.Gorm.Where("id = ?", k.ID).Take(&stored)
			if !stored.LastUsedAt.Equal(first) {
				t.Fatal("last use is written at most once a minute")
			}
			clock.Advance(time.Minute)
			s.AuthenticateAPIKey(ctx, token)
			db.Gorm.Where("id = ?", k.ID).Take(&stored)
			if !stored.LastUsedAt.After(first) {
				t.Fatal("last use should move on after a minute")
			}

			wrongSecret := token[:len(token)-2] + "xx"
			if strings.HasSuffix(token, "xx") {
				wrongSecret = token[:len(token)-2] + "yy"
			}
			for _, bad := range []string{"", "carrel_", "Bearer " + token, wrongSecret, "carrel_000000000000_" + secret,
				"carrel_" + k.Prefix, strings.ToUpper(token), token + "x"} {
				if _, err := s.AuthenticateAPIKey(ctx, bad); !errors.Is(err, models.ErrBadAPIKey) {
					t.Errorf("%q: want ErrBadAPIKey, got %v", bad, err)
				}
			}

			// Rotation: a key made under the old server key still works,
			// and is rehashed under the new one.
			keys, _ := models.NewKeys(bytes.Repeat([]byte("a-brand-new-key!"), 2), modeltest.TestKey)
			rotated, err := models.NewStore(db.Gorm, clock, keys, 4)
			if err != nil {
				t.Fatal(err)
			}
			before := stored.SecretHash
			if _, err := rotated.AuthenticateAPIKey(ctx, token); err != nil {
				t.Fatalf("after rotation: %v", err)
			}
			db.Gorm.Where("id = ?", k.ID).Take(&stored)
			if stored.SecretHash == before {
				t.Fatal("the hash should be remade under the current key")
			}
			if _, err := rotated.AuthenticateAPIKey(ctx, token); err != nil {
				t.Fatalf("after the rehash: %v", err)
			}
			// Without the key that made it, the hash is useless.
			onlyNew, _ := models.NewKeys(bytes.Repeat([]byte("yet-another-key!"), 2))
			stranger, _ := models.NewStore(db.Gorm, clock, onlyNew, 4)
			if _, err := stranger.AuthenticateAPIKey(ctx, token); !errors.Is(err, models.ErrBadAPIKey) {
				t.Fatalf("a server without the key: %v", err)
			}

			if err := rotated.RevokeAPIKey(ctx, "ils"); err != nil {
				t.Fatal(err)
			}
			if _, err := rotated.AuthenticateAPIKey(ctx, token); !errors.Is(err, models.ErrBadAPIKey) {
				t.Fatalf("a revoked key: %v", err)
			}
			if err := s.RevokeAPIKey(ctx, "ils"); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("revoking twice: %v", err)
			}
			all, err := s.APIKeys(ctx)
			if err != nil || len(all) != 1 || all[0].RevokedAt == nil {
				t.Fatalf("list %+v %v", all, err)
			}
			var details []string
			db.Gorm.Model(&models.AuditEntry{}).Order("id").Pluck("detail", &details)
			if len(details) != 2 || !strings.HasPrefix(details[0], "API key added: ils (prefix "+k.Prefix+")") || details[1] != "API key revoked: ils" {
				t.Fatalf("audit %q", details)
			}
			if strings.Contains(strings.Join(details, " "), secret) {
				t.Fatal("the audit log never holds the secret")
			}
		})
	}
}
