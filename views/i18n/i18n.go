// Package i18n speaks to patrons in their language: the message catalogs
// (locales/*.toml, one file per area and language, read with go-i18n),
// CLDR plural rules, and numbers, dates and times written the way each
// language writes them (golang.org/x/text for numbers, the catalogs for
// month and day names and the order of a date's parts).
//
// Every word a patron reads comes from a catalog: templ components call
// views.T(ctx) (the Tr the request carries), handlers call tr(c), and the
// models take a *Tr where they write words. A message is found by its ID
// ("layout.skip"); its English text is in locales/AREA.en.toml, its
// Spanish in locales/AREA.es.toml. Areas whose pages only staff read
// (staff, staffops, stafflists) are English only for now: EnglishOnly lists them, and
// their messages fall back to English in every language.
//
// It is a leaf package (no other package of Carrel's), so that models may
// use it for the words they write to patrons (category explanations, legal
// notices, emails).
package i18n

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed locales/*.toml
var files embed.FS

// English is the language every message exists in, and the one a request
// gets when nothing else is asked for.
const English = "en"

// Pseudo is the pseudo-locale tests render pages in (see EnablePseudo):
// English with every letter accented, "Ŕéàḋîñĝ ĥîšţöŕý".
const Pseudo = "en-XA"

// Language is one language the portal speaks: its BCP 47 tag and its
// name as its own speakers write it (for the language switch).
type Language struct {
	Tag, Name string
}

// Languages are the languages of the patron pages, in the switch's order.
var Languages = []Language{{Tag: "en", Name: "English"}, {Tag: "es", Name: "Español"}}

// EnglishOnly lists the catalog areas with no translation yet: pages only
// staff read. Their messages exist in English only; the completeness test
// does not ask for them in other languages.
var EnglishOnly = map[string]bool{"staff": true, "staffops": true, "stafflists": true}

// Tr writes messages, counts, dates and times in one language. It is safe
// for concurrent use; For returns the same Tr for a language every time.
type Tr struct {
	lang      string
	tag       language.Tag
	localizer *goi18n.Localizer
	printer   *message.Printer
	// plain holds the messages with no template actions, ready to return.
	plain map[string]string
}

var (
	mu     sync.RWMutex
	bundle *goi18n.Bundle
	byLang = map[string]*Tr{}
	ids    map[string]string // message ID → area
	// englishMsgs are the English messages as the catalogs write them.
	englishMsgs map[string]*goi18n.Message
	// sources are every language's messages as written: language → ID.
	sources map[string]map[string]*goi18n.Message
	loadErr error
	missing sync.Map // message IDs asked for and found in no catalog
	// pseudoOn says a test enabled the pseudo-locale.
	pseudoOn atomic.Bool
)

func init() {
	loadErr = load()
}

// LoadError is the first problem found reading the catalogs (nil when
// they are sound); the portal refuses to start with one (see cmd).
func LoadError() error { return loadErr }

// load reads every catalog file into the bundle.
func load() error {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	ids = map[string]string{}
	englishMsgs = map[string]*goi18n.Message{}
	sources = map[string]map[string]*goi18n.Message{}
	names, err := fs.Glob(files, "locales/*.toml")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		area, lang, ok := splitName(path.Base(name))
		if !ok {
			errs = append(errs, fmt.Errorf("%s: a catalog is named AREA.LANG.toml", name))
			continue
		}
		buf, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		mf, err := goi18n.ParseMessageFileBytes(buf, name, map[string]goi18n.UnmarshalFunc{"toml": toml.Unmarshal})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, m := range mf.Messages {
			// Spanish (and others) have a CLDR "many" form a translator
			// seldom writes (a million items): it reads as "other".
			if m.Many == "" {
				m.Many = m.Other
			}
			if sources[lang] == nil {
				sources[lang] = map[string]*goi18n.Message{}
			}
			sources[lang][m.ID] = m
			if lang == English {
				if prev, dup := ids[m.ID]; dup {
					errs = append(errs, fmt.Errorf("%s: message %q is also in the %s area", name, m.ID, prev))
				}
				ids[m.ID] = area
				englishMsgs[m.ID] = m
			}
		}
		if err := b.AddMessages(mf.Tag, mf.Messages...); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := addPseudo(b); err != nil {
		errs = append(errs, err)
	}
	bundle = b
	return errors.Join(errs...)
}

// splitName reads "data.es.toml" as area "data", language "es".
func splitName(base string) (area, lang string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(base, ".toml"), ".")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// Supported reports whether lang is a language the portal speaks (the
// pseudo-locale too, once a test enabled it).
func Supported(lang string) bool {
	for _, l := range Languages {
		if l.Tag == lang {
			return true
		}
	}
	return lang == Pseudo && pseudoOn.Load()
}

// matcher matches a browser's languages against Languages, in its order
// (Match returns Languages[i] for the i-th tag).
var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(Languages))
	for i, l := range Languages {
		tags[i] = language.MustParse(l.Tag)
	}
	return language.NewMatcher(tags)
}()

// Match picks the language of an Accept-Language header among Languages:
// English unless the browser prefers another of them (Spanish: es, es-MX,
// es-419 …) to it.
func Match(acceptLanguage string) string {
	if acceptLanguage == "" {
		return English
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Languages[i].Tag
}

// For returns the Tr of lang, English for a language the portal does not
// speak.
func For(lang string) *Tr {
	mu.RLock()
	t, ok := byLang[lang]
	mu.RUnlock()
	if ok {
		return t
	}
	if !Supported(lang) {
		lang = English
	}
	mu.Lock()
	defer mu.Unlock()
	if t, ok := byLang[lang]; ok {
		return t
	}
	t = newTr(lang)
	byLang[lang] = t
	return t
}

func newTr(lang string) *Tr {
	tag := language.Make(lang)
	t := &Tr{
		lang:      lang,
		tag:       tag,
		localizer: goi18n.NewLocalizer(bundle, lang, English),
		printer:   message.NewPrinter(tag),
		plain:     map[string]string{},
	}
	for id := range ids {
		m, err := t.localizer.Localize(&goi18n.LocalizeConfig{MessageID: id})
		if err == nil && !strings.Contains(m, "{{") && !needsData(id) {
			t.plain[id] = m
		}
	}
	return t
}

// needsData reports whether a message has plural forms or template data
// and so cannot be kept ready-made (checked on the English text).
func needsData(id string) bool {
	m := englishMsgs[id]
	return m == nil || m.One != "" || strings.Contains(m.Other, "{{")
}

// Lang is the language's BCP 47 tag, for <html lang>.
func (t *Tr) Lang() string { return t.lang }

// S writes message id with its data, given as name/value pairs:
// S("history.kept", "Months", 6). A value that is not a string is written
// with fmt's %v. A message no catalog holds is written as ⟦id⟧ (and
// Missing lists it), so that a page never silently reads wrong.
func (t *Tr) S(id string, kv ...any) string {
	if len(kv) == 0 {
		if s, ok := t.plain[id]; ok {
			return s
		}
	}
	if m := t.source(id); m != nil && m.One == "" {
		if s, ok := substitute(m.Other, kv, ""); ok {
			return s
		}
	}
	return t.localize(id, nil, data(kv))
}

// source is message id as this language's catalog writes it, else as
// English does; nil when neither has it.
func (t *Tr) source(id string) *goi18n.Message {
	if m := sources[t.lang][id]; m != nil {
		return m
	}
	return sources[English][id]
}

// substitute fills a message whose only template actions are {{.Name}}
// with the values of kv (and count as .Count), as text/template would,
// without its cost; ok is false for any other action, which go-i18n's
// templates then execute.
func substitute(src string, kv []any, count string) (string, bool) {
	var b strings.Builder
	b.Grow(len(src) + 32)
	for {
		i := strings.Index(src, "{{")
		if i < 0 {
			b.WriteString(src)
			return b.String(), true
		}
		b.WriteString(src[:i])
		end := strings.Index(src[i:], "}}")
		if end < 0 {
			return "", false
		}
		name := strings.TrimSpace(src[i+2 : i+end])
		if !strings.HasPrefix(name, ".") || strings.ContainsAny(name[1:], " .|()$\"") {
			return "", false
		}
		name = name[1:]
		found := false
		if name == "Count" && count != "" {
			b.WriteString(count)
			found = true
		}
		for j := 0; !found && j+1 < len(kv); j += 2 {
			if k, _ := kv[j].(string); k == name {
				switch v := kv[j+1].(type) {
				case string:
					b.WriteString(v)
				default:
					fmt.Fprint(&b, v)
				}
				found = true
			}
		}
		if !found {
			b.WriteString("<no value>")
		}
		src = src[i+end+2:]
	}
}

// N writes message id for a count: its CLDR plural form (one, other;
// many in Spanish) is chosen by n, and its data carries Count, n written
// as this language writes numbers: N("history.items", 5000) is "5,000
// items" in English, "5000 elementos" in Spanish.
func (t *Tr) N(id string, n int64, kv ...any) string {
	count := t.Count(n)
	if m := t.source(id); m != nil {
		form := m.Other
		if m.One != "" {
			abs := n
			if abs < 0 {
				abs = -abs
			}
			switch plural.Cardinal.MatchPlural(t.tag, int(abs%10_000_000), 0, 0, 0, 0) {
			case plural.One:
				form = m.One
			case plural.Many:
				form = m.Many
			}
		}
		if s, ok := substitute(form, kv, count); ok {
			return s
		}
	}
	d := data(kv)
	d["Count"] = count
	return t.localize(id, n, d)
}

func (t *Tr) localize(id string, count any, d map[string]any) string {
	s, err := t.localizer.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: count})
	if err != nil {
		var nf *goi18n.MessageNotFoundErr
		if errors.As(err, &nf) || s == "" {
			missing.Store(id, true)
			return "⟦" + id + "⟧"
		}
	}
	return s
}

// HTML writes message id as HTML: the catalog's own markup (a link in a
// sentence) is kept, every value put into it is escaped. Only messages
// whose IDs end in ".html" carry markup.
func (t *Tr) HTML(id string, kv ...any) string {
	for i := 1; i < len(kv); i += 2 {
		kv[i] = html.EscapeString(fmt.Sprint(kv[i]))
	}
	return t.S(id, kv...)
}

// NHTML is HTML for a count (see N).
func (t *Tr) NHTML(id string, n int64, kv ...any) string {
	for i := 1; i < len(kv); i += 2 {
		kv[i] = html.EscapeString(fmt.Sprint(kv[i]))
	}
	return t.N(id, n, kv...)
}

func data(kv []any) map[string]any {
	d := make(map[string]any, len(kv)/2+1)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		d[k] = kv[i+1]
	}
	return d
}

// Has reports whether message id exists (in English, hence everywhere).
func Has(id string) bool {
	_, ok := ids[id]
	return ok
}

// Missing lists the message IDs pages asked for that no catalog holds.
func Missing() []string {
	var out []string
	missing.Range(func(k, _ any) bool {
		out = append(out, k.(string))
		return true
	})
	sort.Strings(out)
	return out
}

// minimumGrouping is CLDR's minimumGroupingDigits where it is not 1:
// Spanish groups the thousands of a number of five digits or more only
// (5000, 50.000), which golang.org/x/text does not apply.
var minimumGrouping = map[string]int64{"es": 10_000}

// Count writes a whole number as the language does: 5,000 in English,
// 5000 and 50.000 in Spanish.
func (t *Tr) Count(n int64) string {
	if t.lang == Pseudo {
		return For(English).Count(n)
	}
	if min, ok := minimumGrouping[t.lang]; ok && n < min && n > -min {
		return strconv.FormatInt(n, 10)
	}
	return t.printer.Sprint(n)
}

// Month names month m ("March", "marzo").
func (t *Tr) Month(m time.Month) string {
	if m < time.January || m > time.December {
		return strconv.Itoa(int(m))
	}
	return t.S(monthIDs[m-1])
}

var monthIDs, weekdayIDs = func() (months [12]string, days [7]string) {
	for i := range months {
		months[i] = fmt.Sprintf("time.month.%d", i+1)
	}
	for i := range days {
		days[i] = fmt.Sprintf("time.weekday.%d", i)
	}
	return
}()

// Weekday names day d ("Monday", "lunes").
func (t *Tr) Weekday(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return strconv.Itoa(int(d))
	}
	return t.S(weekdayIDs[d])
}

// Date writes a date the way the language does ("March 1, 2026", "1 de
// marzo de 2026"), in loc (UTC when nil).
func (t *Tr) Date(when time.Time, loc *time.Location) string {
	when = in(when, loc)
	return t.fill("time.date", when, "")
}

// fill writes one of the time.* messages for when: the fields a date or
// clock message may hold are filled straight from when, without the
// boxed name/value pairs of S (a history page writes two dates a row).
// It falls back to S for a message it cannot read.
func (t *Tr) fill(id string, when time.Time, ampm string) string {
	m := t.source(id)
	if m == nil {
		return t.S(id)
	}
	src := m.Other
	buf := make([]byte, 0, len(src)+24)
	for {
		i := strings.Index(src, "{{")
		if i < 0 {
			return string(append(buf, src...))
		}
		buf = append(buf, src[:i]...)
		end := strings.Index(src[i:], "}}")
		if end < 0 {
			return t.S(id)
		}
		switch strings.TrimSpace(src[i+2 : i+end]) {
		case ".Day":
			buf = strconv.AppendInt(buf, int64(when.Day()), 10)
		case ".Month":
			buf = append(buf, t.Month(when.Month())...)
		case ".Year":
			buf = strconv.AppendInt(buf, int64(when.Year()), 10)
		case ".H12":
			h := when.Hour() % 12
			if h == 0 {
				h = 12
			}
			buf = strconv.AppendInt(buf, int64(h), 10)
		case ".H24":
			buf = twoDigits(buf, when.Hour())
		case ".Minute":
			buf = twoDigits(buf, when.Minute())
		case ".AMPM":
			buf = append(buf, ampm...)
		default:
			return t.S(id)
		}
		src = src[i+end+2:]
	}
}

// twoDigits appends n (0 to 99: an hour or a minute) as two digits.
func twoDigits(buf []byte, n int) []byte {
	if n < 10 {
		buf = append(buf, '0')
	}
	return strconv.AppendInt(buf, int64(n), 10)
}

// MonthYear writes a month of a year ("March 2026", "marzo de 2026").
func (t *Tr) MonthYear(when time.Time, loc *time.Location) string {
	return t.fill("time.month_year", in(when, loc), "")
}

// Time writes a time of day ("3:04 PM", "15:04"), in loc.
func (t *Tr) Time(when time.Time, loc *time.Location) string {
	when = in(when, loc)
	ampm := t.S("time.am")
	if when.Hour() >= 12 {
		ampm = t.S("time.pm")
	}
	return t.fill("time.clock", when, ampm)
}

// TimeZone writes a time of day and names the zone: "3:04 PM PST", or
// "3:04 PM UTC+03" for a zone without an abbreviation.
func (t *Tr) TimeZone(when time.Time, loc *time.Location) string {
	when = in(when, loc)
	zone := when.Format("MST")
	if strings.HasPrefix(zone, "+") || strings.HasPrefix(zone, "-") {
		zone = "UTC" + zone
	}
	return t.Time(when, loc) + " " + zone
}

// DateTime writes a date and a time of day ("March 1, 2026, 3:04 PM").
func (t *Tr) DateTime(when time.Time, loc *time.Location) string {
	return t.S("time.date_time", "Date", t.Date(when, loc), "Time", t.Time(when, loc))
}

// List joins items into a sentence's list: "a, b and c", "a, b y c".
func (t *Tr) List(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return t.S("list.and", "Items", strings.Join(items[:len(items)-1], t.S("list.comma")), "Last", items[len(items)-1])
}

func in(when time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return when.In(loc)
}

type ctxKey struct{}

// With returns ctx carrying t, for the templ components a request renders.
func With(ctx context.Context, t *Tr) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// From returns the Tr ctx carries, English when it carries none.
func From(ctx context.Context) *Tr {
	if ctx != nil {
		if t, ok := ctx.Value(ctxKey{}).(*Tr); ok {
			return t
		}
	}
	return For(English)
}
