package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

// seedSQL is the data set, step by step; its hash is part of the marker,
// so changing it re-seeds.
//
//go:embed seed.sql
var seedSQL string

// The load patrons' one PIN. bcrypt for three million patrons would take
// days, so they all share one hash, made once through models.
const loadPIN = "2468"

// loadKey is the server secret of the load database. It is fixed, not
// secret: the database holds only made-up patrons, and a fixed key lets a
// second run reuse the data set (every PIN hash is keyed with it).
func loadKey() string {
	sum := sha256.Sum256([]byte("carrel load benchmark: made-up patrons only, never a real key"))
	return hex.EncodeToString(sum[:])
}

// seedStep is one named step of seed.sql. Chunked steps ({{lo}} and
// {{hi}} in their SQL) run once per range of patron IDs.
type seedStep struct {
	name       string
	statements []string
	chunked    bool
}

// parseSeed splits seed.sql at its "-- step:" lines and each step into
// statements (a line ending in ";" outside a $$ body ends one).
func parseSeed(sql string) ([]seedStep, error) {
	var steps []seedStep
	var cur strings.Builder
	inBody := false
	for line := range strings.Lines(sql) {
		trimmed := strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(trimmed, "-- step:"); ok {
			if cur.Len() > 0 && len(steps) > 0 && strings.TrimSpace(cur.String()) != "" {
				return nil, fmt.Errorf("seed.sql: unterminated statement before step %s", name)
			}
			cur.Reset()
			steps = append(steps, seedStep{name: strings.TrimSpace(name)})
			continue
		}
		if len(steps) == 0 || (strings.HasPrefix(trimmed, "--") && cur.Len() == 0) || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		cur.WriteString(line)
		if strings.Count(line, "$$")%2 == 1 {
			inBody = !inBody
		}
		if !inBody && strings.HasSuffix(trimmed, ";") {
			st := &steps[len(steps)-1]
			st.statements = append(st.statements, strings.TrimSpace(cur.String()))
			st.chunked = st.chunked || strings.Contains(cur.String(), "{{lo}}")
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" || inBody {
		return nil, errors.New("seed.sql: the last statement has no closing semicolon")
	}
	return steps, nil
}

// seedStages says which steps run after which. Within a stage, two
// connections work through the steps and their chunks, biggest first.
var seedStages = [][]string{
	{"functions", "mailing_lists"},
	{"patrons"},
	{"patrons_sequence"},
	{"reading_history", "favorites", "loans", "holds", "subscriptions", "notifications", "fines", "sprinkles"},
	{"consent_entries"}, // after subscriptions: it writes their ledger entries
}

// chunkSize is how many patron IDs one chunk of a chunked step covers.
const chunkSize = 250_000

// seedWorkers is how many statements run at once: PostgreSQL uses one
// core per statement, and the machine has two.
const seedWorkers = 2

// sizes are the data set's row counts, for the report.
type sizes struct {
	Patrons, History, Favorites, Loans, Holds, Fines, Subscriptions, Consents, Notifications int64
}

// marker is what the database's comment says about the data set in it.
type marker struct {
	Seed       string // hash of seed.sql and the key id
	Scale      string
	Migrations string // hash of the applied migration IDs
	SeededAt   time.Time
	Took       time.Duration
	Sizes      sizes
}

// markerPrefix starts the comment of a database that holds a load data
// set; the marker follows as JSON.
const markerPrefix = "carrel-load "

func (m marker) String() string {
	b, _ := json.Marshal(m)
	return markerPrefix + string(b)
}

func parseMarker(comment string) (marker, bool) {
	var m marker
	body, ok := strings.CutPrefix(comment, markerPrefix)
	if !ok || json.Unmarshal([]byte(body), &m) != nil {
		return marker{}, false
	}
	return m, m.Seed != "" && m.Scale != "" && m.Migrations != ""
}

// seedRevision changes whenever this file changes how seed.sql is run,
// so that a data set seeded the old way is seeded again.
const seedRevision = "2: triggers on"

// seedVersion identifies what seed.sql builds at a scale.
func seedVersion() string {
	sum := sha256.Sum256([]byte(seedSQL + "\x00" + seedRevision + "\x00" + loadKey() + "\x00" + loadPIN))
	return hex.EncodeToString(sum[:6])
}

// database is the load database and the server it lives on.
type database struct {
	URL   string // the load database
	admin string // the same server's postgres database, to create and drop it
	name  string
}

func newDatabase(raw string) (*database, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("the load database must be a postgres:// URL, not %q", raw)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !regexp.MustCompile(`^[a-z_][a-z0-9_]*$`).MatchString(name) {
		return nil, fmt.Errorf("the load database's name %q must be lower-case letters, digits and _", name)
	}
	a := *u
	a.Path = "/postgres"
	return &database{URL: u.String(), admin: a.String(), name: name}, nil
}

// prepare makes sure the load database holds the current data set at this
// scale: it reuses one whose marker matches, and otherwise drops it,
// creates it, migrates it with the real binary and seeds it.
func (d *database) prepare(ctx context.Context, bin string, scale float64, reseed bool, logf func(string, ...any)) (marker, bool, error) {
	admin, err := models.Open(ctx, d.admin, nil)
	if err != nil {
		return marker{}, false, fmt.Errorf("PostgreSQL at %s: %w", redact(d.admin), err)
	}
	defer closeDB(admin)
	want := marker{Seed: seedVersion(), Scale: strconv.FormatFloat(scale, 'f', -1, 64)}

	var comment sql.NullString
	err = admin.Raw("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = ?", d.name).
		Row().Scan(&comment)
	exists := !errors.Is(err, sql.ErrNoRows)
	if err != nil && exists {
		return marker{}, false, fmt.Errorf("look for %s: %w", d.name, err)
	}
	if _, ours := parseMarker(comment.String); exists && !ours && !reseed && !strings.HasPrefix(d.name, "carrel_load") {
		// Not a name of ours, and no marker: someone else's database.
		return marker{}, false, fmt.Errorf("database %s exists and holds no load data set; pass -reseed to drop it", d.name)
	}
	if comment.Valid && !reseed {
		if have, ok := parseMarker(comment.String); ok && have.Seed == want.Seed && have.Scale == want.Scale {
			migs, err := d.migrate(ctx, bin)
			if err == nil && migs == have.Migrations {
				return have, true, nil
			}
			if err != nil {
				logf("the load database does not migrate (%v): seeding it again", err)
			} else {
				logf("the schema changed since the data set was seeded: seeding it again")
			}
		} else if ok {
			logf("the data set in %s was made by another seed script or at another scale: seeding it again", d.name)
		}
	}
	if err := admin.Exec("DROP DATABASE IF EXISTS " + d.name + " WITH (FORCE)").Error; err != nil {
		return marker{}, false, fmt.Errorf("drop %s: %w", d.name, err)
	}
	if err := admin.Exec("CREATE DATABASE " + d.name).Error; err != nil {
		return marker{}, false, fmt.Errorf("create %s: %w", d.name, err)
	}
	start := time.Now()
	migs, err := d.migrate(ctx, bin)
	if err != nil {
		return marker{}, false, err
	}
	if err := d.seed(ctx, scale, logf); err != nil {
		return marker{}, false, err
	}
	want.Migrations = migs
	want.Took = time.Since(start)
	want.SeededAt = time.Now()
	if want.Sizes, err = d.sizes(ctx); err != nil {
		return marker{}, false, err
	}
	// The marker goes on last: a seed cut short leaves none, and the next
	// run starts over.
	if err := admin.Exec("COMMENT ON DATABASE " + d.name + " IS " + quote(want.String())).Error; err != nil {
		return marker{}, false, fmt.Errorf("mark %s: %w", d.name, err)
	}
	return want, false, nil
}

// migrate runs the real binary's `carrel migrate` on the load database and
// returns a hash of the migrations applied.
func (d *database) migrate(ctx context.Context, bin string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "migrate")
	cmd.Env = append(os.Environ(), "CARREL_DATABASE_URL="+d.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("carrel migrate: %v: %s", err, strings.TrimSpace(string(out)))
	}
	db, err := models.Open(ctx, d.URL, nil)
	if err != nil {
		return "", err
	}
	defer closeDB(db)
	ids, err := models.AppliedMigrations(ctx, db)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return fmt.Sprintf("%d-%s", len(ids), hex.EncodeToString(sum[:4])), nil
}

