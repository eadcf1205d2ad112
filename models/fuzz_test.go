package models

// Fuzz targets for the parsers in models. Their seed corpora run with every
// `go test`; `make fuzz` runs each for longer. This file is in package
// models (not models_test) so that FuzzParseKeys can see the keys it
// accepted; it builds its stores by hand, since modeltest imports models.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func FuzzNormalizeFavorite(f *testing.F) {
	for _, s := range []string{
		"Butler, Octavia E.", "Octavia E. Butler", "Butler, Octavia E., 1947-2006", "García Márquez, Gabriel",
		"King, Martin Luther, Jr.", "Tolkien, J.R.R.", "Ólafsdóttir,   Auður Ava", "Homer", "Le Guin, Ursula K.",
		"Science fiction--History and criticism", "Science fiction — History and criticism.", "Cooking -- -- Mexico",
		"World War, 1939–1945", "  Gardening ", "", " ", ",", "--", "---", ".", ". .", "a. .", "a, b, c, d",
		"İstanbul", "ǅemal", "ΣΊΣΥΦΟΣ", "Straße", "ﬀ", "x\u0301", "\u212b", "\u0130", "\xff\xfe", "a\u00a0\u2003b",
		"50 Cent", "Blink-182", "Sting, 1951-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var problems []string
		for _, kind := range []string{FavoriteAuthor, FavoriteSubject} {
			n := NormalizeFavorite(kind, s)
			if again := NormalizeFavorite(kind, n); again != n {
				p := fmt.Sprintf("%s %q: normalizing is not idempotent: %q, then %q", kind, s, n, again)
				problems = append(problems, p)
			}
			if strings.ToLower(n) != n {
				problems = append(problems, fmt.Sprintf("%s %q: normalized %q still has upper case", kind, s, n))
			}
			if strings.TrimSpace(n) != n || strings.Contains(n, "  ") {
				problems = append(problems, fmt.Sprintf("%s %q: normalized %q has stray spaces", kind, s, n))
			}
			if utf8.ValidString(s) && !utf8.ValidString(n) {
				problems = append(problems, fmt.Sprintf("%s %q: normalized %q is not valid UTF-8", kind, s, n))
			}
			// A name with a letter in it is never normalized away: it could
			// not be followed (ValidateFavorite refuses an empty form).
			if n == "" && strings.ContainsFunc(s, unicode.IsLetter) {
				p := fmt.Sprintf("%s %q: a name with letters normalizes to nothing", kind, s)
				problems = append(problems, p)
			}
		}
		for _, p := range problems {
			t.Error(p)
		}

	})
}

func FuzzParseCursor(f *testing.F) {
	f.Add("1795802400000000.42", int64(1795802400000000), int64(42))
	f.Add("0.0", int64(0), int64(0))
	f.Add("-1.1", int64(-1), int64(1))
	f.Add("9223372036854775807.9223372036854775807", int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add("-9223372036854775808.0", int64(math.MinInt64), int64(0))
	f.Add("+5.7", int64(5), int64(7))
	f.Add("1.-1", int64(1), int64(-1))
	f.Add("1..1", int64(1), int64(1))
	f.Add("", int64(0), int64(0))
	f.Add(".", int64(0), int64(0))
	f.Add("1e6.1", int64(1e6), int64(1))
	f.Add("9223372036854775808.1", int64(0), int64(0))
	f.Add(strings.Repeat("1", 41)+".1", int64(0), int64(0))
	f.Fuzz(func(t *testing.T, s string, micros, id int64) {
		if c, ok := ParseCursor(s); ok {
			if c.ID < 0 || c.At.Location() != time.UTC {
				t.Errorf("ParseCursor(%q) = %+v: a negative ID or a zone other than UTC", s, c)
			}
			back, ok := ParseCursor(c.String())
			if !ok || !back.At.Equal(c.At) || back.ID != c.ID {
				t.Errorf("ParseCursor(%q) = %v, but its String %q parses as %v, %v", s, c, c.String(), back, ok)
			}
		}
		// Every cursor the portal can make survives the trip through a URL.
		c := Cursor{At: time.UnixMicro(micros).UTC(), ID: id}
		back, ok := ParseCursor(c.String())
		switch {
		case id < 0 && ok:
			t.Errorf("ParseCursor(%q) accepted a negative ID", c.String())
		case id >= 0 && (!ok || !back.At.Equal(c.At) || back.ID != c.ID):
			t.Errorf("cursor %v: String %q parses as %v, %v", c, c.String(), back, ok)
		}
	})
}

func FuzzParseKeys(f *testing.F) {
	key := bytes.Repeat([]byte("k"), MinKeyBytes)
	for _, s := range []string{
		hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key) + "," + hex.EncodeToString(key),
		" , " + base64.URLEncoding.EncodeToString(key) + " ,, ", hex.EncodeToString(key[:31]),
		base64.StdEncoding.EncodeToString(key[:31]), "", ",", "not a key", strings.Repeat("0", 64), strings.Repeat("=", 64),
		strings.Repeat("A", 43), strings.Repeat("A", 42), "\x00\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKeys(s)
		if err != nil {
			return
		}
		if len(k.keys) == 0 || len(k.keys) != len(k.ids) {
			t.Fatalf("ParseKeys(%q) accepted %d keys with %d ids", s, len(k.keys), len(k.ids))
		}
		for i, key := range k.keys {
			if len(key) < MinKeyBytes {
				t.Errorf("ParseKeys(%q) accepted key %d of %d bytes, fewer than %d", s, i, len(key), MinKeyBytes)
			}
		}
		if k.MAC("fuzz", s) == "" || k.currentID() == "" {
			t.Errorf("ParseKeys(%q): the keys it accepted cannot be used", s)
		}
	})
}

