// Package i18ntest finds, on a page rendered in the pseudo-locale, the
// words that did not come from a message catalog. The web and views tests
// use it; the portal does not.
package i18ntest

import (
	"regexp"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// allowedASCII are the runs of plain letters a pseudo-locale page may hold
// that are not words: email addresses, URLs, file names.
var allowedASCII = regexp.MustCompile(`\S+@\S+|https?://\S+|\b[\w-]+\.(json|csv|svg|png|txt)\b`)

var asciiLetters = regexp.MustCompile(`[A-Za-z]{2,}`)

// Untranslated lists the text of a page rendered in the pseudo-locale that
// did not come from a catalog: text nodes and the attributes a person
// reads or hears (alt, title, aria-label, placeholder, a button's value)
// holding two ASCII letters in a row, outside script and style and outside
// elements marked as another language (lang="en" on the English text of a
// library's policy, the language switch's names), each named by where it
// stands ("<p>: Hello"). The data a test puts on the page must itself be
// free of ASCII letters (names in another script), or be listed in allow.
func Untranslated(body string, allow ...string) ([]string, error) {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		return nil, err
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
		if n.Type == html.TextNode && n.Parent != nil {
			check("<"+n.Parent.Data+">", n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	for _, n := range doc.Nodes {
		walk(n)
	}
	// The title is in head, which walk skips with its style links.
	if title := doc.Find("title"); title.Length() > 0 {
		check("<title>", title.Text())
	}
	return out, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
