package models_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// legacySeal seals a catalog secret as Carrel did before sealed secrets
// named their key: AES-GCM under the then current key's "opac-secret"
// subkey, plain base64, no key ID.
func legacySeal(t *testing.T, key, secret []byte) string {
	t.Helper()
	m := hmac.New(sha256.New, key)
	m.Write([]byte("carrel/opac-secret"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{7}, aead.NonceSize())
	return base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, secret, []byte("opac")))
}

// TestCatalogHandoffsSurviveKeyRotation: rotating the server's secret keys
// (a new key first, the old one kept) must not break the catalogs'
// hand-offs, whether their secret was sealed now or by an older Carrel;
// the operations guide's key-rotation runbook relies on it.
func TestCatalogHandoffsSurviveKeyRotation(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			old := modeltest.NewStore(t, db.Gorm, clock)
			if _, _, err := old.AddOPAC(ctx, "koha", "https://catalog.example.org"); err != nil {
				t.Fatal(err)
			}
			if err := db.Gorm.Create(&models.Patron{CardNumber: "21000000000042", GivenName: "Ada", FamilyName: "Byron",
				CardExpiresOn: testTime.AddDate(1, 0, 0), BorrowingStatus: models.StatusActive, FavoritesNotice: "none"}).Error; err != nil {
				t.Fatal(err)
			}
			// A key an older Carrel sealed, the newest of the catalog's.
			legacy := models.OPACKey{KID: "legacy-kid", OPACID: "koha", SealedSecret: legacySeal(t, modeltest.TestKey, []byte("a legacy shared secret of 32 b!!")),
				CreatedAt: testTime.Add(1)}
			if err := db.Gorm.Create(&legacy).Error; err != nil {
				t.Fatal(err)
			}

			newKey := bytes.Repeat([]byte("a brand new key!"), 2)
			keys, err := models.NewKeys(newKey, modeltest.TestKey)
			if err != nil {
				t.Fatal(err)
			}
			rotated, err := models.NewStore(db.Gorm, clock, keys, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, store := range []*models.Store{old, rotated} {
				tok, err := store.MintHandoff(ctx, "koha", "21000000000042", "")
				if err != nil {
					t.Fatalf("mint with the legacy key: %v", err)
				}
				if _, _, err := rotated.CheckHandoff(ctx, tok); err != nil {
					t.Errorf("a hand-off signed with the legacy-sealed secret is refused after rotation: %v", err)
				}
			}
			// The catalog's first key, sealed under the old key by this
			// Carrel: retire the legacy one so that mint uses it.
			if err := db.Gorm.Model(&legacy).Update("retired_at", testTime).Error; err != nil {
				t.Fatal(err)
			}
			tok, err := rotated.MintHandoff(ctx, "koha", "21000000000042", "")
			if err != nil {
				t.Fatalf("mint after rotation: %v", err)
			}
			if _, _, err := rotated.CheckHandoff(ctx, tok); err != nil {
				t.Errorf("a hand-off is refused after rotation: %v", err)
			}
			// A key sealed after rotation opens while the old key stays.
			if _, _, err := rotated.RotateOPAC(ctx, "koha"); err != nil {
				t.Fatal(err)
			}
			tok, _ = rotated.MintHandoff(ctx, "koha", "21000000000042", "")
			if _, _, err := rotated.CheckHandoff(ctx, tok); err != nil {
				t.Errorf("a key added after rotation: %v", err)
			}
		})
	}
}

// TestUnsubscribeLinksSurviveKeyRotation: the one-click links in emails
// already sent keep working after the keys rotate, until the key that
// sealed them is dropped; a link sealed for one purpose never opens as
// the other.
func TestUnsubscribeLinksSurviveKeyRotation(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	db := modeltest.SQLite(t, clock)
	ctx := context.Background()
	old := modeltest.NewStore(t, db, clock)
	l := models.MailingList{Slug: "garden", Name: "Garden Club", Description: "News", Frequency: "Monthly", Sender: "Library <news@example.org>", ConsentText: "Send me news.", ConsentVersion: 1}
	if err := db.Create(&l).Error; err != nil {
		t.Fatal(err)
	}
	listLink, noticeLink := old.UnsubscribeToken(41, l.ID), old.NoticeToken(41)

	newKey := bytes.Repeat([]byte("a brand new key!"), 2)
	keys, _ := models.NewKeys(newKey, modeltest.TestKey)
	rotated, err := models.NewStore(db, clock, keys, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.TokenList(ctx, listLink); err != nil || got.ID != l.ID {
		t.Errorf("a list's unsubscribe link sent before the rotation: %v", err)
	}
	if err := rotated.CheckNoticeToken(noticeLink); err != nil {
		t.Errorf("a new-arrival email's unsubscribe link sent before the rotation: %v", err)
	}
	if err := rotated.CheckNoticeToken(listLink); err == nil {
		t.Error("a list's link opened as a new-arrival email's")
	}
	if _, err := rotated.TokenList(ctx, rotated.UnsubscribeToken(41, l.ID)); err != nil {
		t.Errorf("a link sealed after the rotation: %v", err)
	}
	dropped, _ := models.NewKeys(newKey)
	onlyNew, _ := models.NewStore(db, clock, dropped, 4)
	if _, err := onlyNew.TokenList(ctx, listLink); err == nil {
		t.Error("a link still opens after the key that sealed it was dropped")
	}
}
