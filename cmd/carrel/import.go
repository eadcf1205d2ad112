package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/carrel-library/carrel/models/ilsimport"
)

// importStderr is where bad lines, notes and the progress bar go; tests
// replace it.
var importStderr io.Writer = os.Stderr

// importHelp is what `carrel import --help` prints.
const importHelp = `Usage: carrel import [settings] KIND FILE [flags]

Keeps the portal in step with the library's ILS. Records are matched on the
ILS's own identifiers (ils_id): importing the same file twice changes nothing.

KIND is one of (import patrons first: the others name their patron):
  patrons, loans, holds, fines, ill, reference, computer-sessions

FILE is CSV with a header row (.csv) or JSON Lines (.jsonl, .ndjson), or -
for standard input (then give --format). The columns of each kind, and how to
export them from Koha or Evergreen, are in docs/import.md.

Flags (before or after KIND and FILE, like the settings such as --database-url):
  --format csv|jsonl  the file's format (default: from its extension)
  --full              FILE lists every record of its kind: delete those it no
                      longer lists (a patron goes with all their records),
                      except under a legal hold. Refused, deleting nothing,
                      when any line is bad.
  --max-delete PCT    with --full, refuse to delete more than PCT percent of
                      the kind's records (default 10)
  --strict            one transaction: any bad line and nothing changes
  --dry-run           check every line, write nothing
  --report FILE       also write the bad lines and the summary to FILE
  --batch N           rows per statement (default 10000)

Bad lines are reported on standard error with their line number and reason
("line 14: card 21000000000009: due_at: not a date ..."), never with a PIN;
the good lines go in. A progress bar shows on a terminal; a one-line summary
ends every run.

Exit codes: 0 every line went in; 1 a line was bad, a full snapshot was
refused or the import failed; 2 a usage error.
`

