package ils_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/ils/sip2"
	"github.com/carrel-library/carrel/models/ils/sip2/sip2test"
)

func sip2Fixture(t *testing.T) (*sip2test.Server, models.PatronProvider) {
	t.Helper()
	lost := strings.Repeat(" ", sip2.StatusCardLost) + "Y"
	srv := sip2test.Start(t, sip2test.Config{
		User: "carrel", Password: "pw", Institution: "CPL",
		Patrons: map[string]sip2test.Patron{
			"21000000000001": {PIN: "4321", Name: "Okafor, Ngozi Ada", Email: "ngozi@example.org", Phone: "555-0100", Address: "12 Elm Street, Springfield"},
			"21000000000002": {PIN: "1111", Name: "Lindqvist, Bo", Invalid: true},
			"21000000000003": {PIN: "2222", Name: "Marek Novak"},
			"21000000000004": {PIN: "3333", Name: "Cho, Min", Status: lost},
			// Expired or debarred in Koha: charge privileges denied.
			"21000000000005": {PIN: "4444", Name: "Haddad, Sami", Status: "Y"},
			"21000000000006": {PIN: "5555", Name: "Ruiz, Ana", NoPINCheck: true},
			"21000000000007": {PIN: "6666", Name: "Other, Someone", Identifier: "21000000009999"},
			"21000000000008": {PIN: "7777", Name: "Spaced, Card", Identifier: "2100-0000 000008"},
		},
	})
	c, err := sip2.New(sip2.Config{
		Addr: srv.Addr(), User: "carrel", Password: "pw", Institution: "CPL",
		ResponseTimeout: 300 * time.Millisecond, ConnectTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, ils.NewSIP2(c)
}

func TestSIP2SignIn(t *testing.T) {
	_, p := sip2Fixture(t)
	if p.Name() != "sip2" {
		t.Errorf("Name() = %q", p.Name())
	}
	got, err := p.CheckPatron(context.Background(), "21000000000001", "4321")
	if err != nil {
		t.Fatal(err)
	}
	want := models.ILSPatron{
		Card: "21000000000001", GivenName: "Ngozi Ada", FamilyName: "Okafor",
		Email: "ngozi@example.org", Phone: "555-0100", PostalAddress: "12 Elm Street, Springfield",
	}
	if got.Card != want.Card || got.GivenName != want.GivenName || got.FamilyName != want.FamilyName ||
		got.Email != want.Email || got.Phone != want.Phone || got.PostalAddress != want.PostalAddress || got.ILSID != "" {
		t.Errorf("got %+v, want %+v", got, want)
	}

	// A name without a comma: no telling given from family, so all of it
	// is the family name.
	got, err = p.CheckPatron(context.Background(), "21000000000003", "2222")
	if err != nil || got.FamilyName != "Marek Novak" || got.GivenName != "" {
		t.Errorf("name without comma: %+v, %v", got, err)
	}
	// Charge privileges denied (Koha: expired, debarred) still signs in.
	if _, err := p.CheckPatron(context.Background(), "21000000000005", "4444"); err != nil {
		t.Errorf("charge-denied patron refused: %v", err)
	}
	// The ILS's spelling of the same card is kept.
	got, err = p.CheckPatron(context.Background(), "21000000000008", "7777")
	if err != nil || got.Card != "2100-0000 000008" {
		t.Errorf("same card spelt differently: %+v, %v", got, err)
	}
}

// Everything the ILS does not clearly accept is ErrBadCredentials.
func TestSIP2Refusals(t *testing.T) {
	srv, p := sip2Fixture(t)
	for _, tc := range []struct{ name, card, pin string }{
		{"wrong PIN", "21000000000001", "0000"},
		{"unknown card", "29999999999999", "4321"},
		{"invalid patron (BL=N)", "21000000000002", "1111"},
		{"card reported lost", "21000000000004", "3333"},
		{"server did not check the PIN (no CQ)", "21000000000006", "5555"},
		{"empty PIN", "21000000000001", ""},
		{"empty card", "  ", "4321"},
		{"PIN that would add a field", "21000000000001", "x|CQY"},
	} {
		got, err := p.CheckPatron(context.Background(), tc.card, tc.pin)
		if !errors.Is(err, models.ErrBadCredentials) {
			t.Errorf("%s: err = %v, want ErrBadCredentials", tc.name, err)
		}
		if got.Card != "" || got.FamilyName != "" {
			t.Errorf("%s: got a patron %+v", tc.name, got)
		}
	}
	// The empty PIN and the injection never reached the ILS.
	if n := srv.Requests("63"); n != 5 {
		t.Errorf("%d 63s reached the server, want 5", n)
	}
}

// The ILS down, hung, garbled or answering about someone else: an
// *ILSUnavailableError, never a sign-in and never a refusal (which would
// count against the card).
func TestSIP2Unavailable(t *testing.T) {
	srv, p := sip2Fixture(t)
	ctx := context.Background()
	check := func(name, card, pin string) {
		t.Helper()
		got, err := p.CheckPatron(ctx, card, pin)
		var ue *models.ILSUnavailableError
		if !errors.As(err, &ue) || ue.Connector != "sip2" || !errors.Is(err, models.ErrILSUnavailable) {
			t.Errorf("%s: err = %v, want *ILSUnavailableError from sip2", name, err)
			return
		}
		if errors.Is(err, models.ErrBadCredentials) || got.Card != "" {
			t.Errorf("%s: got %+v, %v", name, got, err)
		}
		if msg := err.Error(); strings.Contains(msg, card) || strings.Contains(msg, pin) {
			t.Errorf("%s: error %q holds the card or PIN", name, msg)
		}
	}
	check("answer about another patron", "21000000000007", "6666")
	for _, f := range []struct {
		name  string
		fault sip2test.Fault
	}{
		{"garbage", sip2test.Garbage}, {"bad checksum", sip2test.BadChecksum},
		{"wrong sequence", sip2test.WrongSequence}, {"wrong code", sip2test.WrongCode},
		{"hung", sip2test.Hang}, {"dropped", sip2test.Drop},
	} {
		srv.SetFault(f.fault)
		check(f.name, "21000000000001", "4321")
	}
	srv.SetFault(sip2test.None)
	srv.Down()
	check("down", "21000000000001", "4321")
	srv.Up()
	if _, err := p.CheckPatron(ctx, "21000000000001", "4321"); err != nil {
		t.Errorf("back up: %v", err)
	}
}

func TestSIP2LoginRefusedIsUnavailable(t *testing.T) {
	srv := sip2test.Start(t, sip2test.Config{User: "carrel", Password: "pw", Patrons: map[string]sip2test.Patron{
		"21000000000001": {PIN: "4321", Name: "Okafor, Ngozi"},
	}})
	c, err := sip2.New(sip2.Config{Addr: srv.Addr(), User: "carrel", Password: "stale"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = ils.NewSIP2(c).CheckPatron(context.Background(), "21000000000001", "4321")
	if !errors.Is(err, models.ErrILSUnavailable) || !errors.Is(err, sip2.ErrLogin) {
		t.Fatalf("err = %v, want unavailable wrapping ErrLogin", err)
	}
}
