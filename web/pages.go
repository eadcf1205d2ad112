package web

import (
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/static"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
)

// Home is the public landing page.
func (s *Server) Home(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Home(s.page(c, tr(c).S("pages.home.title"))))
}

func last(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// PolicyPage shows the library's privacy policy, in its own words, with
// the portal's notes where the portal collects less than it allows. A
// Spanish page shows the library's Spanish version (CARREL_POLICY_FILE_ES)
// when it has one; without one, the English text, marked as English, with
// a line saying the policy is available only in English.
func (s *Server) PolicyPage(c echo.Context) error {
	t := tr(c)
	sections, lang := s.policy, i18n.English
	if t.Lang() == "es" && len(s.policyES) > 0 {
		sections, lang = s.policyES, "es"
	}
	v := views.PolicyView{Version: s.Config.PolicyVersion, Sections: s.policyWithNotes(t, sections), Lang: lang}
	return s.render(c, http.StatusOK, views.Policy(s.page(c, t.S("pages.policy.title")), v))
}

// Static serves the embedded assets. Their URLs carry a content version,
// so they may be cached for a year.
func (s *Server) Static(c echo.Context) error {
	name := c.Param("*")
	if name == "" || strings.HasSuffix(name, "/") {
		return echo.ErrNotFound
	}
	if info, err := fs.Stat(static.FS, name); err != nil || info.IsDir() {
		return echo.ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(c.Response(), c.Request(), static.FS, name)
	return nil
}

// Logo serves the library's own logo, when one is configured.
func (s *Server) Logo(c echo.Context) error {
	if s.logo == nil {
		return echo.ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	ctype := http.DetectContentType(s.logo)
	if strings.HasSuffix(strings.ToLower(s.Config.LogoFile), ".svg") {
		ctype = "image/svg+xml"
	}
	return c.Blob(http.StatusOK, ctype, s.logo)
}

// portalNote is the portal's own word on a topic of the policy, where the
// portal collects less than the bundled policy allows. It follows the
// first paragraph of the policy that speaks of the topic; a policy that
// does not speak of it gets no note. A library's own policy may say
// anything of the topic, so a note says only what the portal does, and
// every sentence must stay true of the code: TestPolicyNotesAreTrue
// checks them.
type portalNote struct {
	// topic finds the topic in the policy's words, English or Spanish.
	topic *regexp.Regexp
	text  func(s *Server, t *i18n.Tr) string
}

var portalNotes = []portalNote{
	{
		// The accessLog middleware and clientKey (routes.go).
		topic: regexp.MustCompile(`(?i)\bIP\)? address|internet protocol|direcci[oó]n(es)? (de )?IP|protocolo de internet`),
		text: func(_ *Server, t *i18n.Tr) string {
			return t.S("pages.note.ip")
		},
	},
	{
		// SessionStore.setCookie (session.go) and the session limits.
		topic: regexp.MustCompile(`(?i)\bcookies?\b`),
		text: func(s *Server, t *i18n.Tr) string {
			return t.S("pages.note.cookie", "Idle", models.SpokenDuration(t, s.Config.Sessions.Idle),
				"Absolute", models.SpokenDuration(t, s.Config.Sessions.Absolute))
		},
	},
	{
		// The stats counters (stats.go) and the usage_counters table.
		topic: regexp.MustCompile(`(?i)logged automatically|server logs|se registra(n)? automáticamente|registros del servidor`),
		text: func(_ *Server, t *i18n.Tr) string {
			return t.S("pages.note.stats")
		},
	},
}

// policyWithNotes is a parsed policy (English or Spanish) with the
// portal's notes in place, written in t's language.
func (s *Server) policyWithNotes(t *i18n.Tr, policy []views.PolicySection) []views.PolicySection {
	out := make([]views.PolicySection, len(policy))
	for i, sec := range policy {
		out[i] = sec
		out[i].Paragraphs = append([]views.PolicyParagraph(nil), sec.Paragraphs...)
	}
	for _, n := range portalNotes {
	find:
		for i := range out {
			for j := range out[i].Paragraphs {
				if p := &out[i].Paragraphs[j]; p.Text != "" && !p.Subheading && !p.Title && n.topic.MatchString(p.Text) {
					p.Notes = append(p.Notes, n.text(s, t))
					break find
				}
			}
		}
	}
	return out
}

// parsePolicy reads a library's privacy policy written as plain text, the
// way people write it, and finds its structure without changing a word:
//
//   - blocks are separated by blank lines; the lines of a block are one
//     paragraph (wrapped text), unless every line ends a sentence, when
//     each line is its own paragraph;
//   - lines starting with "- ", "* ", "• " or "1. ", "1) " are list items;
//     an indented or lower-case line after an item continues it;
//   - a short block that does not end a sentence is a heading; one in
//     title case that ends with a colon heads a list;
//   - after a colon (a lead-in sentence, or such a heading) short blocks
//     are the items of a list, such as a list of references; one that
//     directly labels a bulleted list or a paragraph is a sub-heading;
//   - two short blocks are one line broken in two when the second starts
//     in lower case, the first ends on a joining word ("of", "and"), or
//     the words across the break are a phrase the policy itself uses;
//   - a numbered line standing alone in title case ("2. What We Collect")
//     is a heading, number and all;
//   - a short first block followed by a heading is the policy's title;
//   - no heading is left empty: a heading right under another heads a part
//     of its section, and one with nothing under it is a paragraph.
func parsePolicy(text string) []views.PolicySection {
	segs := policySegments(text)
	var prose []string
	for _, sg := range segs {
		if sg.kind == segProse {
			prose = append(prose, sg.lines...)
		}
	}
	segs = joinBrokenLines(segs, " "+strings.ToLower(squashSpace(strings.Join(prose, " ")))+" ")

	b := policyBuilder{ids: map[string]bool{}}
	leadIn := false // the last thing read ends with a colon, or is a heading
	var items []string
	flush := func() {
		if len(items) > 0 {
			b.add(views.PolicyParagraph{Items: items})
			items = nil
		}
	}
	for i, sg := range segs {
		next := segNone
		if i+1 < len(segs) {
			next = segs[i+1].kind
		}
		switch sg.kind {
		case segList:
			flush()
			b.add(views.PolicyParagraph{Items: sg.items, Ordered: sg.ordered})
			leadIn = false
		case segProse:
			flush()
			paras := proseParagraphs(sg.lines)
			for _, p := range paras {
				b.add(views.PolicyParagraph{Text: p})
			}
			leadIn = strings.HasSuffix(paras[len(paras)-1], ":")
		case segListTitle:
			flush()
			b.section(sg.text())
			leadIn = true
		case segShort:
			switch {
			case i == 0 && (next == segShort || next == segListTitle):
				b.add(views.PolicyParagraph{Text: sg.text(), Title: true})
			case !leadIn:
				flush()
				b.section(sg.text())
				leadIn = true
			case next == segList || (next == segProse && len(items) == 0):
				flush()
				b.subheading(sg.text())
			case next == segProse:
				// A list of short lines has ended; this starts a section.
				flush()
				b.section(sg.text())
			default:
				items = append(items, sg.text())
			}
		}
	}
	flush()
	return b.done()
}

type segKind int

const (
	segNone      segKind = iota
	segProse             // sentences
	segList              // marked list items
	segShort             // a short block that ends no sentence
	segListTitle         // a short title-case block ending in a colon
)

// policySegment is a run of lines of one kind within a block.
type policySegment struct {
	kind    segKind
	lines   []string
	items   []string
	ordered bool
}

func (sg policySegment) text() string { return squashSpace(strings.Join(sg.lines, " ")) }

var (
	bulletMarker = regexp.MustCompile(`^[-*•–]\s+`)
	numberMarker = regexp.MustCompile(`^\d{1,3}[.)]\s+`)
	joiningWords = map[string]bool{"a": true, "an": true, "and": true, "or": true, "nor": true, "the": true, "of": true, "to": true, "for": true, "in": true, "on": true, "at": true, "by": true, "with": true, "from": true, "about": true, "as": true, "into": true, "concerning": true, "regarding": true, "&": true,
		// A Spanish version (CARREL_POLICY_FILE_ES) breaks lines on its own.
		"de": true, "del": true, "y": true, "e": true, "o": true, "u": true, "el": true, "la": true, "los": true, "las": true, "en": true, "para": true, "por": true, "con": true, "sobre": true, "al": true, "sus": true, "su": true}
	titleMinor = map[string]bool{"a": true, "an": true, "and": true, "or": true, "nor": true, "the": true, "of": true, "to": true, "for": true, "in": true, "on": true, "at": true, "by": true, "with": true, "from": true, "about": true, "as": true, "via": true, "per": true,
		"de": true, "del": true, "y": true, "e": true, "o": true, "u": true, "el": true, "la": true, "los": true, "las": true, "en": true, "para": true, "por": true, "con": true, "sobre": true, "al": true}
	maxShortBlock = 150
)

// policySegments splits the text into blocks at blank lines, and each
// block into runs of list items and runs of other lines.
func policySegments(text string) []policySegment {
	var out []policySegment
	var block []string
	endBlock := func() {
		if len(block) == 0 {
			return
		}
		out = append(out, blockSegments(block)...)
		block = nil
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			endBlock()
			continue
		}
		block = append(block, strings.TrimRight(line, " \t\r"))
	}
	endBlock()
	return out
}

func blockSegments(lines []string) []policySegment {
	if len(lines) == 1 {
		// A numbered heading ("2. What We Collect") standing alone is a
		// heading, not a list of one.
		line := strings.TrimSpace(lines[0])
		if m := numberMarker.FindString(line); m != "" && proseKind(line[len(m):]) == segShort && inTitleCase(line[len(m):]) {
			return []policySegment{{kind: segShort, lines: []string{line}}}
		}
	}
	var out []policySegment
	var cur *policySegment
	for _, raw := range lines {
		line := strings.TrimSpace(raw)
		marker, ordered := listMarker(line)
		switch {
		case marker != "":
			item := squashSpace(line[len(marker):])
			if cur == nil || cur.kind != segList || cur.ordered != ordered {
				out = append(out, policySegment{kind: segList, ordered: ordered})
				cur = &out[len(out)-1]
			}
			cur.items = append(cur.items, item)
		case cur != nil && cur.kind == segList && (raw != line || startsLower(line)):
			// An indented or lower-case line continues the item above.
			cur.items[len(cur.items)-1] += " " + squashSpace(line)
		default:
			if cur == nil || cur.kind == segList {
				out = append(out, policySegment{kind: segProse})
				cur = &out[len(out)-1]
			}
			cur.lines = append(cur.lines, line)
		}
	}
	for i := range out {
		if out[i].kind == segProse {
			out[i].kind = proseKind(out[i].text())
		}
	}
	return out
}

func listMarker(line string) (string, bool) {
	if m := bulletMarker.FindString(line); m != "" {
		return m, false
	}
	if m := numberMarker.FindString(line); m != "" {
		return m, true
	}
	return "", false
}

// proseKind tells a heading or a short line from sentences.
func proseKind(text string) segKind {
	if len(text) > maxShortBlock {
		return segProse
	}
	if strings.HasSuffix(text, ":") {
		if len(text) <= 90 && inTitleCase(strings.TrimSuffix(text, ":")) {
			return segListTitle
		}
		return segProse
	}
	if endsSentence(text) {
		return segProse
	}
	return segShort
}

// endsSentence says whether text ends as a sentence or a clause does,
// closing quotes and brackets aside.
func endsSentence(text string) bool {
	t := strings.TrimRight(text, `)]"'”’»`)
	r, _ := utf8.DecodeLastRuneInString(t)
	return strings.ContainsRune(".!;,:…", r)
}

// inTitleCase says whether every word but the small joining ones starts
// with a capital letter or a digit.
func inTitleCase(text string) bool {
	words := 0
	for _, w := range strings.Fields(text) {
		w = strings.Trim(w, `"'“”‘’()[],;`)
		if w == "" || titleMinor[strings.ToLower(w)] {
			continue
		}
		r, _ := utf8.DecodeRuneInString(w)
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) {
			return false
		}
		words++
	}
	return words > 0
}

func startsLower(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLower(r)
}

// joinBrokenLines joins two short blocks that are one line broken in two.
// prose is the policy's sentences, lower case, between spaces.
func joinBrokenLines(segs []policySegment, prose string) []policySegment {
	var out []policySegment
	for _, sg := range segs {
		if n := len(out); n > 0 && out[n-1].kind == segShort && sg.kind == segShort && brokenLine(out[n-1].text(), sg.text(), prose) {
			out[n-1].lines = append(out[n-1].lines, sg.lines...)
			if len(out[n-1].text()) <= maxShortBlock {
				continue
			}
			out[n-1].lines = out[n-1].lines[:len(out[n-1].lines)-len(sg.lines)]
		}
		out = append(out, sg)
	}
	return out
}

func brokenLine(first, second, prose string) bool {
	if startsLower(second) {
		return true
	}
	a, b := strings.Fields(first), strings.Fields(second)
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	if last := strings.ToLower(a[len(a)-1]); joiningWords[last] || strings.HasSuffix(last, "-") {
		return true
	}
	// The words either side of the break, as the policy's own sentences
	// use them (a title it also cites in full, say).
	if len(a) < 2 || len(b) < 2 {
		return false
	}
	phrase := strings.ToLower(strings.Join(append(a[len(a)-2:], b[:2]...), " "))
	return strings.Contains(prose, " "+phrase+" ") || strings.Contains(prose, " "+phrase)
}

// proseParagraphs makes the lines of a block one paragraph, wrapped text,
// unless each line ends a sentence: then each is a paragraph.
func proseParagraphs(lines []string) []string {
	if len(lines) > 1 {
		each := true
		for _, l := range lines {
			each = each && endsSentence(l)
		}
		if each {
			out := make([]string, len(lines))
			for i, l := range lines {
				out[i] = squashSpace(l)
			}
			return out
		}
	}
	return []string{squashSpace(strings.Join(lines, " "))}
}

func squashSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// policyBuilder gathers sections and gives each heading a unique id.
type policyBuilder struct {
	out []views.PolicySection
	ids map[string]bool
}

func (b *policyBuilder) cur() *views.PolicySection {
	if len(b.out) == 0 {
		b.out = append(b.out, views.PolicySection{})
	}
	return &b.out[len(b.out)-1]
}

func (b *policyBuilder) add(p views.PolicyParagraph) {
	c := b.cur()
	c.Paragraphs = append(c.Paragraphs, p)
}

func (b *policyBuilder) section(heading string) {
	b.closeSubheading()
	if n := len(b.out); n > 0 && b.out[n-1].Heading != "" && len(b.out[n-1].Paragraphs) == 0 {
		// A heading right under a heading heads a part of its section.
		b.add(views.PolicyParagraph{Text: heading, Subheading: true, ID: b.id(heading)})
		return
	}
	b.out = append(b.out, views.PolicySection{Heading: heading, ID: b.id(heading)})
}

// subheading heads what follows inside the current section; before any
// section it starts one.
func (b *policyBuilder) subheading(text string) {
	b.closeSubheading()
	if n := len(b.out); n == 0 || b.out[n-1].Heading == "" {
		b.section(text)
		return
	}
	b.add(views.PolicyParagraph{Text: text, Subheading: true, ID: b.id(text)})
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// id makes an id for a heading from its words, unique on the page.
func (b *policyBuilder) id(heading string) string {
	slug := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(heading), "-"), "-")
	if len(slug) > 60 {
		slug = strings.TrimRight(slug[:60], "-")
	}
	if slug == "" {
		slug = "section"
	}
	base := "policy-" + slug
	id := base
	for n := 2; b.ids[id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	b.ids[id] = true
	return id
}

// closeSubheading makes a sub-heading that nothing followed a paragraph.
func (b *policyBuilder) closeSubheading() {
	if len(b.out) == 0 {
		return
	}
	c := b.cur()
	if n := len(c.Paragraphs); n > 0 && c.Paragraphs[n-1].Subheading {
		c.Paragraphs[n-1].Subheading, c.Paragraphs[n-1].ID = false, ""
	}
}

// done returns the sections. A heading that ends the text with nothing
// under it was a closing line, not a heading: it becomes a paragraph.
func (b *policyBuilder) done() []views.PolicySection {
	b.closeSubheading()
	if n := len(b.out); n > 0 && b.out[n-1].Heading != "" && len(b.out[n-1].Paragraphs) == 0 {
		last := b.out[n-1].Heading
		b.out = b.out[:n-1]
		b.add(views.PolicyParagraph{Text: last})
	}
	return b.out
}
