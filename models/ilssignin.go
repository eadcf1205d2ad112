package models

// Sign-in through the library's own system (the ILS): the throttle of
// signin.go in front, the provider (PatronProvider) as the check, and
// the patron's record made, refreshed and kept in step with the catalog's
// privacy setting in the transaction that records the sign-in.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// ILSExpiryUnknown is how long a card made at sign-in is taken to be
// valid when the library's system did not say (SIP2 has no expiry field):
// the record needs one, and the next import or sign-in that gives the
// real date replaces it.
const ILSExpiryUnknown = 1 // year

// ErrILSCardConflict says the card number the ILS gave belongs to a
// patron record with another ILS id, which a sign-in never takes over
// (the card moved between patrons in the ILS; the next import sorts it
// out). It names no card.
var ErrILSCardConflict = errors.New("the ILS's card number belongs to another patron record; " +
	"import the patrons file or correct the record")

// SignInPatron checks a card and PIN: with PatronAuth nil, against the
// stored PIN hash; otherwise with the library's system, after the same
// throttle and lockout (the card is counted before the ILS is asked, and
// a locked card is never asked about). A card the ILS accepts that the
// portal has never seen becomes a patron at once; a known card's contact
// details are refreshed; with Koha, a reading-history choice changed in
// the catalog since is followed. All of it in the transaction that
// records the sign-in.
//
// The ILS refusing the card or PIN is a failure like a wrong PIN
// (ErrBadCredentials, or a *LockedError once the card locks). The ILS not
// answering is an *ILSUnavailableError: nothing is written and the
// attempt is not counted against the card.
func (s *Store) SignInPatron(ctx context.Context, card, pin string) (SignIn, error) {
	if s.PatronAuth == nil {
		p, err := s.authenticateLocal(ctx, card, pin)
		if err != nil {
			return SignIn{}, err
		}
		return SignIn{Patron: p}, nil
	}
	prov := s.PatronAuth
	name := prov.Name()
	typed := NormalizeCard(card)
	var (
		got ILSPatron
		in  SignIn
	)
	err := s.throttled(ctx, "card:"+typed, func() (bool, error) {
		var err error
		got, err = s.askILS(ctx, prov, name, typed, pin)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, ErrBadCredentials):
			return false, nil
		}
		return false, err
	}, func(tx *gorm.DB) error {
		var err error
		in, err = s.recordILSSignIn(tx, name, typed, got)
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	if f := in.Followed; f != nil {
		s.countConsent(nil, true, f.Subject, f.NewValue)
	}
	return in, nil
}

// askILS asks the provider about a card and PIN, and notes the call in
// the connector's status and counts. Any error that is not a refusal
// becomes an *ILSUnavailableError.
func (s *Store) askILS(ctx context.Context, prov PatronProvider, name, card, pin string) (ILSPatron, error) {
	s.count("ils." + name + ".attempt")
	start := s.Now()
	t0 := time.Now()
	p, err := prov.CheckPatron(ctx, card, pin)
	took := time.Since(t0)
	if err == nil || errors.Is(err, ErrBadCredentials) {
		// A refusal is a success of the connector.
		s.connectors().Observe(name, start, took, "")
		if err != nil {
			return ILSPatron{}, ErrBadCredentials
		}
		return p, nil
	}
	var ue *ILSUnavailableError
	if !errors.As(err, &ue) {
		ue = &ILSUnavailableError{Connector: name, Err: err}
	}
	s.connectors().Observe(name, start, took, connectorErrorText(ue.Err, card, pin))
	s.count("ils." + name + ".failure")
	return ILSPatron{}, ue
}

func (s *Store) connectors() *Connectors {
	if s.Connectors == nil {
		return &Connectors{}
	}
	return s.Connectors
}

// connectorErrorText says briefly what went wrong with a connector, for
// the staff console, without personal data: the addresses a URL error
// carries (a patron's ILS id may be in the path), the card and the PIN are
// left out.
func connectorErrorText(err error, card, pin string) string {
	if err == nil {
		return "unknown error"
	}
	if fault := NetworkFault(err); fault != "" {
		return fault
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	text := err.Error()
	for _, secret := range []string{card, pin} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "…")
		}
	}
	const max = 120
	if len(text) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return text
}

