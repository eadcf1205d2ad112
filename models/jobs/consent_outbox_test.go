package jobs_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/jobs"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestConsentOutboxJobSendsAndLogsCounts: one run of the job sends what
// is due, and its log line counts without naming the patron or the URL.
func TestConsentOutboxJobSendsAndLogsCounts(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			var mu sync.Mutex
			var bodies []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
			}))
			t.Cleanup(srv.Close)
			url := srv.URL + "/hook?key=s3cret-token"
			s := modeltest.NewStore(t, db.Gorm, nil)
			s.ConsentTargets = []string{models.TargetWebhookPrefix + url}
			p := models.Patron{CardNumber: "21000000009911", PINHash: "x", FamilyName: "Okafor", Email: "okafor@example.org",
				BorrowingStatus: models.StatusActive, FavoritesNotice: models.NoticeNone, ReadingHistoryEnabled: true}
			if err := s.DB.Create(&p).Error; err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.SetReadingHistory(t.Context(), p.ID, false, models.Actor{Channel: models.ChannelWeb}); err != nil {
				t.Fatal(err)
			}
			key, err := ils.ParseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			sender := &ils.Sender{Store: s, Webhooks: []ils.Webhook{{URL: url, Secret: key}}, Log: log}
			jobs.ConsentOutbox(sender, 0, log).Run(t.Context())
			if len(bodies) != 1 || !strings.Contains(bodies[0], `"new_value":"off"`) {
				t.Fatalf("the receiver got %v", bodies)
			}
			out := logs.String()
			if !strings.Contains(out, "sent=1") {
				t.Errorf("the log does not count the delivery: %s", out)
			}
			for _, bad := range []string{p.CardNumber, p.FamilyName, p.Email, "s3cret-token"} {
				if strings.Contains(out, bad) {
					t.Errorf("the log shows %q: %s", bad, out)
				}
			}
		})
	}
}