// task is one statement list to run: a step, or one chunk of it.
type task struct {
	label      string
	statements []string
}

// seed fills the freshly migrated database: it drops the non-unique
// indexes of the tables it fills, runs seed.sql's stages, builds the
// indexes again, then VACUUM (ANALYZE) and CHECKPOINT, so the data set is
// as a settled database's would be: planner statistics, and the
// visibility map that index-only scans need.
func (d *database) seed(ctx context.Context, scale float64, logf func(string, ...any)) error {
	db, err := models.Open(ctx, d.URL, nil)
	if err != nil {
		return err
	}
	defer closeDB(db)
	steps, err := parseSeed(seedSQL)
	if err != nil {
		return err
	}
	byName := map[string]seedStep{}
	for _, s := range steps {
		byName[s.name] = s
	}
	patrons := int64(3_000_000 * scale)
	if patrons < 1000 {
		return fmt.Errorf("-scale %g is under 1,000 patrons", scale)
	}
	hash, err := pinHash(ctx, db)
	if err != nil {
		return err
	}
	fill := strings.NewReplacer("{{patrons}}", strconv.FormatInt(patrons, 10), "{{pin_hash}}", quote(hash))

	// Non-unique indexes cost more to keep up row by row than to build
	// once at the end.
	type index struct{ Name, Def, Tbl string }
	var indexes []index
	if err := db.Raw(`SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def, t.relname AS tbl
		FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND NOT i.indisunique AND NOT i.indisprimary
		ORDER BY 1`).Scan(&indexes).Error; err != nil {
		return fmt.Errorf("list indexes: %w", err)
	}
	for _, ix := range indexes {
		if err := db.Exec("DROP INDEX " + ix.Name).Error; err != nil {
			return fmt.Errorf("drop index %s: %w", ix.Name, err)
		}
	}

	for _, stage := range seedStages {
		var tasks []task
		for _, name := range stage {
			st, ok := byName[name]
			if !ok {
				return fmt.Errorf("seed.sql has no step %q", name)
			}
			if !st.chunked {
				tasks = append(tasks, task{label: name, statements: fillAll(fill, st.statements)})
				continue
			}
			for lo := int64(1); lo <= patrons; lo += chunkSize {
				hi := min(lo+chunkSize-1, patrons)
				r := strings.NewReplacer("{{lo}}", strconv.FormatInt(lo, 10), "{{hi}}", strconv.FormatInt(hi, 10))
				var sts []string
				for _, s := range fillAll(fill, st.statements) {
					sts = append(sts, r.Replace(s))
				}
				tasks = append(tasks, task{label: fmt.Sprintf("%s %d-%d", name, lo, hi), statements: sts})
			}
		}
		if err := runTasks(ctx, db, tasks, logf); err != nil {
			return err
		}
	}
	// The biggest tables first, so the two connections finish together.
	var tables []string
	if err := db.Raw(`SELECT relname FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC, relname`).
		Scan(&tables).Error; err != nil {
		return err
	}
	slices.SortStableFunc(indexes, func(a, b index) int {
		return slices.Index(tables, a.Tbl) - slices.Index(tables, b.Tbl)
	})
	var rebuild []task
	for _, ix := range indexes {
		rebuild = append(rebuild, task{label: "index " + ix.Name, statements: []string{ix.Def}})
	}
	if err := runTasks(ctx, db, rebuild, logf); err != nil {
		return err
	}
	var vacuum []task
	for _, t := range tables {
		vacuum = append(vacuum, task{label: "vacuum " + t, statements: []string{"VACUUM (ANALYZE) " + t}})
	}
	if err := runTasks(ctx, db, vacuum, logf); err != nil {
		return err
	}
	if err := runTasks(ctx, db, []task{{label: "cleanup", statements: byName["cleanup"].statements}}, logf); err != nil {
		return err
	}
	// Write the load out now rather than during the measurements. It needs
	// superuser or pg_checkpoint; without it, the server checkpoints when
	// it will.
	_ = db.Exec("CHECKPOINT").Error
	return nil
}

