// Command carrel is the Carrel privacy portal: one binary that serves the
// portal and runs its maintenance tasks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the library's time zone must resolve on minimal hosts too

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/jobs"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/carrel-library/carrel/web"
	"gorm.io/gorm"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand of carrel.
type command struct {
	name, summary string
	run           func(ctx context.Context, c *config, args []string, out io.Writer) error
	// subs maps each subcommand to its usage, printed by -h and --help;
	// a subcommand not in it is refused.
	subs map[string]string
}

func commands() []command {
	return []command{
		{"serve", "serve the portal (migrates the database first)", serve, nil},
		{"migrate", "apply database migrations and list them (--dry-run lists the pending ones, changing nothing)", migrateCmd, nil},
		{"backup", "backup FILE: a consistent copy of the SQLite database while the portal runs (PostgreSQL: says how to use pg_dump)", backupCmd, nil},
		{"restore", "restore FILE: put a backup made by carrel backup into an empty data folder", restoreCmd, nil},
		{"doctor", "check the settings and what they point at (keys, database, migrations, SMTP, ILS, clock, public URL); exit 1 if anything failed", doctorCmd, nil},
		{"seed", "load demo data: carrel seed --demo", seed, nil},
		{"staff", "manage staff accounts: staff add --username U --role R [--name N] | disable U | reset-password U | reset-2fa U", staffCmd, staffUsage},
		{"audit", "audit verify [--checkpoint FILE]: check the audit log's keyed chain | audit checkpoint: print a signed checkpoint", auditCmd, auditUsage},
		{"lists", "lists unsubscribe-url --card N --list SLUG | lists export SLUG (CSV, audited)", listsCmd, listsUsage},
		{"opac", "opac add --id ID --origin URL | rotate ID | retire-key KID | mint --id ID --card N [--to P] | list", opacCmd, opacUsage},
		{"apikey", "keys for POST /api/arrivals: apikey add --name N (printed once) | list | revoke N", apikeyCmd, apikeyUsage},
		{"import", "keep in step with the ILS: import KIND FILE [--full] [--strict] (KIND: patrons, loans, holds, ...; see import --help)", importCmd, nil},
		{"purge", "delete what the retention schedule lets go (--dry-run shows what would go)", purgeCmd, nil},
		{"digests", "digests send: assemble and send the new-arrival emails due now | digests status", digestsCmd, digestsUsage},
		{"keygen", "print a new random secret key for CARREL_SECRET_KEYS (--file FILE: write it there, once)", keygen, nil},
		{"version", "print the version, the commit and date it was built from, and the Go version", printVersion, nil},
		{"help", "list the commands and settings", nil, nil},
	}
}

// commandHelp holds the longer help of the commands that have one,
// printed by `carrel COMMAND --help`.
var commandHelp = map[string]string{
	"import": importHelp, "audit": auditHelp, "purge": purgeHelp, "doctor": doctorHelp, "keygen": keygenHelp,
	"backup": backupHelp, "restore": restoreHelp, "migrate": migrateHelp,
}

// errHelpShown reports that a command printed its usage for -h or --help;
// run turns it into exit 0.
var errHelpShown = errors.New("help shown")

// parseFlags parses a command's flags and is the one place -h and --help
// are answered: usage, then the flags it does not describe itself (it has
// no "Flags" section), go to out and run exits 0, where the flag package
// alone would print "flag: help requested" and exit 2. Any other parse
// error is a usage error naming the command.
func parseFlags(fs *flag.FlagSet, args []string, out io.Writer, usage string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(out, usage)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags && !strings.Contains(usage, "\nFlags") {
			fmt.Fprintln(out, "\nFlags:")
			fs.SetOutput(out)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
		return errHelpShown
	} else if err != nil {
		name := strings.TrimPrefix(fs.Name(), "carrel ")
		return &configError{fmt.Sprintf("%s: %v (see carrel %s --help)", name, err, name)}
	}
	return nil
}

