package models_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			p := createPatron(t, s, "21000000000001", "4821")

			before, err := models.AppliedMigrations(ctx, db.Gorm)
			if err != nil {
				t.Fatalf("AppliedMigrations: %v", err)
			}
			if !slices.Contains(before, "202611270001_initial") {
				t.Fatalf("AppliedMigrations = %v, want the initial step among them", before)
			}
			tablesBefore, err := db.Gorm.Migrator().GetTables()
			if err != nil {
				t.Fatalf("GetTables: %v", err)
			}
			slices.Sort(tablesBefore)

			for run := 2; run <= 3; run++ {
				if err := models.Migrate(ctx, db.Gorm); err != nil {
					t.Fatalf("Migrate, run %d: %v", run, err)
				}
			}

			after, err := models.AppliedMigrations(ctx, db.Gorm)
			if err != nil {
				t.Fatalf("AppliedMigrations after re-running: %v", err)
			}
			if !slices.Equal(before, after) {
				t.Errorf("AppliedMigrations changed:\n before %v\n after  %v", before, after)
			}
			tablesAfter, err := db.Gorm.Migrator().GetTables()
			if err != nil {
				t.Fatalf("GetTables: %v", err)
			}
			slices.Sort(tablesAfter)
			if !slices.Equal(tablesBefore, tablesAfter) {
				t.Errorf("tables changed:\n before %v\n after  %v", tablesBefore, tablesAfter)
			}
			if got, err := s.Patron(ctx, p.ID); err != nil || got.CardNumber != p.CardNumber {
				t.Errorf("patron after re-migrating = %+v, %v; want it untouched", got, err)
			}
		})
	}
}

// A database that a newer release has migrated must not be run by an older
// one, which does not know what the newer steps changed.
func TestMigrateRefusesUnknownSteps(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if err := db.Gorm.WithContext(ctx).Exec(
				"INSERT INTO migrations (id) VALUES (?)", "209912310001_from_the_future").Error; err != nil {
				t.Fatalf("insert migration id: %v", err)
			}
			err := models.Migrate(ctx, db.Gorm)
			if !errors.Is(err, gormigrate.ErrUnknownPastMigration) {
				t.Errorf("Migrate over an unknown step = %v, want ErrUnknownPastMigration", err)
			}
		})
	}
}

// goKind and dbKind sort Go field types and database column types into the
// few families that must agree.
func goKind(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return "time"
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "int"
	}
	return "other:" + t.String()
}

func dbKind(typeName string) string {
	n := strings.ToLower(typeName)
	switch {
	case strings.Contains(n, "timestamp"), strings.Contains(n, "datetime"):
		return "time"
	case strings.Contains(n, "bool"):
		return "bool"
	case strings.Contains(n, "int"):
		return "int"
	case strings.Contains(n, "text"), strings.Contains(n, "char"):
		return "text"
	}
	return "other:" + n
}