// recordILSSignIn records, inside the sign-in's transaction, what the ILS
// said of a patron it accepted: the patron found (by ILS id, else by card
// number) or made, contact details refreshed, the catalog's privacy
// setting followed, and the sign-in time. The patron returned is the row
// as it was before this sign-in's time was written.
func (s *Store) recordILSSignIn(tx *gorm.DB, name, typed string, ip ILSPatron) (SignIn, error) {
	now := s.Now()
	card := NormalizeCard(ip.Card)
	if card == "" {
		card = typed
	}
	p, byILSID, found, err := findILSPatron(tx, ip.ILSID, card)
	if err != nil {
		return SignIn{}, err
	}
	var in SignIn
	if !found {
		// A savepoint, so that a patron made by a sign-in of the same card
		// at the same moment is found instead of failing this one.
		err := tx.Transaction(func(tx *gorm.DB) error {
			np, err := s.createILSPatron(tx, name, card, ip, now)
			p = np
			return err
		})
		switch {
		case err == nil:
			in.Created = true
		case errors.Is(err, gorm.ErrDuplicatedKey):
			if p, byILSID, found, err = findILSPatron(tx, ip.ILSID, card); err != nil {
				return SignIn{}, err
			}
			if !found {
				return SignIn{}, ErrILSCardConflict
			}
		default:
			return SignIn{}, err
		}
	}
	if !in.Created {
		followed, err := s.refreshILSPatron(tx, name, card, byILSID, p, ip, now)
		if err != nil {
			return SignIn{}, err
		}
		in.Followed = followed
	}
	// The row as this sign-in leaves it, but for the sign-in time itself.
	if err := tx.Where("id = ?", p.ID).Take(&in.Patron).Error; err != nil {
		return SignIn{}, err
	}
	if err := tx.Model(&Patron{}).Where("id = ?", p.ID).UpdateColumn("last_sign_in_at", now).Error; err != nil {
		return SignIn{}, err
	}
	return in, nil
}

// findILSPatron finds the patron the ILS accepted: by the ILS's id when it
// gave one, and failing that by card number among the patrons without an
// ILS id (made by a SIP2 sign-in, by hand, or before the library linked
// its ILS), who are then given the id; without an id, by card number. A
// record with another ILS id is never taken over. byILSID says the patron
// was found by ILS id.
func findILSPatron(tx *gorm.DB, ilsID, card string) (p Patron, byILSID, found bool, err error) {
	q := tx.Where("card_number = ?", card)
	if ilsID != "" {
		res := tx.Where("ils_id = ?", ilsID).Limit(1).Find(&p)
		if res.Error != nil {
			return Patron{}, false, false, res.Error
		}
		if res.RowsAffected > 0 {
			return p, true, true, nil
		}
		q = q.Where("ils_id IS NULL")
	}
	res := q.Limit(1).Find(&p)
	if res.Error != nil {
		return Patron{}, false, false, res.Error
	}
	return p, false, res.RowsAffected > 0, nil
}

