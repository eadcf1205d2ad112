package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/carrel-library/carrel/models"
)

// opacCmd manages the catalogs allowed to hand patrons over.
func opacCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	sub, fs, args, err := subcommand("opac", args, opacUsage)
	if err != nil {
		return err
	}
	id, origin, card, to, ret := new(string), new(string), new(string), new(string), new(string)
	*to = "/data"
	switch sub {
	case "add":
		fs.StringVar(id, "id", "", "the catalog's id (the iss of its tokens)")
		fs.StringVar(origin, "origin", "", "the catalog's origin, e.g. https://catalog.library.example")
	case "rotate":
		fs.StringVar(id, "id", "", "the catalog's id")
	case "retire-key":
		fs.StringVar(id, "id", "", "the key's kid")
	case "mint":
		fs.StringVar(id, "id", "", "the catalog's id")
		fs.StringVar(card, "card", "", "the patron's card number")
		fs.StringVar(to, "to", "/data", "the portal page to land on")
		fs.StringVar(ret, "return", "", "the catalog page to offer a way back to")
	}
	max := 0
	if sub == "rotate" || sub == "retire-key" {
		max = 1 // rotate ID, retire-key KID
	}
	pos, err := parseArgs(fs, args, out, opacUsage[sub], max)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		if *id != "" {
			return &configError{fmt.Sprintf("opac %s: %q and --id %q: give one", sub, pos[0], *id)}
		}
		*id = pos[0]
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	var bad *models.InputError
	switch sub {
	case "add", "rotate":
		var kid, secret string
		if sub == "add" {
			kid, secret, err = store.AddOPAC(ctx, *id, *origin)
		} else {
			kid, secret, err = store.RotateOPAC(ctx, *id)
		}
		switch {
		case errors.As(err, &bad):
			return &configError{"opac " + sub + ": " + bad.Message}
		case errors.Is(err, models.ErrNotFound):
			return &configError{"opac rotate: no catalog " + *id}
		case err != nil:
			return err
		}
		fmt.Fprintf(out, "Catalog %s: new key\n  kid:    %s\n  secret: %s\n", *id, kid, secret)
		fmt.Fprintln(out, "Give the secret to the catalog now; it is not shown again. See docs/opac.md.")
	case "retire-key":
		if err := store.RetireOPACKey(ctx, *id); errors.Is(err, models.ErrNotFound) {
			return &configError{"opac retire-key: no active key " + *id}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "Key %s no longer accepted.\n", *id)
	case "mint":
		if *id == "" || *card == "" {
			return &configError{"opac mint needs --id ID and --card N"}
		}
		tok, err := store.MintHandoff(ctx, *id, *card, *ret)
		if errors.Is(err, models.ErrNotFound) {
			return &configError{"opac mint: no catalog " + *id + " with an active key"}
		} else if err != nil {
			return err
		}
		base := c.Web.PublicURL
		if base == "" {
			base = "http://" + c.Addr
		}
		q := url.Values{"token": {tok}, "to": {*to}}
		fmt.Fprintf(out, "%s/opac/handoff?%s\n", base, q.Encode())
	case "list":
		all, err := store.OPACs(ctx)
		if err != nil {
			return err
		}
		for _, o := range all {
			fmt.Fprintf(out, "%s\t%s\n", o.ID, o.Origin)
		}
	default:
		return &configError{"opac: unknown subcommand " + sub}
	}
	return nil
}

// opacUsage is each opac subcommand's usage.
var opacUsage = map[string]string{
	"add": `Usage: carrel opac [settings] add --id ID --origin URL

Allows a catalog to hand patrons over and prints its first key, once.
`,
	"rotate": `Usage: carrel opac [settings] rotate ID (or --id ID)

Prints a new key for the catalog ID, once; its older keys still work until retired.
`,
	"retire-key": `Usage: carrel opac [settings] retire-key KID (or --id KID)

Stops accepting the key KID.
`,
	"mint": `Usage: carrel opac [settings] mint --id ID --card N [--to PAGE] [--return URL]

Prints a hand-off link as the catalog ID would make it, for testing.
`,
	"list": `Usage: carrel opac [settings] list

Lists the catalogs and their origins.
`,
}