// fuzzStore is a migrated SQLite store for one fuzz target, with one patron
// subscribed to one list.
func fuzzStore(f *testing.F) (s *Store, patronID int64, list MailingList) {
	f.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(f.TempDir(), "carrel.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	if err := Migrate(ctx, db); err != nil {
		f.Fatal(err)
	}
	keys, err := NewKeys(bytes.Repeat([]byte("carrel-fuzz-key!"), 2))
	if err != nil {
		f.Fatal(err)
	}
	if s, err = NewStore(db, SystemClock{}, keys, 4); err != nil {
		f.Fatal(err)
	}
	p := Patron{CardNumber: "21000000009999", PINHash: "x", GivenName: "Fuzz", FamilyName: "Tester",
		Email: "fuzz@example.org", CardExpiresOn: time.Now().AddDate(1, 0, 0), BorrowingStatus: StatusActive, FavoritesNotice: NoticeNone}
	if err := db.Create(&p).Error; err != nil {
		f.Fatal(err)
	}
	list = MailingList{Slug: "new-books", Name: "New books", Description: "What arrived.", Frequency: "Weekly",
		Sender: "The library", ConsentText: "Send me the new books list.", ConsentVersion: 1}
	if err := db.Create(&list).Error; err != nil {
		f.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, p.ID, list.Slug, Actor{Channel: ChannelWeb, TextVersion: "1"}); err != nil {
		f.Fatal(err)
	}
	return s, p.ID, list
}

func FuzzUnsubscribeToken(f *testing.F) {
	s, patronID, list := fuzzStore(f)
	// The only (patron, list) pairs tokens are minted for. The key is
	// fixed, so tokens minted by the process that adds the seeds also open
	// in the fuzzing workers.
	minted := map[[2]int64]bool{}
	mint := func(pid, lid int64) string {
		minted[[2]int64{pid, lid}] = true
		return s.UnsubscribeToken(pid, lid)
	}
	valid := mint(patronID, list.ID)
	raw, _ := base64.RawURLEncoding.DecodeString(valid)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i%len(b)] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, tok := range []string{
		valid, valid[:len(valid)-1], valid + "A", flip(0), flip(20), flip(len(raw) - 1),
		mint(patronID+1, list.ID), mint(patronID, list.ID+1), base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(make([]byte, 44)), "", "=", strings.Repeat("A", 201), "../../etc/passwd", "\x00",
	} {
		f.Add(tok)
	}
	subscribed := func(t *testing.T) bool {
		var n int64
		if err := s.DB.Model(&Subscription{}).Where("patron_id = ? AND list_id = ?", patronID, list.ID).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tok string) {
		if pid, lid, err := s.openToken(tok); err == nil {
			// Only a minted token opens; it names its list if the list
			// exists. The fixture's subscription is left alone.
			if !minted[[2]int64{pid, lid}] {
				t.Fatalf("token %q opens as patron %d, list %d, which no token was minted for", tok, pid, lid)
			}
			if l, err := s.TokenList(ctx, tok); (lid == list.ID) != (err == nil && l.ID == list.ID) {
				t.Errorf("minted token %q for list %d: TokenList = %d, %v", tok, lid, l.ID, err)
			}
			return
		}
		if l, err := s.TokenList(ctx, tok); !errors.Is(err, ErrBadToken) {
			t.Fatalf("TokenList(%q) = %q, %v; want ErrBadToken", tok, l.Slug, err)
		}
		if _, err := s.UnsubscribeByToken(ctx, tok); !errors.Is(err, ErrBadToken) {
			t.Fatalf("UnsubscribeByToken(%q): %v, want ErrBadToken", tok, err)
		}
		if !subscribed(t) {
			t.Fatalf("UnsubscribeByToken(%q) unsubscribed the patron", tok)
		}
	})
}

var fuzzSlug = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)

func FuzzListFormValidate(f *testing.F) {
	f.Add("new-books", "New books", "Every new book.", "Weekly", "The library", "Send me the new books list.")
	f.Add(" NEW-Books ", " New books ", "Line one\nline two\ttabbed", "Weekly", "The library", "Yes, send it to me.\r\n")
	f.Add("-x", "", "", "", "", "short")
	f.Add("a", strings.Repeat("n", 101), strings.Repeat("d", 501), strings.Repeat("f", 51), strings.Repeat("s", 201), strings.Repeat("c", 2001))
	f.Add("ab", "Bell\a", "\x00", "\xff", "\u202eevil", "ten chars!")
	f.Add("ǅǆ", "İ", "\u0085", "\u2028", "\u00a0", "          x")
	f.Fuzz(func(t *testing.T, slug, name, desc, freq, sender, consent string) {
		form := ListForm{Slug: slug, Name: name, Description: desc, Frequency: freq, Sender: sender, ConsentText: consent}
		errs := form.Validate()
		for field := range errs {
			switch field {
			case "slug", "name", "description", "frequency", "sender", "consent_text":
			default:
				t.Errorf("Validate reported the unknown field %q", field)
			}
		}
		if len(errs) > 0 {
			return
		}
		// Accepted: what is stored is clean, and accepting it again changes
		// nothing.
		if !fuzzSlug.MatchString(form.Slug) {
			t.Errorf("accepted slug %q", form.Slug)
		}
		for _, v := range []string{form.Name, form.Description, form.Frequency, form.Sender, form.ConsentText} {
			if !utf8.ValidString(v) || strings.TrimSpace(v) != v || v == "" {
				t.Errorf("accepted field %q", v)
			}
		}
		again := form
		if errs := again.Validate(); len(errs) > 0 || again != form {
			t.Errorf("validating an accepted form again: %v, %+v -> %+v", errs, form, again)
		}
	})
}
