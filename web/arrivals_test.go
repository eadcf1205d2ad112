package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
)

// followerOf creates a patron who linked favorites, chose notice and
// follows favs ("author:…" or "subject:…").
func (a *app) followerOf(card, pin, notice string, favs ...string) models.Patron {
	a.t.Helper()
	p := a.patron(card, pin, "Fan", "Reader")
	ctx, actor := context.Background(), models.Actor{Channel: models.ChannelWeb}
	if _, err := a.store.LinkFavorites(ctx, p.ID, actor); err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.store.SetFavoritesNotice(ctx, p.ID, notice, actor); err != nil {
		a.t.Fatal(err)
	}
	for _, f := range favs {
		kind, display, _ := strings.Cut(f, ":")
		if _, _, err := a.store.AddFavorite(ctx, p.ID, kind, display, actor); err != nil {
			a.t.Fatal(err)
		}
	}
	return p
}

// api posts body to /api/arrivals the way the ILS would: no cookie, no
// form token, an Authorization header when token is set.
func (c *client) api(token, contentType, body string) response {
	c.a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.a.server.URL+"/api/arrivals", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "bearer "+token) // the scheme's case never matters
	}
	req.Header.Set("Content-Type", contentType)
	return c.do(req)
}

// upload posts a file the way a browser posts a form with a file input.
func (c *client) upload(path, token, filename, content string) response {
	c.a.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("csrf_token", token)
	if filename != "" {
		fw, _ := w.CreateFormFile("file", filename)
		fw.Write([]byte(content))
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, c.a.server.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", c.a.server.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

type apiAnswer struct {
	Created, Updated, Notifications int64
	Error                           string
	Errors                          []models.ItemError
}

func decodeAnswer(t *testing.T, r response) apiAnswer {
	t.Helper()
	var v apiAnswer
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d answer is %q, not JSON: %s", r.StatusCode, r.Header.Get("Content-Type"), excerpt(r.body))
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("answer %q: %v", r.body, err)
	}
	return v
}

const butlerItem = `{"title": "Parable of the Talents", "authors": ["Butler, Octavia E., 1947-2006"],
	"subjects": ["Science fiction -- Fiction"], "format": "Book", "date": "2026-11-20",
	"catalog_url": "https://catalog.example.org/record/b100"}`

func TestArrivalsAPI(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		fan := a.followerOf(card, pin, models.NoticeWeekly, "author:Octavia Butler", "subject:Science fiction")
		a.followerOf("21000000000202", "2222", models.NoticeDaily, "author:Ursula K. Le Guin")
		_, token, err := a.store.AddAPIKey(context.Background(), "ils")
		if err != nil {
			t.Fatal(err)
		}
		ils := a.client()
		arrivals := func() int64 { return rowsIn(t, a, "arrivals") }

		// No key, a wrong key: 401 in JSON, nothing stored.
		for _, tok := range []string{"", "carrel_000000000000_nope", token + "x"} {
			r := ils.api(tok, "application/json", butlerItem)
			wantStatus(t, r, http.StatusUnauthorized)
			if decodeAnswer(t, r).Error == "" || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a reason: %s %v", r.body, r.Header)
			}
		}
		if arrivals() != 0 {
			t.Fatal("nothing is stored without a valid key")
		}

		// One item: created, and the follower told once (author and subject both match).
		r := ils.api(token, "application/json", butlerItem)
		wantStatus(t, r, http.StatusCreated)
		if got := decodeAnswer(t, r); got.Created != 1 || got.Updated != 0 || got.Notifications != 1 {
			t.Fatalf("answer %+v", got)
		}
		if countRows(t, a.store.DB, "notifications", fan.ID) != 1 {
			t.Fatal("one notice for the follower")
		}
		// The same item again, as a batch: updated, nobody told twice.
		r = ils.api(token, "application/json", `{"items": [`+butlerItem+`]}`)
		wantStatus(t, r, http.StatusOK)
		if got := decodeAnswer(t, r); got.Created != 0 || got.Updated != 1 || got.Notifications != 0 {
			t.Fatalf("re-post answer %+v", got)
		}
		if countRows(t, a.store.DB, "notifications", fan.ID) != 1 || arrivals() != 1 {
			t.Fatal("a re-post neither duplicates nor notifies")
		}

		// A batch with bad items: 422 naming each, nothing stored.
		batch := `{"items": [
			{"title": "Fine", "date": "2026-11-21", "catalog_url": "https://catalog.example.org/record/b101"},
			{"title": "", "date": "2026-11-21", "catalog_url": "https://catalog.example.org/record/b102"},
			{"title": "Bad date", "date": "21/11/2026", "catalog_url": "https://catalog.example.org/record/b103"},
			{"title": "Authors as text", "authors": "Butler, Octavia E.", "date": "2026-11-21", "catalog_url": "https://catalog.example.org/record/b104"},
			{"title": "Typo", "catalogue_url": "x", "date": "2026-11-21", "catalog_url": "https://catalog.example.org/record/b105"},
			{"title": "No link", "date": "2026-11-21", "catalog_url": "/record/b106"}]}`
		r = ils.api(token, "application/json", batch)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		got := decodeAnswer(t, r)
		want := []struct {
			index int
			field string
		}{{1, "title"}, {2, "date"}, {3, "authors"}, {4, "catalogue_url"}, {5, "catalog_url"}}
		if len(got.Errors) != len(want) {
			t.Fatalf("errors %+v", got.Errors)
		}
		for i, w := range want {
			if e := got.Errors[i]; e.Index != w.index || e.Field != w.field || e.Message == "" {
				t.Errorf("error %d: %+v, want index %d field %s", i, e, w.index, w.field)
			}
		}
		if arrivals() != 1 {
			t.Fatal("a refused batch stores nothing, not even its good items")
		}

		// Malformed bodies and types.
		wantStatus(t, ils.api(token, "application/json", `[1, 2]`), http.StatusBadRequest)
		wantStatus(t, ils.api(token, "application/json", `{"items": 3}`), http.StatusBadRequest)
		wantStatus(t, ils.api(token, "text/plain", butlerItem), http.StatusUnsupportedMediaType)
		big := `{"title": "` + strings.Repeat("x", 5<<20) + `"}`
		r = ils.api(token, "application/json", big)
		wantStatus(t, r, http.StatusRequestEntityTooLarge)
		decodeAnswer(t, r)

		// CSV, as the staff upload takes it.
		csvBody := "title,authors,subjects,format,date,catalog_url\n" +
			`The Left Hand of Darkness,"Le Guin, Ursula K., 1929-2018",Science fiction,Book,2026-11-22,https://catalog.example.org/record/b200` + "\n"
		r = ils.api(token, "text/csv; charset=utf-8", csvBody)
		wantStatus(t, r, http.StatusCreated)
		if got := decodeAnswer(t, r); got.Created != 1 || got.Notifications != 2 {
			t.Fatalf("CSV answer %+v", got)
		}
		r = ils.api(token, "text/csv", "title,date,catalog_url\nA,2026-11-22,https://catalog.example.org/record/b201\nB,never,https://catalog.example.org/record/b202\n")
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := decodeAnswer(t, r); len(got.Errors) != 1 || got.Errors[0].Line != 3 || got.Errors[0].Field != "date" {
			t.Fatalf("CSV errors %+v", got.Errors)
		}

		var key models.APIKey
		a.store.DB.Where("name = ?", "ils").Take(&key)
		var ar models.Arrival
		a.store.DB.Where("catalog_url = ?", "https://catalog.example.org/record/b200").Take(&ar)
		if key.LastUsedAt == nil || ar.APIKeyID == nil || *ar.APIKeyID != key.ID || ar.StaffID != nil {
			t.Fatalf("key %+v arrival %+v", key, ar)
		}

		// Revoked: refused at once.
		if err := a.store.RevokeAPIKey(context.Background(), "ils"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, ils.api(token, "application/json", butlerItem), http.StatusUnauthorized)

		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("the API sets no cookie: %q", got)
		}
		if strings.Contains(a.logs.String(), token) {
			t.Fatal("the key must never be logged")
		}

		// The patron sees the notice, with the favorite they typed.
		c := a.client()
		c.signIn(card, pin)
		page := c.get("/data/notifications")
		wantStatus(t, page, http.StatusOK)
		if txt := page.doc(t).Find("table").Text(); !strings.Contains(txt, "Parable of the Talents") || !strings.Contains(txt, "Octavia Butler") {
			t.Fatalf("the notifications page: %q", txt)
		}
	})
}

