package views

import (
	"context"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/carrel-library/carrel/views/i18n"
)

// T is the translator of the request a component renders for (English
// when none was set): every word a component writes comes through it.
func T(ctx context.Context) *i18n.Tr { return i18n.From(ctx) }

// tr writes message id in the request's language (see i18n.Tr.S).
func tr(ctx context.Context, id string, kv ...any) string { return i18n.From(ctx).S(id, kv...) }

// trn writes message id for a count (see i18n.Tr.N).
func trn(ctx context.Context, id string, n int64, kv ...any) string {
	return i18n.From(ctx).N(id, n, kv...)
}

// trHTML writes a message whose catalog text holds markup (an ID ending
// in ".html"); the values put into it are escaped.
func trHTML(ctx context.Context, id string, kv ...any) templ.Component {
	return templ.Raw(i18n.From(ctx).HTML(id, kv...))
}

type urlLangKey struct{}

// WithURLLang marks ctx's request as one whose language a visitor who is
// not signed in chose with the switch: with no cookie to keep it, the
// choice travels in the URL of every link (LangURL) and in a hidden field
// of every form (csrfField writes it) of the pages they read.
func WithURLLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, urlLangKey{}, lang)
}

// URLLang is the language ctx's links and forms carry, "" when none.
func URLLang(ctx context.Context) string {
	s, _ := ctx.Value(urlLangKey{}).(string)
	return s
}

// LangURL is href carrying the language a visitor chose before sign-in
// (see WithURLLang), or href unchanged when there is none or it leads
// elsewhere. Links on pages a visitor may read before signing in go
// through it: href={ LangURL(ctx, "/policy") }.
func LangURL(ctx context.Context, href string) string {
	urlLang := URLLang(ctx)
	if urlLang == "" || !strings.HasPrefix(href, "/") || strings.HasPrefix(href, "//") {
		return href
	}
	u, err := url.Parse(href)
	if err != nil {
		return href
	}
	q := u.Query()
	q.Set("lang", urlLang)
	u.RawQuery = q.Encode()
	return u.String()
}

// SwitchLink is one language of the switch: the language, the URL of
// this page in it (a link before sign-in), and whether it is the page's.
type SwitchLink struct {
	i18n.Language
	Href    string
	Current bool
}

// SwitchLinks lists the languages of the switch for the page at pageURL
// (path and query), shown in language current.
func SwitchLinks(pageURL, current string) []SwitchLink {
	u, err := url.Parse(pageURL)
	if err != nil || !strings.HasPrefix(pageURL, "/") {
		u = &url.URL{Path: "/"}
	}
	out := make([]SwitchLink, 0, len(i18n.Languages))
	for _, l := range i18n.Languages {
		q := u.Query()
		q.Set("lang", l.Tag)
		href := (&url.URL{Path: u.Path, RawQuery: q.Encode()}).String()
		// A page asked for as /%2F%2Fother.example would otherwise link
		// to ///other.example, which a browser reads as another site.
		if strings.HasPrefix(href, "//") {
			href = "/" + strings.TrimLeft(href, "/")
		}
		out = append(out, SwitchLink{Language: l, Href: href, Current: l.Tag == current})
	}
	return out
}
