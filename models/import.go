package models

import "context"

// The ILS import itself is package models/ilsimport. What the rest of
// models needs of it lives here.

// AuditILSImportDelete records the deletion of records that a full ILS
// snapshot no longer lists. Its detail is a count, never a list.
const AuditILSImportDelete = "ils_import.delete"

// UnusablePINHash is the pin_hash of a patron imported without a PIN. It
// is not in the hash format, so no PIN matches it: the patron cannot sign
// in until the ILS sends a PIN.
const UnusablePINHash = "!no-pin"

// VerifySecret says whether secret matches the stored hash, and whether
// the hash should be made again (an old key or cost): for the import,
// which keeps a stored PIN hash that still matches.
func (s *Store) VerifySecret(ctx context.Context, stored, secret string) (ok, rehash bool, err error) {
	return s.verifySecret(ctx, stored, secret)
}
