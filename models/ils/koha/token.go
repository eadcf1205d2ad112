package koha

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenCache holds one client's OAuth2 token until it expires (less
// oauth2's ten-second margin) and fetches a new one when it has none.
//
// It is not oauth2.ReuseTokenSource because that fetches with the context
// the source was made with, so a token endpoint that hangs would hang
// every sign-in behind its lock with no deadline; here each fetch runs
// under the caller's context, and a caller waiting for another's fetch
// stops waiting when its own context ends.
type tokenCache struct {
	cc   clientcredentials.Config
	http *http.Client

	fetch chan struct{} // one fetch at a time

	mu  sync.Mutex
	tok *oauth2.Token
}

func newTokenCache(tokenURL, id, secret string, hc *http.Client) *tokenCache {
	return &tokenCache{
		cc: clientcredentials.Config{
			ClientID:     id,
			ClientSecret: secret,
			TokenURL:     tokenURL,
			// Koha reads client_id and client_secret from the form
			// (Koha/REST/V1/OAuth.pm), never from Basic auth.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		http:  hc,
		fetch: make(chan struct{}, 1),
	}
}

func (t *tokenCache) cached() *oauth2.Token {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.Valid() {
		return t.tok
	}
	return nil
}

// get returns a valid token, fetching one if needed.
func (t *tokenCache) get(ctx context.Context) (*oauth2.Token, error) {
	if tok := t.cached(); tok != nil {
		return tok, nil
	}
	select {
	case t.fetch <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("koha: token: %w", ctx.Err())
	}
	defer func() { <-t.fetch }()
	if tok := t.cached(); tok != nil { // fetched while this one waited
		return tok, nil
	}
	tok, err := t.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		return nil, tokenError(err)
	}
	t.mu.Lock()
	t.tok = tok
	t.mu.Unlock()
	return tok, nil
}

// drop forgets tok if it is still the cached one (Koha refused it).
func (t *tokenCache) drop(tok *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == tok {
		t.tok = nil
	}
}

// tokenError says why no token came, without the token endpoint's body
// (oauth2's own text quotes it) and never with the secret.
func tokenError(err error) error {
	const op = "token"
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		switch s := re.Response.StatusCode; {
		case s == http.StatusBadRequest || s == http.StatusUnauthorized || s == http.StatusForbidden:
			// Koha: 403 for an unknown client or a wrong secret, 400 when
			// RESTOAuth2ClientCredentials is off.
			if s == http.StatusBadRequest {
				return fmt.Errorf("%w (token endpoint: HTTP 400; is Koha's RESTOAuth2ClientCredentials on?)", ErrCredentials)
			}
			return fmt.Errorf("%w (token endpoint: HTTP %d)", ErrCredentials, s)
		default:
			return statusError(op, s)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return transportError(op, err)
	}
	// A 200 that is not a token: oauth2 could not parse it or found no
	// access_token in it.
	return fmt.Errorf("%w: token endpoint answered no token", ErrBadAnswer)
}
