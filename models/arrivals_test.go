package models_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

func TestMatchTermsOfRealHeadings(t *testing.T) {
	cases := []struct {
		name, kind, heading string
		follows             []string // favorites, as a patron types them, that match
		doesNot             []string // favorites that do not
	}{
		{"catalog heading with life dates", models.FavoriteAuthor, "Butler, Octavia E., 1947-2006",
			[]string{"Octavia E. Butler", "Butler, Octavia E.", "octavia e butler", "Octavia Butler", "OCTAVIA  E.  BUTLER"},
			[]string{"Butler", "Octavia", "Judith Butler", "E. Butler"}},
		{"fuller form in brackets", models.FavoriteAuthor, "Butler, Octavia E. (Octavia Estelle), 1947-2006",
			[]string{"Octavia E. Butler", "Octavia Butler"}, []string{"Octavia Estelle Butler"}},
		{"diacritics", models.FavoriteAuthor, "García Márquez, Gabriel, 1927-2014",
			[]string{"Gabriel García Márquez", "Gabriel Garcia Marquez", "García Márquez, Gabriel"}, []string{"Gabriel Marquez"}},
		{"initials only", models.FavoriteAuthor, "Tolkien, J. R. R. (John Ronald Reuel), 1892-1973",
			[]string{"J.R.R. Tolkien", "J. R. R. Tolkien", "Tolkien, J. R. R."}, []string{"Tolkien", "J. Tolkien"}},
		{"two-part family name", models.FavoriteAuthor, "Le Guin, Ursula K., 1929-2018",
			[]string{"Ursula K. Le Guin", "Ursula Le Guin"}, []string{"Ursula K. Guin", "Le Guin"}},
		{"subject with subdivisions", models.FavoriteSubject, "Science fiction--History and criticism.",
			[]string{"Science fiction -- History and criticism", "Science fiction — History and criticism", "science fiction"},
			[]string{"History and criticism", "Science"}},
		{"subject follows broader, not narrower", models.FavoriteSubject, "Gardening",
			[]string{"Gardening", "gardening."}, []string{"Gardening -- California"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			terms := models.MatchTerms(c.kind, c.heading)
			for _, f := range c.follows {
				if !slices.Contains(terms, models.NormalizeFavorite(c.kind, f)) {
					t.Errorf("a patron following %q should hear of %q (terms %q)", f, c.heading, terms)
				}
			}
			for _, f := range c.doesNot {
				if slices.Contains(terms, models.NormalizeFavorite(c.kind, f)) {
					t.Errorf("a patron following %q should not hear of %q (terms %q)", f, c.heading, terms)
				}
			}
		})
	}
}

