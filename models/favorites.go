package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carrel-library/carrel/views/i18n"
	"gorm.io/gorm"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NormalizeFavorite reduces a favorite author or subject to the form used
// to match it against new arrivals and to stop a patron saving the same
// favorite twice. Case, diacritics and spacing never matter:
//
//   - authors: a catalog heading "Family, Given" is turned round, and full
//     stops and commas are dropped, so "Butler, Octavia E." and "Octavia E.
//     Butler" both become "octavia e butler". Parts of a heading made of
//     dates ("Butler, Octavia E., 1947-2006") are dropped, and suffixes
//     such as "Jr." follow the family name.
//   - subjects: the " -- " between subdivisions is kept, with its spacing
//     made regular, so "Science fiction--History and criticism" becomes
//     "science fiction -- history and criticism". An em dash typed for the
//     double hyphen counts as one.
func NormalizeFavorite(kind, s string) string {
	s = foldText(s)
	switch kind {
	case FavoriteAuthor:
		return normalizeAuthor(s)
	case FavoriteSubject:
		return normalizeSubject(s)
	default:
		return collapseSpace(s)
	}
}

// foldText lowercases s and strips its diacritics ("García" → "garcia").
// Letters that have no decomposition, such as "ø" or "ł", are kept.
func foldText(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return strings.ToLower(folded)
}

func normalizeAuthor(s string) string {
	var parts []string
	for i, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" || (i > 0 && lifeDates(p)) {
			continue // empty, or life dates such as "1947-2006" or "b. 1960"
		}
		parts = append(parts, p)
	}
	if len(parts) >= 2 {
		// "family, given[, suffix...]" → "given family suffix..."
		parts = append([]string{parts[1], parts[0]}, parts[2:]...)
	}
	name := strings.Join(parts, " ")
	name = strings.Map(func(r rune) rune {
		if r == '.' || r == ',' {
			return ' ' // "J.R.R." and "J. R. R." read the same
		}
		return r
	}, name)
	return collapseSpace(name)
}

func normalizeSubject(s string) string {
	s = strings.NewReplacer("\u2014", "--", "\u2013", "-").Replace(s)
	var parts []string
	for _, p := range strings.Split(s, "--") {
		p = strings.TrimRight(collapseSpace(p), ". ")
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " -- ")
}

// collapseSpace trims s and turns every run of white space into one space.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// The consent patrons give when they link favorites to their record. The
// version shown is recorded in the ledger with every link and unlink;
// change the text, change the version.
const (
	FavoritesConsentVersion = "favorites-3"
	FavoritesConsentText    = "Link my favorite authors and subjects to my library record, so that the library can " +
		"tell me when new materials by them or about them arrive. They are used for nothing else, go to the library's mail " +
		"service only in the emails I choose and to no one else except law enforcement with a court order the library has " +
		"reviewed, and are erased when I unlink them."
)

// Limits on favorites, so that one record cannot grow without bound.
const (
	MaxFavorites      = 100
	MaxFavoriteLength = 200
)

// Notice preferences: how often to email the patron about new arrivals by
// their favorite authors and on their favorite subjects.
const (
	NoticeNone   = "none"
	NoticeDaily  = "daily"
	NoticeWeekly = "weekly"
)

