package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestMailingListsJourney: the demo patron unsubscribes from one list,
// subscribes to another, unsubscribes from everything and subscribes again;
// then the one-click link of an email, opened in a browser that never
// signed in, confirms and unsubscribes without setting any cookie.
func TestMailingListsJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		p := startPortal(t, db)
		tb := b.newTab(t, p, "lists")
		lists := tb.signInTo(alex, "/mailing-lists", "mailing-lists")
		wantPage(t, lists, http.StatusOK, "/mailing-lists", "Mailing lists")
		if got := tb.subscribed(); !slices.Equal(got, []string{"events", "librarians-picks"}) {
			t.Errorf("/mailing-lists: the demo patron should start on events and librarians-picks, the page says %q", got)
		}

		unsub := tb.click(`[data-testid="list-librarians-picks"] [data-testid="unsubscribe"]`, "unsubscribed-librarians-picks")
		wantPage(t, unsub, http.StatusOK, "/mailing-lists", "Mailing lists")
		tb.wantNotice(unsub, "You are unsubscribed from Librarians' Picks.")
		if got := tb.subscribed(); !slices.Equal(got, []string{"events"}) {
			t.Errorf("after unsubscribing from librarians-picks, want [events], the page says %q", got)
		}

		sub := tb.click(`[data-testid="list-friends"] [data-testid="subscribe"]`, "subscribed-friends")
		wantPage(t, sub, http.StatusOK, "/mailing-lists", "Mailing lists")
		tb.wantNotice(sub, "You are subscribed to Friends of the Library.")
		if got := tb.subscribed(); !slices.Equal(got, []string{"events", "friends"}) {
			t.Errorf("after subscribing to friends, want [events friends], the page says %q", got)
		}

		all := tb.click(`[data-testid="unsubscribe-all"]`, "unsubscribed-all")
		wantPage(t, all, http.StatusOK, "/mailing-lists", "Mailing lists")
		tb.wantNotice(all, "You are off 2 mailing lists, and emails about your favorite authors and subjects are off.")
		if got := tb.subscribed(); len(got) != 0 {
			t.Errorf("after unsubscribing from everything, the page still says subscribed to %q", got)
		}
		tb.wantNoElement(all, `[data-testid="unsubscribe-all"]`, "nothing is left to unsubscribe from")

		again := tb.click(`[data-testid="list-events"] [data-testid="subscribe"]`, "subscribed-events")
		tb.wantNotice(again, "You are subscribed to Library Events & Programs.")
		if got := tb.subscribed(); !slices.Equal(got, []string{"events"}) {
			t.Errorf("after subscribing to events again, want [events], the page says %q", got)
		}

		// The one-click link the library's mail system puts in an email.
		link := strings.TrimSpace(p.carrel(t, "lists", "unsubscribe-url", "--card", alex.Card, "--list", "events"))
		if !strings.Contains(link, "/unsubscribe/") || strings.Contains(link, alex.Card) {
			t.Fatalf("carrel lists unsubscribe-url printed %q: want an /unsubscribe/ link that names nobody", link)
		}
		mail := b.newTab(t, p, "unsubscribe-link")
		confirm := mail.visit(p.local(t, link), "unsubscribe-confirm")
		if confirm.Status != http.StatusOK || !strings.HasPrefix(confirm.URL.Path, "/unsubscribe/") {
			t.Fatalf("the unsubscribe link: want 200 on /unsubscribe/…, got %d on %s\n%s", confirm.Status, confirm.Path(), confirm.Text)
		}
		wantText(t, confirm, "Unsubscribe from Library Events & Programs?")
		mail.wantNoIdentifiers(confirm, alex, "the link names nobody")
		mail.wantEmptyJar("the unsubscribe link's page")

		done := mail.click(`[data-testid="confirm-unsubscribe"]`, "unsubscribe-done")
		if done.Status != http.StatusOK || !strings.HasPrefix(done.URL.Path, "/unsubscribe/") {
			t.Errorf("pressing Unsubscribe: want 200 on /unsubscribe/…, got %d on %s", done.Status, done.Path())
		}
		wantText(t, done, "You are unsubscribed")
		mail.wantElement(done, `[data-testid="unsubscribed"]`, "Library Events & Programs")
		mail.wantNoIdentifiers(done, alex, "the link names nobody")
		mail.wantEmptyJar("after the one-click unsubscribe")

		// The patron's consent history has it, as a change by the patron.
		ledger := tb.open("/data/consents", "consents")
		wantPage(t, ledger, http.StatusOK, "/data/consents", "")
		rows := tb.tableRows(selRecords)
		want := [][]string{
			{"Mailing list “Library Events & Programs”", "On", "Off", "You", "Unsubscribe link in an email"},
			{"Mailing list “Library Events & Programs”", "Off", "On", "You", "This portal"},
		}
		if len(rows) < len(want) {
			t.Fatalf("/data/consents: want the latest changes, got %d rows", len(rows))
		}
		for i, w := range want {
			if len(rows[i]) < len(w) || !slices.Equal(rows[i][:len(w)], w) {
				t.Errorf("/data/consents row %d: want %q, got %q", i+1, w, rows[i])
			}
		}
	})
}

// subscribed are the slugs of the lists the page says the patron is
// subscribed to, sorted.
func (tb *tab) subscribed() []string {
	tb.t.Helper()
	got := eval[[]string](tb, `Array.from(document.querySelectorAll('[data-testid="subscribed"]'))
		.map(e => e.closest('[data-testid^="list-"]').getAttribute("data-testid").slice(5))`)
	slices.Sort(got)
	return got
}
