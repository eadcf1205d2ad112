package views

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"golang.org/x/net/html"
)

// components is every exported component, by name, so that the
// accessible-name test renders each one. TestEveryComponentIsChecked
// fails when a templ file declares one that is missing here.
var components = map[string]any{
	"StaffArrivals": StaffArrivals, "DataOverview": DataOverview, "DataDetail": DataDetail,
	"ConfirmPage": ConfirmPage, "DataPrint": DataPrint, "DigestEmailHTML": DigestEmailHTML,
	"NoticeUnsubscribe": NoticeUnsubscribe, "Favorites": Favorites, "Follow": Follow,
	"Layout": Layout, "ContactSentence": ContactSentence, "MailingLists": MailingLists,
	"Unsubscribe": Unsubscribe, "StaffLists": StaffLists, "StaffListEdit": StaffListEdit,
	"StaffRetention": StaffRetention, "StaffLegal": StaffLegal, "StaffLegalNew": StaffLegalNew,
	"StaffLegalDetail": StaffLegalDetail, "StaffStats": StaffStats, "Home": Home, "Login": Login,
	"Policy": Policy, "ErrorPage": ErrorPage, "HandoffAsk": HandoffAsk, "StaffLogin": StaffLogin,
	"StaffConsole": StaffConsole, "StaffPatrons": StaffPatrons, "StaffPatron": StaffPatron,
	"StaffAudit": StaffAudit, "StaffAccounts": StaffAccounts,
	"SecondFactorPage": SecondFactorPage, "SecondFactorEnrolPage": SecondFactorEnrolPage, "RecoveryCodesPage": RecoveryCodesPage,
	"AssistEndedPage": AssistEndedPage,
	"ErrorSummary":    ErrorSummary,
}

var templDecl = regexp.MustCompile(`(?m)^templ ([A-Z]\w*)\(`)

func TestEveryComponentIsChecked(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templ files: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range templDecl.FindAllStringSubmatch(string(src), -1) {
			if components[m[1]] == nil {
				t.Errorf("%s: component %s is not in the components table of access_test.go, so its accessible names go unchecked", f, m[1])
			}
		}
	}
}

// sample is one way of filling a component's arguments: every string set
// to str, every bool to on, every number to 3, every slice given two
// elements, every map the keys the templates look up, and every pointer
// set (or left nil when ptrs is false).
type sample struct {
	str  string
	on   bool
	ptrs bool
	keys []string
}

func (s sample) String() string {
	return fmt.Sprintf("strings %q, bools %v, pointers %v", s.str, s.on, s.ptrs)
}

func (s sample) fill(v reflect.Value, depth int) {
	if depth > 32 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s.str)
	case reflect.Bool:
		v.SetBool(s.on)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(3)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(3)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(3)
	case reflect.Struct:
		for i := range v.NumField() {
			s.fill(v.Field(i), depth+1)
		}
	case reflect.Pointer:
		if s.ptrs {
			p := reflect.New(v.Type().Elem())
			s.fill(p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Slice:
		sl := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			s.fill(sl.Index(i), depth+1)
		}
		v.Set(sl)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		m := reflect.MakeMap(v.Type())
		for _, k := range append([]string{s.str}, s.keys...) {
			e := reflect.New(v.Type().Elem()).Elem()
			s.fill(e, depth+1)
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	}
}

// samples are the fillings every component is rendered with: plain
// words, empty, and each string the templates compare a value with (so
// both sides of `if v.Kind == "author"` render).
func samples(t *testing.T) []sample {
	var words, keys []string
	literal := regexp.MustCompile(`(?:==|!=) "([^"]+)"|case "([^"]+)"`)
	key := regexp.MustCompile(`"([a-z][a-z_]*)"`)
	files, _ := filepath.Glob("*.templ")
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_templ.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			words = append(words, m[1]+m[2])
		}
		if strings.HasSuffix(f, ".templ") {
			for _, m := range key.FindAllStringSubmatch(string(src), -1) {
				keys = append(keys, m[1])
			}
		}
	}
	slices.Sort(words)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var out []sample
	for _, str := range append([]string{"Sample words", ""}, slices.Compact(words)...) {
		for _, on := range []bool{true, false} {
			for _, ptrs := range []bool{true, false} {
				out = append(out, sample{str: str, on: on, ptrs: ptrs, keys: keys})
			}
		}
	}
	return out
}