// createILSPatron makes the record of a card the ILS accepted and the
// portal has never seen: contact details from the ILS, no PIN of the
// portal's own, reading history off, favorites not linked, no notices.
func (s *Store) createILSPatron(tx *gorm.DB, name, card string, ip ILSPatron, now time.Time) (Patron, error) {
	p := Patron{
		CardNumber:      card,
		PINHash:         "", // no PIN matches it
		GivenName:       ip.GivenName,
		FamilyName:      ip.FamilyName,
		Email:           ip.Email,
		Phone:           ip.Phone,
		PostalAddress:   ip.PostalAddress,
		HomeBranch:      ip.HomeBranch,
		CardExpiresOn:   ip.CardExpiresOn,
		BorrowingStatus: StatusActive,
		FavoritesNotice: NoticeNone,
		ILSLink:         name,
		ILSPrivacy:      ip.Privacy,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	if ip.ILSID != "" {
		id := ip.ILSID
		p.ILSID = &id
	}
	if p.CardExpiresOn.IsZero() {
		p.CardExpiresOn = now.AddDate(ILSExpiryUnknown, 0, 0)
	}
	if err := tx.Create(&p).Error; err != nil {
		return Patron{}, err
	}
	return p, nil
}

// refreshILSPatron brings a known patron's contact details in step with
// the ILS (a detail the ILS left empty is kept), marks the patron with the
// connector when nothing did before, gives it the ILS id when it had none,
// and follows the catalog's privacy setting.
func (s *Store) refreshILSPatron(tx *gorm.DB, name, card string, byILSID bool, p Patron, ip ILSPatron, now time.Time) (*ILSFollow, error) {
	updates := map[string]any{}
	set := func(col, old, v string) {
		if v != "" && v != old {
			updates[col] = v
		}
	}
	set("given_name", p.GivenName, ip.GivenName)
	set("family_name", p.FamilyName, ip.FamilyName)
	set("email", p.Email, ip.Email)
	set("phone", p.Phone, ip.Phone)
	set("postal_address", p.PostalAddress, ip.PostalAddress)
	set("home_branch", p.HomeBranch, ip.HomeBranch)
	if p.ILSLink == "" {
		updates["ils_link"] = name
	}
	if !ip.CardExpiresOn.IsZero() && !ip.CardExpiresOn.Equal(p.CardExpiresOn) {
		updates["card_expires_on"] = ip.CardExpiresOn
	}
	if ip.ILSID != "" && p.ILSID == nil {
		// A patron found by card number, without an ILS id so far.
		updates["ils_id"] = ip.ILSID
	}
	if byILSID && card != p.CardNumber {
		// A replaced card. Should another record hold the new number, the
		// old one stays until the import or staff sort it out.
		var n int64
		if err := tx.Model(&Patron{}).Where("card_number = ? AND id <> ?", card, p.ID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			updates["card_number"] = card
		}
	}

	var followed *ILSFollow
	if ip.Privacy != nil {
		// A change of ours still on its way to Koha makes what Koha says
		// now out of date: neither follow it nor take it as seen.
		var pending int64
		if err := tx.Model(&OutboxRow{}).Where("patron_id = ? AND target = ? AND status = ?",
			p.ID, TargetKoha, OutboxPending).Count(&pending).Error; err != nil {
			return nil, err
		}
		if pending == 0 {
			if p.ILSPrivacy != nil && *ip.Privacy != *p.ILSPrivacy {
				f, err := s.followKohaPrivacy(tx, p, *ip.Privacy)
				if err != nil {
					return nil, err
				}
				followed = f
			}
			if p.ILSPrivacy == nil || *p.ILSPrivacy != *ip.Privacy {
				updates["ils_privacy"] = *ip.Privacy
			}
		}
	}
	if len(updates) == 0 {
		return followed, nil
	}
	updates["updated_at"] = now
	if err := tx.Model(&Patron{}).Where("id = ?", p.ID).UpdateColumns(updates).Error; err != nil {
		return nil, err
	}
	return followed, nil
}

// followKohaPrivacy takes over a privacy setting the patron changed in
// the catalog: never keep (2) turns reading history off and erases it,
// keep (0) turns it on, the library's default (1) is no choice of the
// patron's and leaves it as it is. The ledger entry's channel is
// ChannelILS.
func (s *Store) followKohaPrivacy(tx *gorm.DB, p Patron, privacy int) (*ILSFollow, error) {
	var on bool
	switch privacy {
	case KohaPrivacyNever:
		on = false
	case KohaPrivacyKeep:
		on = true
	default:
		return nil, nil
	}
	if on == p.ReadingHistoryEnabled {
		return nil, nil
	}
	erased, changed, err := s.setReadingHistoryTx(tx, p.ID, on, Actor{Channel: ChannelILS})
	if err != nil {
		return nil, fmt.Errorf("follow the catalog's privacy: %w", err)
	}
	if !changed {
		return nil, nil
	}
	return &ILSFollow{Subject: ConsentReadingHistory, NewValue: onOff(on), Erased: erased}, nil
}
