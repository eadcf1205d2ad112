package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/carrel-library/carrel/models/ils"
)

// ConsentOutbox sends the consent outbox (Koha's patron privacy, signed
// webhooks) every every (30 s when zero). A delivery in flight when the
// scheduler stops is finished and recorded (ils.Sender.RunOnce). It logs
// counts, never a patron or a webhook's URL.
func ConsentOutbox(sender *ils.Sender, every time.Duration, log *slog.Logger) Job {
	if every <= 0 {
		every = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return Job{Name: "consent outbox", Every: every, Run: func(ctx context.Context) {
		rep, err := sender.RunOnce(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			log.Error("consent outbox failed", "err", err, "sent", rep.Sent, "retrying", rep.Retrying, "given_up", rep.GivenUp)
		case rep.Sent+rep.Retrying+rep.GivenUp > 0:
			log.Info("consent outbox", "sent", rep.Sent, "retrying", rep.Retrying, "given_up", rep.GivenUp, "skipped", rep.Skipped)
		}
	}}
}
