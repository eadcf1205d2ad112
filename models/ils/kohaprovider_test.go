package ils_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/ils/koha"
	"github.com/carrel-library/carrel/models/ils/koha/kohatest"
)

const (
	kohaCard = "23529000445172"
	kohaPIN  = "4711"
)

func kohaProvider(t *testing.T, cfg koha.Config) models.PatronProvider {
	t.Helper()
	c, err := koha.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := ils.NewKoha(c)
	if p.Name() != "koha" {
		t.Fatalf("Name() = %q", p.Name())
	}
	return p
}

func addKohaPatron(s *kohatest.Server) int64 {
	return s.AddPatron(kohatest.Patron{
		Cardnumber: kohaCard, UserID: "grace", Password: kohaPIN,
		Firstname: "Grace", Surname: "Hopper", Email: "grace@example.org", Phone: "555-0199",
		Address: "1 Cobol Lane", Address2: "Flat 2", City: "Arlington", State: "VA", PostalCode: "22201",
		LibraryID: "MPL", CategoryID: "PT", ExpiryDate: "2031-01-31", Privacy: 2,
	})
}

func TestKohaSignIn(t *testing.T) {
	s := kohatest.Start(t)
	id := addKohaPatron(s)
	p := kohaProvider(t, s.Config())

	got, err := p.CheckPatron(context.Background(), kohaCard, kohaPIN)
	if err != nil {
		t.Fatal(err)
	}
	want := models.ILSPatron{
		ILSID: strconv.FormatInt(id, 10), Card: kohaCard, GivenName: "Grace", FamilyName: "Hopper",
		Email: "grace@example.org", Phone: "555-0199",
		PostalAddress: "1 Cobol Lane, Flat 2, Arlington, VA, 22201",
		HomeBranch:    "MPL",
		CardExpiresOn: time.Date(2031, 1, 31, 0, 0, 0, 0, time.UTC),
	}
	if got.Privacy == nil || *got.Privacy != models.KohaPrivacyNever {
		t.Errorf("privacy = %v, want 2", got.Privacy)
	}
	got.Privacy = nil
	if got != want {
		t.Errorf("patron =\n%+v\nwant\n%+v", got, want)
	}
}

func TestKohaSignInByUserIDGivesKohasCard(t *testing.T) {
	s := kohatest.Start(t)
	addKohaPatron(s)
	s.AddPatron(kohatest.Patron{Cardnumber: "777", Password: "1", Surname: "Bare"}) // no names, address or expiry
	p := kohaProvider(t, s.Config())

	got, err := p.CheckPatron(context.Background(), "grace", kohaPIN)
	if err != nil {
		t.Fatal(err)
	}
	if got.Card != kohaCard || got.FamilyName != "Hopper" {
		t.Errorf("userid sign-in: card %q, name %q; want Koha's card", got.Card, got.FamilyName)
	}

	bare, err := p.CheckPatron(context.Background(), "777", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !bare.CardExpiresOn.IsZero() || bare.PostalAddress != "" || bare.GivenName != "" || bare.Privacy == nil || *bare.Privacy != 0 {
		t.Errorf("bare patron = %+v", bare)
	}
}

func TestKohaRefusalsAreBadCredentials(t *testing.T) {
	s := kohatest.Start(t)
	addKohaPatron(s)
	s.AddPatron(kohatest.Patron{Cardnumber: "999", Password: "1234", Surname: "Locked", Locked: true})
	p := kohaProvider(t, s.Config())
	for name, try := range map[string][2]string{
		"wrong pin":                 {kohaCard, "0000"},
		"unknown card":              {"000000", kohaPIN},
		"locked with the right pin": {"999", "1234"},
		"empty pin":                 {kohaCard, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.CheckPatron(context.Background(), try[0], try[1])
			if !errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("err = %v, want ErrBadCredentials", err)
			}
			if errors.Is(err, models.ErrILSUnavailable) {
				t.Error("a refusal is not an outage")
			}
		})
	}
	if n := s.Calls(kohatest.PathValidation); n != 3 {
		t.Errorf("%d validations asked, want 3 (an empty PIN is not sent)", n)
	}
}

