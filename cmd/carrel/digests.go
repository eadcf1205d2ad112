package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/mail"
)

// digestsCmd runs the new-arrival email outbox by hand: `send` does one
// pass now (for cron, or to test the SMTP settings), `status` counts the
// outbox. serve does the same pass every minute when SMTP is configured.
func digestsCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	sub, fs, args, err := subcommand("digests", args, digestsUsage)
	if err != nil {
		return err
	} else if _, err := parseArgs(fs, args, out, digestsUsage[sub], 0); err != nil {
		return err
	}
	args = []string{sub}
	if args[0] == "send" && !c.Web.Mail.Enabled() {
		return &configError{"digests send: no SMTP server is configured; set CARREL_SMTP_HOST and CARREL_SMTP_FROM (see docs/email.md)"}
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	if args[0] == "status" {
		n, err := store.DigestCounts(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Digest emails: %d waiting or retrying, %d sent, %d given up.\n",
			n[models.DigestPending], n[models.DigestSent], n[models.DigestFailed])
		if !c.Web.Mail.Enabled() {
			fmt.Fprintln(out, "No SMTP server is configured, so none are assembled or sent.")
		}
		return nil
	}
	log := newLogger(c, os.Stderr)
	if w := mailWarning(c.Web.Mail); w != "" {
		log.Warn(w)
	}
	rep, err := mail.NewDeliverer(store, c.Web.Mail, c.Web.MailLibrary(), log).RunOnce(ctx)
	fmt.Fprintf(out, "Assembled %s; sent %d, %d to retry, %d given up, %d withdrawn, %d taken by another instance.\n",
		plural(int64(rep.Assembled), "digest"), rep.Sent, rep.Retrying, rep.Failed, rep.Withdrawn, rep.Skipped)
	switch {
	case rep.Told == 1:
		fmt.Fprintln(out, "Told 1 patron by email that a nondisclosure order had ended.")
	case rep.Told > 1:
		fmt.Fprintf(out, "Told %d patrons by email that a nondisclosure order had ended.\n", rep.Told)
	}
	return err
}

// digestsUsage is each digests subcommand's usage.
var digestsUsage = map[string]string{
	"send": `Usage: carrel digests [settings] send

Assembles and sends the new-arrival emails due now (one pass, as serve does
every minute when SMTP is configured).
`,
	"status": `Usage: carrel digests [settings] status

Counts the digest emails waiting, sent and given up.
`,
}
