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

// TestSweepsEachDoTheirOwnPart runs the session and hand-off token sweeps,
// once split out of one loop, on each engine: each removes what has
// expired and nothing else, and the session sweep logs a count, not whose.
func TestSweepsEachDoTheirOwnPart(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	clock := modeltest.NewFakeClock(now)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(now)
			store := modeltest.NewStore(t, db.Gorm, clock)
			for _, s := range []models.Session{
				{TokenHash: "stale-session-hash", Channel: models.ChannelWeb, Data: "{}", CreatedAt: now.Add(-time.Hour), LastSeenAt: now.Add(-time.Hour)},
				{TokenHash: "fresh-session-hash", Channel: models.ChannelWeb, Data: "{}", CreatedAt: now.Add(-time.Hour), LastSeenAt: now.Add(-time.Minute)},
			} {
				if err := store.DB.Create(&s).Error; err != nil {
					t.Fatal(err)
				}
			}
			for _, h := range []models.HandoffToken{
				{JTI: "used-and-expired", OPACID: "main", ExpiresAt: now.Add(-time.Minute)},
				{JTI: "used-still-valid", OPACID: "main", ExpiresAt: now.Add(time.Minute)},
			} {
				if err := store.DB.Create(&h).Error; err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			limits := models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour}
			jobs.SessionSweep(store, limits, log).Run(context.Background())
			var sessions []models.Session
			store.DB.Order("token_hash").Find(&sessions)
			if len(sessions) != 1 || sessions[0].TokenHash != "fresh-session-hash" {
				t.Fatalf("sessions after the sweep: %+v", sessions)
			}
			var tokens int64
			store.DB.Model(&models.HandoffToken{}).Count(&tokens)
			if tokens != 2 {
				t.Fatalf("the session sweep touched hand-off tokens: %d left", tokens)
			}
			if !strings.Contains(logs.String(), "expired sessions deleted") || !strings.Contains(logs.String(), "count=1") ||
				strings.Contains(logs.String(), "session-hash") {
				t.Errorf("the sweep's log: %s", logs.String())
			}
			jobs.HandoffTokenSweep(store, log).Run(context.Background())
			var left []models.HandoffToken
			store.DB.Find(&left)
			if len(left) != 1 || left[0].JTI != "used-still-valid" {
				t.Fatalf("hand-off tokens after their sweep: %+v", left)
			}
			if strings.Contains(logs.String(), "failed") {
				t.Errorf("a sweep failed: %s", logs.String())
			}
		})
	}
}