// follower creates a patron who links favorites, follows the given
// favorites ("author:..." or "subject:...") and chose notice.
func follower(t *testing.T, s *models.Store, card, notice string, favs ...string) models.Patron {
	t.Helper()
	p := createPatron(t, s, card, "1234")
	if _, err := s.LinkFavorites(t.Context(), p.ID, models.Actor{Channel: models.ChannelWeb}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetFavoritesNotice(t.Context(), p.ID, notice, models.Actor{Channel: models.ChannelWeb}); err != nil {
		t.Fatal(err)
	}
	for _, f := range favs {
		kind, display, _ := strings.Cut(f, ":")
		if _, _, err := s.AddFavorite(t.Context(), p.ID, kind, display, models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func notificationsOf(t *testing.T, s *models.Store, patronID int64) []models.Notification {
	t.Helper()
	var out []models.Notification
	if err := s.DB.Where("patron_id = ?", patronID).Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

var parable = models.ArrivalInput{
	Title:      "Parable of the Talents",
	Authors:    []string{"Butler, Octavia E., 1947-2006", "Duffy, Damian"},
	Subjects:   []string{"Science fiction -- Fiction", "Dystopias"},
	Format:     "Book",
	Date:       "2026-11-20",
	CatalogURL: "https://catalog.example.org/record/b100",
}

func TestArrivalsNotifyLinkedFollowersOnce(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			ctx := t.Context()
			// Follows the author AND a subject: still one notice.
			both := follower(t, s, "21000000000101", models.NoticeWeekly, "author:Octavia E. Butler", "subject:Science fiction")
			heading := follower(t, s, "21000000000102", models.NoticeDaily, "author:Butler, Octavia E.")
			quiet := follower(t, s, "21000000000103", models.NoticeNone, "author:Octavia E. Butler")
			other := follower(t, s, "21000000000104", models.NoticeWeekly, "author:Ursula K. Le Guin")
			// A favorite left on an unlinked record (it should not exist:
			// unlinking erases them) is never matched.
			unlinked := createPatron(t, s, "21000000000105", "1234")
			db.Gorm.Exec("UPDATE patrons SET favorites_notice = 'weekly' WHERE id = ?", unlinked.ID)
			stray := models.Favorite{PatronID: unlinked.ID, Kind: models.FavoriteAuthor, Display: "Octavia E. Butler", Normalized: "octavia e butler"}
			if err := db.Gorm.Create(&stray).Error; err != nil {
				t.Fatal(err)
			}

			key := int64(7)
			res, err := s.AddArrivals(ctx, models.ArrivalSource{APIKeyID: &key}, []models.ArrivalInput{parable})
			if err != nil {
				t.Fatal(err)
			}
			if res != (models.ArrivalResult{Created: 1, Updated: 0, Notifications: 2}) {
				t.Fatalf("result %+v", res)
			}
			var a models.Arrival
			db.Gorm.Where("catalog_url = ?", parable.CatalogURL).Take(&a)
			if a.MatchedAt == nil || a.APIKeyID == nil || *a.APIKeyID != key || a.Authors != "Butler, Octavia E., 1947-2006\nDuffy, Damian" ||
				!a.ArrivedOn.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("arrival %+v", a)
			}
			got := notificationsOf(t, s, both.ID)
			if len(got) != 1 {
				t.Fatalf("a patron matching by author and subject gets one notice, got %d", len(got))
			}
			n := got[0]
			if n.Title != parable.Title || n.Author != "Butler, Octavia E., 1947-2006" || n.CatalogURL != parable.CatalogURL ||
				n.ArrivalID == nil || *n.ArrivalID != a.ID || n.SentAt != nil || n.DigestID != nil ||
				n.Reason != "Octavia E. Butler and 1 more" {
				t.Fatalf("notification %+v", n)
			}
			if got := notificationsOf(t, s, heading.ID); len(got) != 1 || got[0].Reason != "Butler, Octavia E." {
				t.Fatalf("the reason is the favorite as the patron typed it: %+v", got)
			}
			for _, p := range []models.Patron{quiet, other, unlinked} {
				if got := notificationsOf(t, s, p.ID); len(got) != 0 {
					t.Errorf("card %s should get no notice: %+v", p.CardNumber, got)
				}
			}

			// Posting it again updates it and tells nobody twice, even
			// someone who started following since.
			follower(t, s, "21000000000106", models.NoticeWeekly, "subject:Dystopias")
			again := parable
			again.Title = "Parable of the Talents (new edition)"
			again.Authors = []string{"Butler, Octavia E."}
			res, err = s.AddArrivals(ctx, models.ArrivalSource{APIKeyID: &key}, []models.ArrivalInput{again})
			if err != nil {
				t.Fatal(err)
			}
			if res != (models.ArrivalResult{Created: 0, Updated: 1, Notifications: 0}) {
				t.Fatalf("re-post result %+v", res)
			}
			if n := rowsWhere(t, db.Gorm, "arrivals", "1 = 1"); n != 1 {
				t.Fatalf("%d arrivals after a re-post", n)
			}
			if n := rowsWhere(t, db.Gorm, "notifications", "1 = 1"); n != 2 {
				t.Fatalf("%d notifications after a re-post", n)
			}
			db.Gorm.Where("id = ?", a.ID).Take(&a)
			if a.Title != again.Title || a.Authors != "Butler, Octavia E." {
				t.Fatalf("the re-post should update the arrival: %+v", a)
			}
			var terms []string
			db.Gorm.Model(&models.ArrivalTerm{}).Where("arrival_id = ? AND kind = 'author'", a.ID).Order("normalized").Pluck("normalized", &terms)
			if !slices.Equal(terms, []string{"octavia butler", "octavia e butler"}) {
				t.Fatalf("terms should be replaced: %q", terms)
			}
			if n := rowsWhere(t, db.Gorm, "audit_entries", "action = ?", models.AuditArrivals); n != 0 {
				t.Fatalf("posts by the ILS are not staff actions: %d audit entries", n)
			}
		})
	}
}

func TestABadItemRefusesTheWholeBatch(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			follower(t, s, "21000000000101", models.NoticeWeekly, "author:Octavia E. Butler")
			good := parable
			noTitle := parable
			noTitle.Title, noTitle.CatalogURL = "  ", "https://catalog.example.org/record/b101"
			badDate := parable
			badDate.Date, badDate.CatalogURL = "20/11/2026", "https://catalog.example.org/record/b102"
			badURL := parable
			badURL.CatalogURL = "javascript:alert(1)"
			twin := parable // the same link as the first item
			control := parable
			control.Authors, control.CatalogURL = []string{"Bad\x00Name"}, "https://catalog.example.org/record/b103"
			_, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, []models.ArrivalInput{good, noTitle, badDate, badURL, twin, control})
			var bad *models.ArrivalsError
			if !errors.As(err, &bad) {
				t.Fatalf("want *ArrivalsError, got %v", err)
			}
			want := []models.ItemError{{Index: 1, Field: "title"}, {Index: 2, Field: "date"}, {Index: 3, Field: "catalog_url"},
				{Index: 4, Field: "catalog_url"}, {Index: 5, Field: "authors"}}
			if len(bad.Items) != len(want) {
				t.Fatalf("errors %+v", bad.Items)
			}
			for i, w := range want {
				if bad.Items[i].Index != w.Index || bad.Items[i].Field != w.Field || bad.Items[i].Message == "" {
					t.Errorf("error %d: got %+v, want index %d field %s", i, bad.Items[i], w.Index, w.Field)
				}
			}
			if !strings.Contains(bad.Items[3].Message, "item 1") {
				t.Errorf("a twin names the first: %q", bad.Items[3].Message)
			}
			for _, table := range []string{"arrivals", "arrival_terms", "notifications"} {
				if n := rowsWhere(t, db.Gorm, table, "1 = 1"); n != 0 {
					t.Errorf("%d rows in %s after a refused batch", n, table)
				}
			}
			if _, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, nil); !errors.As(err, &bad) {
				t.Fatalf("an empty batch is refused, got %v", err)
			}
		})
	}
}