func TestKohaFaultsAreUnavailable(t *testing.T) {
	for name, fault := range map[string]func(*kohatest.Server){
		"down":        func(s *kohatest.Server) { s.Down(true) },
		"slow":        func(s *kohatest.Server) { s.Slow(time.Minute) },
		"garbage":     func(s *kohatest.Server) { s.Garbage(true) },
		"token fails": func(s *kohatest.Server) { s.TokenFails(true) },
		"forbidden":   func(s *kohatest.Server) { s.Forbid(true) },
		"unreachable": func(s *kohatest.Server) { s.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			s := kohatest.Start(t)
			addKohaPatron(s)
			cfg := s.Config()
			cfg.Timeout = 200 * time.Millisecond
			p := kohaProvider(t, cfg)
			fault(s)
			got, err := p.CheckPatron(context.Background(), kohaCard, kohaPIN)
			var ue *models.ILSUnavailableError
			if !errors.As(err, &ue) || ue.Connector != "koha" || !errors.Is(err, models.ErrILSUnavailable) {
				t.Fatalf("err = %v, want *ILSUnavailableError from koha", err)
			}
			if errors.Is(err, models.ErrBadCredentials) || got != (models.ILSPatron{}) {
				t.Errorf("a fault gave %+v, %v", got, err)
			}
			for _, secret := range []string{kohaCard, kohaPIN, "Hopper", s.ClientSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q carries %q", err, secret)
				}
			}
		})
	}
}

// With a token already cached, a Koha that answers late still gives an
// outage within the sign-in's deadline, not a hang.
func TestKohaSlowWithATokenIsUnavailable(t *testing.T) {
	s := kohatest.Start(t)
	addKohaPatron(s)
	cfg := s.Config()
	cfg.Timeout = 300 * time.Millisecond
	p := kohaProvider(t, cfg)
	ctx := context.Background()
	// The first sign-in primes the token; then every answer is late.
	if _, err := p.CheckPatron(ctx, kohaCard, kohaPIN); err != nil {
		t.Fatal(err)
	}
	s.Slow(time.Minute)
	if _, err := p.CheckPatron(ctx, kohaCard, kohaPIN); !errors.Is(err, models.ErrILSUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want unavailable by deadline", err)
	}
}

// The validation and the patron read share one deadline: each may answer
// within the timeout and the sign-in still ends when the deadline does.
func TestKohaSignInHasOneDeadline(t *testing.T) {
	s := kohatest.Start(t)
	id := addKohaPatron(s)
	cfg := s.Config()
	cfg.Timeout = 1500 * time.Millisecond
	p := kohaProvider(t, cfg)
	// Each answer comes within the timeout; both together do not.
	s.SlowPath(kohatest.PathValidation, 800*time.Millisecond)
	s.SlowPath(kohatest.PathPatron(id), 800*time.Millisecond)
	_, err := p.CheckPatron(context.Background(), kohaCard, kohaPIN)
	if !errors.Is(err, models.ErrILSUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want unavailable by deadline", err)
	}
	if s.Calls(kohatest.PathPatron(id)) != 1 {
		t.Error("the patron read was never asked: the test proves nothing")
	}
}

func TestKohaWrongClientSecretIsNotARefusal(t *testing.T) {
	s := kohatest.Start(t)
	addKohaPatron(s)
	cfg := s.Config()
	cfg.ClientSecret = "wrong-secret"
	_, err := kohaProvider(t, cfg).CheckPatron(context.Background(), kohaCard, kohaPIN)
	if !errors.Is(err, models.ErrILSUnavailable) || !errors.Is(err, koha.ErrCredentials) || errors.Is(err, models.ErrBadCredentials) {
		t.Fatalf("err = %v, want unavailable because of the API client's credentials", err)
	}
	if !strings.Contains(err.Error(), "CARREL_KOHA_CLIENT_SECRET") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q should name the setting and not the secret", err)
	}
}

func TestKohaTokenIsCachedAcrossSignIns(t *testing.T) {
	s := kohatest.Start(t)
	addKohaPatron(s)
	p := kohaProvider(t, s.Config())
	for range 2 {
		if _, err := p.CheckPatron(context.Background(), kohaCard, kohaPIN); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokensIssued(); n != 1 {
		t.Errorf("%d tokens for two sign-ins, want 1", n)
	}

	// Tokens that expire at once: each call (validation, patron read)
	// fetches its own.
	s.SetTokenTTL(1)
	p = kohaProvider(t, s.Config())
	for range 2 {
		if _, err := p.CheckPatron(context.Background(), kohaCard, kohaPIN); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokensIssued(); n != 1+4 {
		t.Errorf("%d tokens after two sign-ins with expiring ones, want 1+4", n)
	}
}
