package models

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/carrel-library/carrel/views/i18n"
	"io"
	"reflect"
	"time"

	"gorm.io/gorm"
)

// ExportSchemaVersion is the version of the export document's shape,
// described in docs/export-schema.md. Bump it on any incompatible change.
const ExportSchemaVersion = 1

// ExportMeta is what the export says about itself.
type ExportMeta struct {
	Library       string
	PolicyVersion string
	Limits        SessionLimits
	// Words is the language of the categories' explanations (the four
	// the overview shows); English when nil. Keys and values stay as they
	// are in every language.
	Words *i18n.Tr
	// view, set by Export, is what the patron's own pages show: the
	// export leaves out the same records they do (see PatronView).
	view *PatronView
}

type exportHeader struct {
	Schema        string        `json:"schema"`
	SchemaVersion int           `json:"schema_version"`
	GeneratedAt   time.Time     `json:"generated_at"`
	Library       string        `json:"library"`
	PolicyVersion string        `json:"policy_version"`
	Patron        exportPatron  `json:"patron"`
	Choices       exportChoices `json:"privacy_choices"`
}

type exportPatron struct {
	CardNumber      string     `json:"card_number"`
	GivenName       string     `json:"given_name"`
	FamilyName      string     `json:"family_name"`
	Email           string     `json:"email"`
	Phone           string     `json:"phone"`
	PostalAddress   string     `json:"postal_address"`
	HomeBranch      string     `json:"home_branch"`
	CardExpiresOn   string     `json:"card_expires_on"`
	BorrowingStatus string     `json:"borrowing_status"`
	LastSignInAt    *time.Time `json:"last_sign_in_at"`
	CreatedAt       time.Time  `json:"record_created_at"`
}

type exportChoices struct {
	ReadingHistory bool `json:"reading_history"`
	// HistoryKeepMonths is 0 when all of the history is kept.
	HistoryKeepMonths int    `json:"reading_history_keep_months"`
	FavoritesLinked   bool   `json:"favorites_linked"`
	FavoritesNotice   string `json:"favorites_notice"`
	// Language is "" until the patron chooses one with the switch.
	Language string `json:"language"`
}

type exportCategory struct {
	Title      string `json:"title"`
	Purpose    string `json:"purpose"`
	Retention  string `json:"retention"`
	SharedWith string `json:"shared_with"`
}

// Export writes everything held about a patron as one JSON document. The
// records are streamed a row at a time from one consistent read, so
// memory stays flat however long the history is.
func (s *Store) Export(ctx context.Context, patronID int64, meta ExportMeta, out io.Writer) error {
	w := bufio.NewWriterSize(out, 32<<10)
	// One snapshot for the whole document: on PostgreSQL a read-only
	// REPEATABLE READ transaction (READ COMMITTED would let a change made
	// mid-export show half); SQLite's transaction is a snapshot already.
	var opts []*sql.TxOptions
	if DialectOfDB(s.DB) == Postgres {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var p Patron
		if err := tx.Where("id = ?", patronID).Take(&p).Error; err != nil {
			return notFound(err)
		}
		head, err := json.Marshal(exportHeader{
			Schema: "carrel-export", SchemaVersion: ExportSchemaVersion, GeneratedAt: s.Now(),
			Library: meta.Library, PolicyVersion: meta.PolicyVersion,
			Patron: exportPatron{
				CardNumber: p.CardNumber, GivenName: p.GivenName, FamilyName: p.FamilyName, Email: p.Email,
				Phone: p.Phone, PostalAddress: p.PostalAddress, HomeBranch: p.HomeBranch,
				CardExpiresOn: p.CardExpiresOn.Format("2006-01-02"), BorrowingStatus: p.BorrowingStatus,
				LastSignInAt: p.LastSignInAt, CreatedAt: p.CreatedAt,
			},
			Choices: exportChoices{p.ReadingHistoryEnabled, p.HistoryKeepMonths, p.FavoritesLinked, p.FavoritesNotice, p.Language},
		})
		if err != nil {
			return err
		}
		view, err := s.patronView(tx, patronID)
		if err != nil {
			return err
		}
		meta.view = &view
		// Open the header object again to append the categories.
		w.Write(head[:len(head)-1])
		w.WriteString(`,"categories":{`)
		first := true
		for _, c := range s.Categories() {
			if c.Table == "" {
				continue
			}
			if !first {
				w.WriteString(",")
			}
			first = false
			if meta.Words != nil {
				c = c.In(meta.Words)
			}
			x := recordScope{s: s, tx: tx, w: w, patron: p, limits: meta.Limits, view: meta.view}
			if err := x.exportCategory(c); err != nil {
				return fmt.Errorf("%s: %w", c.Key, err)
			}
		}
		w.WriteString("}}\n")
		return nil
	}, opts...)
	if err != nil {
		return fmt.Errorf("models: export: %w", err)
	}
	return w.Flush()
}