// InputError is bad input from a person, with a message for them, tied
// to the form field that caused it.
type InputError struct {
	Field, Message string
	// id and data name a message a patron reads in the models catalog
	// (Message is its English); In writes it in another language.
	id   string
	data []any
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// In is the error's message in t's language: the messages a patron may
// read are catalog messages; any other (staff read them) stays as
// written, in English.
func (e *InputError) In(t *i18n.Tr) string {
	if e.id == "" {
		return e.Message
	}
	return t.S(e.id, e.data...)
}

// favoriteError is the InputError of a message a patron reads on the
// favorites page: Message in English, In in the patron's language.
func favoriteError(field, id string, data ...any) *InputError {
	return &InputError{Field: field, Message: i18n.For(i18n.English).S(id, data...), id: id, data: data}
}

// ErrNotLinked refuses a change to favorites that are not linked.
var ErrNotLinked = errors.New("favorites are not linked to this record")

// ValidateFavorite checks a favorite as typed and returns it trimmed.
func ValidateFavorite(kind, display string) (string, error) {
	if kind != FavoriteAuthor && kind != FavoriteSubject {
		return "", favoriteError("kind", "models.favorites.error.kind")
	}
	display = collapseSpace(display)
	switch {
	case display == "":
		return "", favoriteError("name", "models.favorites.error.empty")
	case utf8.RuneCountInString(display) > MaxFavoriteLength:
		return "", favoriteError("name", "models.favorites.error.too_long", "Max", MaxFavoriteLength)
	case strings.IndexFunc(display, unicode.IsControl) >= 0 || !utf8.ValidString(display):
		return "", favoriteError("name", "models.favorites.error.control")
	case strings.ContainsAny(display, "<>{}"):
		return "", favoriteError("name", "models.favorites.error.markup")
	}
	if NormalizeFavorite(kind, display) == "" {
		return "", favoriteError("name", "models.favorites.error.no_letters")
	}
	return display, nil
}

// lockLinked takes the patron's row lock and reports whether favorites are
// linked. Every change to favorites starts with it, so a link, an unlink
// and an add never interleave: an add that lost the race to an unlink
// sees "not linked", and an unlink sees every favorite added before it.
func lockLinked(tx *gorm.DB, patronID int64, now time.Time) (bool, error) {
	res := tx.Model(&Patron{}).Where("id = ?", patronID).UpdateColumn("updated_at", now)
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 0 {
		return false, ErrNotFound
	}
	var linked bool
	err := tx.Model(&Patron{}).Where("id = ?", patronID).Select("favorites_linked").Scan(&linked).Error
	return linked, err
}

// LinkFavorites records the patron's consent to link favorites to their
// record. changed is false when they were already linked.
func (s *Store) LinkFavorites(ctx context.Context, patronID int64, a Actor) (changed bool, err error) {
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		linked, err := lockLinked(tx, patronID, s.Now())
		if err != nil || linked {
			return err
		}
		if err := tx.Model(&Patron{}).Where("id = ?", patronID).UpdateColumn("favorites_linked", true).Error; err != nil {
			return err
		}
		changed = true
		return s.recordConsent(tx, patronID, ConsentFavoritesLink, "off", "on", a)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("models: link favorites: %w", err)
	}
	s.countConsent(err, changed, ConsentFavoritesLink, "on")
	return changed, err
}

// UnlinkFavorites withdraws the consent and erases what it allowed: every
// favorite, and every notification (whose reason names a favorite), in the
// same transaction as the ledger entry, which records only that linking
// was revoked. The notice preference returns to none.
func (s *Store) UnlinkFavorites(ctx context.Context, patronID int64, a Actor) (erased int64, changed bool, err error) {
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		linked, err := lockLinked(tx, patronID, s.Now())
		if err != nil || !linked {
			return err
		}
		if err := tx.Model(&Patron{}).Where("id = ?", patronID).
			UpdateColumns(map[string]any{"favorites_linked": false, "favorites_notice": NoticeNone}).Error; err != nil {
			return err
		}
		del := tx.Where("patron_id = ?", patronID).Delete(&Favorite{})
		if del.Error != nil {
			return del.Error
		}
		erased = del.RowsAffected
		if err := tx.Where("patron_id = ?", patronID).Delete(&Notification{}).Error; err != nil {
			return err
		}
		changed = true
		return s.recordConsent(tx, patronID, ConsentFavoritesLink, "on", "off", a)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("models: unlink favorites: %w", err)
	}
	s.countConsent(err, changed, ConsentFavoritesLink, "off")
	return erased, changed, err
}

// AddFavorite adds a favorite author or subject, as typed. created is
// false when the patron already follows the same one (by its normalised
// form). Adding needs linked favorites, and at most MaxFavorites.
func (s *Store) AddFavorite(ctx context.Context, patronID int64, kind, display string, a Actor) (fav Favorite, created bool, err error) {
	display, err = ValidateFavorite(kind, display)
	if err != nil {
		return fav, false, err
	}
	normalized := NormalizeFavorite(kind, display)
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		linked, err := lockLinked(tx, patronID, s.Now())
		if err != nil {
			return err
		}
		if !linked {
			return ErrNotLinked
		}
		err = tx.Where("patron_id = ? AND kind = ? AND normalized = ?", patronID, kind, normalized).Limit(1).Find(&fav).Error
		if err != nil || fav.ID != 0 {
			return err
		}
		var n int64
		if err := tx.Model(&Favorite{}).Where("patron_id = ?", patronID).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxFavorites {
			return favoriteError("name", "models.favorites.error.too_many", "Max", MaxFavorites)
		}
		fav = Favorite{PatronID: patronID, Kind: kind, Display: display, Normalized: normalized}
		if err := tx.Create(&fav).Error; err != nil {
			return err
		}
		created = true
		return s.auditAssisted(tx, patronID, a, "added a favorite "+kind+": "+display)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// The same favorite arrived from another tab in the meantime.
		err = s.db(ctx).Where("patron_id = ? AND kind = ? AND normalized = ?", patronID, kind, normalized).Take(&fav).Error
		return fav, false, err
	}
	return fav, created, err
}

