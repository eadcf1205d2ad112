package i18n

import (
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// catalog is one catalog file as written: message ID → its forms.
type catalog map[string]map[string]string

func readCatalogs(t *testing.T) map[string]map[string]catalog {
	t.Helper()
	names, err := fs.Glob(files, "locales/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]catalog{} // area → lang → catalog
	for _, name := range names {
		area, lang, ok := splitName(path.Base(name))
		if !ok {
			t.Fatalf("%s is not named AREA.LANG.toml", name)
		}
		buf, _ := files.ReadFile(name)
		var raw map[string]any
		if err := toml.Unmarshal(buf, &raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := catalog{}
		for id, v := range raw {
			switch v := v.(type) {
			case string:
				c[id] = map[string]string{"other": v}
			case map[string]any:
				forms := map[string]string{}
				for k, f := range v {
					s, _ := f.(string)
					forms[k] = s
				}
				c[id] = forms
			default:
				t.Fatalf("%s: %s is neither a text nor plural forms", name, id)
			}
		}
		if out[area] == nil {
			out[area] = map[string]catalog{}
		}
		out[area][lang] = c
	}
	return out
}

var action = regexp.MustCompile(`\{\{\s*\.([A-Za-z]+)\s*\}\}`)

func fields(s string) []string {
	var out []string
	for _, m := range action.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// TestCatalogsLoad: the catalogs parse, and no message ID is in two areas.
func TestCatalogsLoad(t *testing.T) {
	if err := LoadError(); err != nil {
		t.Fatal(err)
	}
}

// TestEveryMessageInEveryLanguage: each area's English messages exist in
// every language of the switch, with the same plural forms and the same
// data; no language holds a message English lacks. English-only areas
// (staff pages) need English only.
func TestEveryMessageInEveryLanguage(t *testing.T) {
	for area, langs := range readCatalogs(t) {
		en, ok := langs[English]
		if !ok {
			t.Errorf("area %s has no English catalog", area)
			continue
		}
		for _, l := range Languages {
			if l.Tag == English {
				continue
			}
			other, ok := langs[l.Tag]
			if EnglishOnly[area] {
				if ok {
					t.Errorf("area %s is English only but has a %s catalog: take it off EnglishOnly", area, l.Tag)
				}
				continue
			}
			if !ok {
				t.Errorf("area %s has no %s catalog (%s.%s.toml)", area, l.Tag, area, l.Tag)
				continue
			}
			for id, forms := range en {
				tr, ok := other[id]
				if !ok {
					t.Errorf("%s.%s.toml lacks %q", area, l.Tag, id)
					continue
				}
				if (forms["one"] != "") != (tr["one"] != "") {
					t.Errorf("%s.%s.toml: %q has plural forms in one language only", area, l.Tag, id)
				}
				for form, text := range tr {
					if strings.TrimSpace(text) == "" {
						t.Errorf("%s.%s.toml: %q (%s) is empty", area, l.Tag, id, form)
					}
				}
				if a, b := fields(strings.Join(values(forms), " ")), fields(strings.Join(values(tr), " ")); strings.Join(uniq(a), ",") != strings.Join(uniq(b), ",") && !mayOmitData[id] {
					t.Errorf("%s.%s.toml: %q uses %v, English %v", area, l.Tag, id, uniq(b), uniq(a))
				}
			}
			for id := range other {
				if _, ok := en[id]; !ok {
					t.Errorf("%s.%s.toml has %q, which English does not", area, l.Tag, id)
				}
			}
		}
	}
}

// mayOmitData lists the messages a language may write without some of
// their data: a 24-hour clock has no AM or PM.
var mayOmitData = map[string]bool{"time.clock": true}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func uniq(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

var testDay = time.Date(2026, 3, 1, 15, 4, 0, 0, time.UTC)

func TestFormats(t *testing.T) {
	when := time.Date(2026, 3, 1, 15, 4, 0, 0, time.UTC)
	en, es := For("en"), For("es")
	for _, c := range []struct{ got, want string }{
		{en.Date(when, nil), "March 1, 2026"},
		{es.Date(when, nil), "1 de marzo de 2026"},
		{en.Time(when, nil), "3:04 PM"},
		{es.Time(when, nil), "15:04"},
		{en.Count(5000), "5,000"},
		{es.Count(50000), "50.000"},
		{es.Count(5000), "5000"},
		{es.Count(-12000), "-12.000"},
		{en.List([]string{"a", "b", "c"}), "a, b and c"},
		{es.List([]string{"a", "b"}), "a y b"},
		{es.Weekday(time.Monday), "lunes"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for h, want := range map[string]string{
		"":                        "en",
		"es-MX,es;q=0.9,en;q=0.8": "es",
		"en-US,en;q=0.9,es;q=0.5": "en",
		"fr-FR,fr;q=0.9":          "en",
		"es-419":                  "es",
		"de;q=0.9,es;q=0.8":       "es",
		"garbage;;;q=x":           "en",
	} {
		if got := Match(h); got != want {
			t.Errorf("Match(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestMissingMessageShows(t *testing.T) {
	if got := For("es").S("no.such.message"); got != "⟦no.such.message⟧" {
		t.Errorf("got %q", got)
	}
}

func TestPseudoAccentsTextNotActions(t *testing.T) {
	if got := Accent(`Read <a href="/x">{{.Name}}</a> &amp; go`); got != `Ŕéàḋ <a href="/x">{{.Name}}</a> &amp; ĝö` {
		t.Errorf("got %q", got)
	}
	EnablePseudo()
	if got := For(Pseudo).Date(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), nil); got != "Ṁàŕçĥ 1, 2026" {
		t.Errorf("pseudo date %q", got)
	}
}

// TestPluralsAndData: plural forms chosen by CLDR rules for each
// language, data put in the message, a million in Spanish read as "other".
func TestPluralsAndData(t *testing.T) {
	sources["en"]["test.items"] = &goi18n.Message{ID: "test.items", One: "{{.Count}} item in {{.Place}}", Other: "{{.Count}} items in {{.Place}}"}
	sources["es"]["test.items"] = &goi18n.Message{ID: "test.items", One: "{{.Count}} elemento en {{.Place}}", Other: "{{.Count}} elementos en {{.Place}}", Many: "{{.Count}} elementos en {{.Place}}"}
	defer delete(sources["en"], "test.items")
	defer delete(sources["es"], "test.items")
	en, es := For("en"), For("es")
	for _, c := range []struct{ got, want string }{
		{en.N("test.items", 1, "Place", "Main"), "1 item in Main"},
		{en.N("test.items", 0, "Place", "Main"), "0 items in Main"},
		{en.N("test.items", 5000, "Place", "Main"), "5,000 items in Main"},
		{es.N("test.items", 1, "Place", "Central"), "1 elemento en Central"},
		{es.N("test.items", 1000000, "Place", "Central"), "1.000.000 elementos en Central"},
		{es.N("test.items", 2, "Place", 7), "2 elementos en 7"},
		{es.S("layout.title", "Page", "Inicio", "Library", "SMPL"), "Inicio · Portal de privacidad de SMPL"},
		{es.S("layout.title", "Page", "Inicio"), "Inicio · Portal de privacidad de <no value>"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
