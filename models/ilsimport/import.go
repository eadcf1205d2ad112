package ilsimport

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

// The ILS import keeps the portal's copy of the library's records in step
// with the integrated library system: one file per kind of record, CSV
// with a header row or JSON Lines, keyed on the ILS's own identifiers
// (ils_id). Importing the same file twice changes nothing. docs/import.md
// describes the columns and how to produce the files from Koha and
// Evergreen.
//
// Rows are written in batches, each in its own transaction. A batch of
// records new to the portal is a plain insert: on PostgreSQL a COPY. A
// batch with known records is one upsert: on PostgreSQL an INSERT ...
// SELECT FROM unnest(arrays) ... ON CONFLICT (ils_id) DO UPDATE ... WHERE
// the row differs, whose text is the same for every batch and so is
// prepared once; on SQLite the same over a VALUES list. A batch that
// breaks a constraint is retried row by row, so that one bad row is
// reported and the others still go in. The file is read and checked in a
// goroutine of its own, one batch ahead of the writer.

// Kind names one kind of record the ILS import keeps in step.
type Kind string

// The kinds of record `carrel import` takes, as the command names them.
const (
	Patrons          Kind = "patrons"
	Loans            Kind = "loans"
	Holds            Kind = "holds"
	Fines            Kind = "fines"
	ILL              Kind = "ill"
	Reference        Kind = "reference"
	ComputerSessions Kind = "computer-sessions"
)

// Kinds lists every kind, in the order the files are best imported
// (patrons first: the other kinds name their patron).
func Kinds() []Kind {
	return []Kind{Patrons, Loans, Holds, Fines, ILL, Reference, ComputerSessions}
}

// Format is the syntax of an import file.
type Format string

// The two formats an import file may have.
const (
	FormatCSV   Format = "csv"   // a header row, then one record per row (RFC 4180)
	FormatJSONL Format = "jsonl" // one JSON object per line
)

// DefaultMaxDelete is the largest share of a kind's records a full
// snapshot may delete unless told otherwise: a truncated export must not
// erase what only the portal keeps (reading history goes with a patron).
const DefaultMaxDelete = 0.10

// DefaultBatch is how many rows go in one statement unless told
// otherwise. Every statement also updates the kept summary of each patron
// it names (summaries.go), at a cost per statement besides the cost per
// patron: a loans file went in at 49,000 rows/s in batches of 2,000, at
// 59,000 in batches of 10,000, and no faster in batches of 50,000.
const DefaultBatch = 10000

// Options says what to import and how.
type Options struct {
	Kind   Kind
	Format Format
	// Full marks the file as a complete snapshot of its kind: records of
	// that kind with an ILS id that the file does not list are deleted,
	// unless a legal hold keeps them. Refused when any line was bad.
	Full bool
	// MaxDelete is the largest share (0 to 1) of the kind's records a full
	// snapshot may delete; 0 means DefaultMaxDelete.
	MaxDelete float64
	// Strict makes the whole file one transaction that changes nothing
	// when any line is bad.
	Strict bool
	// DryRun checks every line as an import would, patrons included, and
	// writes nothing. What only the database can tell (a card number
	// another patron holds) is not checked.
	DryRun bool
	// BatchSize is how many rows go in one statement; 0 means 10,000.
	BatchSize int
	// Location is the library's time zone: a date or a time of day without
	// an offset is read in it. nil means UTC.
	Location *time.Location
	// BadLine, when set, is told of each bad line as it is found.
	BadLine func(BadLine)
	// Progress, when set, is told after each batch how far the import is.
	Progress func(Progress)
}

// Progress is how far an import has read.
type Progress struct {
	Rows  int64 // lines read
	Bytes int64 // bytes read from the file
}

// ErrBusy says another import is running against the same
// PostgreSQL database. Imports take turns: a full snapshot imported
// alongside an older one could delete what the newer one wrote.
var ErrBusy = errors.New("another import is running")

// importLock is the advisory lock an import holds on PostgreSQL.
const importLock = models.LockImport

// FileError says the file as a whole cannot be imported (no header,
// a required column missing); nothing was changed.
type FileError struct{ Msg string }

func (e *FileError) Error() string { return e.Msg }

// ---------------------------------------------------------------------
// The import.

// patronInfo is what an import needs to know of a patron it references.
type patronInfo struct {
	id   int64
	card string
}