// parseArgs parses a command's flags, before or after its other
// arguments (import KIND FILE --full, staff disable U --help), and returns
// those arguments: more than max of them is a usage error naming the
// first one too many, never ignored (purge now would have purged). After
// "--" everything is an argument.
func parseArgs(fs *flag.FlagSet, args []string, out io.Writer, usage string, max int) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := parseFlags(fs, rest, out, usage); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" {
			pos = append(pos, left...)
			break
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
	if len(pos) > max {
		name := strings.TrimPrefix(fs.Name(), "carrel ")
		return nil, &configError{fmt.Sprintf("%s: unexpected argument %q (see carrel %s --help)", name, pos[max], name)}
	}
	return pos, nil
}

// noArgs refuses any flag or argument of a command that takes none but
// the settings (seed, keygen), naming it, and answers -h and --help.
func noArgs(name string, args []string, out io.Writer) error {
	for _, c := range commands() {
		if c.name == name {
			fs := flag.NewFlagSet("carrel "+name, flag.ContinueOnError)
			_, err := parseArgs(fs, args, out, commandUsage(c), 0)
			return err
		}
	}
	return nil
}

// subcommand splits SUB off a command's arguments and starts its FlagSet;
// a SUB without a usage in subs is refused, so every reachable subcommand
// has one.
func subcommand(name string, args []string, subs map[string]string) (sub string, fs *flag.FlagSet, rest []string, err error) {
	if len(args) == 0 || subs[args[0]] == "" {
		return "", nil, nil, &configError{fmt.Sprintf("%s needs a subcommand: %s (usage: carrel %s --help)", name, strings.Join(slices.Sorted(maps.Keys(subs)), ", "), name)}
	}
	return args[0], flag.NewFlagSet("carrel "+name+" "+args[0], flag.ContinueOnError), args[1:], nil
}

// commandUsage is what `carrel NAME --help` prints.
func commandUsage(c command) string {
	if help, ok := commandHelp[c.name]; ok {
		return help
	}
	var b strings.Builder
	if c.subs == nil {
		fmt.Fprintf(&b, "Usage: carrel %s [settings]\n\n%s\n", c.name, c.summary)
	} else {
		fmt.Fprintf(&b, "Usage: carrel %s [settings] SUBCOMMAND\n\n%s\n\nSubcommands (carrel %s SUBCOMMAND --help for each):\n", c.name, c.summary, c.name)
		for _, sub := range slices.Sorted(maps.Keys(c.subs)) {
			first, _, _ := strings.Cut(strings.TrimPrefix(c.subs[sub], "Usage: "), "\n")
			fmt.Fprintf(&b, "  %s\n", first)
		}
	}
	b.WriteString("\nFlags: the settings, listed by carrel help.\n")
	return b.String()
}

// run executes one subcommand and returns the process exit code: 0 on
// success, 1 when the work failed, 2 for a usage or configuration error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, args := args[0], args[1:]
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == name {
			cmd = &c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "carrel: unknown command %q (see carrel help)\n", name)
		return 2
	}
	fs := flag.NewFlagSet("carrel "+name, flag.ContinueOnError)
	vals := registerSettings(fs)
	args, own := splitSettings(fs, args)
	if err := parseFlags(fs, args, stdout, commandUsage(*cmd)); errors.Is(err, errHelpShown) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "carrel: %v\n", err)
		return 2
	}
	cfg, err := parseConfig(vals)
	if err != nil {
		fmt.Fprintf(stderr, "carrel: %v\n", err)
		return 2
	}
	if err := cmd.run(ctx, cfg, own, stdout); errors.Is(err, errHelpShown) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "carrel %s: %v\n", name, err)
		var ce *configError
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	return 0
}

