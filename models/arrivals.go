package models

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// New arrivals come from the ILS (POST /api/arrivals, with an API key) or
// from staff (a CSV file at /staff/arrivals). Each is stored once per
// catalog link, its authors and subjects normalised into arrival_terms,
// and matched against linked favorites in the same transaction: one
// INSERT ... SELECT makes at most one notification per patron per
// arrival. docs/arrivals.md describes the formats.

// Limits on one batch of arrivals.
const (
	MaxArrivalsPerBatch = 10000
	MaxArrivalTitle     = 500
	MaxArrivalAuthors   = 20
	MaxArrivalSubjects  = 30
	MaxArrivalFormat    = 50
	MaxCatalogURL       = 2000
	// ArrivalSeparator separates several authors or subjects in one CSV
	// cell: "Butler, Octavia E.; Duffy, Damian".
	ArrivalSeparator = ";"
)

// ArrivalKeepYears is how long an arrival that no notification names is
// kept. Arrivals are not personal data, but once matched, and once the
// notices about them are gone, nothing needs them.
const ArrivalKeepYears = 1

// analyzeFrom is the size of batch from which matching first refreshes
// the planner's statistics on PostgreSQL (see MatchPending).
const analyzeFrom = 1000

// AuditArrivals records staff adding new arrivals: who, and how many new
// and updated. It names no patron.
const AuditArrivals = "arrivals.add"

// ArrivalInput is one new arrival as the ILS or a CSV file sends it.
type ArrivalInput struct {
	Title      string   `json:"title"`
	Authors    []string `json:"authors"`
	Subjects   []string `json:"subjects"`
	Format     string   `json:"format"`
	Date       string   `json:"date"` // YYYY-MM-DD
	CatalogURL string   `json:"catalog_url"`
	// Line is the item's line in a CSV file (0 for JSON), for messages.
	Line int `json:"-"`
}