// RemoveFavorite deletes one of the patron's favorites. Someone else's, or
// one that does not exist, is ErrNotFound.
func (s *Store) RemoveFavorite(ctx context.Context, patronID, favoriteID int64, a Actor) (Favorite, error) {
	var fav Favorite
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("patron_id = ? AND id = ?", patronID, favoriteID).Take(&fav).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Where("patron_id = ? AND id = ?", patronID, favoriteID).Delete(&Favorite{}).Error; err != nil {
			return err
		}
		return s.auditAssisted(tx, patronID, a, "removed a favorite "+fav.Kind+": "+fav.Display)
	})
	return fav, err
}

// Favorite is one of the patron's favorites; someone else's, or one that
// does not exist, is ErrNotFound.
func (s *Store) Favorite(ctx context.Context, patronID, favoriteID int64) (Favorite, error) {
	var fav Favorite
	err := s.db(ctx).Where("patron_id = ? AND id = ?", patronID, favoriteID).Take(&fav).Error
	return fav, notFound(err)
}

// AllFavorites lists the patron's favorites, authors first, then by name.
func (s *Store) AllFavorites(ctx context.Context, patronID int64) ([]Favorite, error) {
	var out []Favorite
	err := s.db(ctx).Where("patron_id = ?", patronID).Order("kind, normalized").Limit(MaxFavorites * 2).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: list favorites: %w", err)
	}
	return out, nil
}

// SetFavoritesNotice records how the patron wants to hear about new
// arrivals: none, daily or weekly. It needs linked favorites.
func (s *Store) SetFavoritesNotice(ctx context.Context, patronID int64, notice string, a Actor) (changed bool, err error) {
	if notice != NoticeNone && notice != NoticeDaily && notice != NoticeWeekly {
		return false, favoriteError("notice", "models.favorites.error.notice")
	}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		linked, err := lockLinked(tx, patronID, s.Now())
		if err != nil {
			return err
		}
		if !linked {
			return ErrNotLinked
		}
		changed, err = s.setNotice(tx, patronID, notice, a)
		return err
	})
	s.countConsent(err, changed, ConsentFavoritesNotice, notice)
	return changed, err
}

// setNotice changes the patron's notice preference inside tx, which holds
// their row lock, with its consent-ledger entry; changed is false when it
// already was notice.
func (s *Store) setNotice(tx *gorm.DB, patronID int64, notice string, a Actor) (changed bool, err error) {
	var old string
	if err := tx.Model(&Patron{}).Where("id = ?", patronID).Select("favorites_notice").Scan(&old).Error; err != nil {
		return false, err
	}
	if old == notice || (old == "" && notice == NoticeNone) {
		return false, nil
	}
	if err := tx.Model(&Patron{}).Where("id = ?", patronID).UpdateColumn("favorites_notice", notice).Error; err != nil {
		return false, err
	}
	a.TextVersion = FavoritesConsentVersion
	return true, s.recordConsent(tx, patronID, ConsentFavoritesNotice, old, notice, a)
}

// Follows reports whether the patron already follows an author or subject.
func (s *Store) Follows(ctx context.Context, patronID int64, kind, display string) (bool, error) {
	var n int64
	err := s.db(ctx).Model(&Favorite{}).
		Where("patron_id = ? AND kind = ? AND normalized = ?", patronID, kind, NormalizeFavorite(kind, display)).Count(&n).Error
	return n > 0, err
}

// PendingNotifications counts the notifications waiting to be sent that
// the patron's pages show (see PatronView): one past its retention is
// not waiting for anything.
func (s *Store) PendingNotifications(ctx context.Context, patronID int64) (int64, error) {
	v, err := s.PatronView(ctx, patronID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = v.HideFrom(s.db(ctx).Model(&Notification{}).Where("patron_id = ? AND sent_at IS NULL", patronID), "notifications", "id").
		Count(&n).Error
	return n, err
}

// lifeDates reports whether part of an author heading gives dates, as in
// "1947-2006", "b. 1960" or "fl. 1200", rather than a name ("50 Cent").
func lifeDates(p string) bool {
	if !strings.ContainsFunc(p, unicode.IsDigit) {
		return false
	}
	if !strings.ContainsFunc(p, unicode.IsLetter) {
		return true
	}
	for _, w := range []string{"b.", "d.", "ca.", "fl.", "approximately", "active", "born", "died"} {
		if strings.HasPrefix(p, w) {
			return true
		}
	}
	return false
}
