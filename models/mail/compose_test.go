package mail_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/mail/mailtest"
)

// TestDigestEmailIsInThePatronsLanguage: the new-arrival email is written
// in the language the patron chose (their record's), subject, text and
// HTML, with links that carry it; a patron who chose none gets English,
// as before.
func TestDigestEmailIsInThePatronsLanguage(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	forEachDB(t, func(t *testing.T, a *fixture) {
		srv.Reset()
		rosa := a.patron(card, pin, "Rosa", "Parks")
		ana := a.patron("21000000008888", pin, "Ana", "Castillo")
		if err := a.store.SetLanguage(t.Context(), rosa.ID, "es"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []models.Patron{rosa, ana} {
			mailtest.NoticesOn(t, a.store, p, models.NoticeWeekly)
			mailtest.Notify(t, a.store, p, "Kindred", "b1")
			mailtest.Notify(t, a.store, p, "Fledgling", "b2")
		}
		if rep := run(t, deliverer(a, cfg, &strings.Builder{})); rep.Sent != 2 {
			t.Fatalf("%s", rep)
		}
		byTo := map[string]mailtest.Email{}
		for _, m := range srv.Messages() {
			byTo[m.To[0]] = mailtest.ParseEmail(t, m.Data)
		}
		for _, tc := range []struct {
			who, lang, subject, unsubSuffix string
			text                            []string
		}{
			{rosa.Email, "es", "Novedades en Test Library: 2 materiales nuevos de autores o sobre temas que usted sigue", "?lang=es",
				[]string{"Novedades en Test Library", "Estas 2 novedades son de autores o sobre temas que usted sigue:", "  de Butler, Octavia E.",
					"Porque usted sigue: Butler, Octavia E.", "un correo a la semana", portal + "/favorites?lang=es", "Dejar de recibir estos correos"}},
			{ana.Email, "en", "New at Test Library: 2 new items by authors or on subjects you follow", "",
				[]string{"New at Test Library", "These 2 new arrivals are by authors or on subjects you follow:", "  by Butler, Octavia E.",
					"Because you follow: Butler, Octavia E.", "you chose weekly emails about your favorite authors and subjects", "what you follow: " + portal + "/favorites\r\n",
					"Stop these emails (one click, no sign-in): "}},
		} {
			e, ok := byTo[tc.who]
			if !ok {
				t.Fatalf("no email to %s", tc.who)
			}
			if got := e.Header.Get("Subject"); got != tc.subject {
				t.Errorf("%s: Subject %q, want %q", tc.lang, got, tc.subject)
			}
			unsub := strings.Trim(e.Header.Get("List-Unsubscribe"), "<>")
			if !strings.HasPrefix(unsub, portal+"/unsubscribe/notices/") ||
				strings.Contains(unsub, "lang=") != (tc.unsubSuffix != "") || !strings.HasSuffix(unsub, tc.unsubSuffix) {
				t.Errorf("%s: List-Unsubscribe %q, want it ending %q", tc.lang, unsub, tc.unsubSuffix)
			}
			for _, want := range append(tc.text, unsub) {
				if !strings.Contains(e.Text, want) {
					t.Errorf("%s: the text part lacks %q:\n%s", tc.lang, want, e.Text)
				}
			}
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(e.HTML))
			if err != nil {
				t.Fatal(err)
			}
			if lang, _ := doc.Find("html").Attr("lang"); lang != tc.lang {
				t.Errorf("the HTML part has lang=%q, want %q", lang, tc.lang)
			}
			if got := doc.Find("title").Text(); got != tc.subject {
				t.Errorf("the HTML part's title %q", got)
			}
			if href, _ := doc.Find(`a[href*="/unsubscribe/notices/"]`).Attr("href"); href != unsub {
				t.Errorf("the HTML part's unsubscribe link %q, want %q", href, unsub)
			}
		}
		if !strings.Contains(byTo[rosa.Email].HTML, "Porque usted sigue: Butler, Octavia E.") || strings.Contains(byTo[rosa.Email].HTML, "Because you follow") {
			t.Error("the Spanish HTML part is not in Spanish")
		}
	})
}
