package main

import (
	"context"
	"fmt"
	"io"

	"github.com/carrel-library/carrel/models"
)

func migrateCmd(ctx context.Context, c *config, _ []string, out io.Writer) error {
	db, err := models.Open(ctx, c.DatabaseURL, models.SystemClock{})
	if err != nil {
		return err
	}
	if err := models.Migrate(ctx, db); err != nil {
		return err
	}
	ids, err := models.AppliedMigrations(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Database is up to date (%d migrations):\n", len(ids))
	for _, id := range ids {
		fmt.Fprintf(out, "  %s\n", id)
	}
	return nil
}
