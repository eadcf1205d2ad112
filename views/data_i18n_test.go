package views

import (
	"bytes"
	"context"
	"github.com/carrel-library/carrel/views/i18n/i18ntest"
	"reflect"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"github.com/carrel-library/carrel/views/i18n"
)

// renderHTML renders the component fn with its arguments filled by s (see
// sample) and then by fix, for the request ctx.
func renderHTML(t *testing.T, ctx context.Context, fn any, s sample, fix func(args []reflect.Value)) string {
	t.Helper()
	f := reflect.ValueOf(fn)
	args := make([]reflect.Value, f.Type().NumIn())
	for i := range args {
		args[i] = reflect.New(f.Type().In(i)).Elem()
		s.fill(args[i], 0)
	}
	if fix != nil {
		fix(args)
	}
	var buf bytes.Buffer
	if err := f.Call(args)[0].Interface().(templ.Component).Render(ctx, &buf); err != nil {
		t.Fatalf("render with %s: %v", s, err)
	}
	return buf.String()
}

// plainText lists what a component's page holds that came from no
// catalog (see i18ntest.Untranslated).
func plainText(t *testing.T, page string) []string {
	t.Helper()
	out, err := i18ntest.Untranslated(page)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dataPages are the data pages' components, each rendered with every
// string "Данные" (data in another script, so that any ASCII word on the
// page came from the templates) or empty, every bool true or false, every
// pointer set or nil, and the notices each way the overview tells them.
func dataPages(t *testing.T, ctx context.Context, each func(name, page string)) {
	t.Helper()
	fns := map[string]any{"DataOverview": DataOverview, "DataDetail": DataDetail, "DataPrint": DataPrint, "ConfirmPage": ConfirmPage}
	for name, fn := range fns {
		for _, str := range []string{"Данные", ""} {
			for _, on := range []bool{true, false} {
				for _, ptrs := range []bool{true, false} {
					s := sample{str: str, on: on, ptrs: ptrs, keys: []string{"from", "to"}}
					var fixes []func([]reflect.Value)
					fixes = append(fixes, func([]reflect.Value) {})
					if name == "DataOverview" {
						for _, notices := range []string{"daily", "weekly", "none"} {
							for _, visit := range []string{"", "Данные"} {
								fixes = append(fixes, func(args []reflect.Value) {
									o := args[1].Addr().Interface().(*Overview)
									o.Choices.Notices, o.Choices.LastVisit = notices, visit
									o.Choices.HistoryCount, o.Choices.Favorites, o.Choices.StaffAccess = 0, 1, 5000
								})
							}
						}
					}
					if name == "DataDetail" {
						fixes = append(fixes, func(args []reflect.Value) {
							if d := args[1].Addr().Interface().(*Detail); d.History != nil {
								d.History.Count, d.History.Keep, d.History.Staff = 1, 0, false
								d.History.KeepChoices = []int{3, 12}
							}
						}, func(args []reflect.Value) {
							if d := args[1].Addr().Interface().(*Detail); d.History != nil {
								d.History.Count, d.History.Staff = 3, false
							}
						})
					}
					for _, fix := range fixes {
						each(name, renderHTML(t, ctx, fn, s, fix))
					}
				}
			}
		}
	}
}

// TestDataPagesInThePseudoLocale finds any word of the data pages that
// does not come from a catalog.
func TestDataPagesInThePseudoLocale(t *testing.T) {
	i18n.EnablePseudo()
	ctx := i18n.With(context.Background(), i18n.For(i18n.Pseudo))
	reported := map[string]bool{}
	dataPages(t, ctx, func(name, page string) {
		if strings.Contains(page, "⟦") {
			t.Errorf("%s: a message is missing: %s", name, page[strings.Index(page, "⟦"):][:60])
		}
		for _, s := range plainText(t, page) {
			// ErrorSummary's "Please check the form" (forms.templ) is
			// not a data page's own word.
			if !reported[name+s] && !strings.Contains(s, "Please check the form") {
				reported[name+s] = true
				t.Errorf("%s: not from a catalog: %s", name, s)
			}
		}
	})
}

// TestDataPagesInSpanish reads the data pages as a Spanish-speaking
// patron would: in Spanish, with counts, plurals and quotation marks as
// Spanish writes them, and no English left over.
func TestDataPagesInSpanish(t *testing.T) {
	ctx := i18n.With(context.Background(), i18n.For("es"))
	var all strings.Builder
	dataPages(t, ctx, func(name, page string) {
		if strings.Contains(page, "⟦") {
			t.Errorf("%s: a message is missing: %s", name, page[strings.Index(page, "⟦"):][:60])
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(strings.Join(strings.Fields(doc.Find("body").Text()), " ") + "\n")
	})
	text := all.String()
	for _, want := range []string{
		"Lo que guardamos sobre usted",
		"Hola, Данные. Esto es todo lo que Данные guarda sobre usted (tarjeta que termina en Данные)",
		"Activado. Se guardan 3 materiales hasta que usted los elimine o desactive el historial.",
		"Todavía no se guarda nada",
		"Sigue a 1 autor o tema. Le enviamos correos electrónicos sobre sus autores y temas favoritos una vez a la semana",
		"El personal consultó su registro o le ayudó con él: 5000 entradas en total.",
		"5000 entradas nuevas desde su última visita, el Данные.",
		"Está en 3 listas de correo.",
		"También tiene la sesión iniciada en 3 dispositivos o navegadores más.",
		"Eliminar 1 material sin desactivar el historial",
		"Eliminar los 3 materiales sin desactivar el historial",
		"Los últimos 12 meses",
		"Todo, mientras el historial de lectura esté activado",
		"Secciones omitidas: “Данные” y “Данные”.",
		"Lo que Данные guarda sobre Данные",
		"¿Quiere una copia antes?",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the Spanish data pages never say %q", want)
		}
	}
	for _, english := range []string{"What we hold", "Reading history", "items are kept", "Hello", "Left out", "Newer", "Search"} {
		if strings.Contains(text, english) {
			t.Errorf("the Spanish data pages say %q", english)
		}
	}
}