type pendingRow struct {
	line     int64
	card     string
	ilsID    string
	patronID int64
	vals     []any
	returned bool      // a loan row with returned_at
	returnAt time.Time // when it was returned
	pin      string    // patrons only, until hashed
}

type batchCounts struct {
	inserted, updated, unchanged, toHistory, returned int64
	adopted                                           int64 // of updated: patrons made at sign-in
}

// count splits n rows written, of which existing were there before and
// affected were inserted or changed, into new, changed and unchanged.
func (c *batchCounts) count(n, existing, affected int64) {
	c.inserted = n - existing
	c.updated = affected - c.inserted
	c.unchanged = existing - c.updated
}

func (c *batchCounts) add(o batchCounts) {
	c.inserted += o.inserted
	c.updated += o.updated
	c.unchanged += o.unchanged
	c.toHistory += o.toHistory
	c.returned += o.returned
	c.adopted += o.adopted
}

type importer struct {
	s       *models.Store
	ctx     context.Context
	opts    Options
	spec    *importSpec
	db      *gorm.DB
	pg      bool
	now     time.Time
	ret     models.Retention
	patrons map[string]patronInfo
	seen    map[uint64]int64 // hash of each ils_id read → its line; the reader's alone
	seed    maphash.Seed
	res     Result
	counts  batchCounts
	dbBad   []BadLine // rows the database refused, in the batch being written
	// asyncCommits says batches were committed without waiting for the
	// disk, so the import must end with a commit that waits.
	asyncCommits bool
	strict       *gorm.DB  // the one transaction of a strict import
	raw          *sql.Conn // on PostgreSQL, the import's one connection
	// emptyAtStart names the tables that held no record with an ILS id
	// when the import began: every row of the file is new to them (the
	// file's ILS ids are distinct, and imports take turns), so there is
	// nothing to look up before inserting.
	emptyAtStart map[string]bool
}

// Import reads one file of the ILS's records of opts.Kind from r and
// brings the portal's copy in step with it: rows are inserted or updated
// by their ILS id, bad lines are reported and skipped (or, with Strict,
// roll the whole file back), and with Full the records the file no longer
// lists are deleted. The error is for failures of the database or the
// file as a whole (*FileError); bad lines are counted in the result.
func Run(ctx context.Context, s *models.Store, r io.Reader, opts Options) (res Result, err error) {
	spec, ok := importSpecs[opts.Kind]
	if !ok {
		return Result{}, fmt.Errorf("models: import: unknown kind %q", opts.Kind)
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatch
	}
	if opts.MaxDelete <= 0 {
		opts.MaxDelete = DefaultMaxDelete
	}
	start := time.Now()
	imp := &importer{
		s: s, ctx: ctx, opts: opts, spec: spec, db: s.DB.WithContext(ctx), now: s.Now(),
		seen: map[uint64]int64{}, seed: maphash.MakeSeed(),
	}
	imp.pg = models.DialectOfDB(imp.db) == models.Postgres
	if !imp.pg {
		// SQLite binds at most 32,766 values in one statement.
		imp.opts.BatchSize = min(imp.opts.BatchSize, 30000/len(spec.table.cols))
	}
	imp.res.Kind, imp.res.DryRun = opts.Kind, opts.DryRun
	defer func() {
		res = imp.res
		res.Elapsed = time.Since(start)
	}()
	if !imp.pg {
		err = imp.run(r)
		return imp.res, err
	}
	// On PostgreSQL the whole import runs on one connection: it holds the
	// import's advisory lock, and batches of new rows go in with COPY,
	// which needs the connection itself.
	err = imp.db.Connection(func(conn *gorm.DB) error {
		imp.db = conn.Session(&gorm.Session{NewDB: true})
		raw, ok := conn.Statement.ConnPool.(*sql.Conn)
		if !ok {
			return errors.New("models: import: no connection of its own")
		}
		imp.raw = raw
		if !opts.DryRun {
			var got bool
			if err := raw.QueryRowContext(context.WithoutCancel(ctx), "SELECT pg_try_advisory_lock($1)", importLock).Scan(&got); err != nil {
				return fmt.Errorf("models: import: lock: %w", err)
			}
			if !got {
				return ErrBusy
			}
			defer raw.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", importLock)
		}
		return imp.run(r)
	})
	return imp.res, err
}