func TestStaffArrivalsAreAudited(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			st, err := s.AddStaff(t.Context(), "cat", "Cat Aloguer", models.RoleAssistant, "a long enough password")
			if err != nil {
				t.Fatal(err)
			}
			p := follower(t, s, "21000000000101", models.NoticeWeekly, "subject:Dystopias")
			if _, err := s.AddArrivals(t.Context(), models.ArrivalSource{StaffID: &st.ID, File: "new.csv"}, []models.ArrivalInput{parable}); err != nil {
				t.Fatal(err)
			}
			var e models.AuditEntry
			if err := db.Gorm.Where("action = ?", models.AuditArrivals).Take(&e).Error; err != nil {
				t.Fatal(err)
			}
			if e.StaffID == nil || *e.StaffID != st.ID || e.PatronID != nil || e.Detail != "arrivals added: 1 new, 0 updated (file new.csv)" {
				t.Fatalf("audit %+v", e)
			}
			if res, err := s.VerifyAudit(t.Context(), nil, "test"); err != nil || !res.Intact() {
				t.Fatalf("audit chain: %+v %v", res, err)
			}
			rec, err := s.RecentArrivals(t.Context(), 10)
			if err != nil || len(rec) != 1 || rec[0].Notices != 1 || rec[0].StaffID == nil {
				t.Fatalf("recent %+v %v", rec, err)
			}
			_ = p
		})
	}
}

