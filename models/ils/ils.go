// Package ils connects Carrel to the library's own system: it adapts the
// SIP2 and Koha clients to models.PatronProvider, and sends the consent
// outbox (models/outbox.go) to Koha's patron privacy and to signed
// webhooks.
package ils
