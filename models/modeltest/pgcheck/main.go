// Command pgcheck tells `make test` whether the PostgreSQL that tests use
// was reachable, because `go test` hides the skip messages of passing
// packages: without it, a run on SQLite alone would look like a full one.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

func main() {
	url := os.Getenv("CARREL_TEST_DATABASE_URL")
	if url == "" {
		url = modeltest.DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := models.Open(ctx, url, nil); err != nil {
		fmt.Fprintln(os.Stderr, "")
		fmt.Fprintln(os.Stderr, "################################################################")
		fmt.Fprintln(os.Stderr, "#  WARNING: PostgreSQL was not reachable, so every database     #")
		fmt.Fprintln(os.Stderr, "#  test ran on SQLite only. Set CARREL_TEST_DATABASE_URL or     #")
		fmt.Fprintln(os.Stderr, "#  start PostgreSQL on 127.0.0.1:5432 to test both engines.     #")
		fmt.Fprintln(os.Stderr, "################################################################")
		if os.Getenv("CI") == "true" {
			os.Exit(1)
		}
		return
	}
	fmt.Println("PostgreSQL was reachable: tests ran on SQLite and PostgreSQL.")
}