func TestParseArrivalsCSV(t *testing.T) {
	s := modeltest.NewStore(t, modeltest.SQLite(t, nil), modeltest.NewFakeClock(testTime))
	good := "\ufeffTitle,Authors,Subjects,Format,Date,Catalog_URL\r\n" +
		`"Parable of the Talents","Butler, Octavia E., 1947-2006; Duffy, Damian","Science fiction; Dystopias",Book,2026-11-20,https://catalog.example.org/record/b100` + "\r\n" +
		"\r\n" +
		`Kindred,"Butler, Octavia E.",,,2026-11-21,https://catalog.example.org/record/b101` + "\n"
	items, errs := models.ParseArrivalsCSV(strings.NewReader(good))
	if len(errs) != 0 || len(items) != 2 {
		t.Fatalf("items %+v errs %+v", items, errs)
	}
	if !slices.Equal(items[0].Authors, []string{"Butler, Octavia E., 1947-2006", "Duffy, Damian"}) ||
		!slices.Equal(items[0].Subjects, []string{"Science fiction", "Dystopias"}) || items[0].Line != 2 || items[1].Line != 4 {
		t.Fatalf("items %+v", items)
	}
	if errs, err := s.CheckArrivals(t.Context(), items); err != nil || len(errs) != 0 {
		t.Fatalf("good items: %+v (%v)", errs, err)
	}

	// Only the required columns, in another order.
	items, errs = models.ParseArrivalsCSV(strings.NewReader("catalog_url,date,title\nhttps://c.example/1,2026-01-02,A\n"))
	if len(errs) != 0 || len(items) != 1 || items[0].Title != "A" {
		t.Fatalf("minimal file: %+v %+v", items, errs)
	}

	cases := []struct {
		name, file string
		lines      []int
	}{
		{"empty", "", []int{1}},
		{"header only", "title,date,catalog_url\n", []int{2}},
		{"unknown and missing columns", "title,author,date\nx,y,2026-01-01\n", []int{1, 1}},
		{"wrong cell count", "title,date,catalog_url\nA,2026-01-01\nB,2026-01-01,https://c.example/2\n", []int{2}},
		{"broken quote", "title,date,catalog_url\nA,2026-01-01,https://c.example/1\n\"B,2026-01-01,https://c.example/2\n", []int{3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := models.ParseArrivalsCSV(strings.NewReader(c.file))
			var lines []int
			for _, e := range errs {
				lines = append(lines, e.Line)
				if e.Message == "" || e.String() == "" {
					t.Errorf("an error without a message: %+v", e)
				}
			}
			if !slices.Equal(lines, c.lines) {
				t.Fatalf("lines %v, want %v (%+v)", lines, c.lines, errs)
			}
		})
	}

	// Problems of the items themselves come with their lines.
	items, errs = models.ParseArrivalsCSV(strings.NewReader("title,date,catalog_url\nA,2026-13-01,https://catalog.example.org/1\n,2026-01-01,ftp://c.example/2\n"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	errs, err := s.CheckArrivals(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.String())
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "Line 2, date: ") || !strings.HasPrefix(got[1], "Line 3, title: ") || !strings.HasPrefix(got[2], "Line 3, catalog_url: ") {
		t.Fatalf("item errors %q", got)
	}
}

func TestOldArrivalsArePurgedUnlessANoticeNamesThem(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			s := modeltest.NewStore(t, db.Gorm, clock)
			p := follower(t, s, "21000000000101", models.NoticeWeekly, "subject:Dystopias")
			noticed := parable
			unnoticed := parable
			unnoticed.Subjects, unnoticed.CatalogURL = []string{"Gardening"}, "https://catalog.example.org/record/b200"
			if _, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, []models.ArrivalInput{noticed, unnoticed}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(200 * 24 * time.Hour)
			young := unnoticed
			young.CatalogURL = "https://catalog.example.org/record/b300"
			if _, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, []models.ArrivalInput{young}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(200 * 24 * time.Hour)
			// The notice went out yesterday, so it is still held, and keeps its arrival.
			db.Gorm.Exec("UPDATE notifications SET sent_at = ?", clock.Now().Add(-24*time.Hour))
			rep, err := s.Purge(t.Context(), false, 10, models.SessionLimits{Idle: time.Hour, Absolute: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]int64{}
			for _, c := range rep.Counts {
				counts[c.Category] = c.Rows
			}
			if counts["arrivals"] != 1 {
				t.Fatalf("purge counts %v", counts)
			}
			var left []string
			db.Gorm.Model(&models.Arrival{}).Order("catalog_url").Pluck("catalog_url", &left)
			if !slices.Equal(left, []string{noticed.CatalogURL, young.CatalogURL}) {
				t.Fatalf("left %q", left)
			}
			if n := rowsWhere(t, db.Gorm, "arrival_terms", "arrival_id NOT IN (SELECT id FROM arrivals)"); n != 0 {
				t.Fatalf("%d orphaned terms", n)
			}
			if len(notificationsOf(t, s, p.ID)) != 1 {
				t.Fatal("the notice stays")
			}
		})
	}
}

