package models

// AuditHashForTest exposes the audit chain's hash to the external tests, so
// that they can forge an entry the way someone with write access to the
// database could, and check that the chain still gives the forgery away.
var AuditHashForTest = auditHash