func fillAll(r *strings.Replacer, sts []string) []string {
	out := make([]string, len(sts))
	for i, s := range sts {
		out[i] = r.Replace(s)
	}
	return out
}

// runTasks runs tasks on seedWorkers connections of their own, each set
// up for bulk loading, and stops at the first failure.
func runTasks(ctx context.Context, db *gorm.DB, tasks []task, logf func(string, ...any)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan task)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	for range min(seedWorkers, len(tasks)) {
		wg.Go(func() {
			err := db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
				// Triggers stay on: the schema keeps derived data with them
				// (patrons.history_count), and the data set must be what the
				// portal itself would have written.
				for _, set := range []string{"SET maintenance_work_mem = '256MB'", "SET synchronous_commit = off",
					"SET max_parallel_maintenance_workers = 1"} {
					if err := conn.Exec(set).Error; err != nil {
						return err
					}
				}
				for t := range queue {
					start := time.Now()
					for _, s := range t.statements {
						if err := conn.Exec(s).Error; err != nil {
							return fmt.Errorf("%s: %w", t.label, err)
						}
					}
					logf("  %-40s %6.1fs", t.label, time.Since(start).Seconds())
				}
				return nil
			})
			if err != nil {
				fail(err)
				for range queue { // let the feeder finish
				}
			}
		})
	}
	for _, t := range tasks {
		select {
		case queue <- t:
		case <-ctx.Done():
		}
	}
	close(queue)
	wg.Wait()
	return firstErr
}