func TestConcurrentPostsOfTheSameItemsTellOnce(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			var fans []models.Patron
			for i := range 5 {
				fans = append(fans, follower(t, s, fmt.Sprintf("2100000000020%d", i), models.NoticeDaily, "author:Octavia Butler", "subject:Dystopias"))
			}
			var batch []models.ArrivalInput
			for i := range 20 {
				it := parable
				it.CatalogURL = fmt.Sprintf("https://catalog.example.org/record/c%d", i)
				batch = append(batch, it)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 6)
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, batch)
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range fans {
				if n := len(notificationsOf(t, s, p.ID)); n != len(batch) {
					t.Errorf("card %s: %d notices for %d items", p.CardNumber, n, len(batch))
				}
			}
			if n := rowsWhere(t, db.Gorm, "arrivals", "matched_at IS NOT NULL"); n != int64(len(batch)) {
				t.Fatalf("%d arrivals matched", n)
			}
		})
	}
}

func TestALargeBatchMatchesLikeASmallOne(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			fan := follower(t, s, "21000000000301", models.NoticeWeekly, "author:Author 7", "subject:Topic 3")
			var batch []models.ArrivalInput
			want := 0
			for i := range 2500 { // enough to refresh the planner's statistics and share out the matching
				it := models.ArrivalInput{Title: fmt.Sprintf("Title %d", i), Date: "2026-11-20",
					Authors:    []string{fmt.Sprintf("Author %d", i%50)},
					Subjects:   []string{fmt.Sprintf("Topic %d -- Fiction", i%20)},
					CatalogURL: fmt.Sprintf("https://catalog.example.org/record/l%d", i)}
				if i%50 == 7 || i%20 == 3 {
					want++
				}
				batch = append(batch, it)
			}
			res, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, batch)
			if err != nil {
				t.Fatal(err)
			}
			if res.Created != 2500 || res.Notifications != int64(want) || len(notificationsOf(t, s, fan.ID)) != want {
				t.Fatalf("result %+v, want %d notices", res, want)
			}
		})
	}
}

// A crash after a batch is stored but before it is matched leaves its
// arrivals unmatched: the next pass matches them, once.
func TestArrivalsLeftUnmatchedAreMatchedByTheNextPass(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			fan := follower(t, s, "21000000000401", models.NoticeDaily, "subject:Dystopias")
			if _, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, []models.ArrivalInput{parable}); err != nil {
				t.Fatal(err)
			}
			// The state a crash between storing and matching leaves.
			if err := db.Gorm.Exec("DELETE FROM notifications").Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Gorm.Exec("UPDATE arrivals SET matched_at = NULL").Error; err != nil {
				t.Fatal(err)
			}
			for pass, want := range []int64{1, 0} {
				n, err := s.MatchPending(t.Context())
				if err != nil || n != want {
					t.Fatalf("pass %d made %d notices (%v), want %d", pass+1, n, err, want)
				}
			}
			if len(notificationsOf(t, s, fan.ID)) != 1 {
				t.Fatal("the patron should be told once")
			}
		})
	}
}

// Deleting an arrival or a digest keeps the notifications that named it,
// with the reference cleared: by a foreign key on SQLite, by a trigger on
// PostgreSQL.
func TestDeletingAnArrivalOrADigestClearsItsReferences(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			fan := follower(t, s, "21000000000501", models.NoticeDaily, "subject:Dystopias")
			other := parable
			other.CatalogURL = "https://catalog.example.org/record/b101"
			if _, err := s.AddArrivals(t.Context(), models.ArrivalSource{}, []models.ArrivalInput{parable, other}); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO digests (patron_id, idempotency_key, next_attempt_at, created_at) VALUES (?, 'k1', ?, ?)`,
				`UPDATE notifications SET digest_id = (SELECT id FROM digests)`,
				`DELETE FROM digests`,
				`DELETE FROM arrivals WHERE catalog_url = '` + parable.CatalogURL + `'`,
			} {
				args := []any{}
				if strings.Count(q, "?") == 3 {
					args = []any{fan.ID, clock.Now(), clock.Now()}
				}
				if err := db.Gorm.Exec(q, args...).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			got := notificationsOf(t, s, fan.ID)
			if len(got) != 2 {
				t.Fatalf("%d notifications left, want both", len(got))
			}
			for _, n := range got {
				if n.DigestID != nil {
					t.Errorf("%q still names a deleted digest", n.CatalogURL)
				}
				if gone := n.CatalogURL == parable.CatalogURL; gone != (n.ArrivalID == nil) {
					t.Errorf("%q: arrival reference %v", n.CatalogURL, n.ArrivalID)
				}
			}
		})
	}
}
