package models

import (
	"encoding/hex"
	"time"
)

// AuditHashForTest exposes the audit chain's hash to the external tests, so
// that they can forge an entry the way someone with write access to the
// database could, and check that the chain still gives the forgery away.
var AuditHashForTest = auditHash

// AuditChainForTest computes an entry's keyed chain value under keys, as
// it would be stored, so tests can forge one under the wrong key.
func AuditChainForTest(_ *Store, e AuditEntry, keys *Keys) string {
	e.KeyID = keys.currentID()
	sum, _ := keys.macWith(e.KeyID, auditChainPurpose, auditText(e))
	return hex.EncodeToString(sum)
}

// SignAnchorForTest signs an anchor as the purge would, so tests can make
// one no purge that keeps the rules would write.
func SignAnchorForTest(s *Store, entryID int64, chain string, cutoff time.Time) string {
	return s.signAnchor(entryID, chain, cutoff).String()
}
