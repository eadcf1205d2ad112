package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/jobs"
	"github.com/carrel-library/carrel/models/modeltest"
)

// The staff sign-in sweep deletes the sign-ins through the identity
// provider whose browser never came back, keeps those under way, and logs
// a count, never a state.
func TestStaffOIDCSweepForgetsAbandonedSignIns(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	clock := modeltest.NewFakeClock(now)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(now)
			store := modeltest.NewStore(t, db.Gorm, clock)
			ctx := context.Background()
			store.StartStaffOIDC(ctx, "abandoned-state", "n", "v", "")
			clock.Advance(models.StaffOIDCStateLife + time.Second)
			store.StartStaffOIDC(ctx, "fresh-state", "n", "v", "")
			var logs bytes.Buffer
			jobs.StaffOIDCSweep(store, slog.New(slog.NewTextHandler(&logs, nil))).Run(ctx)
			var left []models.StaffOIDCState
			store.DB.Find(&left)
			if len(left) != 1 || left[0].StateHash != models.HashToken("fresh-state") {
				t.Fatalf("sign-ins left after the sweep: %+v", left)
			}
			if !strings.Contains(logs.String(), "count=1") || strings.Contains(logs.String(), "state\"") || strings.Contains(logs.String(), "failed") {
				t.Errorf("the sweep's log: %s", logs.String())
			}
		})
	}
}
