package models

import (
	"fmt"
	"strings"
)

// Kept summaries: what the overview shows of each category (how many
// records, the newest, and the oldest still counting down) is kept per
// patron in patron_summaries by triggers on the category's table, so that
// the overview reads one short index range instead of planning and running
// a scan of every table. Triggers, not Go code, keep it: every way a row
// comes, changes or goes (the portal, an ILS import, arrival matching, the
// retention purge, a cascade) keeps it true without having to remember.
//
// The table is derived data: each row restates what the category's own
// rows say, so it is neither shown nor exported on its own, and it changes
// or disappears as soon as those rows do.

// SummarySpec is how a category's table is summed up: the newest row is
// the latest of the category's TimeColumn (then the highest id), the
// oldest the least of its DueFrom (or TimeColumn). Label and Where are
// SQL over a row of the table, written with {r} for the row's name.
type SummarySpec struct {
	Label string // names the newest row
	Where string // only rows that match are counted ("" for all)
}

// keptSummary says how one category's table is summed up.
type keptSummary struct {
	Slug, Table string
	Time        string // the newest is the latest Time, then the highest id
	Due         string // oldest_at is the least Due ("" for Time)
	Label       string // names the newest row
	Where       string // only rows that match are counted ("" for all)
}

// keptSummaries are the summaries of the categories whose descriptor says
// Kept, in the registry's order. Migration 202611270008 set them up with
// the SQL summaryDDL produces; TestSummaryDDLIsFrozen checks that SQL has
// not changed since, so a change to a category's summary (or a new kept
// category) is a new migration of its own, never an edit here.
//
// Two categories are read from their own tables instead (Kept is nil):
//   - active sign-ins, which depend on the time of asking;
//   - notifications, which arrival matching writes hundreds of thousands
//     at a time: keeping their summaries cost it a third more time, over
//     its budget (docs/benchmarks.md), where reading them costs the
//     overview one aggregate over the patron's notifications.
var keptSummaries []keptSummary

func keptOf(registry []*Category) []keptSummary {
	var out []keptSummary
	for _, c := range registry {
		if c.Kept != nil {
			out = append(out, keptSummary{Slug: c.Slug, Table: c.Table, Time: c.TimeColumn, Due: c.DueFrom,
				Label: c.Kept.Label, Where: c.Kept.Where})
		}
	}
	return out
}

// isKept says whether the overview reads category slug from its kept
// summary rather than from its table.
func isKept(slug string) bool {
	c, ok := bySlug[slug]
	return ok && c.Kept != nil
}

func (k keptSummary) due() string {
	if k.Due != "" {
		return k.Due
	}
	return k.Time
}

// of spells an SQL fragment for the row named r.
func (k keptSummary) of(sql, r string) string { return strings.ReplaceAll(sql, "{r}", r) }

// match is the condition under which row r is counted.
func (k keptSummary) match(r string) string {
	w := r + ".patron_id IS NOT NULL"
	if k.Where != "" {
		w += " AND " + k.of(k.Where, r)
	}
	return w
}

// newestOf and oldestOf recompute the newest row's column col and the
// least due time of patron from the table itself.
func (k keptSummary) newestOf(col, patron string) string {
	return fmt.Sprintf("(SELECT %s FROM %s r WHERE r.patron_id = %s AND %s ORDER BY r.%s DESC, r.id DESC LIMIT 1)",
		k.of(col, "r"), k.Table, patron, k.match("r"), k.Time)
}

func (k keptSummary) oldestOf(patron string) string {
	return fmt.Sprintf("(SELECT MIN(r.%s) FROM %s r WHERE r.patron_id = %s AND %s)", k.due(), k.Table, patron, k.match("r"))
}

// merge is the ON CONFLICT clause that adds new rows to a summary: the
// count grows, the newest is whichever is later, the oldest whichever is
// earlier: patron_summaries is the kept row, excluded the new rows' summary.
const mergeSummary = `ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END`

const summaryColumns = "patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at"

