package views

import (
	"testing"
	"time"
)

func TestFormatCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 5000: "5,000", 20000000: "20,000,000", -1234: "-1,234"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDatesAreInTheLibrarysTimeZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip("no time zone data")
	}
	utc := time.Date(2026, 11, 28, 3, 30, 0, 0, time.UTC) // still the 27th in California
	if got := FormatDate(utc, la); got != "November 27, 2026" {
		t.Errorf("FormatDate = %q", got)
	}
	if got := FormatTime(utc, la); got != "7:30 PM" {
		t.Errorf("FormatTime = %q", got)
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
				t.Skip("no time zone data")
			}
		}
		if got := FormatTimeZone(utc, loc); got != want {
			t.Errorf("FormatTimeZone in %q = %q, want %q", zone, got, want)
		}
	}
}