// splitSettings separates a command's arguments into the settings' flags
// (fs's: --database-url URL, --demo, anywhere among them) and the
// command's own arguments and flags (purge --dry-run --batch N, staff add
// --username U), each kept in order, so that neither parser meets the
// other's flags. -h and --help are the settings' (the command's usage)
// until the command's own arguments begin (staff add --help is the
// subcommand's).
func splitSettings(fs *flag.FlagSet, args []string) (settings, own []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return settings, append(own, args[i:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-") || a == "-":
			own = append(own, a)
		case name == "h" || name == "help":
			if len(own) == 0 {
				settings = append(settings, a)
			} else {
				own = append(own, a)
			}
		case fs.Lookup(name) != nil:
			settings = append(settings, a)
			if b, ok := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) && i+1 < len(args) {
				i++
				settings = append(settings, args[i])
			}
		default:
			own = append(own, a)
		}
	}
	return settings, own
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "carrel: the library privacy portal")
	fmt.Fprintln(w, "\nUsage: carrel COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nSettings (each flag's environment variable in brackets; flags win):")
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  --%-18s %s%s [$%s]\n", s.flag, s.help, def, s.env)
	}
	for _, e := range envOnly {
		fmt.Fprintf(w, "  %s  %s\n", e.env, e.help)
	}
}

func newLogger(c *config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// openStore opens the database and builds the Store, for the commands
// other than serve: an empty database gets its tables (a first install),
// but one an older release made is refused, never migrated behind the
// operator's back, so that a dry run or a check changes nothing and,
// during a rolling upgrade, a command run with the new binary does not
// lock the old instances out (an older binary refuses a database with
// steps it does not know). carrel migrate and carrel serve migrate it
// (openMigratedStore).
func openStore(ctx context.Context, c *config) (*models.Store, error) {
	return openDatabase(ctx, c, false)
}

// openMigratedStore opens and migrates the database and builds the Store:
// serve, and seed (demo data, into a database of its own).
func openMigratedStore(ctx context.Context, c *config) (*models.Store, error) {
	return openDatabase(ctx, c, true)
}

func openDatabase(ctx context.Context, c *config, migrate bool) (*models.Store, error) {
	keys, err := c.loadKeys()
	if err != nil {
		return nil, err
	}
	db, err := models.Open(ctx, c.DatabaseURL, models.SystemClock{})
	if err != nil {
		return nil, err
	}
	if !migrate {
		err = schemaCurrent(ctx, db)
		migrate = errors.Is(err, errEmptyDatabase)
	}
	if migrate {
		err = models.Migrate(ctx, db)
	}
	if err != nil {
		models.CloseDB(db)
		return nil, err
	}
	store, err := models.NewStore(db, models.SystemClock{}, keys, 0)
	if err != nil {
		return nil, err
	}
	store.ArrivalLinkOrigins = c.arrivalOrigins
	store.StaffTOTP = c.Web.StaffTOTP
	return store, nil
}

// errEmptyDatabase: the database holds none of Carrel's tables yet.
var errEmptyDatabase = errors.New("the database is empty: start carrel serve, or run carrel migrate, to create its tables first")

// schemaCurrent refuses a database whose schema is not this release's:
// errEmptyDatabase, steps of this release not applied yet, or steps of a
// newer release.
func schemaCurrent(ctx context.Context, db *gorm.DB) error {
	st, err := models.Migrations(ctx, db)
	switch {
	case err != nil:
		return err
	case len(st.Unknown) > 0:
		return fmt.Errorf("the database was migrated by a newer release (step %s is unknown to this one): use that release's carrel", st.Unknown[len(st.Unknown)-1])
	case len(st.Applied) == 0:
		return errEmptyDatabase
	case len(st.Pending) > 0:
		return fmt.Errorf("the database lacks %d migration step(s) of this release: run carrel migrate (or start carrel serve) first; carrel migrate --dry-run lists them", len(st.Pending))
	}
	return nil
}

// tuneGC trades a little memory for CPU. A page request allocates about
// 100 kB that is garbage a moment later, and the live heap is small, so the
// default GOGC of 100 collected many times a second under load: a quarter
// of the CPU in a profile of the overview. Collecting at 400% growth, with
// a soft limit of 120 MiB that makes the collector work harder before the
// process could grow past it, keeps the portal well inside its memory
// budget. GOGC and GOMEMLIMIT, when set, still decide.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(120 << 20)
	}
}