// recordScope is where a category writes its records: into the export
// (view set: leaving out what the patron's own pages do not show) or into
// a legal production (legal set: only the records of [from, end)). Each
// category's descriptor says how it writes (Category.write).
type recordScope struct {
	s      *Store
	tx     *gorm.DB
	w      *bufio.Writer
	c      *Category
	patron Patron
	limits SessionLimits
	view   *PatronView
	// legal, from and end: a legal production of the records whose time
	// falls in [from, end).
	legal     bool
	from, end time.Time
}

// hide leaves out what the patron's pages do not show: records past
// their retention that a hold they may not be told of keeps.
func (x recordScope) hide(q *gorm.DB, idCol string) *gorm.DB {
	if x.view == nil {
		return q
	}
	return x.view.HideFrom(q, x.c.Table, idCol)
}

// during keeps, in a legal production, the rows whose col falls in the
// period.
func (x recordScope) during(q *gorm.DB, col string) *gorm.DB {
	if !x.legal {
		return q
	}
	return q.Where(col+" >= ? AND "+col+" < ?", x.from.UTC(), x.end.UTC())
}

// inPeriod says whether t falls in a legal production's period (always,
// in an export).
func (x recordScope) inPeriod(t time.Time) bool {
	return !x.legal || (!t.Before(x.from) && t.Before(x.end))
}

// writeTable writes the patron's rows of the category's table, read as
// T, newest first.
func writeTable[T any](x recordScope) error {
	q := x.hide(x.tx.Model(new(T)).Where("patron_id = ?", x.patron.ID), x.c.Table+".id")
	q = x.during(q, x.c.TimeColumn)
	return streamRows[T](x.tx, x.w, q.Order(x.c.TimeColumn+" DESC").Order("id DESC"))
}

// writeKept writes the rows of a list read whole, those in the period.
func writeKept[T any](x recordScope, rows []T, at func(T) time.Time) error {
	if !x.legal {
		return writeRows(x.w, rows)
	}
	var kept []T
	for _, r := range rows {
		if x.inPeriod(at(r)) {
			kept = append(kept, r)
		}
	}
	return writeRows(x.w, kept)
}

// writeRecords writes c's records, then its parts, each as the JSON
// array the export and the legal production carry.
func (x recordScope) writeRecords(c *Category) error {
	x.c = c
	if c.write == nil {
		return fmt.Errorf("no writer for category %q", c.Slug)
	}
	if err := c.write(x); err != nil {
		return err
	}
	x.w.WriteString("]")
	for _, part := range c.Parts {
		key, _ := json.Marshal(part.Key)
		x.w.WriteString(",")
		x.w.Write(key)
		x.w.WriteString(":[")
		if part.write == nil {
			return fmt.Errorf("no writer for %s's part %q", c.Slug, part.Table)
		}
		if err := part.write(x); err != nil {
			return err
		}
		x.w.WriteString("]")
	}
	x.w.WriteString("}")
	return nil
}

func (x recordScope) exportCategory(c Category) error {
	w := x.w
	key, _ := json.Marshal(c.Key)
	info, _ := json.Marshal(exportCategory{c.Title, c.Purpose, c.Retention, c.SharedWith})
	w.Write(key)
	w.WriteString(":")
	w.Write(info[:len(info)-1])
	w.WriteString(`,"records":[`)
	return x.writeRecords(&c)
}

// streamRows encodes each row of q as JSON, separated by commas, without
// holding more than one row in memory.
func streamRows[T any](tx *gorm.DB, w *bufio.Writer, q *gorm.DB) error {
	rows, err := q.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	// The columns are matched to the struct's fields once; each row is
	// then scanned straight into them. (gorm's ScanRows redoes that work
	// for every row, which was over half the export's time.)
	var rec T
	dest, err := scanTargets(tx, rows, &rec)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for n := 0; rows.Next(); n++ {
		var zero T
		rec = zero
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if n > 0 {
			w.WriteString(",")
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanTargets returns, for each column of rows, a pointer into *rec's
// field of that column, or a place to discard a column rec has no field
// for.
func scanTargets(tx *gorm.DB, rows *sql.Rows, rec any) ([]any, error) {
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(rec); err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(rec).Elem()
	dest := make([]any, len(cols))
	for i, col := range cols {
		if f := stmt.Schema.LookUpField(col); f != nil {
			dest[i] = v.FieldByIndex(f.StructField.Index).Addr().Interface()
		} else {
			dest[i] = new(any)
		}
	}
	return dest, nil
}

func writeRows[T any](w *bufio.Writer, rows []T) error {
	enc := json.NewEncoder(w)
	for i, r := range rows {
		if i > 0 {
			w.WriteString(",")
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
