package koha

import "context"

// CheckToken obtains an OAuth2 token with the client's credentials (client
// credentials grant), as the first sign-in would, and asks nothing else of
// Koha: carrel doctor's check that Koha answers and accepts the API key.
// Its errors are the client's: ErrCredentials for a refused key, a
// timeout or a network error otherwise; none holds the secret.
func (c *Client) CheckToken(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.tokens.get(ctx)
	return err
}