func serve(ctx context.Context, c *config, args []string, out io.Writer) error {
	if err := noArgs("serve", args, out); err != nil {
		return err
	}
	log := newLogger(c, os.Stderr)
	tuneGC()
	if err := i18n.LoadError(); err != nil {
		// A broken catalog would show patrons ⟦message.ids⟧.
		return fmt.Errorf("the message catalogs: %w", err)
	}
	store, err := openMigratedStore(ctx, c)
	if err != nil {
		return err
	}
	if demo, err := store.DemoDataPresent(ctx); err != nil {
		return err
	} else if demo {
		log.Warn("demo accounts exist in this database; never use it for real patrons")
		if c.Demo {
			printDemoAccounts(out)
		}
	}
	// The library's system: the sign-in provider, the connectors the
	// staff console shows, where consent changes go. The SIP2 pool closes
	// once the server and the jobs have stopped (deferred first, run last).
	link, err := wireILS(store, c.ils, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := link.Close(); err != nil {
			log.Warn("closing the SIP2 connections", "err", err)
		}
	}()
	srv, err := web.New(store, c.Web, log)
	if err != nil {
		return err
	}
	store.Count = srv.CountEvent // consent changes and connector calls go into the usage statistics
	if c.Web.StaffOIDC.Enabled() {
		// Staff single sign-on: read the provider's discovery document now,
		// without holding up the start; a failure is retried at the next
		// sign-in (docs/staff-sign-in.md).
		go func() {
			if err := srv.DiscoverStaffOIDC(ctx); err != nil {
				log.Warn("staff identity provider not reachable yet; single sign-on tries again at the next sign-in", "err", err)
			}
		}()
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (CARREL_ADDR): %w", c.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// New-arrival emails: say whether they go, and warn loudly when in
	// plain text across the network.
	if w := mailWarning(c.Web.Mail); w != "" {
		log.Warn(w)
	} else if !c.Web.Mail.Enabled() {
		log.Info("no SMTP server configured (CARREL_SMTP_HOST): new-arrival emails are not sent")
	}
	// The background work, one scheduler (models/jobs): it stops with ctx,
	// and serve returns once every job has (the last statistics flushed,
	// an email in flight sent and recorded).
	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsConfig := jobs.Config{Sessions: srv.Config.Sessions, Location: srv.Config.Location,
		PurgeEvery: srv.Config.PurgeEvery, Mail: srv.Config.Mail, Library: srv.Config.MailLibrary(),
		FlushStats: srv.FlushStats, ILS: link.sender}
	sched := jobs.NewScheduler(jobs.All(store, jobsConfig, log)...)
	sched.Start(jobsCtx)
	defer func() { stopJobs(); sched.Wait() }()

	fmt.Fprintf(out, "Carrel is serving %s at http://%s\n", c.Web.LibraryName, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	drain(srv, c.Drain, log)
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// drain is the first part of a graceful stop: /readyz answers 503 at
// once, so that a load balancer takes this instance out of rotation,
// while requests are still served for the drain period
// (CARREL_SHUTDOWN_DRAIN). Closing the listener at once would leave the
// requests sent in the balancer's next few seconds unanswered. A second
// interrupt or SIGTERM ends the wait early.
func drain(srv *web.Server, d time.Duration, log *slog.Logger) {
	srv.Drain()
	if d <= 0 {
		return
	}
	log.Info("stopping: /readyz now fails; still serving while load balancers notice", "drain", d)
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-again:
		log.Info("asked again: not waiting for the rest of the drain period")
	}
}

func seed(ctx context.Context, c *config, args []string, out io.Writer) error {
	if err := noArgs("seed", args, out); err != nil {
		return err
	}
	if !c.Demo {
		return &configError{"seed loads made-up demo data and needs --demo (or CARREL_DEMO=1)"}
	}
	store, err := openMigratedStore(ctx, c)
	if err != nil {
		return err
	}
	res, err := store.SeedDemo(ctx)
	if err != nil {
		return err
	}
	if res.Created {
		fmt.Fprintln(out, "Demo data loaded.")
	} else {
		fmt.Fprintln(out, "Demo data was already there; nothing changed.")
	}
	printDemoAccounts(out)
	return nil
}

func printDemoAccounts(out io.Writer) {
	fmt.Fprintln(out, "Demo sign-ins:")
	totp := ""
	for _, a := range models.DemoAccounts() {
		fmt.Fprintf(out, "  %-7s %-16s %-18s %s\n", a.Kind, a.Login, a.Secret, a.Note)
		if a.TOTP != "" {
			totp = a.TOTP
		}
	}
	if totp != "" {
		// Demo only: the officer's and the admin's second step.
		fmt.Fprintf(out, "  officer and admin: authenticator key (TOTP, base32) %s; add it to any authenticator app\n", totp)
	}
}

// keygenHelp is what `carrel keygen --help` prints.
const keygenHelp = `Usage: carrel keygen [--file FILE]

Prints a new random secret key for CARREL_SECRET_KEYS.

Flags:
  --file FILE  write the key to FILE instead (mode 0600), only if FILE does not
               exist yet: an existing FILE is kept as it is, so running this at
               every start (compose.yaml does) makes a key once
`

func keygen(_ context.Context, _ *config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("carrel keygen", flag.ContinueOnError)
	file := fs.String("file", "", "write the key to FILE unless it exists")
	if _, err := parseArgs(fs, args, out, keygenHelp, 0); err != nil {
		return err
	}
	if *file == "" {
		fmt.Fprintln(out, models.GenerateKey())
		return nil
	}
	created, err := writeKeyFile(*file, models.GenerateKey())
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(out, "Wrote a new secret key to %s.\n", *file)
	} else {
		fmt.Fprintf(out, "%s exists already: kept it, wrote nothing.\n", *file)
	}
	return nil
}

// writeKeyFile puts key in path, mode 0600, unless path exists (then false).
// The key is written to a temporary file beside path and linked into place,
// so path appears whole or not at all, and two keygens racing make one key.
func writeKeyFile(path, key string) (bool, error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	}
	// Errors name path, not the temporary file the operator never asked for.
	fail := func(err error) (bool, error) {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return false, fmt.Errorf("write the key to %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keygen-*") // mode 0600
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(key + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return false, nil
	} else if err != nil {
		return fail(err)
	}
	return true, nil
}

// purgeHelp is what `carrel purge --help` prints.
const purgeHelp = `Usage: carrel purge [settings] [--dry-run] [--batch N]

Deletes what the retention schedule lets go, except under a legal hold.

Flags (with the settings, listed by carrel help):
  --dry-run  count what would be deleted, delete nothing
  --batch N  rows deleted per transaction (default 1000)
`

func purgeCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("carrel purge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dry := fs.Bool("dry-run", false, "count what would be deleted, delete nothing")
	batch := fs.Int("batch", 1000, "rows deleted per transaction")
	if _, err := parseArgs(fs, args, out, purgeHelp, 0); err != nil {
		return err
	} else if *batch < 1 {
		return &configError{"purge: --batch is a number of rows, at least 1 (usage: carrel purge [--dry-run] [--batch N])"}
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	rep, err := store.Purge(ctx, *dry, *batch, c.Web.Sessions)
	if errors.Is(err, models.ErrPurgeBusy) {
		fmt.Fprintln(out, "Another instance is purging right now; nothing to do.")
		return nil
	} else if err != nil {
		return err
	}
	verb := "Deleted"
	if *dry {
		verb = "Would delete"
	}
	for _, pc := range rep.Counts {
		fmt.Fprintf(out, "  %-22s %d\n", pc.Category, pc.Rows)
	}
	fmt.Fprintf(out, "%s %d rows in all.", verb, rep.Total())
	if rep.Held > 0 {
		fmt.Fprintf(out, " %s under a legal hold %s left alone.", plural(int64(rep.Held), "patron"), map[bool]string{true: "was", false: "were"}[rep.Held == 1])
	}
	fmt.Fprintln(out)
	return nil
}
