package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/carrel-library/carrel/models"
)

// opacCmd manages the catalogs allowed to hand patrons over.
func opacCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return &configError{"opac needs a subcommand: add, rotate, retire-key, mint or list"}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("carrel opac "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.String("id", "", "the catalog's id (the iss of its tokens)")
	origin := fs.String("origin", "", "the catalog's origin, e.g. https://catalog.library.example")
	card := fs.String("card", "", "the patron's card number")
	to := fs.String("to", "/data", "the portal page to land on")
	ret := fs.String("return", "", "the catalog page to offer a way back to")
	if err := fs.Parse(args); err != nil {
		return &configError{"opac " + sub + ": " + err.Error()}
	}
	if *id == "" && fs.NArg() == 1 {
		*id = fs.Arg(0)
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