// pinHash hashes loadPIN the way the server does, with the server's key
// and bcrypt cost: models.Store.HashSecret.
func pinHash(ctx context.Context, db *gorm.DB) (string, error) {
	keys, err := models.ParseKeys(loadKey())
	if err != nil {
		return "", err
	}
	store, err := models.NewStore(db, nil, keys, 0)
	if err != nil {
		return "", err
	}
	return store.HashSecret(ctx, loadPIN)
}

// sizes counts the data set.
func (d *database) sizes(ctx context.Context) (sizes, error) {
	db, err := models.Open(ctx, d.URL, nil)
	if err != nil {
		return sizes{}, err
	}
	defer closeDB(db)
	var s sizes
	for _, c := range []struct {
		table string
		dst   *int64
	}{
		{"patrons", &s.Patrons}, {"reading_history", &s.History}, {"favorites", &s.Favorites},
		{"loans", &s.Loans}, {"holds", &s.Holds}, {"fines", &s.Fines}, {"subscriptions", &s.Subscriptions},
		{"consent_entries", &s.Consents}, {"notifications", &s.Notifications},
	} {
		if err := db.Table(c.table).Count(c.dst).Error; err != nil {
			return s, fmt.Errorf("count %s: %w", c.table, err)
		}
	}
	return s, nil
}

// databaseBytes is the load database's size on disk.
func (d *database) databaseBytes(ctx context.Context) int64 {
	db, err := models.Open(ctx, d.URL, nil)
	if err != nil {
		return 0
	}
	defer closeDB(db)
	var n int64
	_ = db.Raw("SELECT pg_database_size(current_database())").Row().Scan(&n)
	return n
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "the database"
}
