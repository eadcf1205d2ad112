package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/mail"
)

// Config is what the jobs need to know of the deployment.
type Config struct {
	// Sessions are the idle and absolute limits past which a session
	// goes (and the purge's view of them).
	Sessions models.SessionLimits
	// Location is the library's time zone.
	Location *time.Location
	// PurgeEvery is how often the retention purge runs; zero turns it
	// off.
	PurgeEvery time.Duration
	// Mail is the SMTP relay; without a host the outbox does not run.
	Mail mail.Config
	// Library is what the emails say of the library.
	Library mail.Library
	// FlushStats writes the HTTP side's counters to the database; nil
	// leaves them out.
	FlushStats func(context.Context) error
	// ILS sends the consent outbox to Koha and the webhooks; nil (no
	// consent targets configured) leaves the job out.
	ILS *ils.Sender
	// ILSEvery is how often it runs (30 s when zero).
	ILSEvery time.Duration
}

// All is every periodic job the portal runs, as cfg turns them on.
func All(store *models.Store, cfg Config, log *slog.Logger) []Job {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	all := []Job{
		SessionSweep(store, cfg.Sessions, log),
		RetentionReload(store, log),
		HandoffTokenSweep(store, log),
		SigninCounterSweep(store, log),
		NondisclosureSweep(store, cfg.Location, log),
		StaffOIDCSweep(store, log),
	}
	if cfg.PurgeEvery > 0 {
		all = append(all, Purge(store, cfg.Sessions, cfg.PurgeEvery, log))
	}
	if cfg.FlushStats != nil {
		all = append(all, StatsFlush(cfg.FlushStats, log))
	}
	if cfg.Mail.Enabled() {
		all = append(all, Outbox(mail.NewDeliverer(store, cfg.Mail, cfg.Library, log), log))
	}
	if cfg.ILS != nil {
		all = append(all, ConsentOutbox(cfg.ILS, cfg.ILSEvery, log))
	}
	return all
}
