package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/views/i18n"
	"golang.org/x/net/html"
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

// allowedASCII are the runs of plain letters a pseudo-locale page may hold
// that are not words: email addresses, URLs, file names.
var allowedASCII = regexp.MustCompile(`\S+@\S+|https?://\S+|\b[\w-]+\.(json|csv|svg|png|txt)\b`)

var asciiLetters = regexp.MustCompile(`[A-Za-z]{2,}`)

// untranslated lists the text of a page rendered in the pseudo-locale
// that did not come from a catalog: text nodes and the attributes a
// person reads or hears (alt, title, aria-label, placeholder, a button's
// value) holding two ASCII letters in a row, outside script and style and
// outside elements marked as another language (lang="en" on the English
// text of a library's policy, the language switch's names). The data the
// test put on the page must itself be free of ASCII letters (names in
// another script), or be listed in allow.
func untranslated(t *testing.T, body string, allow ...string) []string {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pageLang, _ := doc.Find("html").Attr("lang")
	var out []string
	check := func(where, s string) {
		for _, a := range allow {
			s = strings.ReplaceAll(s, a, "")
		}
		s = allowedASCII.ReplaceAllString(s, "")
		if asciiLetters.MatchString(s) {
			out = append(out, where+": "+strings.Join(strings.Fields(s), " "))
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "head":
				return
			}
			for _, a := range n.Attr {
				if a.Key == "lang" && a.Val != pageLang {
					return
				}
			}
			for _, a := range n.Attr {
				switch a.Key {
				case "alt", "title", "aria-label", "placeholder":
					check("<"+n.Data+" "+a.Key+">", a.Val)
				case "value":
					if n.Data == "input" && (attr(n, "type") == "submit" || attr(n, "type") == "button") {
						check("<input value>", a.Val)
					}
				}
			}
		}
		if n.Type == html.TextNode {
			check("<"+parentName(n)+">", n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	for _, n := range doc.Nodes {
		walk(n)
	}
	// The title is in head, which walk skips with its style links.
	check("<title>", doc.Find("title").Text())
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func parentName(n *html.Node) string {
	if n.Parent != nil {
		return n.Parent.Data
	}
	return "?"
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
