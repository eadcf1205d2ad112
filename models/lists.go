package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Errors of mailing-list consent.
var (
	ErrListRetired = errors.New("this mailing list has been retired")
	ErrNoEmail     = errors.New("no email address on file")
	ErrBadToken    = errors.New("unsubscribe link not valid")
)

// ActiveLists lists the mailing lists patrons may join, by name.
func (s *Store) ActiveLists(ctx context.Context) ([]MailingList, error) {
	var out []MailingList
	err := s.db(ctx).Where("retired_at IS NULL").Order("name").Find(&out).Error
	return out, err
}

// AllLists lists every mailing list, retired ones last.
func (s *Store) AllLists(ctx context.Context) ([]MailingList, error) {
	var out []MailingList
	err := s.db(ctx).Order("retired_at IS NOT NULL, name").Find(&out).Error
	return out, err
}

// ListBySlug finds a mailing list.
func (s *Store) ListBySlug(ctx context.Context, slug string) (MailingList, error) {
	var l MailingList
	err := s.db(ctx).Where("slug = ?", slug).Take(&l).Error
	return l, notFound(err)
}

// ListByID finds a mailing list by its ID.
func (s *Store) ListByID(ctx context.Context, id int64) (MailingList, error) {
	var l MailingList
	err := s.db(ctx).Where("id = ?", id).Take(&l).Error
	return l, notFound(err)
}

// SubscribedListIDs is the set of lists a patron is subscribed to.
func (s *Store) SubscribedListIDs(ctx context.Context, patronID int64) (map[int64]bool, error) {
	var ids []int64
	if err := s.db(ctx).Model(&Subscription{}).Where("patron_id = ?", patronID).Pluck("list_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("models: subscriptions: %w", err)
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// lockPatron takes the patron's row lock for the rest of the transaction
// and returns the patron, so that concurrent changes to their choices
// queue up and the ledger follows the final state.
func lockPatron(tx *gorm.DB, patronID int64, now any) (Patron, error) {
	var p Patron
	res := tx.Model(&Patron{}).Where("id = ?", patronID).UpdateColumn("updated_at", now)
	if res.Error != nil {
		return p, res.Error
	}
	if res.RowsAffected == 0 {
		return p, ErrNotFound
	}
	return p, tx.Where("id = ?", patronID).Take(&p).Error
}

// Subscribe records a patron's consent to one list: a subscription row and
// a ledger entry naming the list's consent text version, in one
// transaction. changed is false when they were already subscribed.
func (s *Store) Subscribe(ctx context.Context, patronID int64, slug string, a Actor) (changed bool, err error) {
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		p, err := lockPatron(tx, patronID, s.Now())
		if err != nil {
			return err
		}
		var l MailingList
		if err := tx.Where("slug = ?", slug).Take(&l).Error; err != nil {
			return notFound(err)
		}
		if l.RetiredAt != nil {
			return ErrListRetired
		}
		if strings.TrimSpace(p.Email) == "" {
			return ErrNoEmail
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Subscription{PatronID: patronID, ListID: l.ID, SubscribedAt: s.Now()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		changed = true
		a.TextVersion = strconv.Itoa(l.ConsentVersion)
		return s.recordConsent(tx, patronID, ConsentListPrefix+l.Slug, "off", "on", a)
	})
	s.countConsent(err, changed, ConsentListPrefix, "on")
	return changed, err
}

// Unsubscribe withdraws a patron's consent to one list. changed is false
// when they were not subscribed.
func (s *Store) Unsubscribe(ctx context.Context, patronID int64, slug string, a Actor) (changed bool, err error) {
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := lockPatron(tx, patronID, s.Now()); err != nil {
			return err
		}
		var l MailingList
		if err := tx.Where("slug = ?", slug).Take(&l).Error; err != nil {
			return notFound(err)
		}
		var err error
		changed, err = s.unsubscribe(tx, patronID, l, a)
		return err
	})
	s.countConsent(err, changed, ConsentListPrefix, "off")
	return changed, err
}

func (s *Store) unsubscribe(tx *gorm.DB, patronID int64, l MailingList, a Actor) (bool, error) {
	res := tx.Where("patron_id = ? AND list_id = ?", patronID, l.ID).Delete(&Subscription{})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	a.TextVersion = strconv.Itoa(l.ConsentVersion)
	return true, s.recordConsent(tx, patronID, ConsentListPrefix+l.Slug, "on", "off", a)
}