func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			g := db.Gorm.WithContext(t.Context())
			m := g.Migrator()
			modelTables := map[string]bool{}
			for _, model := range models.AllModels() {
				stmt := &gorm.Statement{DB: g}
				if err := stmt.Parse(model); err != nil {
					t.Fatalf("parse %T: %v", model, err)
				}
				table := stmt.Schema.Table
				if modelTables[table] {
					t.Errorf("two models share table %s", table)
				}
				modelTables[table] = true
				if !m.HasTable(model) {
					t.Errorf("%T: table %s does not exist", model, table)
					continue
				}

				fields := map[string]*schema.Field{}
				for _, f := range stmt.Schema.Fields {
					if f.DBName == "" {
						continue
					}
					fields[f.DBName] = f
					if !m.HasColumn(model, f.DBName) {
						t.Errorf("%T.%s: column %s.%s does not exist", model, f.Name, table, f.DBName)
					}
				}

				cols, err := m.ColumnTypes(model)
				if err != nil {
					t.Fatalf("ColumnTypes(%s): %v", table, err)
				}
				nullability := nullableColumns(t, g, table)
				columns := map[string]bool{}
				var names []string
				for _, c := range cols {
					columns[c.Name()] = true
					names = append(names, c.Name())
					f, ok := fields[c.Name()]
					if !ok {
						t.Errorf("column %s.%s has no field in %T", table, c.Name(), model)
						continue
					}
					if gk, dk := goKind(f.IndirectFieldType), dbKind(c.DatabaseTypeName()); gk != dk {
						t.Errorf("%T.%s is %s (%s) but column %s.%s is %s (%s)", model, f.Name,
							f.FieldType, gk, table, c.Name(), c.DatabaseTypeName(), dk)
					}
					// A column that may hold NULL needs a pointer field, or
					// reading a NULL fails; a NOT NULL column behind a pointer
					// field would fail on write instead.
					if f.PrimaryKey {
						continue
					}
					nullable, ok := nullability[c.Name()]
					if !ok {
						t.Errorf("column %s.%s: nullability unknown", table, c.Name())
						continue
					}
					if isPtr := f.FieldType.Kind() == reflect.Pointer; nullable != isPtr {
						t.Errorf("%T.%s is %s but column %s.%s nullable = %v", model, f.Name, f.FieldType,
							table, c.Name(), nullable)
					}
				}
				// HasColumn on SQLite only searches the CREATE TABLE text,
				// so check against the real column list too.
				for name, f := range fields {
					if !columns[name] {
						t.Errorf("%T.%s: no column %s.%s among %v", model, f.Name, table, name, names)
					}
				}
			}

			// The reverse: no table is left without a model.
			tables, err := m.GetTables()
			if err != nil {
				t.Fatalf("GetTables: %v", err)
			}
			for _, table := range tables {
				switch {
				case modelTables[table]:
				case table == "migrations", table == "sqlite_sequence":
				default:
					t.Errorf("table %s has no model in AllModels", table)
				}
			}
			for table := range modelTables {
				if !slices.Contains(tables, table) {
					t.Errorf("GetTables = %v, missing %s", tables, table)
				}
			}
		})
	}
}

// nullableColumns reads which columns of table may hold NULL from the
// engine's own catalog. (gorm's SQLite migrator guesses it from the CREATE
// TABLE text and skips any column whose name starts with "check", such as
// checked_out_at.)
func nullableColumns(t *testing.T, db *gorm.DB, table string) map[string]bool {
	t.Helper()
	var rows []struct {
		Name     string
		Nullable bool
	}
	q := `SELECT name, "notnull" = 0 AS nullable FROM pragma_table_info(?)`
	if models.DialectOfDB(db) == models.Postgres {
		q = `SELECT column_name AS name, is_nullable = 'YES' AS nullable FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ?`
	}
	if err := db.Raw(q, table).Scan(&rows).Error; err != nil {
		t.Fatalf("read columns of %s: %v", table, err)
	}
	if len(rows) == 0 {
		t.Fatalf("no columns found for %s", table)
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[r.Name] = r.Nullable
	}
	return out
}

func tableOf(t *testing.T, db *gorm.DB, model any) string {
	t.Helper()
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		t.Fatalf("parse %T: %v", model, err)
	}
	return stmt.Schema.Table
}

