package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/carrel-library/carrel/models/mail"
)

// Outbox assembles and sends the digest emails, and tells patrons of
// ended nondisclosure orders, every d.Mail.Every (a minute by default).
// An email in flight when the scheduler stops is finished and recorded
// (mail.Deliverer.RunOnce). Errors are logged without personal data.
func Outbox(d *mail.Deliverer, log *slog.Logger) Job {
	every := d.Mail.Every
	if every <= 0 {
		every = time.Minute
	}
	return Job{Name: "outbox", Every: every, Run: func(ctx context.Context) {
		rep, err := d.RunOnce(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			log.Error("digest delivery failed", "err", err)
		case rep.Assembled+int64(rep.Sent+rep.Retrying+rep.Failed+rep.Withdrawn+rep.Told+rep.LegalRetrying+rep.LegalGivenUp+rep.LegalErrors) > 0:
			log.Info("digest delivery", "assembled", rep.Assembled, "sent", rep.Sent, "retrying", rep.Retrying,
				"failed", rep.Failed, "withdrawn", rep.Withdrawn, "legal_told", rep.Told, "legal_retrying", rep.LegalRetrying,
				"legal_given_up", rep.LegalGivenUp, "legal_errors", rep.LegalErrors)
		}
	}}
}
