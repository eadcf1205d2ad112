package models

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// TestEveryCategoryIsKept checks the kept summaries against the
// categories: each category with a table has one, over the same table,
// time and retention columns, except those the overview reads live. A
// category added later needs a migration of its own that keeps its
// summary.
func TestEveryCategoryIsKept(t *testing.T) {
	readLive := map[string]bool{"sessions": true, "notifications": true}
	kept := map[string]keptSummary{}
	for _, k := range keptSummaries {
		kept[k.Slug] = k
	}
	for _, c := range categories() {
		k, ok := kept[c.Slug]
		switch {
		case c.Table == "" || readLive[c.Slug]:
			if ok {
				t.Errorf("%s is kept, but the overview reads it elsewhere", c.Slug)
			}
		case !ok:
			t.Errorf("category %s (table %s) has no kept summary: the overview would not show it", c.Slug, c.Table)
		case k.Table != c.Table || k.Time != c.TimeColumn || k.Due != c.DueFrom:
			t.Errorf("%s is kept from %s by %s/%s, but the category lists %s by %s/%s",
				c.Slug, k.Table, k.Time, k.Due, c.Table, c.TimeColumn, c.DueFrom)
		}
		delete(kept, c.Slug)
	}
	for slug := range kept {
		t.Errorf("kept summary %s has no category", slug)
	}
}

// TestSummaryDDLIsFrozen pins the SQL migration 202611270008 runs: the
// kept summaries are derived from the category descriptors, and a change
// to a descriptor's table, time columns or Kept spec must not change what
// an old migration does (a database would then differ by when it was
// migrated). Such a change is a new migration.
func TestSummaryDDLIsFrozen(t *testing.T) {
	for d, want := range map[Dialect]string{
		Postgres: "f482e760571c396e80cc91cb3295449463fb9fd5c3d8e7010b004ef2b1d3f10c",
		SQLite:   "f9e5bf280ce99a8c33055fba728c69ca89a62ddf96866a359eae2d39ed782509",
	} {
		if got := fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(summaryDDL(d), "\n;\n")))); got != want {
			t.Errorf("summaryDDL(%s) changed: sha256 %s, migration 202611270008 ran %s", d, got, want)
		}
	}
}

// TestEveryCategoryIsComplete checks each descriptor says everything the
// code needs of it, so that a category added in one file is shown,
// exported, produced and deleted like the others, or fails here.
func TestEveryCategoryIsComplete(t *testing.T) {
	keys := map[string]string{}
	for _, desc := range registry {
		// Its words come from the catalog (In); a message missing there
		// reads ⟦id⟧.
		c := desc.In(i18n.For(i18n.English))
		if c.Slug == "" || c.Key == "" || c.Title == "" || c.Purpose == "" || c.Retention == "" || c.SharedWith == "" || c.One == "" || c.Many == "" ||
			strings.Contains(fmt.Sprint(c.Title, c.Purpose, c.Retention, c.SharedWith, c.Empty, c.One, c.Many, c.Columns, c.ManageLabel), "⟦") {
			t.Errorf("%q lacks its words", c.Slug)
		}
		if c.write == nil {
			t.Errorf("%s: neither the export nor a legal production can write it", c.Slug)
		}
		for _, p := range c.Parts {
			if p.write == nil {
				t.Errorf("%s: its part %s cannot be written", c.Slug, p.Table)
			}
		}
		if c.Table == "" {
			if c.Fields == nil {
				t.Errorf("%s is kept on the patron's row but lists no fields", c.Slug)
			}
			continue
		}
		if c.Records == nil || len(c.Columns) == 0 || c.TimeColumn == "" {
			t.Errorf("%s: its detail page has no records or no columns", c.Slug)
		}
		if other, dup := keys[c.Table]; dup {
			t.Errorf("%s and %s both hold table %s", c.Slug, other, c.Table)
		}
		keys[c.Table] = c.Slug
		// A category that counts down must be deleted when it is due, by
		// the schedule's rule for it.
		if c.DueFrom != "" {
			if c.Schedule == nil {
				t.Errorf("%s counts down from %s but has no line on the schedule", c.Slug, c.DueFrom)
			}
			if _, ok := purgeRuleFor(time.Now(), DefaultRetention(), c.Table); !ok {
				t.Errorf("%s counts down from %s but the purge never deletes it", c.Slug, c.DueFrom)
			}
		}
	}
	pos := map[int]bool{}
	for _, r := range schedule {
		if pos[r.Pos] {
			t.Errorf("two schedule rules at place %d", r.Pos)
		}
		pos[r.Pos] = true
		if r.value == nil || r.due == nil || r.describe == nil {
			t.Errorf("schedule rule %s is incomplete", r.Key)
		}
	}
}
