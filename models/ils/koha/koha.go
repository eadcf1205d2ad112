// Package koha is a client of Koha's REST API (api/v1): OAuth2 client
// credentials, patron password validation, reading a patron, and writing
// a patron's privacy setting back.
package koha

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Config is how to reach Koha.
type Config struct {
	URL          string // https://koha.library.example (the staff interface's base)
	ClientID     string
	ClientSecret string
	// HTTPClient, when set, is used for every request (tests: a
	// httptest server's client). Its timeout is replaced by Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request (default 8 s, so that a sign-in is
	// answered within 10 s).
	Timeout time.Duration
}

// Validation is Koha's answer to a good identifier and password.
type Validation struct {
	Cardnumber string `json:"cardnumber"`
	PatronID   int64  `json:"patron_id"`
	UserID     string `json:"userid"`
}

// Patron is the part of Koha's patron object Carrel reads.
type Patron struct {
	PatronID   int64  `json:"patron_id"`
	Cardnumber string `json:"cardnumber"`
	Firstname  string `json:"firstname"`
	Surname    string `json:"surname"`
	Email      string `json:"email"`
	Phone      string `json:"phone"`
	Address    string `json:"address"`
	Address2   string `json:"address2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	LibraryID  string `json:"library_id"`
	ExpiryDate string `json:"expiry_date"` // YYYY-MM-DD
	Privacy    int    `json:"privacy"`
}

// ErrRefused is Koha's 400 {"error": "Validation failed"}: wrong
// identifier or password, or a locked account.
var ErrRefused = errors.New("koha: validation failed")

// ErrNotFound is a 404 for a patron.
var ErrNotFound = errors.New("koha: no such patron")

// Client talks to one Koha. It is safe for concurrent use; the OAuth2
// token is cached until it expires.
type Client struct{ cfg Config }

// New checks cfg and returns a client; it does not connect yet.
func New(cfg Config) (*Client, error) { return &Client{cfg: cfg}, errors.New("koha: not built yet") }

// ValidatePassword is POST /api/v1/auth/password/validation.
func (c *Client) ValidatePassword(ctx context.Context, identifier, password string) (Validation, error) {
	return Validation{}, errors.New("koha: not built yet")
}

// Patron is GET /api/v1/patrons/{id}.
func (c *Client) Patron(ctx context.Context, id int64) (Patron, error) {
	return Patron{}, errors.New("koha: not built yet")
}

// SetPrivacy reads the patron whole, changes privacy and PUTs it back
// whole (PUT /api/v1/patrons/{id}).
func (c *Client) SetPrivacy(ctx context.Context, id int64, privacy int) error {
	return errors.New("koha: not built yet")
}
