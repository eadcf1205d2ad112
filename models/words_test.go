package models_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views/i18n"
)

// catWords is every word a patron reads of a category, as
// testdata/words_en.golden.json holds them: the English the portal
// wrote before the categories' words moved to the catalog.
type catWords struct {
	Slug, Title, Purpose, Retention, SharedWith, Empty, One, Many, ManageLabel string
	Columns                                                                    []string
	Parts                                                                      [][2]string
	Fields                                                                     [][][2]string
}

func wordPatrons() []models.Patron {
	exp := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	return []models.Patron{
		{GivenName: "Ana", FamilyName: "Ruiz", Email: "a@x", Phone: "555", PostalAddress: "1 Main", CardNumber: "123", HomeBranch: "Main", CardExpiresOn: exp, BorrowingStatus: models.StatusActive},
		{GivenName: "Bo", CardNumber: "9", CardExpiresOn: exp, BorrowingStatus: models.StatusBlocked, Language: "en"},
		{GivenName: "Cy", CardNumber: "9", CardExpiresOn: exp, BorrowingStatus: models.StatusExpired, Language: "es"},
		{GivenName: "Di", CardNumber: "9", CardExpiresOn: exp, BorrowingStatus: "odd"},
	}
}

// wordsOf reads the words of cats; the language field, added since the
// golden file was written, is left out with withLanguage false.
func wordsOf(cats []models.Category, withLanguage bool) []catWords {
	var out []catWords
	for _, c := range cats {
		w := catWords{Slug: c.Slug, Title: c.Title, Purpose: c.Purpose, Retention: c.Retention, SharedWith: c.SharedWith,
			Empty: c.Empty, One: c.One, Many: c.Many, ManageLabel: c.ManageLabel, Columns: c.Columns}
		for _, p := range c.Parts {
			w.Parts = append(w.Parts, [2]string{p.Title, p.Empty})
		}
		if c.Fields != nil {
			for _, p := range wordPatrons() {
				var fs [][2]string
				for _, f := range c.Fields(p) {
					if c.Slug == "contact" && f.Label == "Language" && !withLanguage {
						continue
					}
					fs = append(fs, [2]string{f.Label, f.Value})
				}
				w.Fields = append(w.Fields, fs)
			}
		}
		out = append(out, w)
	}
	return out
}

func wordRetentions() []models.Retention {
	return []models.Retention{models.DefaultRetention(), {1, 1, 1, 1, 1, 1, 1, 1}, {2, 3, 4, 5, 6, 7, 3, 2}}
}

// wordStores are stores whose sign-in limits and consent receivers
// change the sign-ins' retention and the consent history's sharing.
func wordStores() []*models.Store {
	var out []*models.Store
	for _, st := range []struct {
		idle, abs time.Duration
		targets   []string
	}{{15 * time.Minute, 8 * time.Hour, nil}, {time.Hour, 90 * time.Minute, []string{models.TargetKoha}},
		{time.Minute, time.Hour, []string{models.TargetWebhookPrefix + "x"}},
		{2 * time.Hour, 24 * time.Hour, []string{models.TargetKoha, models.TargetWebhookPrefix + "x"}}} {
		s := &models.Store{Sessions: models.SessionLimits{Idle: st.idle, Absolute: st.abs}, ConsentTargets: st.targets}
		s.SetRetention(models.DefaultRetention())
		out = append(out, s)
	}
	return out
}

func readWordsGolden(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/words_en.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]json.RawMessage
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func sameAsGolden(t *testing.T, g map[string]json.RawMessage, key string, got any) {
	t.Helper()
	want := reflect.New(reflect.TypeOf(got))
	if err := json.Unmarshal(g[key], want.Interface()); err != nil {
		t.Fatal(err)
	}
	// Through JSON both ways, so nil and empty slices compare alike.
	b, _ := json.Marshal(got)
	norm := reflect.New(reflect.TypeOf(got))
	_ = json.Unmarshal(b, norm.Interface())
	if !reflect.DeepEqual(norm.Elem().Interface(), want.Elem().Interface()) {
		gb, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("%s: the English words changed:\n%s", key, gb)
	}
}

