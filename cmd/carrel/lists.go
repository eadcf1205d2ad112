package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/csvout"
	"github.com/carrel-library/carrel/web"
)

// listsCmd serves the library's mail system: unsubscribe links and the
// audited export of a list's subscribers.
func listsCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	sub, fs, args, err := subcommand("lists", args, listsUsage)
	if err != nil {
		return err
	}
	card := new(string)
	if sub == "unsubscribe-url" {
		fs.StringVar(card, "card", "", "the patron's card number")
	}
	slug := fs.String("list", "", "the list's slug")
	max := 0
	if sub == "export" {
		max = 1 // export SLUG
	}
	pos, err := parseArgs(fs, args, out, listsUsage[sub], max)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		if *slug != "" {
			return &configError{fmt.Sprintf("lists export: %q and --list %q: give one", pos[0], *slug)}
		}
		*slug = pos[0]
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	base := c.Web.PublicURL
	if base == "" {
		base = "http://" + c.Addr
	}
	switch sub {
	case "unsubscribe-url":
		if *card == "" || *slug == "" {
			return &configError{"lists unsubscribe-url needs --card N and --list SLUG"}
		}
		p, err := store.PatronByCard(ctx, *card)
		if errors.Is(err, models.ErrNotFound) {
			return &configError{"lists unsubscribe-url: no patron with that card number"}
		} else if err != nil {
			return err
		}
		l, err := store.ListBySlug(ctx, *slug)
		if errors.Is(err, models.ErrNotFound) {
			return &configError{"lists unsubscribe-url: no list " + *slug}
		} else if err != nil {
			return err
		}
		fmt.Fprintln(out, web.UnsubscribeURL(base, store, p.ID, l.ID))
	case "export":
		if *slug == "" {
			return &configError{"lists export needs the list's slug"}
		}
		w := csvout.NewWriter(out)
		_ = w.Write([]string{"name", "email", "unsubscribe_url"})
		_, err := store.ExportSubscribers(ctx, nil, *slug, func(s models.Subscriber) error {
			return w.Write([]string{strings.TrimSpace(s.GivenName + " " + s.FamilyName), s.Email, web.UnsubscribeURL(base, store, s.PatronID, s.ListID)})
		})
		switch {
		case errors.Is(err, models.ErrNotFound):
			return &configError{"lists export: no list " + *slug}
		case errors.Is(err, models.ErrListRetired):
			return &configError{"lists export: " + *slug + " is retired and cannot be exported"}
		case err != nil:
			return err
		}
		w.Flush()
		return w.Error()
	default:
		return &configError{"lists: unknown subcommand " + sub + " (unsubscribe-url, export)"}
	}
	return nil
}

// listsUsage is each lists subcommand's usage.
var listsUsage = map[string]string{
	"unsubscribe-url": `Usage: carrel lists [settings] unsubscribe-url --card N --list SLUG

Prints the link that unsubscribes the patron with card N from the list.
`,
	"export": `Usage: carrel lists [settings] export SLUG (or --list SLUG)

Writes the list's subscribers as CSV on standard output; the export is audited.
`,
}