// importCmd imports one file of the ILS's records.
func importCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("carrel import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "", "csv or jsonl")
	full := fs.Bool("full", false, "the file is a complete snapshot")
	maxDelete := fs.Float64("max-delete", ilsimport.DefaultMaxDelete*100, "percent")
	strict := fs.Bool("strict", false, "all or nothing")
	dryRun := fs.Bool("dry-run", false, "check, write nothing")
	reportPath := fs.String("report", "", "report file")
	batch := fs.Int("batch", ilsimport.DefaultBatch, "rows per statement")
	// Flags may come before or after KIND and FILE.
	pos, err := parseArgs(fs, args, out, importHelp, len(args))
	if err != nil {
		return err
	}
	if len(pos) == 1 && pos[0] == "help" {
		fmt.Fprint(out, importHelp)
		return nil
	}
	if len(pos) > 2 {
		return &configError{fmt.Sprintf("import: usage: carrel import KIND FILE [flags]: %q is one argument too many (see carrel import --help)", pos[2])}
	} else if len(pos) != 2 {
		return &configError{"import: usage: carrel import KIND FILE [flags] (see carrel import --help)"}
	}
	kind, path := ilsimport.Kind(pos[0]), pos[1]
	if _, ok := ilsimport.Columns(kind); !ok {
		var kinds []string
		for _, k := range ilsimport.Kinds() {
			kinds = append(kinds, string(k))
		}
		return &configError{fmt.Sprintf("import: %q is not a kind of record: use one of %s", kind, strings.Join(kinds, ", "))}
	}
	f, err := importFormat(*format, path)
	if err != nil {
		return err
	}
	if *maxDelete <= 0 || *maxDelete > 100 {
		return &configError{"import: --max-delete is a percentage above 0, up to 100 (to delete nothing, leave out --full)"}
	}
	if *batch < 1 || *batch > 10000 {
		return &configError{"import: --batch is a number of rows from 1 to 10000"}
	}
	if *full && *dryRun {
		return &configError{"import: --dry-run checks lines only; it cannot tell what --full would delete"}
	}

	var in io.Reader = stdin
	var size int64 = -1
	if path != "-" {
		file, err := os.Open(path) // #nosec G304 -- the operator names the file to import
		if err != nil {
			return &configError{"import: " + err.Error()}
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = file
	}
	var report io.Writer = io.Discard
	if *reportPath != "" {
		// The report names card numbers: readable by its owner only.
		rf, err := os.OpenFile(*reportPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return &configError{"import: --report: " + err.Error()}
		}
		defer rf.Close()
		report = rf
	}

	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	bar := newImportBar(importStderr, kind, size)
	say := func(line string) {
		if bar != nil {
			_ = bar.Clear()
		}
		fmt.Fprintln(importStderr, line)
		fmt.Fprintln(report, line)
	}
	opts := ilsimport.Options{
		Kind: kind, Format: f, Full: *full, MaxDelete: *maxDelete / 100, Strict: *strict, DryRun: *dryRun,
		BatchSize: *batch, Location: c.Web.Location,
		BadLine: func(b ilsimport.BadLine) { say(b.String()) },
	}
	if bar != nil {
		started := time.Now()
		opts.Progress = func(p ilsimport.Progress) {
			rate := float64(p.Rows) / max(time.Since(started).Seconds(), 0.001)
			bar.Describe(fmt.Sprintf("%s: %d rows, %.0f rows/s", kind, p.Rows, rate))
			if size >= 0 {
				_ = bar.Set64(p.Bytes)
			} else {
				_ = bar.Add(0)
			}
		}
	}
	res, err := ilsimport.Run(ctx, store, in, opts)
	if bar != nil {
		_ = bar.Finish()
		_ = bar.Clear()
	}
	if errors.Is(err, ilsimport.ErrBusy) {
		return errors.New("another import is running on this database: nothing was read; try again when it ends")
	}
	var fe *ilsimport.FileError
	if errors.As(err, &fe) {
		fmt.Fprintln(report, fe.Msg)
		return fmt.Errorf("%s: %s", path, fe.Msg)
	}
	for _, n := range res.Notes {
		say("note: " + n)
	}
	fmt.Fprintln(out, res.Summary())
	fmt.Fprintln(report, res.Summary())
	switch {
	case err != nil:
		if *strict {
			return fmt.Errorf("import stopped, nothing was changed: %w", err)
		}
		return fmt.Errorf("import stopped; the rows counted above went in: %w", err)
	case res.Bad > 0 && res.RolledBack:
		return fmt.Errorf("%s, so nothing was changed (--strict)", plural(res.Bad, "bad line"))
	case res.Bad > 0 && res.FullRefused != "":
		return fmt.Errorf("%s: the good lines went in, but %s", plural(res.Bad, "bad line"), res.FullRefused)
	case res.Bad > 0:
		return fmt.Errorf("%s: the good lines went in", plural(res.Bad, "bad line"))
	case res.FullRefused != "":
		return errors.New("full snapshot refused: " + res.FullRefused)
	}
	return nil
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatInt(n, 10) + " " + what + "s"
}

// importFormat is the --format flag, or else the file's extension.
func importFormat(flagValue, path string) (ilsimport.Format, error) {
	v := strings.ToLower(flagValue)
	if v == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			v = "csv"
		case ".jsonl", ".ndjson":
			v = "jsonl"
		default:
			return "", &configError{"import: cannot tell the format of " + path + " from its name: give --format csv or --format jsonl"}
		}
	}
	switch v {
	case "csv":
		return ilsimport.FormatCSV, nil
	case "jsonl", "ndjson":
		return ilsimport.FormatJSONL, nil
	}
	return "", &configError{"import: --format is csv or jsonl"}
}

// newImportBar is a progress bar on w when w is a terminal, else nil: a
// bar in a log file or a pipe is noise. Its total is the file's size, for
// the time left; its description carries the rows and rows per second.
func newImportBar(w io.Writer, kind ilsimport.Kind, size int64) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(string(kind)),
		progressbar.OptionShowBytes(size >= 0),
		progressbar.OptionSetPredictTime(size >= 0),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}
