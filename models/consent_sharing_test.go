package models_test

import (
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
)

// The consent history says who else receives consent changes: nobody but
// a court when nothing is sent on, Koha and the webhook receivers when
// they are configured, so the overview never claims less sharing than the
// portal does.
func TestConsentHistorySaysWhoReceivesChanges(t *testing.T) {
	shared := func(targets ...string) string {
		s := &models.Store{ConsentTargets: targets}
		s.SetRetention(models.DefaultRetention())
		for _, c := range s.Categories() {
			if c.Slug == "consents" {
				return c.SharedWith
			}
		}
		t.Fatal("no consents category")
		return ""
	}
	if got := shared(); got != models.CourtOrder {
		t.Errorf("nothing sent on: shared with %q, want only %q", got, models.CourtOrder)
	}
	koha := shared(models.TargetKoha)
	if !strings.Contains(koha, "Koha") || strings.Contains(koha, "connected to this portal") || !strings.HasSuffix(koha, models.CourtOrder) {
		t.Errorf("with Koha: shared with %q", koha)
	}
	both := shared(models.TargetKoha, models.TargetWebhookPrefix+"https://hooks.library.example/carrel")
	if !strings.Contains(both, "Koha") || !strings.Contains(both, "card number") || !strings.HasSuffix(both, models.CourtOrder) {
		t.Errorf("with Koha and a webhook: shared with %q", both)
	}
	for _, c := range models.Categories() {
		if c.Slug == "consents" && c.SharedWith != models.CourtOrder {
			t.Errorf("the package's own category changed: %q", c.SharedWith)
		}
	}
}
