package ils

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/koha"
)

// NewKoha checks patrons with Koha's password validation, then reads the
// patron (name, contact details, home library, expiry, privacy).
func NewKoha(c *koha.Client) models.PatronProvider { return kohaProvider{c: c} }

type kohaProvider struct{ c *koha.Client }

func (kohaProvider) Name() string { return "koha" }

// CheckPatron validates the card (or Koha userid) and PIN, then reads the
// patron Koha named. Both calls share one deadline, the client's timeout,
// so that a sign-in is answered in time however the time is split.
func (k kohaProvider) CheckPatron(ctx context.Context, card, pin string) (models.ILSPatron, error) {
	if card == "" || pin == "" {
		return models.ILSPatron{}, models.ErrBadCredentials
	}
	ctx, cancel := context.WithTimeout(ctx, k.c.Timeout())
	defer cancel()
	v, err := k.c.ValidatePassword(ctx, card, pin)
	if errors.Is(err, koha.ErrRefused) {
		return models.ILSPatron{}, models.ErrBadCredentials
	}
	if err != nil {
		return models.ILSPatron{}, kohaUnavailable(err)
	}
	// Koha's cardnumber may differ from what was typed (a userid sign-in);
	// the patron is Koha's, by its patron_id.
	p, err := k.c.Patron(ctx, v.PatronID)
	if err != nil {
		return models.ILSPatron{}, kohaUnavailable(err)
	}
	privacy := p.Privacy
	out := models.ILSPatron{
		ILSID:         strconv.FormatInt(p.PatronID, 10),
		Card:          p.Cardnumber,
		GivenName:     p.Firstname,
		FamilyName:    p.Surname,
		Email:         p.Email,
		Phone:         p.Phone,
		PostalAddress: kohaPostalAddress(p),
		HomeBranch:    p.LibraryID,
		Privacy:       &privacy,
	}
	if p.Cardnumber == "" {
		out.Card = v.Cardnumber
	}
	if d, err := time.Parse("2006-01-02", p.ExpiryDate); err == nil {
		out.CardExpiresOn = d
	}
	return out, nil
}

func kohaUnavailable(err error) error {
	return &models.ILSUnavailableError{Connector: "koha", Err: err}
}

// kohaPostalAddress joins the primary address's parts that are filled
// in.
func kohaPostalAddress(p koha.Patron) string {
	var keep []string
	for _, s := range []string{p.Address, p.Address2, p.City, p.State, p.PostalCode, p.Country} {
		if s = strings.TrimSpace(s); s != "" {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, ", ")
}
