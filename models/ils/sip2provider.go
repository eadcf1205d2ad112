package ils

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/sip2"
)

// NewSIP2 checks patrons with SIP2 63 Patron Information: only BL=Y and
// CQ=Y sign in.
//
// Of the patron status flags only "card reported lost" refuses a
// sign-in: whoever holds a lost card is not its patron. The others
// (charge, renewal, recall or hold privileges denied, too many items,
// excessive fines) are the ILS's circulation blocks; Koha, for one, sets
// "charge privileges denied" for expired and debarred patrons, who may
// still see and erase what the portal holds about them, so those do not
// refuse.
func NewSIP2(c *sip2.Client) models.PatronProvider { return sip2Provider{c} }

type sip2Provider struct{ c *sip2.Client }

func (sip2Provider) Name() string { return "sip2" }

// CheckPatron asks the ILS about card and pin. An empty PIN is refused
// without asking: a SIP2 server that is not told a PIN may not check
// one.
func (p sip2Provider) CheckPatron(ctx context.Context, card, pin string) (models.ILSPatron, error) {
	if strings.TrimSpace(card) == "" || pin == "" {
		return models.ILSPatron{}, models.ErrBadCredentials
	}
	info, err := p.c.PatronInformation(ctx, card, pin)
	switch {
	case errors.Is(err, sip2.ErrBadInput):
		// A card or PIN the protocol cannot carry is no card of the ILS.
		return models.ILSPatron{}, models.ErrBadCredentials
	case err != nil:
		return models.ILSPatron{}, p.unavailable(err)
	}
	if !info.HasValidPatron || !info.ValidPatron || !info.HasValidPIN || !info.ValidPassword {
		return models.ILSPatron{}, models.ErrBadCredentials
	}
	if info.Flag(sip2.StatusCardLost) {
		return models.ILSPatron{}, models.ErrBadCredentials
	}
	got := card
	if info.Identifier != "" {
		// An answer about another patron is no answer to this request.
		if !strings.EqualFold(models.NormalizeCard(strings.TrimSpace(info.Identifier)), models.NormalizeCard(strings.TrimSpace(card))) {
			return models.ILSPatron{}, p.unavailable(fmt.Errorf("%w: the answer is about another patron", sip2.ErrProtocol))
		}
		got = strings.TrimSpace(info.Identifier)
	}
	given, family := splitName(info.Name)
	return models.ILSPatron{
		Card:          got,
		GivenName:     given,
		FamilyName:    family,
		Email:         strings.TrimSpace(info.Email),
		Phone:         strings.TrimSpace(info.Phone),
		PostalAddress: strings.TrimSpace(info.Address),
	}, nil
}

func (sip2Provider) unavailable(err error) error {
	return &models.ILSUnavailableError{Connector: "sip2", Err: err}
}

// splitName reads AE as ILSs write it: "Surname, Given names". Without a
// comma there is no telling which part is which, and the whole is the
// family name.
func splitName(ae string) (given, family string) {
	family, given, ok := strings.Cut(ae, ",")
	if !ok {
		return "", strings.TrimSpace(ae)
	}
	return strings.TrimSpace(given), strings.TrimSpace(family)
}
