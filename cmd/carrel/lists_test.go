package main

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
)

// TestListsExportWritesFormulasAsText: a name from the ILS that a
// spreadsheet would run (=HYPERLINK sends whoever clicks it to the
// attacker) comes out of `carrel lists export` as text, on both engines.
func TestListsExportWritesFormulasAsText(t *testing.T) {
	const formula = `=HYPERLINK("http://x","y")`
	for engine, dbURL := range importDatabaseURLs(t) {
		t.Run(engine, func(t *testing.T) {
			dir := isolate(t)
			t.Setenv("CARREL_DEMO", "1")
			t.Setenv("CARREL_DATABASE_URL", dbURL)
			patrons := writeFile(t, dir, "patrons.csv", "ils_id,card_number,given_name,family_name,email,home_branch,card_expires_on,borrowing_status\n"+
				`p1,21000000000101,"=HYPERLINK(""http://x"",""y"")",Smith,-x@example.org,Central,2028-01-31,active`+"\n"+
				"p2,21000000000102,Ada,Reader,ada@example.org,Central,2028-01-31,active\n")
			if code, out, errs := carrelImport(t, "patrons", patrons); code != 0 {
				t.Fatalf("import patrons: exit %d\n%s\n%s", code, out, errs)
			}
			ctx := context.Background()
			db, err := models.Open(ctx, dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if sqlDB, err := db.DB(); err == nil {
					sqlDB.Close()
				}
			})
			keys, _ := models.ParseKeys(models.GenerateKey())
			store, err := models.NewStore(db, nil, keys, 4)
			if err != nil {
				t.Fatal(err)
			}
			st, err := store.AddStaff(ctx, "ada", "Ada", models.RoleAdmin, "a reading room of one's own")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.SaveList(ctx, st.ID, "", models.ListForm{Slug: "teens", Name: "Teen programs", Description: "News",
				Frequency: "Weekly", Sender: "Library", ConsentText: "Send me news about teen programs."}); err != nil {
				t.Fatal(err)
			}
			for _, cardNo := range []string{"21000000000101", "21000000000102"} {
				p, err := store.PatronByCard(ctx, cardNo)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.Subscribe(ctx, p.ID, "teens", models.Actor{Channel: models.ChannelWeb}); err != nil {
					t.Fatal(err)
				}
			}

			code, out, errs := carrel(t, "lists", "export", "teens")
			if code != 0 {
				t.Fatalf("lists export: exit %d\n%s\n%s", code, out, errs)
			}
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(rows) != 3 {
				t.Fatalf("export %q (%v)", out, err)
			}
			cells := map[string]bool{}
			for _, r := range rows[1:] {
				for _, v := range r {
					cells[v] = true
					if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
						t.Errorf("cell %q would run as a formula in a spreadsheet", v)
					}
				}
			}
			if !cells["'"+formula+" Smith"] || !cells["'-x@example.org"] || !cells["Ada Reader"] || !cells["ada@example.org"] {
				t.Errorf("export %q: want the formula and the address kept as text, other cells unchanged", rows)
			}
		})
	}
}