// TestCategoryWordsInEnglishAreUnchanged: every word of every category in
// English, for several schedules, sign-in limits and consent receivers,
// is word for word what the portal wrote before the words moved to the
// catalog, whether the category is read as Categories gives it or passed
// through In(English).
func TestCategoryWordsInEnglishAreUnchanged(t *testing.T) {
	g := readWordsGolden(t)
	en := i18n.For(i18n.English)
	var cats, viaIn [][]catWords
	for _, r := range wordRetentions() {
		cs := models.CategoriesFor(r)
		cats = append(cats, wordsOf(cs, false))
		for i := range cs {
			cs[i] = cs[i].In(en)
		}
		viaIn = append(viaIn, wordsOf(cs, false))
	}
	sameAsGolden(t, g, "categories", cats)
	sameAsGolden(t, g, "categories", viaIn)
	var stores [][]catWords
	for _, s := range wordStores() {
		cs := s.Categories()
		for i := range cs {
			cs[i] = cs[i].In(en)
		}
		stores = append(stores, wordsOf(cs, false))
	}
	sameAsGolden(t, g, "stores", stores)
	var spoken []string
	for _, d := range []time.Duration{time.Minute, 15 * time.Minute, 90 * time.Minute, time.Hour, 8 * time.Hour} {
		spoken = append(spoken, models.SpokenDuration(en, d))
	}
	sameAsGolden(t, g, "spoken", spoken)
	for _, c := range models.Categories() {
		if got, ok := models.CategoryBySlug(c.Slug); !ok || got.Title != c.Title || got.Retention != c.Retention || got.Empty != c.Empty {
			t.Errorf("CategoryBySlug(%q) = %q, %q, %q; want %q, %q, %q", c.Slug, got.Title, got.Retention, got.Empty, c.Title, c.Retention, c.Empty)
		}
	}
}

// TestCategoryWordsInSpanish: every category in Spanish has every text
// from the catalog (no ⟦missing⟧ message) and different from the
// English, for every schedule, store and patron, counts agreeing in
// Spanish; the contact details name the language the patron chose.
func TestCategoryWordsInSpanish(t *testing.T) {
	en, es := i18n.For(i18n.English), i18n.For("es")
	var sets [][]models.Category
	for _, r := range wordRetentions() {
		sets = append(sets, models.CategoriesFor(r))
	}
	for _, s := range wordStores() {
		sets = append(sets, s.Categories())
	}
	for _, cats := range sets {
		english := wordsOf(cats, true)
		for i := range cats {
			cats[i] = cats[i].In(es)
		}
		spanish := wordsOf(cats, true)
		for i, e := range english {
			s := spanish[i]
			texts := [][3]string{{"Title", e.Title, s.Title}, {"Purpose", e.Purpose, s.Purpose}, {"Retention", e.Retention, s.Retention},
				{"SharedWith", e.SharedWith, s.SharedWith}, {"Empty", e.Empty, s.Empty}, {"One", e.One, s.One}, {"Many", e.Many, s.Many},
				{"ManageLabel", e.ManageLabel, s.ManageLabel}}
			for j := range e.Columns {
				texts = append(texts, [3]string{"Columns", e.Columns[j], s.Columns[j]})
			}
			for j := range e.Parts {
				texts = append(texts, [3]string{"Parts", e.Parts[j][0], s.Parts[j][0]}, [3]string{"Parts", e.Parts[j][1], s.Parts[j][1]})
			}
			for p := range e.Fields {
				for j := range e.Fields[p] {
					texts = append(texts, [3]string{"Fields", e.Fields[p][j][0], s.Fields[p][j][0]})
					if v := e.Fields[p][j][1]; strings.Contains(v, ":") || strings.HasPrefix(v, "Set") {
						texts = append(texts, [3]string{"Fields", v, s.Fields[p][j][1]}) // a status, the PIN, no language chosen
					}
				}
			}
			for _, x := range texts {
				if x[0] == "Fields" && x[1] == "PIN" {
					continue // the same word in both
				}
				if strings.Contains(x[2], "⟦") {
					t.Errorf("%s %s: a message is missing: %q", e.Slug, x[0], x[2])
				}
				if x[1] != "" && x[1] == x[2] {
					t.Errorf("%s %s: %q is the same in Spanish", e.Slug, x[0], x[1])
				}
				if (x[1] == "") != (x[2] == "") {
					t.Errorf("%s %s: %q in English, %q in Spanish", e.Slug, x[0], x[1], x[2])
				}
			}
		}
	}
	holds, _ := models.CategoryBySlug("holds")
	holds = holds.In(es)
	for n, want := range map[int64]string{1: "1 reserva", 5000: es.Count(5000) + " reservas"} {
		if got := holds.Counted(es, n); got != want {
			t.Errorf("Counted(%d) = %q, want %q", n, got, want)
		}
	}
	if got := holds.Counted(en, 5000); got != "5,000 holds" {
		t.Errorf("Counted(5000) in English = %q", got)
	}
	if got := models.CategoriesFor(models.Retention{HoldDays: 1})[4].In(es).Retention; got != "1 día después de que una reserva se cumple o se cancela." {
		t.Errorf("holds kept one day, in Spanish: %q", got)
	}
	if got := models.SpokenDuration(es, 8*time.Hour); got != "8 horas" {
		t.Errorf("SpokenDuration(8h) in Spanish = %q", got)
	}
	contact, _ := models.CategoryBySlug("contact")
	for _, tc := range []struct {
		tr         *i18n.Tr
		lang, want string
	}{{en, "", "Not chosen: pages follow your browser"}, {en, "en", "English"}, {en, "es", "Español"},
		{es, "", "Sin elegir: las páginas siguen el idioma de su navegador"}, {es, "en", "English"}, {es, "es", "Español"}} {
		fs := contact.In(tc.tr).Fields(models.Patron{GivenName: "Ana", Language: tc.lang})
		last := fs[len(fs)-1]
		if last.Value != tc.want || (tc.tr == en && last.Label != "Language") || (tc.tr == es && last.Label != "Idioma") {
			t.Errorf("%s, language %q: %+v, want %q", tc.tr.Lang(), tc.lang, last, tc.want)
		}
	}
}