func TestDeletingAPatronCascades(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			g := db.Gorm.WithContext(ctx)
			s := modeltest.NewStore(t, db.Gorm, clock)
			gone := createPatron(t, s, "21000000000001", "1111")
			kept := createPatron(t, s, "21000000000002", "2222")
			staff := models.Staff{Username: "assistant", DisplayName: "A. Assistant",
				Role: models.RoleAssistant, PasswordHash: "v1$none$none"}
			list := models.MailingList{Slug: "news", Name: "News", ConsentText: "Send me the news."}
			if err := g.Create(&staff).Error; err != nil {
				t.Fatalf("create staff: %v", err)
			}
			if err := g.Create(&list).Error; err != nil {
				t.Fatalf("create list: %v", err)
			}

			n := s.Now()
			rowsFor := func(id int64) []any {
				return []any{
					&models.Loan{PatronID: id, Title: "Kindred", CheckedOutAt: n, DueAt: n.AddDate(0, 0, 21)},
					&models.HistoryEntry{PatronID: id, Title: "Dawn", CheckedOutAt: n.AddDate(0, -1, 0), ReturnedAt: n},
					&models.Hold{PatronID: id, Title: "Wild Seed", Status: models.HoldWaiting, PlacedAt: n},
					&models.Fine{PatronID: id, Description: "Overdue", AmountCents: 25,
						Status: models.FineOutstanding, AssessedAt: n},
					&models.ILLRequest{PatronID: id, Title: "Fledgling", Status: models.ILLRequested, RequestedAt: n},
					&models.ReferenceQuestion{PatronID: id, Question: "Do you hold local maps?", AskedAt: n},
					&models.ComputerSession{PatronID: id, Branch: "Central", Station: "PC-3", StartedAt: n},
					&models.Subscription{PatronID: id, ListID: list.ID, SubscribedAt: n},
					&models.Favorite{PatronID: id, Kind: models.FavoriteAuthor, Display: "Butler, Octavia E.",
						Normalized: models.NormalizeFavorite(models.FavoriteAuthor, "Butler, Octavia E."), CreatedAt: n},
					&models.Notification{PatronID: id, Title: "Parable of the Sower", CreatedAt: n},
					&models.ConsentEntry{PatronID: id, Subject: models.ConsentReadingHistory, OldValue: "off",
						NewValue: "on", Actor: models.ActorPatron, Channel: models.ChannelWeb, TextVersion: "1"},
					&models.Session{TokenHash: models.HashToken(models.RandomToken()), PatronID: &id,
						CSRFToken: "csrf", Data: "{}"},
					// A staff member assisting the patron: the assisted
					// session goes with the patron too.
					&models.Session{TokenHash: models.HashToken(models.RandomToken()), StaffID: &staff.ID,
						AssistPatronID: &id, CSRFToken: "csrf", Data: "{}"},
				}
			}

			// Every patron table with a foreign key is covered here: a new
			// one must be added to this test.
			covered := map[string]bool{}
			for _, r := range rowsFor(0) {
				covered[tableOf(t, g, r)] = true
			}
			for _, m := range models.PatronModels() {
				table := tableOf(t, g, m)
				if table == "audit_entries" {
					continue // no foreign key, by design
				}
				if !covered[table] {
					t.Errorf("patron table %s is not covered by this test", table)
				}
			}

			for _, p := range []models.Patron{gone, kept} {
				for _, r := range rowsFor(p.ID) {
					if err := g.Create(r).Error; err != nil {
						t.Fatalf("create %T: %v", r, err)
					}
				}
				err := g.Transaction(func(tx *gorm.DB) error {
					return s.AppendAudit(tx, &models.AuditEntry{StaffID: &staff.ID, PatronID: &p.ID,
						Action: models.AuditPatronLookup, Reason: "patron at the desk"})
				})
				if err != nil {
					t.Fatalf("AppendAudit: %v", err)
				}
			}

			held := func(id int64) map[string]int64 {
				out := map[string]int64{}
				for table := range covered {
					where := "patron_id = ?"
					args := []any{id}
					if table == "sessions" {
						where, args = "patron_id = ? OR assist_patron_id = ?", []any{id, id}
					}
					out[table] = rowsWhere(t, g, table, where, args...)
				}
				return out
			}
			for table, n := range held(gone.ID) {
				if n == 0 {
					t.Fatalf("before deletion, %s holds no row for the patron", table)
				}
			}
			keptBefore := held(kept.ID)

			if err := g.Where("id = ?", gone.ID).Delete(&models.Patron{}).Error; err != nil {
				t.Fatalf("delete patron: %v", err)
			}

			for table, n := range held(gone.ID) {
				if n != 0 {
					t.Errorf("after deletion, %s still holds %d rows for the patron", table, n)
				}
			}
			for table, n := range held(kept.ID) {
				if n != keptBefore[table] {
					t.Errorf("%s rows of the other patron: %d, want %d", table, n, keptBefore[table])
				}
			}
			if n := rowsWhere(t, g, "audit_entries", "patron_id = ?", gone.ID); n != 1 {
				t.Errorf("audit entries naming the deleted patron: %d, want 1 (audit outlives the patron)", n)
			}
			if n := rowsWhere(t, g, "sessions", "staff_id = ?", staff.ID); n != 1 {
				t.Errorf("staff sessions left: %d, want 1 (the one assisting the other patron)", n)
			}
			if n := rowsWhere(t, g, "staff", "id = ?", staff.ID); n != 1 {
				t.Errorf("staff rows: %d, want the assisting staff member kept", n)
			}
			if n := rowsWhere(t, g, "mailing_lists", "id = ?", list.ID); n != 1 {
				t.Errorf("mailing list rows: %d, want the list kept", n)
			}
			if res, err := s.VerifyAudit(t.Context(), nil, "test"); !res.Intact() || res.Checked != 2 || err != nil {
				t.Errorf("VerifyAudit = %+v, %v; want intact, 2 checked", res, err)
			}

			// The foreign keys are enforced, not just declared.
			orphan := &models.Loan{PatronID: gone.ID, Title: "Orphan", CheckedOutAt: n, DueAt: n}
			if err := g.Create(orphan).Error; !errors.Is(err, gorm.ErrForeignKeyViolated) {
				t.Errorf("loan for a deleted patron: err = %v, want ErrForeignKeyViolated", err)
			}
		})
	}
}