// render calls the component constructor fn with arguments filled by s.
func render(t *testing.T, fn any, s sample) *goquery.Document {
	t.Helper()
	f := reflect.ValueOf(fn)
	args := make([]reflect.Value, f.Type().NumIn())
	for i := range args {
		args[i] = reflect.New(f.Type().In(i)).Elem()
		s.fill(args[i], 0)
	}
	c := f.Call(args)[0].Interface().(templ.Component)
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render with %s: %v", s, err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestEveryControlHasAnAccessibleName renders every component with
// sample data and reads the accessible name of each link, button and form
// control as a screen reader would get it (aria-labelledby, aria-label,
// a label, the text inside including visually hidden text, a title). It
// fails on a control with no name, and on words that run together across
// an element boundary: "Edit<span class="visually-hidden">Library
// events</span>" is read "EditLibrary events".
func TestEveryControlHasAnAccessibleName(t *testing.T) {
	all := samples(t)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range components {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			reported := map[string]bool{}
			for _, s := range all {
				doc := render(t, components[name], s)
				doc.Find(`a[href], button, input, select, textarea, summary, [role="button"], [role="link"]`).Each(func(_ int, el *goquery.Selection) {
					if el.Is(`input[type="hidden"]`) {
						return
					}
					n := accessibleName(doc, el)
					var problem string
					switch {
					case strings.TrimSpace(n.text) == "" && s.str != "":
						// (with every string empty, a name from data is empty too)
						problem = "has no accessible name"
					case n.runTogether != "":
						problem = fmt.Sprintf("is read %q: words run together at %q", n.text, n.runTogether)
					default:
						return
					}
					html, _ := goquery.OuterHtml(el)
					// one report per control, whichever sample shows it first
					key := html
					if s.str != "" {
						key = strings.ReplaceAll(html, s.str, "…")
					}
					if !reported[key] {
						reported[key] = true
						t.Errorf("rendered with %s: %s %s", s, html, problem)
					}
				})
			}
		})
	}
}

// TestRunTogetherNamesAreCaught checks the checker: the markup the staff
// lists page had before its visually hidden text kept its space.
func TestRunTogetherNamesAreCaught(t *testing.T) {
	for src, want := range map[string]string{
		`<a href="/x">Edit<span class="visually-hidden">Library events</span></a>`:               "tLibrary",
		`<a href="/x">Edit<span class="visually-hidden"> Library events</span></a>`:              "",
		`<button>Export<span class="visually-hidden">{ " of " }</span></button>`:                 "",
		`<button><span class="visually-hidden">Remove</span>Kindred</button>`:                    "eKindred",
		`<button aria-label="Remove Kindred"><span>Remove</span>Kindred</button>`:                "",
		`<a href="/x"><span class="a">Policy</span><br/>Section</a>`:                             "",
		`<label for="q">Card<span class="hint">number</span></label><input id="q">`:              "dnumber",
		`<span id="l1">Delete</span><button aria-labelledby="l1 l2">x</button><i id="l2">it</i>`: "",
	} {
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		el := doc.Find("a, button, input").First()
		if got := accessibleName(doc, el).runTogether; got != want {
			t.Errorf("%s: run together at %q, want %q", src, got, want)
		}
	}
}

// name is a control's accessible name, and where (if anywhere) two words
// ran together in it.
type name struct {
	text        string
	runTogether string
}

