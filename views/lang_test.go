package views

import (
	"strings"
	"testing"
)

// TestSwitchLinksStayOnThisSite: the switch's links lead to this page on
// this site, whatever address the page was asked for with (a crafted
// "//other.example" must not become a link off the site).
func TestSwitchLinksStayOnThisSite(t *testing.T) {
	for _, page := range []string{"//evil.example/x", "/%2F%2Fevil.example/x", "/\\evil.example", "https://evil.example/", "/data?q=1&lang=en"} {
		for _, l := range SwitchLinks(page, "en") {
			if !strings.HasPrefix(l.Href, "/") || strings.HasPrefix(l.Href, "//") || strings.HasPrefix(l.Href, "/\\") {
				t.Errorf("SwitchLinks(%q) links to %q", page, l.Href)
			}
		}
	}
	if got := SwitchLinks("/data?q=1&lang=en", "en")[1].Href; got != "/data?lang=es&q=1" {
		t.Errorf("the Spanish link is %q", got)
	}
}
