package views

import (
	"context"
	"io"

	"github.com/a-h/templ"
	templruntime "github.com/a-h/templ/runtime"
	"github.com/carrel-library/carrel/views/i18n"
)

// csrfField is the hidden form field that carries a form's token, the
// session's (Page.CSRF) or, on a sign-in form, the form's own: every form
// that posts writes it with @csrfField(token), so its markup is in this
// one place. It is a Go type rather than a templ component so that a page
// pays no allocation for it: templ calls its Render method directly.
type csrfField string

var _ templ.Component = csrfField("")

// Render writes <input type="hidden" name="csrf_token" value="TOKEN">,
// the value escaped as templ escapes an attribute; and, when the visitor
// chose a language before signing in (URLLang), <input type="hidden"
// name="lang" value="es">, so that the page the form leads to speaks it.
func (t csrfField) Render(ctx context.Context, w io.Writer) error {
	v, err := templruntime.NewAttributeExpression(string(t)).Resolve(ctx)
	if err != nil {
		return err
	}
	lang := ""
	if l := URLLang(ctx); l != "" && i18n.Supported(l) {
		lang = `<input type="hidden" name="lang" value="` + l + `">`
	}
	for _, s := range [...]string{`<input type="hidden" name="csrf_token" value="`, v, `">`, lang} {
		if _, err := io.WriteString(w, s); err != nil {
			return err
		}
	}
	return nil
}
