package i18n

import "testing"

// BenchmarkMessages measures what a page pays per message: a plain one,
// one with data, and a plural.
func BenchmarkMessages(b *testing.B) {
	es := For("es")
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			_ = es.S("layout.skip")
		}
	})
	b.Run("data", func(b *testing.B) {
		for b.Loop() {
			_ = es.S("layout.title", "Page", "Inicio", "Library", "Santa Monica Public Library")
		}
	})
	b.Run("date", func(b *testing.B) {
		for b.Loop() {
			_ = es.Date(testDay, nil)
		}
	})
}