// addRows adds the matching rows of set (a transition table) to their
// patrons' summaries: one summary of the set per patron, its newest row
// first, merged into the kept one. In patron order, so that two
// statements adding for the same patrons lock their summaries in the
// same order.
func (k keptSummary) addRows(set string) string {
	return fmt.Sprintf(`INSERT INTO patron_summaries (%s)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, '%s', COUNT(*) OVER w, r.%s, r.id, %s, MIN(r.%s) OVER w
		FROM %s r WHERE %s
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.%s DESC, r.id DESC
		%s`,
		summaryColumns, k.Slug, k.Time, k.of(k.Label, "r"), k.due(), set, k.match("r"), k.Time, mergeSummary)
}

// removeRows takes the matching rows of set out of their patrons'
// summaries, in one statement: a summary left with nothing goes; the
// others lose the count, and read again from the table (which no longer
// holds the rows) the newest if it was among them, and the oldest if one
// of them could have been it. A purge of old rows reads only the oldest.
func (k keptSummary) removeRows(set string) string {
	newestGone := "patron_summaries.newest_id = ANY (d.ids)"
	again := func(col, expr string) string {
		return fmt.Sprintf("%s = CASE WHEN %s THEN %s ELSE patron_summaries.%s END", col, newestGone, expr, col)
	}
	return fmt.Sprintf(`WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.%s) AS least, array_agg(r.id) AS ids
			FROM %s r WHERE %s GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = '%s' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, %s, %s, %s,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN %s ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = '%s' AND patron_summaries.n > d.n`,
		k.due(), set, k.match("r"), k.Slug,
		again("newest_at", k.newestOf("r."+k.Time, "patron_summaries.patron_id")),
		again("newest_id", k.newestOf("r.id", "patron_summaries.patron_id")),
		again("newest_label", k.newestOf(k.Label, "patron_summaries.patron_id")),
		k.oldestOf("patron_summaries.patron_id"), k.Slug)
}

// addRow and removeRow are addRows and removeRows for one row, r being
// NEW or OLD in a row trigger (SQLite's only kind). removeRow reads the
// newest or the oldest again only when r was it.
func (k keptSummary) addRow(r string) string {
	return fmt.Sprintf(`INSERT INTO patron_summaries (%s)
		SELECT %s.patron_id, '%s', 1, %s.%s, %s.id, %s, %s.%s WHERE %s
		%s`,
		summaryColumns, r, k.Slug, r, k.Time, r, k.of(k.Label, r), r, k.due(), k.match(r), mergeSummary)
}

func (k keptSummary) removeRow(r string) []string {
	mine := fmt.Sprintf("patron_id = %s.patron_id AND slug = '%s' AND %s", r, k.Slug, k.match(r))
	return []string{
		`UPDATE patron_summaries SET n = n - 1 WHERE ` + mine,
		`DELETE FROM patron_summaries WHERE n <= 0 AND ` + mine,
		fmt.Sprintf(`UPDATE patron_summaries SET newest_at = %s, newest_id = %s, newest_label = %s
			WHERE newest_id = %s.id AND %s`,
			k.newestOf("r."+k.Time, r+".patron_id"), k.newestOf("r.id", r+".patron_id"),
			k.newestOf(k.Label, r+".patron_id"), r, mine),
		fmt.Sprintf(`UPDATE patron_summaries SET oldest_at = %s WHERE %s.%s <= oldest_at AND %s`,
			k.oldestOf(r+".patron_id"), r, k.due(), mine),
	}
}

// backfill sums up the rows already in the table, in a new database an
// empty statement.
func (k keptSummary) backfill() string {
	return fmt.Sprintf(`INSERT INTO patron_summaries (%s)
		SELECT g.patron_id, '%s', g.n, r.%s, r.id, %s, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.%s) AS oldest FROM %s r WHERE %s GROUP BY r.patron_id) g
		JOIN %s r ON r.id = (SELECT r2.id FROM %s r2 WHERE r2.patron_id = g.patron_id AND %s
			ORDER BY r2.%s DESC, r2.id DESC LIMIT 1)`,
		summaryColumns, k.Slug, k.Time, k.of(k.Label, "r"), k.due(), k.Table, k.match("r"),
		k.Table, k.Table, k.match("r2"), k.Time)
}