// UnsubscribeAll stops every mailing the patron chose, at once: it
// withdraws each list consent, and turns the emails about their favorite
// authors and subjects (the notice preference) to none, each with its
// ledger entry, in one transaction. lists counts the lists left; notices
// says whether those emails were on and are now off.
func (s *Store) UnsubscribeAll(ctx context.Context, patronID int64, a Actor) (lists int, notices bool, err error) {
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := lockPatron(tx, patronID, s.Now()); err != nil {
			return err
		}
		var subscribed []MailingList
		if err := tx.Joins("JOIN subscriptions ON subscriptions.list_id = mailing_lists.id").
			Where("subscriptions.patron_id = ?", patronID).Order("mailing_lists.id").Find(&subscribed).Error; err != nil {
			return err
		}
		for _, l := range subscribed {
			changed, err := s.unsubscribe(tx, patronID, l, a)
			if err != nil {
				return err
			}
			if changed {
				lists++
			}
		}
		var err error
		notices, err = s.setNotice(tx, patronID, NoticeNone, a)
		return err
	})
	if err != nil {
		lists, notices = 0, false
	}
	for i := 0; i < lists; i++ {
		s.countConsent(err, true, ConsentListPrefix, "off")
	}
	s.countConsent(err, notices, ConsentFavoritesNotice, NoticeNone)
	return lists, notices, err
}

// ListForm is a mailing list as an administrator edits it.
type ListForm struct {
	Slug, Name, Description, Frequency, Sender, ConsentText string
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)

// Validate checks a list form and returns every problem by field.
func (f *ListForm) Validate() map[string]string {
	errs := map[string]string{}
	f.Slug = strings.ToLower(strings.TrimSpace(f.Slug))
	for _, v := range []*string{&f.Name, &f.Description, &f.Frequency, &f.Sender, &f.ConsentText} {
		*v = strings.TrimSpace(*v)
	}
	bad := func(s string, multiline bool) bool {
		return !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool {
			return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))
		}) >= 0
	}
	if !slugPattern.MatchString(f.Slug) {
		errs["slug"] = "A slug is 2 to 40 lowercase letters, digits or hyphens, starting with a letter or digit."
	}
	check := func(field, v string, min, max int, multiline bool, what string) {
		n := utf8.RuneCountInString(v)
		switch {
		case n < min:
			errs[field] = "Give the " + what + "."
		case n > max:
			errs[field] = fmt.Sprintf("The %s is at most %d characters.", what, max)
		case bad(v, multiline):
			errs[field] = "The " + what + " contains characters that cannot be shown."
		}
	}
	check("name", f.Name, 1, 100, false, "list's name")
	check("description", f.Description, 1, 500, true, "description of what it sends")
	check("frequency", f.Frequency, 1, 50, false, "frequency")
	check("sender", f.Sender, 1, 200, false, "sender")
	check("consent_text", f.ConsentText, 10, 2000, true, "consent text")
	return errs
}

// SaveList creates a list, or updates the list with the given slug; a
// change of consent text bumps its version. The change is audited.
func (s *Store) SaveList(ctx context.Context, staffID int64, existing string, f ListForm) (MailingList, error) {
	var l MailingList
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		detail := "list created: " + f.Slug
		if existing != "" {
			if err := tx.Where("slug = ?", existing).Take(&l).Error; err != nil {
				return notFound(err)
			}
			detail = "list edited: " + l.Slug
			if l.ConsentText != f.ConsentText {
				l.ConsentVersion++
				detail += fmt.Sprintf("; consent text now version %d", l.ConsentVersion)
			}
		} else {
			l.ConsentVersion = 1
		}
		l.Slug, l.Name, l.Description, l.Frequency, l.Sender, l.ConsentText = f.Slug, f.Name, f.Description, f.Frequency, f.Sender, f.ConsentText
		if err := tx.Save(&l).Error; err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditConfigChanged, Detail: detail})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return l, &InputError{Field: "slug", Message: "Another list already has that slug."}
	}
	return l, err
}

// RetireList stops a list: patrons no longer see it and it can no longer
// be exported. Subscriptions stay, so patrons can see and withdraw them.
func (s *Store) RetireList(ctx context.Context, staffID int64, slug string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&MailingList{}).Where("slug = ? AND retired_at IS NULL", slug).UpdateColumn("retired_at", s.Now())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditConfigChanged, Detail: "list retired: " + slug})
	})
}

// Subscriber is one consenting recipient of a list.
type Subscriber struct {
	PatronID   int64
	ListID     int64
	GivenName  string
	FamilyName string
	Email      string
}

// ExportSubscribers is the only way addresses leave the portal: the
// current subscribers of one active list, passed to fn one by one, with an
// audit entry (who, which list, how many) in the same transaction. staffID
// nil means the command line.
func (s *Store) ExportSubscribers(ctx context.Context, staffID *int64, slug string, fn func(Subscriber) error) (int, error) {
	n := 0
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var l MailingList
		if err := tx.Where("slug = ?", slug).Take(&l).Error; err != nil {
			return notFound(err)
		}
		if l.RetiredAt != nil {
			return ErrListRetired
		}
		rows, err := tx.Table("subscriptions").
			Select("patrons.id AS patron_id, subscriptions.list_id, patrons.given_name, patrons.family_name, patrons.email").
			Joins("JOIN patrons ON patrons.id = subscriptions.patron_id").
			Where("subscriptions.list_id = ? AND patrons.email <> ''", l.ID).Order("patrons.id").Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sub Subscriber
			if err := tx.ScanRows(rows, &sub); err != nil {
				return err
			}
			if err := fn(sub); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: staffID, Action: AuditListExport,
			Detail: fmt.Sprintf("list %s exported: %d subscribers", l.Slug, n)})
	})
	return n, err
}

