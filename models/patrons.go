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