func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, tc := range []struct{ name, url string }{
		{"file path", filepath.Join(t.TempDir(), "plain", "carrel.db")},
		{"sqlite:// URL", "sqlite://" + filepath.Join(t.TempDir(), "prefixed", "carrel.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := models.Open(ctx, tc.url, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() {
				if sqlDB, err := db.DB(); err == nil {
					sqlDB.Close()
				}
			})
			if d := models.DialectOfDB(db); d != models.SQLite {
				t.Fatalf("DialectOfDB = %s, want sqlite", d)
			}
			for _, tc := range []struct{ pragma, want string }{
				{"foreign_keys", "1"},
				{"journal_mode", "wal"},
				{"busy_timeout", "10000"},
				{"synchronous", "1"}, // NORMAL
			} {
				var got string
				if err := db.WithContext(ctx).Raw("PRAGMA " + tc.pragma).Scan(&got).Error; err != nil {
					t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
				}
				if strings.ToLower(got) != tc.want {
					t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
				}
			}
		})
	}
}

func TestUniqueConstraints(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			g := db.Gorm.WithContext(t.Context())
			s := modeltest.NewStore(t, db.Gorm, clock)
			p := createPatron(t, s, "21000000000001", "1111")
			list := models.MailingList{Slug: "news", Name: "News", ConsentText: "Send me the news."}
			if err := g.Create(&list).Error; err != nil {
				t.Fatalf("create list: %v", err)
			}
			n := s.Now()
			patron := func(card string, ils *string) *models.Patron {
				return &models.Patron{CardNumber: card, ILSID: ils, PINHash: "v1$x$y", FamilyName: "Doe",
					CardExpiresOn: n, BorrowingStatus: models.StatusActive, FavoritesNotice: "none"}
			}

			cards := 0
			// Each case makes a row from a key: the same key twice must
			// collide, and a different key must not.
			cases := []struct {
				name string
				row  func(key string) any
			}{
				{"patron card number", func(k string) any { return patron("2100000000"+k, nil) }},
				{"patron ILS id", func(k string) any {
					cards++ // a card of its own, so only the ILS id collides
					return patron(fmt.Sprintf("220000000000%02d", cards), &k)
				}},
				{"staff username", func(k string) any {
					return &models.Staff{Username: "user" + k, DisplayName: "U", Role: models.RoleAdmin, PasswordHash: "h"}
				}},
				{"mailing list slug", func(k string) any {
					return &models.MailingList{Slug: "list-" + k, Name: "L", ConsentText: "yes"}
				}},
				{"loan ILS id", func(k string) any {
					return &models.Loan{PatronID: p.ID, ILSID: &k, Title: "T", CheckedOutAt: n, DueAt: n}
				}},
				{"one subscription per patron and list", func(k string) any {
					owner := p.ID
					if k == "2" {
						owner = createPatron(t, s, "21000000000099", "9999").ID
					}
					return &models.Subscription{PatronID: owner, ListID: list.ID, SubscribedAt: n}
				}},
				{"favorite per patron, kind and normalized form", func(k string) any {
					return &models.Favorite{PatronID: p.ID, Kind: models.FavoriteSubject, Display: "Maps " + k,
						Normalized: "maps " + k, CreatedAt: n}
				}},
				{"session token hash", func(k string) any {
					return &models.Session{TokenHash: models.HashToken(k), PatronID: &p.ID, CSRFToken: "c"}
				}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if err := g.Create(tc.row("1")).Error; err != nil {
						t.Fatalf("first row: %v", err)
					}
					err := g.Create(tc.row("1")).Error
					if !errors.Is(err, gorm.ErrDuplicatedKey) {
						t.Errorf("duplicate row: err = %v, want gorm.ErrDuplicatedKey", err)
					}
					if err := g.Create(tc.row("2")).Error; err != nil {
						t.Errorf("row with another key: %v", err)
					}
				})
			}
			if got := rowsWhere(t, g, "patrons", "card_number = ?", p.CardNumber); got != 1 {
				t.Errorf("patrons with card %s: %d, want 1", p.CardNumber, got)
			}
		})
	}
}