func accessibleName(doc *goquery.Document, el *goquery.Selection) name {
	if ids := strings.Fields(el.AttrOr("aria-labelledby", "")); len(ids) > 0 {
		var parts []string
		var out name
		for _, id := range ids {
			ref := doc.Find("#" + id)
			if ref.Length() == 0 {
				continue
			}
			n := textOf(ref.Nodes[0])
			parts = append(parts, n.text)
			if out.runTogether == "" {
				out.runTogether = n.runTogether
			}
		}
		out.text = strings.Join(parts, " ")
		return out
	}
	if l := strings.TrimSpace(el.AttrOr("aria-label", "")); l != "" {
		return name{text: l}
	}
	if el.Is("input, select, textarea") {
		switch el.AttrOr("type", "") {
		case "submit", "reset", "button":
			if v := el.AttrOr("value", ""); v != "" {
				return name{text: v}
			}
			if t := el.AttrOr("type", ""); t != "button" {
				return name{text: t}
			}
		case "image":
			return name{text: el.AttrOr("alt", "")}
		}
		var parts []string
		var out name
		if id, ok := el.Attr("id"); ok && id != "" {
			doc.Find("label").Each(func(_ int, l *goquery.Selection) {
				if l.AttrOr("for", "") == id {
					n := textOf(l.Nodes[0])
					parts = append(parts, n.text)
					if out.runTogether == "" {
						out.runTogether = n.runTogether
					}
				}
			})
		}
		if l := el.Closest("label"); l.Length() > 0 {
			n := textOf(l.Nodes[0])
			parts = append(parts, n.text)
			if out.runTogether == "" {
				out.runTogether = n.runTogether
			}
		}
		out.text = strings.Join(parts, " ")
		if strings.TrimSpace(out.text) == "" {
			out.text = el.AttrOr("title", el.AttrOr("placeholder", ""))
		}
		return out
	}
	n := textOf(el.Nodes[0])
	if strings.TrimSpace(n.text) == "" {
		n.text = el.AttrOr("title", "")
	}
	return n
}

// blocks are the elements a screen reader reads apart from their
// neighbours; any other element boundary joins its text to the next.
var blocks = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "br": true, "dd": true, "div": true,
	"dl": true, "dt": true, "fieldset": true, "figcaption": true, "figure": true, "footer": true, "form": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "header": true, "hr": true, "li": true,
	"main": true, "nav": true, "ol": true, "p": true, "section": true, "table": true, "td": true, "th": true,
	"tr": true, "ul": true,
}

// textOf is the name a node's content gives, as text content with
// visually hidden text included, aria-hidden and hidden subtrees left out,
// an image's alt, and a space around block elements. runTogether reports
// the first place where a letter meets a letter across an element
// boundary ("tLibrary").
func textOf(n *html.Node) name {
	type piece struct {
		text     string
		boundary bool // an inline element starts or ends before text
	}
	var pieces []piece
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				pieces = append(pieces, piece{text: c.Data})
			case html.ElementNode:
				if attr(c, "aria-hidden") == "true" || hasAttr(c, "hidden") || c.Data == "script" || c.Data == "style" || c.Data == "template" {
					continue
				}
				if blocks[c.Data] {
					pieces = append(pieces, piece{text: " "})
				} else {
					pieces = append(pieces, piece{boundary: true})
				}
				if c.Data == "img" {
					pieces = append(pieces, piece{text: attr(c, "alt")})
				}
				walk(c)
				if blocks[c.Data] {
					pieces = append(pieces, piece{text: " "})
				} else {
					pieces = append(pieces, piece{boundary: true})
				}
			}
		}
	}
	walk(n)
	var b strings.Builder
	var out name
	var last rune // the last rune written, 0 at the start
	boundary := false
	for _, p := range pieces {
		if p.boundary {
			boundary = true
			continue
		}
		if p.text == "" {
			continue
		}
		first := []rune(p.text)[0]
		if boundary && out.runTogether == "" && unicode.IsLetter(last) && unicode.IsLetter(first) {
			out.runTogether = string(last) + strings.Fields(p.text)[0]
		}
		boundary = false
		b.WriteString(p.text)
		r := []rune(p.text)
		last = r[len(r)-1]
	}
	out.text = strings.Join(strings.Fields(b.String()), " ")
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