// Unsubscribe tokens are AES-GCM sealed IDs (a patron and a list; for
// the new-arrival emails, a patron: see digests.go) under a key derived
// from the current server key for one purpose: unguessable, naming nobody
// in clear, bound to what they name, useless for any other purpose. A
// token names no key: it opens under any configured key, so that the
// links in emails already sent keep working after a rotation, until the
// key that sealed them is dropped.

// tokenPurpose is what a sealed token is for: its own subkey and its own
// associated data, so a token of one purpose never opens as another.
type tokenPurpose struct{ key, ad string }

var listToken = tokenPurpose{key: "unsubscribe-token", ad: "carrel-unsubscribe"}

// tokenAEAD is the cipher for purpose p under key (the current key seals).
func tokenAEAD(key []byte, p tokenPurpose) cipher.AEAD {
	block, _ := aes.NewCipher(derive(key, p.key))
	aead, _ := cipher.NewGCM(block)
	return aead
}

// sealIDs seals ids into a URL-safe token for purpose p.
func (s *Store) sealIDs(p tokenPurpose, ids ...int64) string {
	aead := tokenAEAD(s.Keys.keys[0], p)
	var plain []byte
	for _, id := range ids {
		plain = binary.BigEndian.AppendUint64(plain, uint64(id)) // #nosec G115 -- a round trip of int64 ids through their bits: no value is lost
	}
	nonce := RandomBytes(aead.NonceSize())
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(p.ad)))
}

// openIDs opens a token sealed for purpose p holding exactly n IDs.
func (s *Store) openIDs(p tokenPurpose, token string, n int) ([]int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(token) > 200 {
		return nil, ErrBadToken
	}
	var plain []byte
	for _, key := range s.Keys.keys {
		aead := tokenAEAD(key, p)
		if len(raw) < aead.NonceSize()+aead.Overhead() {
			return nil, ErrBadToken
		}
		if plain, err = aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(p.ad)); err == nil {
			break
		}
	}
	if err != nil || len(plain) != 8*n {
		return nil, ErrBadToken
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(binary.BigEndian.Uint64(plain[8*i:])) // #nosec G115 -- the bits written above from int64 ids, read back
	}
	return ids, nil
}

// UnsubscribeToken mints the one-click unsubscribe token for a patron and
// a list.
func (s *Store) UnsubscribeToken(patronID, listID int64) string {
	return s.sealIDs(listToken, patronID, listID)
}

// openToken returns the patron and list a token was minted for.
func (s *Store) openToken(token string) (patronID, listID int64, err error) {
	ids, err := s.openIDs(listToken, token, 2)
	if err != nil {
		return 0, 0, err
	}
	return ids[0], ids[1], nil
}

// TokenList returns the list an unsubscribe token names, for its
// confirmation page. It says nothing about the patron.
func (s *Store) TokenList(ctx context.Context, token string) (MailingList, error) {
	_, listID, err := s.openToken(token)
	if err != nil {
		return MailingList{}, err
	}
	var l MailingList
	if err := s.db(ctx).Where("id = ?", listID).Take(&l).Error; err != nil {
		return l, ErrBadToken
	}
	return l, nil
}

// UnsubscribeByToken carries out a one-click unsubscribe. A token for a
// patron who is no longer subscribed (or no longer exists) succeeds
// quietly, so the answer reveals nothing.
func (s *Store) UnsubscribeByToken(ctx context.Context, token string) (MailingList, error) {
	patronID, listID, err := s.openToken(token)
	if err != nil {
		return MailingList{}, err
	}
	var l MailingList
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", listID).Take(&l).Error; err != nil {
			return ErrBadToken
		}
		if _, err := lockPatron(tx, patronID, s.Now()); errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		changed, err := s.unsubscribe(tx, patronID, l, Actor{Channel: ChannelEmailOneClick})
		s.countConsent(err, changed, ConsentListPrefix, "off")
		return err
	})
	return l, err
}

// SubscriberCounts counts each list's subscribers.
func (s *Store) SubscriberCounts(ctx context.Context) (map[int64]int64, error) {
	var rows []struct {
		ListID int64
		N      int64
	}
	err := s.db(ctx).Model(&Subscription{}).Select("list_id, COUNT(*) AS n").Group("list_id").Scan(&rows).Error
	out := map[int64]int64{}
	for _, r := range rows {
		out[r.ListID] = r.N
	}
	return out, err
}
