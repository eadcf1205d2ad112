package views

import (
	"testing"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

func TestDatesAreInTheLibrarysTimeZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal("no time zone data")
	}
	en, es := i18n.For("en"), i18n.For("es")
	utc := time.Date(2026, 11, 28, 3, 30, 0, 0, time.UTC) // still the 27th in California
	for _, c := range []struct{ got, want string }{
		{en.Date(utc, la), "November 27, 2026"},
		{en.Time(utc, la), "7:30 PM"},
		{es.Date(utc, la), "27 de noviembre de 2026"},
		{es.Time(utc, la), "19:30"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestTimesThatNameTheirZone(t *testing.T) {
	utc := time.Date(2026, 11, 28, 3, 30, 0, 0, time.UTC)
	cases := map[string]string{"": "3:30 AM UTC", "America/Los_Angeles": "7:30 PM PST", "Asia/Dubai": "7:30 AM UTC+04"}
	for zone, want := range cases {
		loc := time.UTC
		if zone != "" {
			var err error
			if loc, err = time.LoadLocation(zone); err != nil {
				t.Fatal("no time zone data")
			}
		}
		if got := i18n.For("en").TimeZone(utc, loc); got != want {
			t.Errorf("TimeZone in %q = %q, want %q", zone, got, want)
		}
	}
}
