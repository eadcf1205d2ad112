package main

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// dbSnapshot is every table of a SQLite database, each row as text by
// rowid, read in one read transaction.
type dbSnapshot map[string]map[int64]string

// snapshotSQLite reads the SQLite file at path read-only.
func snapshotSQLite(t *testing.T, path string) dbSnapshot {
	t.Helper()
	db, err := models.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer models.CloseDB(db)
	snap := dbSnapshot{}
	err = db.Transaction(func(tx *gorm.DB) error {
		var tables []string
		if err := tx.Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").Scan(&tables).Error; err != nil {
			return err
		}
		for _, table := range tables {
			rows, err := tx.Raw(`SELECT rowid, * FROM "` + table + `" ORDER BY rowid`).Rows()
			if err != nil {
				return err
			}
			cols, _ := rows.Columns()
			snap[table] = map[int64]string{}
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return err
				}
				var b strings.Builder
				for i, v := range vals[1:] {
					if raw, ok := v.([]byte); ok {
						v = string(raw)
					}
					fmt.Fprintf(&b, "%s=%#v;", cols[i+1], v)
				}
				snap[table][vals[0].(int64)] = b.String()
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", path, err)
	}
	return snap
}

// TestBackupOfABusyDatabase backs up a SQLite database with demo data
// while writers change it through the Store (favorites added and
// removed, mailing lists subscribed and left, each with its audit entry,
// as staff assisting), restores the backup into a fresh data folder, and
// checks the result: the restore holds exactly the backup; every table is
// the database at one instant (tables the writers never touched equal
// the source, append-only tables hold a prefix of the source's rows, not
// fewer than before the backup began); every change is in the copy
// exactly when its audit entry is, across tables; and the audit chain
// verifies with carrel audit verify.
func TestBackupOfABusyDatabase(t *testing.T) {
	dir := isolate(t)
	key := models.GenerateKey()
	t.Setenv("CARREL_SECRET_KEYS", key)
	live := filepath.Join(dir, "live")
	t.Setenv("CARREL_DATA_DIR", live)
	src := filepath.Join(live, "carrel.db")
	ctx := context.Background()

	db, err := models.Open(ctx, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer models.CloseDB(db)
	if err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	keys, err := models.ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.NewStore(db, models.SystemClock{}, keys, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	var staffID int64
	if err := db.Raw("SELECT id FROM staff ORDER BY id LIMIT 1").Scan(&staffID).Error; err != nil || staffID == 0 {
		t.Fatalf("a demo staff account: %d %v", staffID, err)
	}
	var patrons []int64
	if err := db.Raw("SELECT id FROM patrons WHERE email <> '' ORDER BY id LIMIT 3").Scan(&patrons).Error; err != nil || len(patrons) < 2 {
		t.Fatalf("demo patrons with an email: %v %v", patrons, err)
	}
	lists, err := store.ActiveLists(ctx)
	if err != nil || len(lists) == 0 {
		t.Fatalf("a mailing list: %v", err)
	}
	actor := models.Actor{StaffID: &staffID, Reason: "backup test"}
	for _, p := range patrons {
		if _, err := store.LinkFavorites(ctx, p, actor); err != nil {
			t.Fatal(err)
		}
		// Each writer starts with the list left, so that its first
		// subscription is a change.
		if _, err := store.Unsubscribe(ctx, p, lists[0].Slug, actor); err != nil {
			t.Fatal(err)
		}
	}

	// The writers: each change is one transaction with its audit entry.
	const total = 3000
	var (
		writes atomic.Int64
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		werrs  = make(chan error, len(patrons))
	)
	for w, p := range patrons {
		wg.Go(func() {
			var fav models.Favorite
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch i % 4 {
				case 0:
					fav, _, err = store.AddFavorite(ctx, p, "subject", fmt.Sprintf("Backup topic %d %d", w, i), actor)
				case 1:
					_, err = store.RemoveFavorite(ctx, p, fav.ID, actor)
				case 2:
					_, err = store.Subscribe(ctx, p, lists[0].Slug, actor)
				case 3:
					_, err = store.Unsubscribe(ctx, p, lists[0].Slug, actor)
				}
				if err != nil {
					werrs <- fmt.Errorf("writer %d, change %d: %w", w, i, err)
					return
				}
				writes.Add(1)
			}
		})
	}
	waitFor := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for writes.Load() < n {
			select {
			case err := <-werrs:
				close(stop)
				wg.Wait()
				t.Fatal(err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("the writers made %d changes in two minutes, want %d", writes.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(300)
	before := snapshotSQLite(t, src)

	file := filepath.Join(dir, "backups", "carrel-backup.db")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	startWrites := writes.Load()
	code, out, errs := carrel(t, "backup", file)
	during := writes.Load() - startWrites
	waitFor(total)
	close(stop)
	wg.Wait()
	select {
	case err := <-werrs:
		t.Fatal(err)
	default:
	}
	after := snapshotSQLite(t, src)
	t.Logf("changes made while carrel backup ran: %d; before %d audit entries, after %d", during, len(before["audit_entries"]), len(after["audit_entries"]))

	if code != 0 || !regexp.MustCompile(`^Backed up .*carrel\.db to .*carrel-backup\.db: \d+ bytes, \d+ migrations, integrity ok\.\n$`).MatchString(out) || errs != "" {
		t.Fatalf("carrel backup: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if during == 0 {
		t.Fatal("no change was made while carrel backup ran: the test did not back up a busy database")
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the backup file: %v, mode %v; want 0600", err, st.Mode())
	}
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Errorf("FILE.partial left behind: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Errorf("the backup folder holds %d files, want the backup alone", len(entries))
	}

	// Restore into a fresh data folder.
	restored := filepath.Join(dir, "restored")
	t.Setenv("CARREL_DATA_DIR", restored)
	code, out, errs = carrel(t, "restore", file)
	if code != 0 || !strings.Contains(out, "Restored "+file+" to "+filepath.Join(restored, "carrel.db")+": ") || !strings.Contains(out, "Its schema is current") {
		t.Fatalf("carrel restore: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if st, err := os.Stat(filepath.Join(restored, "carrel.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the restored database: %v, mode %v; want 0600", err, st.Mode())
	}
	copied := snapshotSQLite(t, filepath.Join(restored, "carrel.db"))
	if backup := snapshotSQLite(t, file); !equalSnapshots(backup, copied) {
		t.Error("the restored database differs from the backup")
	}

	// Every table, against the source before and after.
	if !slices.Equal(slices.Sorted(maps.Keys(copied)), slices.Sorted(maps.Keys(after))) {
		t.Fatalf("tables: restored %v, source %v", slices.Sorted(maps.Keys(copied)), slices.Sorted(maps.Keys(after)))
	}
	var appendOnly, changed []string
	for _, table := range slices.Sorted(maps.Keys(after)) {
		b, a, c := before[table], after[table], copied[table]
		switch {
		case table == "favorites" || table == "subscriptions":
			// The writers add rows and delete them again: the two
			// snapshots may be equal though the copy, between them, is
			// not. Checked across tables below.
			changed = append(changed, table)
		case equalRows(b, a):
			if !equalRows(c, a) {
				t.Errorf("%s: the writers never touched it, yet the copy differs from the source (%d rows, source %d)", table, len(c), len(a))
			}
		case isSubset(b, a):
			appendOnly = append(appendOnly, table)
			if !isSubset(b, c) {
				t.Errorf("%s: the copy lacks rows that were there before the backup began", table)
			}
			if !isSubset(c, a) {
				t.Errorf("%s: the copy holds rows the source never had", table)
			}
			last := int64(0)
			for id := range c {
				last = max(last, id)
			}
			for id, row := range a {
				if id <= last && c[id] != row {
					t.Errorf("%s: row %d is missing from the copy, though a later one is there: not one instant", table, id)
					break
				}
			}
			if len(c) < len(b) || len(c) > len(a) {
				t.Errorf("%s: %d rows in the copy, want between %d and %d", table, len(c), len(b), len(a))
			}
		default:
			changed = append(changed, table)
		}
	}
	t.Logf("append-only tables checked as a prefix: %v; tables with changed rows, checked below: %v", appendOnly, changed)
	for _, table := range []string{"audit_entries", "consent_entries"} {
		if !slices.Contains(appendOnly, table) {
			t.Errorf("%s was not checked as an append-only table (writers touched it? %v)", table, slices.Contains(changed, table))
		}
	}

	// Across tables: a change is in the copy exactly when its audit entry
	// is. Counted from the quiet source back: the favorites and the
	// ledger entries of each writer's patron, less those whose audit
	// entries came after the copy's last.
	rdb, err := models.OpenReadOnly(filepath.Join(restored, "carrel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer models.CloseDB(rdb)
	var lastAudit int64
	rdb.Raw("SELECT MAX(id) FROM audit_entries").Scan(&lastAudit)
	for _, p := range patrons {
		count := func(g *gorm.DB, q string) (n int64) {
			t.Helper()
			if err := g.Raw(q, p).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		var later []string
		db.Raw("SELECT detail FROM audit_entries WHERE id > ? AND patron_id = ? ORDER BY id", lastAudit, p).Scan(&later)
		favDelta, consentDelta := int64(0), int64(0)
		for _, d := range later {
			switch {
			case strings.HasPrefix(d, "added a favorite"):
				favDelta++
			case strings.HasPrefix(d, "removed a favorite"):
				favDelta--
			default:
				consentDelta++
			}
		}
		favorites := "SELECT COUNT(*) FROM favorites WHERE patron_id = ?"
		ledger := "SELECT COUNT(*) FROM consent_entries WHERE patron_id = ?"
		if got, want := count(rdb, favorites), count(db, favorites)-favDelta; got != want {
			t.Errorf("patron %d: %d favorites in the copy, want %d from its audit entries", p, got, want)
		}
		if got, want := count(rdb, ledger), count(db, ledger)-consentDelta; got != want {
			t.Errorf("patron %d: %d consent ledger entries in the copy, want %d from its audit entries", p, got, want)
		}
		// Subscribed in the copy exactly when its last ledger entry for
		// the list says on.
		var last string
		rdb.Raw("SELECT new_value FROM consent_entries WHERE patron_id = ? AND subject = ? ORDER BY id DESC LIMIT 1", p, models.ConsentListPrefix+lists[0].Slug).Scan(&last)
		subscribed := count(rdb, "SELECT COUNT(*) FROM subscriptions WHERE patron_id = ? AND list_id = "+fmt.Sprint(lists[0].ID))
		if (last == "on") != (subscribed == 1) {
			t.Errorf("patron %d: subscribed %d in the copy, but its last ledger entry for the list says %q", p, subscribed, last)
		}
		// The summaries the triggers keep agree with the rows.
		for slug, table := range map[string]string{"favorites": "favorites", "consents": "consent_entries", "mailing-lists": "subscriptions"} {
			kept := count(rdb, "SELECT COALESCE(SUM(n), 0) FROM patron_summaries WHERE patron_id = ? AND slug = '"+slug+"'")
			if rows := count(rdb, "SELECT COUNT(*) FROM "+table+" WHERE patron_id = ?"); kept != rows {
				t.Errorf("patron %d: the copy's summary %s says %d, its %s hold %d rows", p, slug, kept, table, rows)
			}
		}
	}

	// The audit chain of the restored database verifies, entry by entry.
	code, out, errs = carrel(t, "audit", "verify")
	want := fmt.Sprintf("Audit log intact: %d entries checked", len(copied["audit_entries"]))
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("audit verify of the restored database: exit %d, %q %q; want %q", code, out, errs, want)
	}
}

func equalRows(a, b map[int64]string) bool { return len(a) == len(b) && isSubset(a, b) }

func isSubset(a, b map[int64]string) bool {
	for id, row := range a {
		if got, ok := b[id]; !ok || got != row {
			return false
		}
	}
	return true
}

func equalSnapshots(a, b dbSnapshot) bool {
	if !slices.Equal(slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))) {
		return false
	}
	for table := range a {
		if !equalRows(a[table], b[table]) {
			return false
		}
	}
	return true
}

// TestBackupAndRestoreRefusals: each refusal names what caused it, with
// the exit code it says, and leaves nothing behind.
func TestBackupAndRestoreRefusals(t *testing.T) {
	dir := isolate(t)
	t.Setenv("CARREL_SECRET_KEYS", models.GenerateKey())
	live := filepath.Join(dir, "live")
	t.Setenv("CARREL_DATA_DIR", live)
	src := filepath.Join(live, "carrel.db")

	expect := func(wantCode int, wantErr string, args ...string) {
		t.Helper()
		code, out, errs := carrel(t, args...)
		if code != wantCode || !strings.Contains(errs, wantErr) || strings.Count(errs, "\n") != 1 {
			t.Errorf("carrel %s: exit %d, stdout %q, stderr %q; want %d and one line with %q", strings.Join(args, " "), code, out, errs, wantCode, wantErr)
		}
	}
	// Usage.
	expect(2, "backup needs one FILE", "backup")
	expect(2, `unexpected argument "b.db"`, "backup", "a.db", "b.db")
	expect(2, "restore needs one FILE", "restore")
	expect(2, "flag provided but not defined: -bogus", "backup", "--bogus", "a.db")
	// Nothing to back up: no database is created to copy.
	expect(2, "no database at "+src, "backup", filepath.Join(dir, "a.db"))
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatalf("backup of a missing database created it: %v", err)
	}
	if code, _, errs := carrel(t, "migrate"); code != 0 {
		t.Fatal(errs)
	}

	// An existing FILE is never replaced, nor a FILE.partial.
	existing := writeFile(t, dir, "existing.db", "keep me")
	expect(2, existing+" already exists; a backup never replaces a file", "backup", existing)
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
	writeFile(t, dir, "busy.db.partial", "another backup")
	expect(1, "busy.db.partial exists: another backup is being written there", "backup", filepath.Join(dir, "busy.db"))
	if b, _ := os.ReadFile(filepath.Join(dir, "busy.db.partial")); string(b) != "another backup" {
		t.Errorf("the other backup's partial file was changed: %q", b)
	}

	// A good backup, for the restores below.
	good := filepath.Join(dir, "good.db")
	if code, out, errs := carrel(t, "backup", good); code != 0 {
		t.Fatalf("backup: %d %q %q", code, out, errs)
	}

	// Restore never replaces a database, nor goes beside a stray WAL.
	expect(2, src+" already exists; restore puts a backup only where no database is", "restore", good)
	target := filepath.Join(dir, "target")
	t.Setenv("CARREL_DATA_DIR", target)
	stray := writeFile(t, mkdir(t, target), "carrel.db-wal", "an old log")
	expect(2, stray+" already exists", "restore", good)
	os.Remove(stray)

	// Files that are not backups of Carrel.
	expect(2, filepath.Join(dir, "missing.db")+" is not a file", "restore", filepath.Join(dir, "missing.db"))
	expect(2, dir+" is not a file", "restore", dir)
	text := writeFile(t, dir, "notes.txt", strings.Repeat("not a database at all\n", 300))
	expect(1, text+" cannot be restored: it is not a SQLite database", "restore", text)
	other := filepath.Join(dir, "other.db")
	odb, err := models.Open(context.Background(), other, nil)
	if err != nil {
		t.Fatal(err)
	}
	odb.Exec("CREATE TABLE recipes (name TEXT)")
	models.CloseDB(odb)
	expect(1, other+" cannot be restored: not a Carrel database: it has no migrations table", "restore", other)
	expect(1, "not a Carrel database: it has no migrations table", "backup", filepath.Join(dir, "other-backup.db"), "--database-url", other)
	newer := filepath.Join(dir, "newer.db")
	if code, _, errs := carrel(t, "backup", newer, "--database-url", src); code != 0 {
		t.Fatal(errs)
	}
	ndb, err := models.Open(context.Background(), newer, nil)
	if err != nil {
		t.Fatal(err)
	}
	ndb.Exec("INSERT INTO migrations (id) VALUES ('299901010001_from_the_future')")
	models.CloseDB(ndb)
	expect(1, "not a Carrel database this release can run: it has step 299901010001_from_the_future, made by a newer release", "restore", newer)
	// A damaged backup: a page overwritten in the middle.
	damaged := filepath.Join(dir, "damaged.db")
	b, _ := os.ReadFile(good)
	for i := len(b) / 2; i < len(b)/2+8192 && i < len(b); i++ {
		b[i] = 0x5a
	}
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	expect(1, damaged+" cannot be restored: ", "restore", damaged)

	// None of them left anything in the data folder.
	if entries, _ := os.ReadDir(target); len(entries) != 0 {
		t.Errorf("refused restores left %d files in the data folder", len(entries))
	}

	// An old backup restores and says it needs migrations.
	old := filepath.Join(dir, "old.db")
	ob, err := os.ReadFile("../../models/testdata/old-driver.db")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "old.db", string(ob))
	code, out, errs := carrel(t, "restore", old)
	if code != 0 || !regexp.MustCompile(`It needs \d+ migrations \(.*202612030001_ils_link.*\): carrel migrate, or carrel serve when it starts, applies them\.`).MatchString(out) {
		t.Errorf("restore of an older backup: exit %d, %q %q", code, out, errs)
	}
	if code, out, _ := carrel(t, "migrate"); code != 0 || !strings.Contains(out, "202612030001_ils_link") {
		t.Errorf("migrate after restoring an older backup: exit %d, %q", code, out)
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBackupOnPostgreSQL: backup and restore make nothing and exit 1,
// printing commands that work as printed (run here with sh): pg_dump of a
// database with demo data and audit entries, pg_restore into a new, empty
// one, after which the audit chain verifies and no migration is pending.
// The password is never printed.
func TestBackupOnPostgreSQL(t *testing.T) {
	dir := isolate(t)
	t.Setenv("CARREL_SECRET_KEYS", models.GenerateKey())
	srcURL := modeltest.PostgresURL(t)
	u, _ := url.Parse(srcURL)
	u.User = url.UserPassword(u.User.Username(), "pw-not-to-print") // trust authentication ignores it
	t.Setenv("CARREL_DATABASE_URL", u.String())
	t.Setenv("CARREL_DEMO", "1")
	if code, _, errs := carrel(t, "seed", "--demo"); code != 0 {
		t.Fatal(errs)
	}
	t.Setenv("CARREL_DEMO", "")
	file := filepath.Join(dir, "carrel's backup.dump")
	code, out, errs := carrel(t, "backup", file)
	if code != 1 || !strings.Contains(errs, "PostgreSQL: no backup made") || strings.Contains(out+errs, "pw-not-to-print") ||
		!strings.Contains(out, "pg_dump --format=custom --file="+shellQuote(file)+" --dbname=") || !strings.Contains(out, "PGPASSWORD") {
		t.Fatalf("backup on PostgreSQL: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("backup on PostgreSQL made a file: %v", err)
	}
	pgDump := commandLine(t, out, "pg_dump ")

	dstURL := modeltest.PostgresURL(t)
	t.Setenv("CARREL_DATABASE_URL", dstURL)
	code, out, errs = carrel(t, "restore", file)
	if code != 1 || !strings.Contains(errs, "PostgreSQL: nothing restored") || !strings.Contains(out, "pg_restore --no-owner --no-privileges --single-transaction --exit-on-error --dbname="+shellQuote(dstURL)+" "+shellQuote(file)) {
		t.Fatalf("restore on PostgreSQL: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	pgRestore := commandLine(t, out, "pg_restore ")

	if _, err := exec.LookPath("pg_dump"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_dump is not installed: the printed commands cannot be tried")
		}
		t.Skip("pg_dump is not installed: the printed commands are not tried")
	}
	for _, line := range []string{pgDump, pgRestore} {
		if b, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, b)
		}
	}
	if code, out, errs := carrel(t, "audit", "verify"); code != 0 || !strings.Contains(out, "Audit log intact") {
		t.Errorf("audit verify of the restored database: exit %d, %q %q", code, out, errs)
	}
	if code, out, errs := carrel(t, "migrate", "--dry-run"); code != 0 || !strings.Contains(out, "No migrations pending") {
		t.Errorf("migrate --dry-run of the restored database: exit %d, %q %q", code, out, errs)
	}
}

// commandLine is the printed line that starts with prefix.
func commandLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no %q line in %q", prefix, out)
	return ""
}
