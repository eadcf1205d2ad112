package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/carrel-library/carrel/models"
	"golang.org/x/term"
)

// stdin is where passwords are read from; tests replace it.
var stdin io.Reader = os.Stdin

// staffCmd manages staff accounts: add, disable, reset-password.
func staffCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return &configError{"staff needs a subcommand: add, disable or reset-password"}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("carrel staff "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	username := fs.String("username", "", "the account's username")
	role := fs.String("role", "", "assistant, privacy_officer or admin")
	name := fs.String("name", "", "the name patrons see (default: the username)")
	if err := fs.Parse(args); err != nil {
		return &configError{"staff " + sub + ": " + err.Error()}
	}
	if *username == "" && fs.NArg() == 1 && sub != "add" {
		*username = fs.Arg(0)
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
	default:
		return &configError{"staff: unknown subcommand " + sub + " (add, disable, reset-password)"}
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

// auditCmd checks the audit log's hash chain.
func auditCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return &configError{"audit needs a subcommand: verify"}
	}
	db, err := models.Open(ctx, c.DatabaseURL, models.SystemClock{})
	if err != nil {
		return err
	}
	broken, checked, err := models.VerifyAudit(db)
	if err != nil {
		return err
	}
	if broken != 0 {
		return fmt.Errorf("audit log broken at entry %d (after %d entries checked): it was changed or entries before it were deleted", broken, checked-1)
	}
	fmt.Fprintf(out, "Audit log intact: %d entries checked.\n", checked)
	return nil
}
