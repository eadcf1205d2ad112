package web

import (
	"testing"
	"time"
)

// The typed session: every setter marks it changed (so the store writes
// it), reading never does, and a page's notice is spent only when render
// says the page was written.
func TestSessionSettersMarkItChanged(t *testing.T) {
	for name, set := range map[string]func(*Session){
		"SignInPatron":       func(s *Session) { s.SignInPatron(7, "web") },
		"SignInStaff":        func(s *Session) { s.SignInStaff(7) },
		"StartAssistance":    func(s *Session) { s.StartAssistance(7, "desk", "", time.Now()) },
		"EndAssistance":      func(s *Session) { s.EndAssistance() },
		"HoldHandoff":        func(s *Session) { s.HoldHandoff("t", "/data", "") },
		"SetCatalogReturn":   func(s *Session) { s.SetCatalogReturn("https://opac.example/") },
		"WelcomeFromCatalog": func(s *Session) { s.WelcomeFromCatalog() },
		"WelcomeFromILS":     func(s *Session) { s.WelcomeFromILS() },
		"Flash":              func(s *Session) { s.Flash("Saved.") },
		"FlashRecord":        func(s *Session) { s.FlashRecord("list.saved:3") },
		"CSRFToken":          func(s *Session) { s.CSRFToken() },
	} {
		s := newSession(cookieName, false)
		set(s)
		if !s.Changed() {
			t.Errorf("%s did not mark the session changed", name)
		}
	}
	s := newSession(cookieName, false)
	s.raw.Values[keyFlash] = "Saved."
	s.raw.Values[keyPatron] = int64(7)
	s.raw.Values[keyCSRF] = "tok"
	s.PatronID()
	s.SignedIn()
	s.CSRFToken()
	s.TakeHandoff() // nothing waiting: nothing taken
	if flash, _, _, _ := s.peekNotice(); flash != "Saved." || s.Changed() {
		t.Fatalf("reading changed the session (flash %q)", flash)
	}
}

func TestRenderSpendsOnlyTheNoticeThePageShowed(t *testing.T) {
	s := newSession(cookieName, false)
	s.Flash("Saved.")
	s.changed = false
	s.spendNotice() // no page showed it
	if flash, _, _, _ := s.peekNotice(); flash != "Saved." || s.Changed() {
		t.Fatal("a notice no page showed was spent")
	}
	s.shown = shownNotice{flash: "Saved."}    // a page showed it
	s.Flash("Signed out of 1 other session.") // kept after the page was built
	s.changed = false
	s.spendNotice()
	if flash, _, _, _ := s.peekNotice(); flash != "Signed out of 1 other session." {
		t.Fatalf("the notice kept after the page was built went with it (flash %q)", flash)
	}
	s.shown = shownNotice{flash: "Signed out of 1 other session."}
	s.spendNotice()
	if flash, _, _, _ := s.peekNotice(); flash != "" || !s.Changed() {
		t.Fatal("the notice the page showed was not spent")
	}
}