// summaryDDL is migration 202611270008's schema for dialect d: the table,
// its triggers and its first contents.
func summaryDDL(d Dialect) []string {
	out := []string{
		`CREATE TABLE patron_summaries (
			patron_id BIGINT NOT NULL,
			slug TEXT NOT NULL,
			n BIGINT NOT NULL,
			newest_at {ts} NOT NULL,
			newest_id BIGINT NOT NULL,
			newest_label TEXT,
			oldest_at {ts},
			PRIMARY KEY (patron_id, slug))`,
	}
	for _, k := range keptSummaries {
		out = append(out, k.backfill())
		if d == SQLite {
			out = append(out,
				fmt.Sprintf("CREATE TRIGGER %s_summary_added AFTER INSERT ON %s BEGIN %s; END",
					k.Table, k.Table, k.addRow("NEW")),
				fmt.Sprintf("CREATE TRIGGER %s_summary_removed AFTER DELETE ON %s BEGIN %s; END",
					k.Table, k.Table, strings.Join(k.removeRow("OLD"), "; ")),
				fmt.Sprintf("CREATE TRIGGER %s_summary_changed AFTER UPDATE ON %s BEGIN %s; %s; END",
					k.Table, k.Table, strings.Join(k.removeRow("OLD"), "; "), k.addRow("NEW")))
			continue
		}
		// On PostgreSQL, once per statement over its transition tables, so a
		// bulk insert of a million rows touches each patron's summary once.
		// An update is taken out as it was, then added as it is.
		fn := "carrel_" + k.Table + "_summary"
		out = append(out,
			fmt.Sprintf("CREATE FUNCTION %s_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN %s; RETURN NULL; END $$",
				fn, k.addRows("added")),
			fmt.Sprintf("CREATE FUNCTION %s_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN %s; RETURN NULL; END $$",
				fn, k.removeRows("removed")),
			fmt.Sprintf("CREATE FUNCTION %s_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN %s; %s; RETURN NULL; END $$",
				fn, k.removeRows("before_change"), k.addRows("after_change")),
			fmt.Sprintf(`CREATE TRIGGER %s_summary_added AFTER INSERT ON %s
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION %s_added()`, k.Table, k.Table, fn),
			fmt.Sprintf(`CREATE TRIGGER %s_summary_removed AFTER DELETE ON %s
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION %s_removed()`, k.Table, k.Table, fn),
			fmt.Sprintf(`CREATE TRIGGER %s_summary_changed AFTER UPDATE ON %s
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION %s_changed()`, k.Table, k.Table, fn))
	}
	// A deleted patron's summaries go with them (audit entries, which
	// have no foreign key, would otherwise leave one behind). A renamed
	// mailing list renames the summaries it names.
	if d == SQLite {
		return append(out, `CREATE TRIGGER patrons_summaries_removed AFTER DELETE ON patrons BEGIN
			DELETE FROM patron_summaries WHERE patron_id = OLD.id; END`,
			`CREATE TRIGGER mailing_lists_summaries_renamed AFTER UPDATE OF name ON mailing_lists BEGIN
			UPDATE patron_summaries SET newest_label = NEW.name WHERE slug = 'mailing-lists'
				AND newest_id IN (SELECT id FROM subscriptions WHERE list_id = NEW.id); END`)
	}
	return append(out,
		`CREATE FUNCTION carrel_mailing_lists_summaries_renamed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			UPDATE patron_summaries SET newest_label = a.name FROM subscriptions s JOIN after_change a ON a.id = s.list_id
				WHERE patron_summaries.slug = 'mailing-lists' AND patron_summaries.newest_id = s.id
				AND patron_summaries.newest_label IS DISTINCT FROM a.name;
			RETURN NULL; END $$`,
		`CREATE TRIGGER mailing_lists_summaries_renamed AFTER UPDATE ON mailing_lists
			REFERENCING NEW TABLE AS after_change FOR EACH STATEMENT EXECUTE FUNCTION carrel_mailing_lists_summaries_renamed()`,
		`CREATE FUNCTION carrel_patrons_summaries_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			DELETE FROM patron_summaries WHERE patron_id IN (SELECT id FROM removed); RETURN NULL; END $$`,
		`CREATE TRIGGER patrons_summaries_removed AFTER DELETE ON patrons
			REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_patrons_summaries_removed()`)
}
