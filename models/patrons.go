package models

// Loading one patron's row, by ID or by card number.

import (
	"context"
)

// Patron loads one patron.
func (s *Store) Patron(ctx context.Context, patronID int64) (Patron, error) {
	var p Patron
	err := s.db(ctx).Where("id = ?", patronID).Take(&p).Error
	return p, notFound(err)
}

// PatronByCard loads a patron by card number.
func (s *Store) PatronByCard(ctx context.Context, card string) (Patron, error) {
	var p Patron
	err := s.db(ctx).Where("card_number = ?", NormalizeCard(card)).Take(&p).Error
	return p, notFound(err)
}

// SetLanguage keeps the language patron chose with the language switch
// ("en", "es"), which their emails are then written in. It is the
// patron's own preference, not a consent, so it is not in the ledger; the
// overview shows it with the contact details and the export carries it.
func (s *Store) SetLanguage(ctx context.Context, patronID int64, lang string) error {
	return s.db(ctx).Model(&Patron{}).Where("id = ?", patronID).
		UpdateColumns(map[string]any{"language": lang, "updated_at": s.Now()}).Error
}
