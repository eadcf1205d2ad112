package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/carrel-library/carrel/models"
)

// apikeyCmd manages the keys the ILS uses to post new arrivals: add (the
// key is printed once), list (never a secret) and revoke.
func apikeyCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	sub, fs, args, err := subcommand("apikey", args, apikeyUsage)
	if err != nil {
		return err
	}
	name := new(string)
	if sub != "list" {
		fs.StringVar(name, "name", "", "the key's name, e.g. the system that uses it")
	}
	max := 1 // add NAME, revoke NAME
	if sub == "list" {
		max = 0
	}
	pos, err := parseArgs(fs, args, out, apikeyUsage[sub], max)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		if *name != "" {
			return &configError{fmt.Sprintf("apikey %s: %q and --name %q: give one", sub, pos[0], *name)}
		}
		*name = pos[0]
	}
	switch sub {
	case "add", "revoke":
		if *name == "" {
			return &configError{"apikey " + sub + " needs the key's name: --name NAME"}
		}
	case "list":
	default:
		return &configError{"apikey: unknown subcommand " + sub + " (add, list, revoke)"}
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		k, token, err := store.AddAPIKey(ctx, *name)
		var bad *models.InputError
		if errors.As(err, &bad) {
			return &configError{"apikey add: " + bad.Message}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "API key %s (prefix %s):\n  %s\n", k.Name, k.Prefix, token)
		fmt.Fprintln(out, "Give it to the system that posts to /api/arrivals now; it is not shown again. See docs/arrivals.md.")
	case "revoke":
		if err := store.RevokeAPIKey(ctx, *name); errors.Is(err, models.ErrNotFound) {
			return &configError{"apikey revoke: no active key named " + *name}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "API key %s revoked: it is refused from now on.\n", *name)
	case "list":
		keys, err := store.APIKeys(ctx)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			fmt.Fprintln(out, "No API keys. Add one with: carrel apikey add --name NAME")
			return nil
		}
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tPREFIX\tCREATED\tLAST USED\tREVOKED")
		when := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
		for _, k := range keys {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.Prefix, when(&k.CreatedAt), when(k.LastUsedAt), when(k.RevokedAt))
		}
		return w.Flush()
	}
	return nil
}

// apikeyUsage is each apikey subcommand's usage.
var apikeyUsage = map[string]string{
	"add": `Usage: carrel apikey [settings] add NAME (or --name NAME)

Adds a key for POST /api/arrivals and prints it, once.
`,
	"list": `Usage: carrel apikey [settings] list

Lists the keys by name and prefix, never a secret.
`,
	"revoke": `Usage: carrel apikey [settings] revoke NAME (or --name NAME)

Refuses the key NAME from now on.
`,
}