const arrivalsCSV = "title,authors,subjects,format,date,catalog_url\n" +
	`Parable of the Talents,"Butler, Octavia E., 1947-2006; Duffy, Damian",Science fiction -- Fiction,Book,2026-11-20,https://catalog.example.org/record/b100` + "\n" +
	`The Coastal Garden,"Ferreira, Lucia",Gardening -- California,Book,2026-11-21,https://catalog.example.org/record/b101` + "\n"

func TestStaffUploadArrivals(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		fan := a.followerOf(card, pin, models.NoticeWeekly, "author:Butler, Octavia E.", "subject:Science fiction")
		st := a.staff("cat", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("cat", staffPassword)
		page := c.get("/staff/arrivals")
		wantStatus(t, page, http.StatusOK)
		d := page.doc(t)
		if d.Find(`form[enctype="multipart/form-data"] input[type="file"]#file`).Length() != 1 || d.Find(`label[for="file"]`).Length() != 1 ||
			d.Find(`[data-testid="no-arrivals"]`).Length() != 1 {
			t.Fatal("the page offers a labelled file input and says there are no arrivals yet")
		}
		if c.get("/staff").doc(t).Find(`a[href="/staff/arrivals"]`).Length() == 0 {
			t.Fatal("the console leads to the arrivals page")
		}
		tok := c.csrf("/staff/arrivals")

		// No file, a bad file: the page again, every bad line next to the field, nothing stored.
		r := c.upload("/staff/arrivals", tok, "", "")
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.doc(t).Find(`[data-testid="file-error"]`).Text(), "Choose the CSV file") {
			t.Fatal("no file: say so next to the field")
		}
		bad := "title,authors,date,catalog_url\n" +
			"Good,\"Butler, Octavia E.\",2026-11-20,https://catalog.example.org/record/b1\n" +
			",Nobody,2026-11-20,https://catalog.example.org/record/b2\n" +
			"Late,Someone,tomorrow,https://catalog.example.org/record/b3\n" +
			"Short line,2026-11-20\n"
		r = c.upload("/staff/arrivals", tok, "bad.csv", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		d = r.doc(t)
		var lines []string
		d.Find(`[data-testid="problem"]`).Each(func(_ int, s *goquery.Selection) { lines = append(lines, s.Text()) })
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "Line 3, title:") || !strings.HasPrefix(lines[1], "Line 4, date:") ||
			!strings.HasPrefix(lines[2], "Line 5, line:") {
			t.Fatalf("bad lines %q", lines)
		}
		if d.Find(`[data-testid="form-error"] a[href="#file"]`).Length() != 1 || d.Find(`#file[aria-invalid="true"]`).Length() != 1 {
			t.Fatal("an error summary leads to the field, which is marked invalid")
		}
		if desc, _ := d.Find("#file").Attr("aria-describedby"); desc != "file-hint file-error" {
			t.Fatalf("aria-describedby %q", desc)
		}
		if rowsIn(t, a, "arrivals") != 0 || rowsIn(t, a, "notifications") != 0 {
			t.Fatal("a bad file stores nothing")
		}

		// A good file: added, told, audited, listed with a count.
		r = c.upload("/staff/arrivals", tok, `C:\Users\cat\new arrivals.csv`, arrivalsCSV)
		wantRedirect(t, r, "/staff/arrivals")
		d = c.get("/staff/arrivals").doc(t)
		if n := d.Find(`[data-testid="notice"]`).Text(); !strings.Contains(n, "Added 2 new arrivals and updated 0 arrivals. 1 notice was made") {
			t.Fatalf("flash %q", n)
		}
		rows := d.Find(`table[data-testid="arrivals"] tbody tr`)
		if rows.Length() != 2 || !strings.Contains(rows.Text(), "Butler, Octavia E., 1947-2006; Duffy, Damian") || !strings.Contains(rows.Text(), "November 20, 2026") {
			t.Fatalf("recent arrivals %q", rows.Text())
		}
		var counts []string
		rows.Find(`[data-testid="notices"]`).Each(func(_ int, s *goquery.Selection) { counts = append(counts, s.Text()) })
		if strings.Join(counts, ",") != "0,1" {
			t.Fatalf("notice counts %q (newest first)", counts)
		}
		if strings.Contains(d.Text(), "Fan") || strings.Contains(d.Text(), card) {
			t.Fatal("staff see how many were told, never who")
		}
		if countRows(t, a.store.DB, "notifications", fan.ID) != 1 {
			t.Fatal("the follower is told once")
		}
		var e models.AuditEntry
		a.store.DB.Where("action = ?", models.AuditArrivals).Take(&e)
		if e.StaffID == nil || *e.StaffID != st.ID || e.Detail != "arrivals added: 2 new, 0 updated (file new arrivals.csv)" {
			t.Fatalf("audit %+v", e)
		}
		// Again: updated, nobody told twice.
		wantRedirect(t, c.upload("/staff/arrivals", tok, "again.csv", arrivalsCSV), "/staff/arrivals")
		if n := c.get("/staff/arrivals").doc(t).Find(`[data-testid="notice"]`).Text(); !strings.Contains(n, "Added 0 new arrivals and updated 2 arrivals. 0 notices") {
			t.Fatalf("flash %q", n)
		}
		if countRows(t, a.store.DB, "notifications", fan.ID) != 1 || rowsIn(t, a, "arrivals") != 2 {
			t.Fatal("a second upload neither duplicates nor notifies")
		}

		// Without the form token: refused.
		wantStatus(t, c.upload("/staff/arrivals", "wrong", "x.csv", arrivalsCSV), http.StatusForbidden)
		// Patrons and signed-out visitors: refused.
		p := a.client()
		p.signIn(card, pin)
		wantStatus(t, p.get("/staff/arrivals"), http.StatusForbidden)
		wantStatus(t, p.upload("/staff/arrivals", p.csrf("/data"), "x.csv", arrivalsCSV), http.StatusForbidden)
		anon := a.client()
		wantRedirect(t, anon.get("/staff/arrivals"), "/staff/login?next=%2Fstaff%2Farrivals")
		wantStatus(t, anon.upload("/staff/arrivals", anon.csrf("/login"), "x.csv", arrivalsCSV), http.StatusForbidden)
		if rowsIn(t, a, "arrivals") != 2 {
			t.Fatal("refused uploads store nothing")
		}
	})
}

func TestArrivalsUploadSizeLimit(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("cat", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("cat", staffPassword)
		tok := c.csrf("/staff/arrivals")
		// Over the file limit but within the request limit: said next to the field.
		r := c.upload("/staff/arrivals", tok, "big.csv", "title,date,catalog_url\n"+strings.Repeat("x", 5<<20))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.doc(t).Find(`[data-testid="file-error"]`).Text(), "larger than 5 MB") {
			t.Fatal("a file over 5 MB is refused with a message")
		}
		// Over the request limit: refused before it is read.
		wantStatus(t, c.upload("/staff/arrivals", tok, "huge.csv", strings.Repeat("x", 7<<20)), http.StatusRequestEntityTooLarge)
		// Other forms keep the ordinary limit.
		wantStatus(t, c.post("/staff/patrons/1/assist", url.Values{"csrf_token": {tok}, "note": {strings.Repeat("x", 2<<20)}}), http.StatusRequestEntityTooLarge)
	})
}

func rowsIn(t *testing.T, a *app, table string) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
