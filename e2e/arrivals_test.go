package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestNewArrivalsJourney: a staff member uploads a CSV of new arrivals. A
// file with a bad line is refused whole, with the line named next to the
// file field; the corrected file goes in, and the demo patron, who follows
// Octavia E. Butler, finds a notice of her new book among the
// notifications, waiting to be sent (no mail server is set up here).
func TestNewArrivalsJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		p := startPortal(t, db)
		// Arrival links are accepted only on a registered catalog.
		p.carrel(t, "opac", "add", "--id", "koha", "--origin", catalogOrigin)
		dir := t.TempDir()
		write := func(name, body string) string {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}
		header := "title,authors,subjects,format,date,catalog_url\n"
		good := `"Bloodchild and Other Stories","Butler, Octavia E.","Science fiction",Book,2026-11-20,https://catalog.example.org/record/e2e-1` + "\n" +
			`"Seed to Harvest","Butler, Octavia E., 1947-2006","Science fiction",Book,2026-11-21,https://catalog.example.org/record/e2e-2` + "\n"
		bad := write("bad.csv", header+good+`"No date",,"Gardening",Book,someday,https://catalog.example.org/record/e2e-3`+"\n")
		fixed := write("good.csv", header+good)

		tb := b.newTab(t, p, "arrivals")
		page := tb.staffSignIn(demoAssistant, "/staff/arrivals", "arrivals")
		wantPage(t, page, http.StatusOK, "/staff/arrivals", "New arrivals")

		do(tb, "choose the file with a bad line", chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{bad}))
		refused := tb.click(`[data-testid="upload"]`, "arrivals-refused")
		tb.wantElement(refused, `[data-testid="form-error"]`)
		tb.wantElement(refused, `[data-testid="problem"]`, "Line 4")
		tb.wantNoElement(refused, `[data-testid="arrivals"]`, "a file with a bad line adds nothing")

		do(tb, "choose the corrected file", chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{fixed}))
		added := tb.click(`[data-testid="upload"]`, "arrivals-added")
		wantPage(t, added, http.StatusOK, "/staff/arrivals", "New arrivals")
		tb.wantNotice(added, "Added 2 new arrivals")
		tb.wantElement(added, `[data-testid="arrivals"]`, "Bloodchild and Other Stories", "Seed to Harvest")

		patron := b.newTab(t, p, "arrivals-patron")
		notices := patron.signInTo(alex, "/data/notifications", "notifications")
		wantPage(t, notices, http.StatusOK, "/data/notifications", "Notifications we sent you")
		patron.wantElement(notices, selRecords, "Bloodchild and Other Stories", "Seed to Harvest", "Waiting to be sent")
	})
}