// TestSharedWithOthersInEveryLanguage: whether a category is shared
// beyond a court order does not depend on the language its words are in.
func TestSharedWithOthersInEveryLanguage(t *testing.T) {
	for _, c := range models.Categories() {
		want := c.SharedWith != models.CourtOrder
		if c.SharedWithOthers() != want || c.In(i18n.For("es")).SharedWithOthers() != want {
			t.Errorf("%s: SharedWithOthers = %v, want %v", c.Slug, c.SharedWithOthers(), want)
		}
	}
	fines, _ := models.CategoryBySlug("fines")
	for i, col := range fines.Columns {
		if fines.In(i18n.For("es")).NumericColumn(i) != (col == "Amount") {
			t.Errorf("fines column %q: NumericColumn = %v", col, fines.NumericColumn(i))
		}
	}
}

// TestFavoriteErrorsInSpanish: what the favorites page says of a name it
// cannot keep reads as before in English, and in Spanish through In;
// other input errors (staff read them) stay as written.
func TestFavoriteErrorsInSpanish(t *testing.T) {
	g := readWordsGolden(t)
	var english []string
	for _, in := range [][2]string{{"x", "a"}, {"author", ""}, {"author", string(make([]byte, 600))}, {"author", "a\x01"}, {"author", "a<b"}} {
		_, err := models.ValidateFavorite(in[0], in[1])
		bad, ok := err.(*models.InputError)
		if !ok {
			t.Fatalf("ValidateFavorite(%q): %v", in, err)
		}
		english = append(english, bad.In(i18n.For(i18n.English)))
		es := bad.In(i18n.For("es"))
		if es == bad.Message || strings.Contains(es, "⟦") {
			t.Errorf("%q in Spanish: %q", bad.Message, es)
		}
	}
	sameAsGolden(t, g, "favorites", english)
	if got := (&models.InputError{Field: "slug", Message: "Another list already has that slug."}).In(i18n.For("es")); got != "Another list already has that slug." {
		t.Errorf("a staff error became %q", got)
	}
}

// TestStoredWordsIn: the phrases staff choose from lists, kept in English
// in the audit log, read in Spanish; what staff typed stays as typed.
func TestStoredWordsIn(t *testing.T) {
	es := i18n.For("es")
	for stored, want := range map[string]string{
		"At the desk":     "En el mostrador",
		"Other: Ayuda":    "Otro: Ayuda",
		"found by search": "encontrado en una búsqueda",
		"Holds, Current loans; checked it was you by seeing your library card": "Reservas, Préstamos actuales; comprobó que era usted viendo su tarjeta de la biblioteca",
		"checked it was you another way: vino con su hija":                     "comprobó que era usted de otra manera: vino con su hija",
		"something staff typed": "something staff typed",
	} {
		if got := models.StoredWordsIn(es, stored); got != want {
			t.Errorf("StoredWordsIn(%q) = %q, want %q", stored, got, want)
		}
		if got := models.StoredWordsIn(i18n.For("en"), stored); got != stored {
			t.Errorf("in English %q became %q", stored, got)
		}
	}
}
