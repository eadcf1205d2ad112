package web_test

import (
	"strings"
	"testing"

	"github.com/carrel-library/carrel/views/i18n"
	"github.com/carrel-library/carrel/views/i18n/i18ntest"
)

// inSpanish makes the client a browser that prefers Spanish.
func (c *client) inSpanish() *client {
	c.header.Set("Accept-Language", "es-US,es;q=0.9,en;q=0.5")
	return c
}

// inPseudo makes the client ask for the pseudo-locale, in which every
// catalog message has its letters accented: plain ASCII letters on a page
// are words that did not come from a catalog (see untranslated).
func (c *client) inPseudo() *client {
	i18n.EnablePseudo()
	c.header.Set("Accept-Language", i18n.Pseudo)
	return c
}

// untranslated lists the text of a page rendered in the pseudo-locale
// that did not come from a catalog (see i18ntest.Untranslated).
func untranslated(t *testing.T, body string, allow ...string) []string {
	t.Helper()
	out, err := i18ntest.Untranslated(body, allow...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPseudoLocaleCheckerCatchesEnglish proves the checker can fail: a
// page with a literal English word is reported, the same page with the
// word accented and a name in another script is not.
func TestPseudoLocaleCheckerCatchesEnglish(t *testing.T) {
	bad := `<html lang="en-XA"><body><p>` + i18n.Accent("Reading history") + ` Hello</p></body></html>`
	if got := untranslated(t, bad); len(got) != 1 || !strings.Contains(got[0], "Hello") {
		t.Errorf("untranslated = %v, want the English word reported", got)
	}
	good := `<html lang="en-XA"><body><p title="` + i18n.Accent("Close") + `">` + i18n.Accent("Reading history") +
		` Октавия, ana@example.org</p><span lang="es">Español</span></body></html>`
	if got := untranslated(t, good); len(got) != 0 {
		t.Errorf("untranslated = %v, want nothing", got)
	}
}