// run imports the file, once the importer is set up.
func (imp *importer) run(r io.Reader) error {
	s, opts, spec, ctx := imp.s, imp.opts, imp.spec, imp.ctx
	var err error
	if imp.ret, err = s.LoadRetention(ctx); err != nil {
		return err
	}
	if opts.Kind != Patrons {
		if err := imp.loadPatrons(); err != nil {
			return err
		}
	}
	imp.emptyAtStart = map[string]bool{}
	if !opts.DryRun {
		var any bool
		q := "SELECT EXISTS (SELECT 1 FROM " + spec.table.name + " WHERE ils_id IS NOT NULL)"
		if err := imp.db.Raw(q).Scan(&any).Error; err != nil {
			return fmt.Errorf("models: import: %w", err)
		}
		imp.emptyAtStart[spec.table.name] = !any
	}
	counted := &countingReader{r: r}
	var src rowSource
	switch opts.Format {
	case FormatCSV:
		cs, notes, err := newCSVSource(bufio.NewReaderSize(counted, 1<<16), spec)
		if err != nil {
			return err
		}
		imp.res.Notes = notes
		src = cs
	case FormatJSONL:
		js := &jsonlSource{r: bufio.NewReaderSize(counted, 1<<16), spec: spec, vals: make([]string, len(spec.fields)), notes: map[string]bool{}}
		defer func() { imp.res.Notes = append(imp.res.Notes, js.noted...) }()
		src = js
	default:
		return fmt.Errorf("models: import: unknown format %q", opts.Format)
	}

	if opts.Strict && !opts.DryRun {
		imp.strict = imp.db.Begin()
		if imp.strict.Error != nil {
			return fmt.Errorf("models: import: begin: %w", imp.strict.Error)
		}
		defer func() {
			if imp.strict != nil {
				imp.strict.Rollback()
			}
		}()
	}
	// Reading and checking run one batch ahead of writing, so that the
	// file is parsed while the database writes the batch before.
	batches := make(chan parsedBatch, 1)
	stop := make(chan struct{})
	var parseErr error
	go func() {
		defer close(batches)
		parseErr = imp.parse(src, counted, batches, stop)
	}()
	var writeErr error
	for b := range batches {
		if writeErr != nil {
			continue // the reader is stopping
		}
		if writeErr = imp.writeParsed(b); writeErr != nil {
			close(stop)
		}
	}
	if writeErr != nil {
		return writeErr
	}
	if parseErr != nil {
		return parseErr
	}

	if opts.Full && !opts.DryRun {
		switch {
		case imp.res.Bad > 0:
			lines := fmt.Sprintf("%d bad lines", imp.res.Bad)
			if imp.res.Bad == 1 {
				lines = "1 bad line"
			}
			imp.res.FullRefused = "the file had " + lines + ", so it is not a complete snapshot: nothing was deleted"
		default:
			if err := imp.deleteMissing(); err != nil {
				return err
			}
		}
	}
	if imp.strict != nil {
		tx := imp.strict
		imp.strict = nil
		if imp.res.Bad > 0 {
			if err := tx.Rollback().Error; err != nil {
				return fmt.Errorf("models: import: roll back: %w", err)
			}
			imp.res.RolledBack = true
			imp.res.Deleted, imp.res.Held = 0, 0
			return nil
		}
		if err := tx.Commit().Error; err != nil {
			return fmt.Errorf("models: import: commit: %w", err)
		}
		imp.applyCounts(imp.counts)
	}
	return nil
}

// parsedBatch is a batch of checked lines on its way to the database.
type parsedBatch struct {
	rows    []*pendingRow
	bad     []BadLine
	read    int64 // lines read, good and bad
	expired int64
	bytes   int64 // bytes of the file read so far
	last    bool  // the file's last batch
}

// parse reads and checks the file, sending batches to out until the file
// ends or stop closes.
func (imp *importer) parse(src rowSource, counted *countingReader, out chan<- parsedBatch, stop <-chan struct{}) error {
	var b parsedBatch
	send := func(last bool) bool {
		b.bytes, b.last = counted.n, last
		select {
		case out <- b:
			b = parsedBatch{}
			return true
		case <-stop:
			return false
		}
	}
	for {
		line, vals, bad, ok, err := src.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		// A full batch goes once the next line is known to exist, so the
		// last batch is known to be the last.
		if len(b.rows) >= imp.opts.BatchSize || len(b.bad) >= imp.opts.BatchSize {
			if !send(false) {
				return nil
			}
		}
		b.read++
		if bad == nil {
			var (
				row     *pendingRow
				expired bool
			)
			row, expired, bad = imp.accept(line, vals)
			switch {
			case row != nil:
				b.rows = append(b.rows, row)
			case expired:
				b.expired++
			}
		}
		if bad != nil {
			b.bad = append(b.bad, *bad)
		}
	}
	send(true)
	return nil
}

