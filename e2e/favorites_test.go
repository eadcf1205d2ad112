package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFavoritesJourney: a patron whose favorites are not linked links them
// (an explicit, unticked box), adds an author as typed, is told that the
// same author written the other way round is already followed, removes it,
// and unlinks after a confirmation. Then a catalog "Follow" link opened
// signed out goes through sign-in and back to the follow page.
func TestFavoritesJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		tb := b.newTab(t, startPortal(t, db), "favorites")
		favs := tb.signInTo(blake, "/favorites", "favorites-not-linked")
		wantPage(t, favs, http.StatusOK, "/favorites", "Favorite authors and subjects")
		tb.wantElement(favs, `[data-testid="not-linked"]`, "not linked")
		if eval[bool](tb, `document.querySelector("#consent").checked`) {
			t.Errorf("/favorites: the consent box is ticked in advance; it must never be pre-selected")
		}

		do(tb, "tick the consent box", chromedp.Click(chromedp.CSS(`#consent`)))
		linked := tb.click(`[data-testid="link"]`, "favorites-linked")
		wantPage(t, linked, http.StatusOK, "/favorites", "Favorite authors and subjects")
		tb.wantNotice(linked, "Your favorites are now linked")
		tb.wantElement(linked, `[data-testid="linked"]`, "linked to your record")
		tb.wantElement(linked, `[data-testid="empty"]`)

		// Add an author, as typed.
		added := tb.addFavorite("author", "Butler, Octavia E.", "favorite-added")
		wantPage(t, added, http.StatusOK, "/favorites", "Favorite authors and subjects")
		tb.wantNotice(added, "You now follow Butler, Octavia E.")
		if got := eval[[]string](tb, `Array.from(document.querySelectorAll('[data-testid="favorite"]')).map(e => e.innerText.trim())`); len(got) != 1 || got[0] != "Butler, Octavia E." {
			t.Errorf("/favorites: want exactly [Butler, Octavia E.] followed, got %q", got)
		}

		// The same author, written the other way round, is the same favorite.
		again := tb.addFavorite("author", "Octavia E. Butler", "favorite-already")
		wantPage(t, again, http.StatusOK, "/favorites", "Favorite authors and subjects")
		tb.wantNotice(again, "already follow")
		if n := tb.count(`[data-testid="favorite"]`); n != 1 {
			t.Errorf("/favorites: after adding the same author again, want 1 favorite, got %d", n)
		}

		removed := tb.click(`button[aria-label="Remove Butler, Octavia E."]`, "favorite-removed")
		wantPage(t, removed, http.StatusOK, "/favorites", "Favorite authors and subjects")
		tb.wantNotice(removed, "You no longer follow that author.")
		tb.wantElement(removed, `[data-testid="empty"]`)

		// Unlinking asks first, then erases.
		confirm := tb.click(`[data-testid="unlink"]`, "favorites-unlink-confirm")
		wantPage(t, confirm, http.StatusOK, "/favorites/unlink", "Unlink your favorites from your record?")
		tb.wantElement(confirm, `[data-testid="confirm-warning"]`)
		unlinked := tb.click(selConfirm, "favorites-unlinked")
		wantPage(t, unlinked, http.StatusOK, "/favorites", "Favorite authors and subjects")
		tb.wantNotice(unlinked, "Your favorites are unlinked")
		tb.wantElement(unlinked, `[data-testid="not-linked"]`, "not linked")
		tb.wantNoElement(unlinked, `[data-testid="linked"]`, "favorites were unlinked")

		// A catalog "Follow" link, signed out: sign in first, then back.
		out := tb.click(selSignOutBtn, "signed-out")
		wantPage(t, out, http.StatusOK, "/login?signed_out=1", "Sign in")
		const follow = "/opac/follow?author=Ursula%20K.%20Le%20Guin"
		login := tb.open(follow, "follow-signed-out")
		wantPage(t, login, http.StatusOK, "/login?next="+url.QueryEscape(follow), "Sign in")
		if next := tb.attr(`form[action="/login"] input[name="next"]`, "value"); next != follow {
			t.Errorf("the sign-in form carries next=%q, want %q", next, follow)
		}
		back := tb.signIn(blake, "follow-after-sign-in")
		wantPage(t, back, http.StatusOK, follow, "Follow Ursula K. Le Guin?")
		tb.wantElement(back, `[data-testid="follow"]`, "Ursula K. Le Guin")
		if eval[bool](tb, `document.querySelector("#consent").checked`) {
			t.Errorf("%s: the consent box is ticked in advance", follow)
		}
	})
}

// addFavorite fills in the favorites form and presses Add.
func (tb *tab) addFavorite(kind, name, page string) *pageState {
	tb.t.Helper()
	do(tb, "choose "+kind, chromedp.Click(chromedp.CSS(`input[name="kind"][value="`+kind+`"]`)))
	return tb.follow(page,
		chromedp.SendKeys(chromedp.CSS(`#name`), name),
		chromedp.Click(chromedp.CSS(`[data-testid="add"]`)))
}
