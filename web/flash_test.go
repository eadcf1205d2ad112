package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
)

func TestStoredFlashesHoldNoNames(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p, tok := linked(t, a)
		wantRedirect(t, c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"Octavia Butler"}}), "/favorites")
		if d := sessionData(t, a); strings.Contains(d, "Octavia") || strings.Contains(d, "Butler") {
			t.Fatalf("the session row holds the author: %s", d)
		}
		if got := c.get("/favorites").doc(t).Find(`[data-testid="notice"]`).Text(); !strings.Contains(got, "You now follow Octavia Butler") {
			t.Fatalf("notice = %q", got)
		}
		// Following again says so, by name too.
		c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"octavia butler"}})
		if d := sessionData(t, a); strings.Contains(strings.ToLower(d), "octavia") {
			t.Fatalf("the session row holds the author: %s", d)
		}
		if got := c.get("/favorites").doc(t).Find(`[data-testid="notice"]`).Text(); !strings.Contains(got, "You already follow Octavia Butler") {
			t.Fatalf("notice = %q", got)
		}
		// A record gone before the page renders leaves a general sentence.
		c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"subject"}, "name": {"Beekeeping"}})
		a.store.DB.Where("patron_id = ? AND display = ?", p.ID, "Beekeeping").Delete(&models.Favorite{})
		if got := c.get("/favorites").doc(t).Find(`[data-testid="notice"]`).Text(); got == "" || strings.Contains(got, "Beekeeping") {
			t.Fatalf("notice = %q", got)
		}

		a.list("garden", "Garden Club Letters")
		wantRedirect(t, c.post("/mailing-lists/garden/subscribe", url.Values{"csrf_token": {tok}}), "/mailing-lists")
		if d := sessionData(t, a); strings.Contains(d, "Garden") {
			t.Fatalf("the session row holds the list: %s", d)
		}
		if got := c.get("/mailing-lists").doc(t).Find(`[data-testid="notice"]`).Text(); !strings.Contains(got, "You are subscribed to Garden Club Letters") {
			t.Fatalf("notice = %q", got)
		}

		a.staff("sam", models.RoleAssistant)
		st := a.assisting(t, "sam", p)
		wantRedirect(t, st.post("/assist/end", url.Values{"csrf_token": {st.csrf("/data")}}), "/staff")
		if d := sessionData(t, a); strings.Contains(d, "Parks") || strings.Contains(d, "Rosa") {
			t.Fatalf("the staff session row holds the patron's name: %s", d)
		}
		if got := st.get("/staff").doc(t).Find(`[data-testid="notice"]`).Text(); got == "" {
			t.Fatal("the console should say the assistance ended")
		}
	})
}
