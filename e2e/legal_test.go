package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pastDate is a deletion date written out, which a held patron's pages
// must not promise.
var pastDate = regexp.MustCompile(`(?i)(will be deleted on|deleted) (January|February|March|April|May|June|July|August|September|October|November|December) \d+, \d{4}`)

// produceResponse is what the request page's "Produce the package" form
// answers, posted from the page (same origin, its cookie and form token)
// so that the download never reaches the screen.
type produceResponse struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Cache       string `json:"cache"`
	Body        string `json:"body"` // base64
}

// TestLegalProcessJourney follows the library's policy on law enforcement
// requests end to end. A privacy officer records a court order for the demo
// patron's fines and holds over a date range, with no nondisclosure order
// and a legal hold; records the City Attorney's favourable review; is
// refused when they try to approve their own request, with the reason on
// the page; an administrator approves; the officer produces the package (a
// zip with a manifest). The patron then signs in and sees, first, that
// their fines and holds were produced, for which dates, with whom to
// contact, and "Deletion paused by a court order" on their fines. A
// national security letter is recorded too: its page says nothing can be
// produced and offers neither an approve nor a produce button. Every page
// state is audited at 1280 and 390 CSS pixels, and none scrolls sideways
// on the phone.
func TestLegalProcessJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		p := startPortal(t, db)
		// Dates in the past, so that no time zone makes them the future.
		day := time.Now().AddDate(0, 0, -1)
		received := day.Format("2006-01-02")
		scopeFrom, scopeTo := day.AddDate(-1, 0, 0), day
		const court, reference = "Superior Court of Example County", "CR-2026-0417"

		officer := b.newTab(t, p, "legal-officer")
		list := officer.staffSignIn(demoOfficer, "/staff/legal", "legal-list")
		wantPage(t, list, http.StatusOK, "/staff/legal", "Legal requests")

		form := officer.click(`a[href="/staff/legal/new"]`, "legal-new")
		wantPage(t, form, http.StatusOK, "/staff/legal/new", "Record a legal request")
		if !eval[bool](officer, `document.querySelector('input[name="place_holds"]').checked`) {
			t.Errorf("/staff/legal/new: the legal hold is not chosen by default")
		}
		if eval[bool](officer, `document.querySelector('input[name="nondisclosure"]').checked`) {
			t.Errorf("/staff/legal/new: a nondisclosure order is chosen by default")
		}
		detail := officer.recordLegalRequest("legal-recorded", legalRequestForm{
			Kind: "court_order", Issuer: court, Reference: reference, Received: received,
			Officer: "Det. Jordan Reyes", Agency: "Example City Police Department",
			Identity:   "Badge and photo ID seen; confirmed by phone with the department",
			Categories: []string{"fines", "holds"}, From: scopeFrom.Format("2006-01-02"), To: scopeTo.Format("2006-01-02"),
			Card: alex.Card,
		})
		requestPath := detail.URL.Path
		wantPage(t, detail, http.StatusOK, requestPath, "Court order from "+court)
		officer.wantNotice(detail, "The request is recorded. Next: the legal review.")
		officer.wantElement(detail, `[data-testid="facts"]`, "Holds, Fines and fees", "(both included)",
			"Det. Jordan Reyes", "Example City Police Department", "Badge and photo ID seen")
		wantText(t, detail, "No nondisclosure order is in force")
		if rows := officer.tableRows(`[data-testid="covered"]`); len(rows) != 1 || len(rows[0]) < 3 ||
			!strings.Contains(rows[0][0], alex.FullName) || !strings.HasPrefix(rows[0][1], "Yes") || rows[0][2] != "Not yet" {
			t.Errorf("%s: want %s covered, held, nothing produced yet; got %q", requestPath, alex.FullName, rows)
		}
		officer.wantElement(detail, `[data-testid="produce-why-not"]`, "only after a favourable legal review")
		officer.wantNoElement(detail, legalButton("approve"), "nothing can be approved before the review")
		officer.wantNoElement(detail, legalButton("produce"), "nothing can be produced before the review")

		do(officer, "fill in the legal review",
			chromedp.SendKeys(chromedp.CSS(`#reviewer`), "City Librarian, with the City Attorney's office"),
			chromedp.SendKeys(chromedp.CSS(`#reviewed_on`), received),
			chromedp.Click(chromedp.CSS(`input[name="outcome"][value="favourable"]`)))
		reviewed := officer.click(`form[action$="/review"] button[type="submit"]`, "legal-reviewed")
		wantPage(t, reviewed, http.StatusOK, requestPath, "Court order from "+court)
		officer.wantNotice(reviewed, "The legal review is recorded.")
		officer.wantElement(reviewed, `[data-testid="review-outcome"]`, "Favourable")
		officer.wantElement(reviewed, `[data-testid="approve-why-not"]`, "You recorded this request, so you cannot approve it")
		officer.wantNoElement(reviewed, legalButton("approve"), "the officer who recorded the request may not approve it")
		officer.wantNoElement(reviewed, legalButton("produce"), "nothing can be produced before a second person approves")

		// The officer posts an approval anyway (an old tab, a crafted
		// form): refused, with the reason next to the step.
		self := officer.follow("legal-self-approve-refused", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const f = document.createElement("form");
			f.method = "post";
			f.action = %q;
			const tok = document.createElement("input");
			tok.type = "hidden"; tok.name = "csrf_token";
			tok.value = document.querySelector('input[name="csrf_token"]').value;
			f.append(tok);
			document.body.append(f);
			f.submit();
		})()`, requestPath+"/approve")))
		wantPage(t, self, http.StatusForbidden, requestPath+"/approve", "Court order from "+court)
		officer.wantElement(self, `[data-testid="approve-error"]`,
			"You recorded this request, so you cannot approve it: a second privacy officer or administrator must.")
		if n := strings.Count(self.Text, "so you cannot approve it"); n != 1 {
			t.Errorf("%s/approve: the reason is said %d times, want once:\n%s", requestPath, n, self.Text)
		}
		officer.wantNoElement(self, `[data-testid="produced"]`, "the refused approval produced nothing")

		// A second person, the administrator, approves.
		admin := b.newTab(t, p, "legal-admin")
		second := admin.staffSignIn(demoAdmin, requestPath, "legal-to-approve")
		wantPage(t, second, http.StatusOK, requestPath, "Court order from "+court)
		admin.wantElement(second, `[data-testid="approval"]`, "other than the one who recorded the request")
		approved := admin.click(legalButton("approve"), "legal-approved")
		wantPage(t, approved, http.StatusOK, requestPath, "Court order from "+court)
		admin.wantNotice(approved, "The production is approved.")
		admin.wantElement(approved, `[data-testid="approval"]`, "Approved by "+demoAdmin.Name)

		// The officer produces the package: the form's POST answers a zip.
		ready := officer.open(requestPath, "legal-ready")
		wantPage(t, ready, http.StatusOK, requestPath, "Court order from "+court)
		officer.wantElement(ready, `[data-testid="steps"]`, "Production: ", "Possible now.")
		res := run(officer, "post the production form from the page", chromedp.Evaluate[produceResponse](`(async () => {
			const f = document.querySelector('form[action$="/produce"]');
			if (!f) return {status: 0};
			const r = await fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f)), credentials: "same-origin"});
			const bytes = new Uint8Array(await r.arrayBuffer());
			let bin = "";
			for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
			return {status: r.status, type: r.headers.get("Content-Type") || "", disposition: r.headers.get("Content-Disposition") || "",
				cache: r.headers.get("Cache-Control") || "", body: btoa(bin)};
		})()`, chromedp.EvalAwaitPromise))
		if res.Status != http.StatusOK {
			t.Fatalf("POST %s/produce: want 200 and a zip, got %d", requestPath, res.Status)
		}
		if res.Type != "application/zip" {
			t.Errorf("POST %s/produce: Content-Type %q, want application/zip", requestPath, res.Type)
		}
		if !strings.HasPrefix(res.Disposition, "attachment") || !strings.Contains(res.Disposition, ".zip") {
			t.Errorf("POST %s/produce: Content-Disposition %q, want an attachment named *.zip", requestPath, res.Disposition)
		}
		if !strings.Contains(res.Cache, "no-store") {
			t.Errorf("POST %s/produce: Cache-Control %q, want no-store", requestPath, res.Cache)
		}
		wantPackage(t, res.Body)

		produced := officer.open(requestPath, "legal-produced")
		wantPage(t, produced, http.StatusOK, requestPath, "Court order from "+court)
		officer.wantElement(produced, `[data-testid="produced"]`, "Holds, Fines and fees", demoOfficer.Name, demoAdmin.Name, "(both included)")
		if rows := officer.tableRows(`[data-testid="covered"]`); len(rows) != 1 || len(rows[0]) < 3 || rows[0][2] == "Not yet" {
			t.Errorf("%s: want %s's records shown as produced, got %q", requestPath, alex.FullName, rows)
		}
		again := officer.open("/staff/legal", "legal-list-after")
		wantPage(t, again, http.StatusOK, "/staff/legal", "Legal requests")
		officer.wantElement(again, `[data-testid="legal"]`, reference)

		// A national security letter is kept on file and can never
		// produce records.
		officer.open("/staff/legal/new", "legal-new-nsl")
		nsl := officer.recordLegalRequest("legal-nsl", legalRequestForm{
			Kind: "national_security_letter", Issuer: "Federal Bureau of Investigation", Reference: "NSL-0099", Received: received,
			Officer: "Special Agent Casey Lin", Agency: "Federal Bureau of Investigation",
			Identity:   "Credentials seen; confirmed by phone with the field office",
			Categories: []string{"reading_history"}, From: scopeFrom.Format("2006-01-02"), To: scopeTo.Format("2006-01-02"),
			Card: blake.Card, NoHold: true,
		})
		wantPage(t, nsl, http.StatusOK, nsl.URL.Path, "from Federal Bureau of Investigation")
		officer.wantNotice(nsl, "The request is recorded and kept on file. It was not issued by a court, so nothing can be produced for it.")
		// The terms are set in capitals by the style sheet.
		if facts := strings.ToLower(officer.textOf(`[data-testid="facts"]`)); !strings.Contains(facts, "issued by\nfederal bureau of investigation") ||
			strings.Contains(facts, "issuing court") {
			t.Errorf("%s: want the Federal Bureau of Investigation named as the issuer, never as an issuing court:\n%s", nsl.Path(), facts)
		}
		officer.wantElement(nsl, `[data-testid="not-court-issued"]`, "not issued by a court", "no records are ever produced")
		officer.wantElement(nsl, `[data-testid="produce-why-not"]`, "never produces records")
		officer.wantElement(nsl, `[data-testid="approve-why-not"]`, "never approves it")
		officer.wantNoElement(nsl, legalButton("approve"), "process not issued by a court is never approved")
		officer.wantNoElement(nsl, legalButton("produce"), "process not issued by a court never produces records")

		// The patron, at their next visit, is told first.
		patron := b.newTab(t, p, "legal-patron")
		data := patron.signInFresh(alex)
		first := eval[string](patron, `(() => {
			const el = document.querySelector('main [data-testid="legal-notice"], main [data-testid="assist-notice"], main [data-testid="overview"]');
			return el ? el.getAttribute("data-testid") : "";
		})()`)
		if first != "legal-notice" {
			t.Errorf("/data: want the legal notice before anything else the patron is told, the first is %q", first)
		}
		patron.wantElement(data, `[data-testid="legal-notice"]`, "Your records were produced for a court order",
			court, reference, legalDate(scopeFrom), legalDate(scopeTo),
			"Example Privacy Officer (demo)", "privacy@library.example")
		if notice := strings.ToLower(patron.textOf(`[data-testid="legal-notice"]`)); !strings.Contains(notice, "holds") ||
			!strings.Contains(notice, "fines and fees") || strings.Contains(notice, "reading history") {
			t.Errorf("/data: the legal notice does not say that exactly the holds and the fines and fees were produced:\n%s", notice)
		}
		if !patron.has(`[data-testid="legal-notice"] a[href="mailto:privacy@library.example"]`) {
			t.Errorf("/data: the legal notice has no email link to the privacy contact")
		}
		patron.wantElement(data, `[data-testid="card-fines"]`, "Deletion paused by a court order")
		patron.wantElement(data, `footer [data-testid="footer-contact"]`, "Example Privacy Officer (demo)", "privacy@library.example")

		fines := patron.open("/data/fines", "legal-fines")
		wantPage(t, fines, http.StatusOK, "/data/fines", "Fines and fees")
		wantText(t, fines, "eletion paused by a court order")
		if m := pastDate.FindString(fines.Text); m != "" {
			t.Errorf("/data/fines promises a deletion date under a hold: %q", m)
		}

		policy := patron.open("/policy", "legal-policy")
		wantPage(t, policy, http.StatusOK, "/policy", "Privacy policy")
		patron.wantElement(policy, `footer [data-testid="footer-contact"]`, "Example Privacy Officer (demo)", "privacy@library.example")
	})
}

// legalRequestForm is what an officer types on /staff/legal/new; the
// nondisclosure box stays clear and the legal hold stays chosen unless
// NoHold clears it (a hold is only for court-issued process).
type legalRequestForm struct {
	Kind, Issuer, Reference, Received string
	Officer, Agency, Identity         string
	Categories                        []string
	From, To                          string
	Card                              string
	NoHold                            bool
}

// recordLegalRequest fills in the form the tab shows and submits it; it
// returns the new request's page.
func (tb *tab) recordLegalRequest(page string, f legalRequestForm) *pageState {
	tb.t.Helper()
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="kind"][value=%q]`, f.Kind))),
		chromedp.SendKeys(chromedp.CSS(`#issuer`), f.Issuer),
		chromedp.SendKeys(chromedp.CSS(`#reference`), f.Reference),
		chromedp.SendKeys(chromedp.CSS(`#received_on`), f.Received),
		chromedp.SendKeys(chromedp.CSS(`#officer_name`), f.Officer),
		chromedp.SendKeys(chromedp.CSS(`#officer_agency`), f.Agency),
		chromedp.SendKeys(chromedp.CSS(`#identity_check`), f.Identity),
		chromedp.SendKeys(chromedp.CSS(`#scope_from`), f.From),
		chromedp.SendKeys(chromedp.CSS(`#scope_to`), f.To),
		chromedp.SendKeys(chromedp.CSS(`#cards`), f.Card),
	}
	for _, c := range f.Categories {
		actions = append(actions, chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="categories"][value=%q]`, c))))
	}
	if f.NoHold {
		actions = append(actions, chromedp.Click(chromedp.CSS(`input[name="place_holds"]`)))
	}
	do(tb, "fill in the legal request", actions...)
	st := tb.click(`form[action="/staff/legal/new"] button[type="submit"]`, page)
	if !strings.HasPrefix(st.URL.Path, "/staff/legal/") || st.URL.Path == "/staff/legal/new" {
		tb.t.Fatalf("recording the request: want its page /staff/legal/{id}, got %s (status %d)\n%s", st.Path(), st.Status, st.Text)
	}
	return st
}

// legalButton selects the submit button of a request page's step form.
func legalButton(step string) string {
	return fmt.Sprintf(`form[action$="/%s"] button[type="submit"]`, step)
}

// legalDate is a date as the portal writes it: "December 1, 2026".
func legalDate(d time.Time) string { return d.Format("January 2, 2006") }

// wantPackage opens the produced zip: it holds a manifest and at least one
// other part, and only the categories the order names.
func wantPackage(t *testing.T, b64 string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("the produced package: %v", err)
	}
	z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("the produced package is not a zip (%d bytes): %v", len(raw), err)
	}
	var names []string
	manifest := false
	for _, f := range z.File {
		names = append(names, f.Name)
		if strings.Contains(strings.ToLower(f.Name), "manifest") {
			manifest = true
		}
	}
	if !manifest || len(names) < 2 {
		t.Errorf("the produced package holds %q; want a manifest and the patron's part", names)
	}
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s in the package: %v", f.Name, err)
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s in the package: %v", f.Name, err)
		}
		if strings.Contains(buf.String(), `"reading_history"`) {
			t.Errorf("the package's %s names reading history, which the order does not", f.Name)
		}
	}
}
