package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/carrel-library/carrel/models"
	"golang.org/x/term"
)

// stdin is where passwords are read from; tests replace it.
var stdin io.Reader = os.Stdin

// staffCmd manages staff accounts: add, disable, reset-password, reset-2fa.
func staffCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	sub, fs, args, err := subcommand("staff", args, staffUsage)
	if err != nil {
		return err
	}
	username := fs.String("username", "", "the account's username")
	role, name := new(string), new(string)
	if sub == "add" {
		fs.StringVar(role, "role", "", "assistant, privacy_officer or admin")
		fs.StringVar(name, "name", "", "the name patrons see (default: the username)")
	}
	max := 1 // disable U, reset-password U, reset-2fa U
	if sub == "add" {
		max = 0
	}
	pos, err := parseArgs(fs, args, out, staffUsage[sub], max)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		if *username != "" {
			return &configError{fmt.Sprintf("staff %s: the account is named twice, %q and --username %q: give one", sub, pos[0], *username)}
		}
		*username = pos[0]
	}
	if *username == "" {
		return &configError{"staff " + sub + ": name the account with --username U"}
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	var bad *models.InputError
	switch sub {
	case "add":
		if *role == "" {
			return &configError{"staff add: give a --role: assistant, privacy_officer or admin"}
		}
		pw, err := readPassword(out, "Password for "+*username+": ")
		if err != nil {
			return err
		}
		st, err := store.AddStaff(ctx, *username, *name, *role, pw)
		if errors.As(err, &bad) {
			return &configError{"staff add: " + bad.Message}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "Added %s (%s) as %s.\n", st.Username, st.DisplayName, models.RoleName(st.Role))
	case "disable":
		if err := store.DisableStaff(ctx, *username); errors.Is(err, models.ErrNotFound) {
			return &configError{"staff disable: no active account " + *username}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "Disabled %s; their sessions have ended.\n", *username)
	case "reset-password":
		pw, err := readPassword(out, "New password for "+*username+": ")
		if err != nil {
			return err
		}
		err = store.ResetStaffPassword(ctx, *username, pw)
		if errors.As(err, &bad) {
			return &configError{"staff reset-password: " + bad.Message}
		} else if errors.Is(err, models.ErrNotFound) {
			return &configError{"staff reset-password: no active account " + *username}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "New password set for %s; their sessions have ended.\n", *username)
	case "reset-2fa":
		if err := store.ResetSecondFactor(ctx, *username); errors.Is(err, models.ErrNotFound) {
			return &configError{"staff reset-2fa: no account " + *username}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "Removed the second factor and recovery codes of %s; their sessions have ended. "+
			"They set up an authenticator app again at their next sign-in (required for privacy officers and admins).\n", *username)
	default:
		return &configError{"staff: unknown subcommand " + sub + " (add, disable, reset-password, reset-2fa)"}
	}
	return nil
}

// readPassword reads a password without echo from a terminal, twice to
// catch typing mistakes, or one line from standard input otherwise.
// Passwords are never flags: a flag shows in the process list.
func readPassword(out io.Writer, prompt string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(out, prompt)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		fmt.Fprint(out, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", &configError{"the two passwords differ"}
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", &configError{"no password on standard input"}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// auditHelp is printed by `carrel audit --help` and each subcommand's --help.
const auditHelp = `Usage: carrel audit [settings] verify [--checkpoint FILE]
       carrel audit [settings] checkpoint

verify      checks the audit log's keyed chain from its first kept entry to
            its newest. With --checkpoint FILE it also checks the log against
            a checkpoint kept outside the database, and fails when any entry
            up to the checkpoint's was deleted or changed, including the
            newest entries. The result shows on the privacy officer's audit
            page.
checkpoint  prints a signed checkpoint of the newest entry (its id, chain
            value and the time), one line to keep outside the database: paste
            it into a file or a printed record. A file may hold several; the
            last one counts. The daily purge logs one too.

The server's secret keys (CARREL_SECRET_KEYS) must be the ones the portal
uses: entries and checkpoints are signed under them. See docs/retention.md.

Exit codes: 0 intact, 1 broken or forged, 2 a usage error.
`

// auditCmd checks the audit log's keyed chain and signs checkpoints.
func auditCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(out, auditHelp)
		return nil
	}
	sub, fs, args, err := subcommand("audit", args, auditUsage)
	if err != nil {
		return err
	}
	var cpFile *string
	if sub == "verify" {
		cpFile = fs.String("checkpoint", "", "a file holding a checkpoint to check the log against")
	}
	if _, err := parseArgs(fs, args, out, auditUsage[sub], 0); err != nil {
		return err
	}
	var cp *models.AuditCheckpoint
	if cpFile != nil && *cpFile != "" {
		b, err := os.ReadFile(*cpFile) // #nosec G304 G703 -- the operator names the checkpoint file (--checkpoint)
		if err != nil {
			return &configError{"audit verify: --checkpoint: cannot read " + *cpFile}
		}
		parsed, err := models.ParseAuditCheckpoint(string(b))
		if err != nil {
			return &configError{"audit verify: --checkpoint " + *cpFile + ": " + err.Error()}
		}
		cp = &parsed
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	if sub == "checkpoint" {
		cp, err := store.Checkpoint(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, cp.String())
		return nil
	}
	res, err := store.VerifyAudit(ctx, cp, "carrel audit verify")
	if errors.Is(err, models.ErrCheckpointForged) {
		return fmt.Errorf("checkpoint refused: %w", err)
	} else if err != nil {
		return err
	}
	if !res.Intact() {
		return errors.New(res.Summary())
	}
	fmt.Fprintln(out, res.Summary())
	return nil
}

// staffUsage is each staff subcommand's usage.
var staffUsage = map[string]string{ // #nosec G101 -- usage text that mentions passwords, not a credential
	"add": `Usage: carrel staff [settings] add --username U --role R [--name N]

Adds a staff account. The password is read from the terminal (twice, not
echoed) or as one line on standard input, never from a flag. It needs 15
characters, or 8 for a role that must have a second factor (privacy
officers and admins under CARREL_STAFF_TOTP=required-for-officers, the
default; everyone under required).
`,
	"disable": `Usage: carrel staff [settings] disable U (or --username U)

Disables the account U and ends its sessions.
`,
	"reset-password": `Usage: carrel staff [settings] reset-password U (or --username U)

Sets a new password for U and ends its sessions. The password is read from
the terminal (twice, not echoed) or as one line on standard input. It needs
15 characters, or 8 when U has a second factor or its role must have one.
`,
	"reset-2fa": `Usage: carrel staff [settings] reset-2fa U (or --username U)

Removes U's second factor (authenticator app) and recovery codes, for a
lost phone, and ends U's sessions; audited. At their next sign-in a privacy
officer or an admin (or anyone, under CARREL_STAFF_TOTP=required) sets up a
new authenticator app before reaching any page.
`,
}

// auditUsage is each audit subcommand's usage; auditHelp covers both.
var auditUsage = map[string]string{
	"verify": `Usage: carrel audit [settings] verify [--checkpoint FILE]

Checks the audit log's keyed chain from its first kept entry to its newest;
with --checkpoint FILE, also against a checkpoint kept outside the database.
The server's secret keys (CARREL_SECRET_KEYS) must be the portal's.
Exit codes: 0 intact, 1 broken or forged, 2 a usage error.
`,
	"checkpoint": `Usage: carrel audit [settings] checkpoint

Prints a signed checkpoint of the newest audit entry, one line to keep
outside the database for audit verify --checkpoint FILE.
`,
}