// writeParsed writes one batch, reports its bad lines in the order of the
// file, and tells of the progress.
func (imp *importer) writeParsed(b parsedBatch) error {
	imp.res.Read += b.read
	imp.res.Expired += b.expired
	err := imp.flush(b.rows, b.last)
	bad := append(b.bad, imp.dbBad...)
	imp.dbBad = nil
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	for _, l := range bad {
		imp.reportBad(l)
	}
	if err != nil {
		return err
	}
	if imp.opts.Progress != nil {
		imp.opts.Progress(Progress{Rows: imp.res.Read, Bytes: b.bytes})
	}
	return nil
}

func (imp *importer) applyCounts(c batchCounts) {
	imp.res.Inserted += c.inserted
	imp.res.Updated += c.updated
	imp.res.Unchanged += c.unchanged
	imp.res.ToHistory += c.toHistory
	imp.res.Returned += c.returned
	imp.res.Adopted += c.adopted
}

func (imp *importer) reportBad(b BadLine) {
	imp.res.Bad++
	if imp.opts.BadLine != nil {
		imp.opts.BadLine(b)
	}
}

// loadPatrons reads the ILS id, internal id and card number of every
// patron the ILS knows, once, so that the rows of other kinds resolve
// their patron without a query each.
func (imp *importer) loadPatrons() error {
	imp.patrons = map[string]patronInfo{}
	rows, err := imp.db.Raw("SELECT id, ils_id, card_number FROM patrons WHERE ils_id IS NOT NULL").Rows()
	if err != nil {
		return fmt.Errorf("models: import: load patrons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p   patronInfo
			ils string
		)
		if err := rows.Scan(&p.id, &ils, &p.card); err != nil {
			return fmt.Errorf("models: import: load patrons: %w", err)
		}
		imp.patrons[ils] = p
	}
	return rows.Err()
}

// accept checks one line and returns it ready to write, or says that it
// is past its retention, or why it is bad. It runs on the reader's
// goroutine, the only one that touches seen.
func (imp *importer) accept(line int64, raw []string) (row *pendingRow, expired bool, bad *BadLine) {
	spec := imp.spec
	pr := &parsedRow{spec: spec, vals: make([]fieldValue, len(spec.fields))}
	var (
		card   string
		patron patronInfo
	)
	for i, f := range spec.fields {
		v, reason := parseField(f, raw[i], imp.opts.Location)
		if reason != "" {
			return nil, false, &BadLine{Line: line, Card: card, Field: f.name, Reason: reason}
		}
		pr.vals[i] = v
		switch f.name {
		case "card_number":
			card = v.s
		case "patron_ils_id":
			p, ok := imp.patrons[v.s]
			if !ok {
				return nil, false, &BadLine{Line: line, Field: f.name, Reason: "no patron has this ILS id (import patrons first)"}
			}
			patron, card = p, p.card
		}
	}
	if spec.check != nil {
		if bad := spec.check(pr); bad != nil {
			bad.Line, bad.Card = line, card
			return nil, false, bad
		}
	}
	id := pr.str("ils_id")
	h := maphash.String(imp.seed, id)
	if first, dup := imp.seen[h]; dup {
		return nil, false, &BadLine{Line: line, Card: card, Field: "ils_id", Reason: fmt.Sprintf("appears again (first on line %d)", first)}
	}
	imp.seen[h] = line
	if spec.expired != nil && spec.expired(pr, imp.ret, imp.now) {
		return nil, true, nil
	}
	p := &pendingRow{line: line, card: card, ilsID: id, patronID: patron.id, vals: spec.build(pr, patron.id)}
	switch spec.kind {
	case Loans:
		if pr.has("returned_at") {
			p.returned, p.returnAt = true, pr.time("returned_at")
		}
	case Patrons:
		p.pin = pr.str("pin")
	}
	return p, false, nil
}
