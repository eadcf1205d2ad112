package models

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinStaffPassword is the shortest password a staff account may have
// (demo accounts excepted): 15 characters, NIST SP 800-63B rev. 4's
// minimum for a password that is the only factor.
const MinStaffPassword = 15

// MinStaffPasswordWithSecondFactor is the shortest password of a staff
// account that has a second factor (or must have one before it can sign
// in): 8 characters, NIST SP 800-63B rev. 4's minimum for a password used
// with another factor.
const MinStaffPasswordWithSecondFactor = 8

// MaxStaffPassword bounds a staff password in bytes. Nothing is cut below
// it (the whole password is keyed with HMAC before bcrypt, see
// hashSecret), and 256 bytes leave room for any passphrase.
const MaxStaffPassword = 256

// commonPasswordList holds common passwords of 15 characters or more,
// lowercased, one a line; passwords/README.md says where they come from.
//
//go:embed passwords/common-passwords.txt
var commonPasswordList string

// commonShortPasswordList holds common passwords of 8 to 14 characters,
// lowercased, one a line, for the accounts with a second factor whose
// passwords may be that short; passwords/README.md says where they come
// from.
//
//go:embed passwords/common-short-passwords.txt
var commonShortPasswordList string

// commonPasswords is commonPasswordList as a set, built at first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} { return lineSet(commonPasswordList) })

// commonShortPasswords is commonShortPasswordList as a set, built at first
// use.
var commonShortPasswords = sync.OnceValue(func() map[string]struct{} { return lineSet(commonShortPasswordList) })

func lineSet(list string) map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(list, "\n"))
	for _, line := range strings.Split(list, "\n") {
		if line != "" {
			set[line] = struct{}{}
		}
	}
	return set
}

// CheckStaffPassword says what is wrong with a new password for the staff
// account username, as an *InputError on the field "password", or returns
// nil. It refuses, in NIST SP 800-63B rev. 4's terms, passwords shorter
// than MinStaffPassword characters (characters, not bytes: a passphrase in
// any script counts alike), one character repeated, passwords containing
// the username (in any case), and passwords on the bundled list of common
// passwords (in any case). It asks for nothing else: no mix of character
// classes, which NIST advises against.
func CheckStaffPassword(username, password string) error {
	return CheckStaffPasswordFor(username, password, false)
}

// CheckStaffPasswordFor is CheckStaffPassword for an account that has, or
// must have, a second factor when secondFactor is true: then
// MinStaffPasswordWithSecondFactor characters are enough.
func CheckStaffPasswordFor(username, password string, secondFactor bool) error {
	min := MinStaffPassword
	if secondFactor {
		min = MinStaffPasswordWithSecondFactor
	}
	bad := func(msg string) error { return &InputError{Field: "password", Message: msg} }
	n := utf8.RuneCountInString(password)
	lower := strings.ToLower(password)
	switch {
	case !utf8.ValidString(password):
		return bad("A staff password must be valid UTF-8 text.")
	case n < min && !secondFactor:
		return bad(fmt.Sprintf("A staff password needs at least %d characters, or %d with a second factor (an authenticator app); this one has %d. A few words make a good one.",
			MinStaffPassword, MinStaffPasswordWithSecondFactor, n))
	case n < min:
		return bad(fmt.Sprintf("A staff password needs at least %d characters with a second factor; this one has %d.", min, n))
	case len(password) > MaxStaffPassword:
		return bad(fmt.Sprintf("A staff password is at most %d bytes.", MaxStaffPassword))
	case oneCharacterRepeated(password):
		return bad("A staff password cannot be one character repeated.")
	case username != "" && strings.Contains(lower, strings.ToLower(username)):
		return bad("A staff password cannot contain the username.")
	}
	_, common := commonPasswords()[lower]
	if _, short := commonShortPasswords()[lower]; short {
		common = true
	}
	if common {
		return bad("That password is on a list of common passwords that attackers try first; choose another.")
	}
	return nil
}

// oneCharacterRepeated reports whether s is one character over and over.
func oneCharacterRepeated(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	return s != "" && strings.Trim(s, string(first)) == ""
}