// ItemError is one problem with one item of a batch: its position (0
// first), its CSV line when it came from a file, the field and what is
// wrong, in words for the person who prepared the file.
type ItemError struct {
	Index   int    `json:"index"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// String says the problem in one line: "Line 4, date: ...".
func (e ItemError) String() string {
	where := "Item " + strconv.Itoa(e.Index+1)
	if e.Line > 0 {
		where = "Line " + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		where += ", " + e.Field
	}
	return where + ": " + e.Message
}

// ArrivalsError refuses a whole batch because some items are bad. Nothing
// of the batch was stored.
type ArrivalsError struct{ Items []ItemError }

func (e *ArrivalsError) Error() string {
	if len(e.Items) == 1 {
		return "1 problem in the arrivals; nothing was stored"
	}
	return fmt.Sprintf("%d problems in the arrivals; nothing was stored", len(e.Items))
}

// ArrivalSource says who sent a batch: a staff member (with the file's
// name, for the audit entry) or an API key.
type ArrivalSource struct {
	StaffID  *int64
	APIKeyID *int64
	File     string
}

// ArrivalResult counts what a batch did.
type ArrivalResult struct {
	Created       int64 `json:"created"`
	Updated       int64 `json:"updated"`
	Notifications int64 `json:"notifications"`
}

// AddArrivals validates every item, then in one transaction upserts them
// on their catalog link, replaces their terms and records the audit entry;
// any bad item refuses the whole batch with an *ArrivalsError, and nothing
// is stored. Then it matches every arrival not matched yet against
// favorites (MatchPending). An item posted again updates its arrival and
// tells nobody a second time.
//
// If matching fails, the arrivals are stored and the error is returned:
// posting the batch again, the next batch or the next delivery pass
// matches them, and nobody is told twice.
func (s *Store) AddArrivals(ctx context.Context, src ArrivalSource, items []ArrivalInput) (ArrivalResult, error) {
	var res ArrivalResult
	origins, err := s.arrivalLinkOrigins(ctx)
	if err != nil {
		return res, err
	}
	rows, errs := validateArrivals(items, s.Now(), origins)
	if len(errs) > 0 {
		return res, &ArrivalsError{Items: errs}
	}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if DialectOfDB(tx) == Postgres {
			// One batch at a time (SQLite has one writer anyway): two
			// instances posting the same new item would otherwise both
			// take it for new. Batches are few; waiting costs nothing.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockArrivals).Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		ids, created, err := upsertArrivals(tx, rows, src)
		if err != nil {
			return err
		}
		res.Created = int64(len(created))
		res.Updated = int64(len(rows) - len(created))
		if err := replaceTerms(tx, rows, ids, created); err != nil {
			return err
		}
		if src.StaffID == nil {
			return nil
		}
		detail := fmt.Sprintf("arrivals added: %d new, %d updated", res.Created, res.Updated)
		if src.File != "" {
			detail += " (file " + src.File + ")"
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: src.StaffID, Action: AuditArrivals, Detail: detail})
	})
	if err != nil {
		return ArrivalResult{}, fmt.Errorf("models: add arrivals: %w", err)
	}
	if res.Notifications, err = s.MatchPending(ctx); err != nil {
		return res, fmt.Errorf("models: add arrivals: stored, but not matched yet: %w", err)
	}
	return res, nil
}

// upsertArrivals writes the arrivals, new or updated by catalog link, and
// returns every arrival's ID by catalog link and the links that are new.
func upsertArrivals(tx *gorm.DB, rows []Arrival, src ArrivalSource) (ids map[string]int64, created map[string]bool, err error) {
	ids = make(map[string]int64, len(rows))
	created = make(map[string]bool, len(rows))
	for _, chunk := range chunks(rows, 500) {
		links := make([]string, len(chunk))
		for i := range chunk {
			links[i] = chunk[i].CatalogURL
			chunk[i].StaffID, chunk[i].APIKeyID = src.StaffID, src.APIKeyID
		}
		var existing []string
		if err := tx.Model(&Arrival{}).Where("catalog_url IN ?", links).Pluck("catalog_url", &existing).Error; err != nil {
			return nil, nil, err
		}
		old := make(map[string]bool, len(existing))
		for _, l := range existing {
			old[l] = true
		}
		// Who first added an arrival, and when, stay as they were.
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "catalog_url"}},
			DoUpdates: clause.AssignmentColumns([]string{"title", "authors", "subjects", "format", "arrived_on"}),
		}).Create(&chunk).Error
		if err != nil {
			return nil, nil, err
		}
		var found []struct {
			ID         int64
			CatalogURL string
		}
		if err := tx.Model(&Arrival{}).Select("id, catalog_url").Where("catalog_url IN ?", links).Scan(&found).Error; err != nil {
			return nil, nil, err
		}
		for _, f := range found {
			ids[f.CatalogURL] = f.ID
		}
		for _, l := range links {
			if !old[l] {
				created[l] = true
			}
		}
	}
	return ids, created, nil
}

// replaceTerms stores each arrival's normalised authors and subjects,
// replacing those of updated arrivals.
func replaceTerms(tx *gorm.DB, rows []Arrival, ids map[string]int64, created map[string]bool) error {
	var updated []int64
	for _, r := range rows {
		if !created[r.CatalogURL] {
			updated = append(updated, ids[r.CatalogURL])
		}
	}
	for _, chunk := range chunks(updated, 1000) {
		if err := tx.Where("arrival_id IN ?", chunk).Delete(&ArrivalTerm{}).Error; err != nil {
			return err
		}
	}
	var terms []ArrivalTerm
	for _, r := range rows {
		id := ids[r.CatalogURL]
		seen := map[string]bool{}
		for _, k := range []struct{ kind, list string }{{FavoriteAuthor, r.Authors}, {FavoriteSubject, r.Subjects}} {
			for _, display := range splitLines(k.list) {
				for _, n := range MatchTerms(k.kind, display) {
					if seen[k.kind+"\x00"+n] {
						continue
					}
					seen[k.kind+"\x00"+n] = true
					terms = append(terms, ArrivalTerm{ArrivalID: id, Kind: k.kind, Normalized: n, Display: display})
				}
			}
		}
	}
	if len(terms) == 0 {
		return nil
	}
	return tx.CreateInBatches(&terms, 1000).Error
}

// matchWorkers is how many connections match a large batch at once on
// PostgreSQL, each its own share of the arrivals in its own transaction.
// PostgreSQL runs no INSERT ... SELECT in parallel by itself, and making
// the notifications is CPU work on the database server: two halves on
// two connections took 6.0 s where one statement took 9.0 s.
const matchWorkers = 2

// matchSplitFrom is the batch size from which matching is shared out.
const matchSplitFrom = 2000

// MatchPending tells every patron who follows an author or subject of an
// arrival not matched yet, and returns how many notifications it made.
// AddArrivals calls it after storing a batch, and each delivery pass calls
// it, so arrivals left unmatched by a failure are matched by the next.
//
// The arrivals are shared out in ranges of IDs, each matched in its own
// transaction by matchRange: on PostgreSQL a large batch by matchWorkers
// connections at once, on SQLite one range after another. A range's claim
// and its notifications commit together, so a crash leaves its arrivals
// unmatched (for the next pass), never matched without notices.
func (s *Store) MatchPending(ctx context.Context) (int64, error) {
	db := s.db(ctx)
	var pending []int64
	if err := db.Model(&Arrival{}).Where("matched_at IS NULL").Order("id").Pluck("id", &pending).Error; err != nil {
		return 0, fmt.Errorf("models: match arrivals: %w", err)
	}
	if len(pending) == 0 {
		return 0, nil
	}
	workers := 1
	if DialectOfDB(db) == Postgres {
		// The planner knows nothing yet of a large batch's terms (autovacuum
		// may not have looked at them), takes its million matches for a
		// thousand or two and probes patrons once per match. ANALYZE costs
		// a fraction of a second and buys the plan that joins by hashing.
		if len(pending) >= analyzeFrom {
			if err := db.Exec("ANALYZE arrival_terms, arrivals").Error; err != nil {
				return 0, fmt.Errorf("models: match arrivals: analyze: %w", err)
			}
		}
		if len(pending) >= matchSplitFrom {
			workers = matchWorkers
		}
	}
	// Contiguous ranges, at most a batch's worth of parameters each.
	per := min(MaxArrivalsPerBatch, (len(pending)+workers-1)/workers)
	ranges := chunks(pending, per)
	var (
		total, done atomic.Int64
		next        atomic.Int64
		wg          sync.WaitGroup
		errs        = make([]error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(ranges) {
					return
				}
				var n int64
				err := db.Transaction(func(tx *gorm.DB) (err error) {
					n, err = s.matchRange(tx, ranges[i])
					return err
				})
				if err != nil {
					errs[w] = err
					return
				}
				total.Add(n) // committed
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if int(done.Load()) < len(ranges) && ctx.Err() != nil {
		errs = append(errs, ctx.Err()) // the context ended before every range was matched
	}
	if err := errors.Join(errs...); err != nil {
		return total.Load(), fmt.Errorf("models: match arrivals: %w", err)
	}
	return total.Load(), nil
}

// matchRange claims the arrivals of ids that are still unmatched (sets
// matched_at, so another instance matching at the same time skips them),
// then makes their notifications in one statement: a join of their
// arrival_terms on favorites (index favorites_match) and patrons, grouped
// to one notification per patron per arrival, naming the favorite that
// matched (an author before a subject) and how many more did. An arrival
// is claimed once, so nobody is told twice; the unique index on
// (patron_id, arrival_id) would refuse a second notice. Only patrons whose
// favorites are linked and who chose daily or weekly notices are told:
// "Not at all for now" on the favorites page means no notices are made,
// not notices that are never sent.
func (s *Store) matchRange(tx *gorm.DB, ids []int64) (int64, error) {
	now := s.Now()
	var claimed []int64
	if err := tx.Raw("UPDATE arrivals SET matched_at = ? WHERE id IN ? AND matched_at IS NULL RETURNING id", now, ids).
		Scan(&claimed).Error; err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	if len(claimed) == 0 {
		return 0, nil
	}
	firstAuthor := `substr(a.authors, 1, instr(a.authors || char(10), char(10)) - 1)`
	if DialectOfDB(tx) == Postgres {
		firstAuthor = `split_part(a.authors, chr(10), 1)`
		// Group and sort a large batch's matches in memory, not in files.
		if err := tx.Exec("SET LOCAL work_mem = '128MB'").Error; err != nil {
			return 0, err
		}
	}
	// The arrivals by ID, so the planner knows how many there are.
	res := tx.Exec(`INSERT INTO notifications (patron_id, title, author, catalog_url, reason, created_at, arrival_id)
		SELECT m.patron_id, a.title, `+firstAuthor+`, a.catalog_url, m.reason, ?, a.id
		FROM (SELECT f.patron_id, t.arrival_id,
				substr(MIN(CASE f.kind WHEN 'author' THEN '0' ELSE '1' END || f.display), 2) ||
					CASE WHEN COUNT(*) > 1 THEN ' and ' || CAST(COUNT(*) - 1 AS TEXT) || ' more' ELSE '' END AS reason
			FROM arrival_terms t
			JOIN favorites f ON f.kind = t.kind AND f.normalized = t.normalized
			JOIN patrons p ON p.id = f.patron_id
			WHERE t.arrival_id IN ? AND p.favorites_linked = TRUE AND p.favorites_notice IN ?
			GROUP BY f.patron_id, t.arrival_id) m
		JOIN arrivals a ON a.id = m.arrival_id
		ORDER BY m.patron_id, m.arrival_id -- index inserts and patron look-ups in order`,
		now, claimed, []string{NoticeDaily, NoticeWeekly})
	if res.Error != nil {
		return 0, fmt.Errorf("match: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// ArrivalSummary is an arrival as staff see it: what it is and how many
// notices about it are still held (a count, never who).
type ArrivalSummary struct {
	Arrival
	Notices int64
}

// RecentArrivals lists the arrivals added last, newest first.
func (s *Store) RecentArrivals(ctx context.Context, limit int) ([]ArrivalSummary, error) {
	var rows []Arrival
	if err := s.db(ctx).Order("created_at DESC, id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: recent arrivals: %w", err)
	}
	out := make([]ArrivalSummary, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		out[i].Arrival, ids[i] = r, r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var counts []struct {
		ArrivalID int64
		N         int64
	}
	if err := s.db(ctx).Model(&Notification{}).Select("arrival_id, COUNT(*) AS n").
		Where("arrival_id IN ?", ids).Group("arrival_id").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("models: arrival notices: %w", err)
	}
	byID := make(map[int64]int64, len(counts))
	for _, c := range counts {
		byID[c.ArrivalID] = c.N
	}
	for i := range out {
		out[i].Notices = byID[out[i].ID]
	}
	return out, nil
}

// AuthorList is an arrival's authors, in the order given.
func (a Arrival) AuthorList() []string { return splitLines(a.Authors) }

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// parenthetical matches a fuller form of a name in a heading, as in
// "Butler, Octavia E. (Octavia Estelle), 1947-2006".
var parenthetical = regexp.MustCompile(`\s*\([^()]*\)`)

// MatchTerms lists the normalised forms (NormalizeFavorite) under which
// an arrival's author or subject matches favorites. A favorite matches
// when it normalises to one of them:
//
//   - an author heading matches as it normalises ("Butler, Octavia E.,
//     1947-2006" and the favorite "Octavia E. Butler" both become
//     "octavia e butler"), also without a fuller form in brackets, and
//     also without middle initials when at least two whole names remain,
//     so "Octavia Butler" follows "Butler, Octavia E." (but "Tolkien"
//     does not follow every "Tolkien, J. R. R.");
//   - a subject heading matches as a whole and by each broader heading
//     before a " -- ", so a patron following "Science fiction" hears of
//     "Science fiction -- History and criticism", but not the other way
//     round.
func MatchTerms(kind, display string) []string {
	var out []string
	add := func(n string) {
		if n == "" {
			return
		}
		for _, o := range out {
			if o == n {
				return
			}
		}
		out = append(out, n)
	}
	switch kind {
	case FavoriteAuthor:
		for _, d := range []string{display, parenthetical.ReplaceAllString(display, "")} {
			n := NormalizeFavorite(kind, d)
			add(n)
			var names []string
			for _, w := range strings.Fields(n) {
				if utf8.RuneCountInString(w) > 1 {
					names = append(names, w)
				}
			}
			if len(names) >= 2 {
				add(strings.Join(names, " "))
			}
		}
	case FavoriteSubject:
		n := NormalizeFavorite(kind, display)
		parts := strings.Split(n, " -- ")
		for i := len(parts); i >= 1; i-- {
			add(strings.Join(parts[:i], " -- "))
		}
	}
	return out
}

// CheckArrivals lists every problem of a batch, as AddArrivals would
// refuse it, without storing anything.
func (s *Store) CheckArrivals(ctx context.Context, items []ArrivalInput) ([]ItemError, error) {
	origins, err := s.arrivalLinkOrigins(ctx)
	if err != nil {
		return nil, err
	}
	_, errs := validateArrivals(items, s.Now(), origins)
	return errs, nil
}

// validateArrivals checks every item and turns the good ones into rows.
// Dates are refused before 1900 and more than a year ahead of now; catalog
// links anywhere but on origins.
func validateArrivals(items []ArrivalInput, now time.Time, origins map[string]bool) ([]Arrival, []ItemError) {
	var errs []ItemError
	if len(items) == 0 {
		return nil, []ItemError{{Index: 0, Field: "items", Message: "There are no arrivals in it."}}
	}
	if len(items) > MaxArrivalsPerBatch {
		return nil, []ItemError{{Index: MaxArrivalsPerBatch, Line: items[MaxArrivalsPerBatch].Line, Field: "items",
			Message: fmt.Sprintf("At most %d arrivals at a time; split the list.", MaxArrivalsPerBatch)}}
	}
	rows := make([]Arrival, 0, len(items))
	firstAt := map[string]int{}
	for i, it := range items {
		bad := func(field, msg string) {
			errs = append(errs, ItemError{Index: i, Line: it.Line, Field: field, Message: msg})
		}
		r := Arrival{}
		r.Title = collapseSpace(it.Title)
		switch {
		case r.Title == "":
			bad("title", "Give the title.")
		case utf8.RuneCountInString(r.Title) > MaxArrivalTitle:
			bad("title", fmt.Sprintf("The title is longer than %d characters.", MaxArrivalTitle))
		case !printable(r.Title):
			bad("title", "The title contains characters that cannot be shown.")
		}
		for _, l := range []struct {
			field, kind string
			in          []string
			max         int
			out         *string
		}{
			{"authors", FavoriteAuthor, it.Authors, MaxArrivalAuthors, &r.Authors},
			{"subjects", FavoriteSubject, it.Subjects, MaxArrivalSubjects, &r.Subjects},
		} {
			var names []string
			for _, n := range l.in {
				n = collapseSpace(n)
				switch {
				case n == "":
					continue
				case utf8.RuneCountInString(n) > MaxFavoriteLength:
					bad(l.field, fmt.Sprintf("The %s %q is longer than %d characters.", l.kind, cut(n, 40), MaxFavoriteLength))
				case !printable(n):
					bad(l.field, fmt.Sprintf("The %s %q contains characters that cannot be shown.", l.kind, cut(n, 40)))
				case len(MatchTerms(l.kind, n)) == 0:
					bad(l.field, fmt.Sprintf("The %s %q has no letters or digits.", l.kind, cut(n, 40)))
				}
				names = append(names, n)
			}
			if len(names) > l.max {
				bad(l.field, fmt.Sprintf("At most %d %ss per item.", l.max, l.kind))
			}
			*l.out = strings.Join(names, "\n")
		}
		r.Format = collapseSpace(it.Format)
		if utf8.RuneCountInString(r.Format) > MaxArrivalFormat || !printable(r.Format) {
			bad("format", fmt.Sprintf("The format is a short word or two (at most %d characters), like Book or DVD.", MaxArrivalFormat))
		}
		d, err := time.Parse("2006-01-02", strings.TrimSpace(it.Date))
		switch {
		case strings.TrimSpace(it.Date) == "":
			bad("date", "Give the date it arrived, as YYYY-MM-DD.")
		case err != nil:
			bad("date", fmt.Sprintf("%q is not a date written as YYYY-MM-DD.", cut(it.Date, 20)))
		case d.Year() < 1900 || d.After(now.AddDate(1, 0, 0)):
			bad("date", "The date must be after 1900 and at most a year from now.")
		}
		r.ArrivedOn = d
		r.CatalogURL = strings.TrimSpace(it.CatalogURL)
		if msg := checkCatalogURL(r.CatalogURL, origins); msg != "" {
			bad("catalog_url", msg)
		} else if j, dup := firstAt[r.CatalogURL]; dup {
			bad("catalog_url", fmt.Sprintf("The same catalog link is already %s; each item once per batch.", itemName(items[j], j)))
		} else {
			firstAt[r.CatalogURL] = i
		}
		rows = append(rows, r)
	}
	return rows, errs
}

func itemName(it ArrivalInput, i int) string {
	if it.Line > 0 {
		return "on line " + strconv.Itoa(it.Line)
	}
	return "item " + strconv.Itoa(i+1)
}

// checkCatalogURL says what is wrong with a catalog link, or "". The link
// goes into patrons' emails under the library's name, so it must be an
// https address on one of origins (the registered catalogs' and those of
// CARREL_ARRIVAL_LINK_ORIGINS): anything else would let whoever holds an
// API key send patrons to a site of their choosing. The origin is compared
// whole, after parsing, so neither a lookalike host
// (catalog.example.org.evil.example) nor a user name before an "@"
// (https://catalog.example.org@evil.example/) passes. The message never
// repeats the link: it names what is accepted.
func checkCatalogURL(s string, origins map[string]bool) string {
	if s == "" {
		return "Give the item's address in the catalog (https://…)."
	}
	u, err := url.Parse(s)
	switch {
	case len(s) > MaxCatalogURL:
		return fmt.Sprintf("The catalog link is longer than %d characters.", MaxCatalogURL)
	case err != nil || !printable(s) || strings.ContainsAny(s, " \t\\"):
		return "The catalog link is not a valid address."
	case u.User != nil:
		return "The catalog link must not hold a user name or password (an @ before the host)."
	case u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return "The catalog link must be a whole web address starting with https://, on " + originsText(origins) + "."
	case !origins[linkOrigin(u)]:
		return "The catalog link must be on " + originsText(origins) + "."
	}
	return ""
}

// originsText names the accepted origins for a message.
func originsText(origins map[string]bool) string {
	if len(origins) == 0 {
		return "the library's catalog, and no catalog is set up for links yet: register it (carrel opac add) or " +
			"list its address in CARREL_ARRIVAL_LINK_ORIGINS"
	}
	list := make([]string, 0, len(origins))
	for o := range origins {
		list = append(list, o+"/")
	}
	sort.Strings(list)
	if len(list) == 1 {
		return "the library's catalog, " + list[0]
	}
	return "one of the library's catalogs: " + strings.Join(list, ", ")
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func chunks[T any](all []T, n int) [][]T {
	var out [][]T
	for len(all) > n {
		out = append(out, all[:n:n])
		all = all[n:]
	}
	if len(all) > 0 {
		out = append(out, all)
	}
	return out
}

// ArrivalColumns are the columns of an arrivals CSV file, in the order
// the template lists them. title, date and catalog_url are required.
var ArrivalColumns = []string{"title", "authors", "subjects", "format", "date", "catalog_url"}

// ParseArrivalsCSV reads a CSV file of arrivals: a header naming the
// columns (any order, any case; authors, subjects and format may be left
// out), then one item per line, several authors or subjects separated by
// ";". It returns the items it could read and every problem of the file's
// shape with its line number; CheckArrivals then finds the problems of
// the items themselves, so that one answer lists them all.
func ParseArrivalsCSV(r io.Reader) ([]ArrivalInput, []ItemError) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, []ItemError{{Line: 1, Field: "file", Message: "The file is empty."}}
	}
	if err != nil {
		return nil, []ItemError{csvError(err, 1)}
	}
	col := map[string]int{}
	var errs []ItemError
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range ArrivalColumns {
			known = known || c == h
		}
		switch {
		case !known:
			errs = append(errs, ItemError{Line: 1, Field: "header", Message: fmt.Sprintf("Unknown column %q: the columns are %s.", cut(h, 40), strings.Join(ArrivalColumns, ", "))})
		case col[h] != 0:
			errs = append(errs, ItemError{Line: 1, Field: "header", Message: fmt.Sprintf("The column %q appears twice.", h)})
		default:
			col[h] = i + 1
		}
	}
	for _, req := range []string{"title", "date", "catalog_url"} {
		if col[req] == 0 {
			errs = append(errs, ItemError{Line: 1, Field: "header", Message: fmt.Sprintf("The first line must name the columns, including %q.", req)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	cell := func(rec []string, name string) string {
		if i := col[name]; i > 0 && i <= len(rec) {
			return rec[i-1]
		}
		return ""
	}
	var items []ArrivalInput
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			errs = append(errs, ItemError{Line: pe.StartLine, Field: "line",
				Message: fmt.Sprintf("It has %d cells; the header line has %d.", len(rec), len(header))})
			continue
		}
		if err != nil {
			// A broken quote: the lines after it cannot be trusted.
			errs = append(errs, csvError(err, 0))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(items) == MaxArrivalsPerBatch {
			errs = append(errs, ItemError{Index: len(items), Line: line, Field: "file",
				Message: fmt.Sprintf("At most %d arrivals at a time; split the file.", MaxArrivalsPerBatch)})
			break
		}
		items = append(items, ArrivalInput{
			Title: cell(rec, "title"), Authors: splitCell(cell(rec, "authors")), Subjects: splitCell(cell(rec, "subjects")),
			Format: cell(rec, "format"), Date: cell(rec, "date"), CatalogURL: cell(rec, "catalog_url"), Line: line,
		})
	}
	if len(items) == 0 && len(errs) == 0 {
		errs = append(errs, ItemError{Line: 2, Field: "file", Message: "There are no arrivals after the header line."})
	}
	return items, errs
}

func splitCell(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ArrivalSeparator) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func csvError(err error, line int) ItemError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line = pe.Line
		if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
			return ItemError{Line: line, Field: "line", Message: "A quotation mark is out of place: a cell with quotes must be wholly in quotes, with inner quotes doubled (\"\")."}
		}
	}
	return ItemError{Line: line, Field: "file", Message: "This is not a CSV file we can read."}
}
