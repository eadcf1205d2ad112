package mail_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	carrelmail "github.com/carrel-library/carrel/models/mail"
	"github.com/carrel-library/carrel/models/mail/mailtest"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
)

// legalNotices are notices as a patron may be told them: none of the
// request known, a court's with every event, one production from a date
// on, and one with no court.
func legalNotices() []models.LegalNotice {
	d1 := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 1, 0)
	d3 := d2.AddDate(0, 1, 0)
	return []models.LegalNotice{
		{},
		{Court: "Superior Court", Kind: "Court order", Reference: "CR-1", NondisclosureEnded: &d3,
			Events: []models.LegalEvent{{At: d1, What: models.LegalEventHold}, {At: d2, What: models.LegalEventProduced,
				Categories: []string{"Holds", "Current loans"}, From: &d1, To: &d2}, {At: d3, What: models.LegalEventRelease}}},
		{Court: "Court", Kind: "Subpoena issued by a court", Events: []models.LegalEvent{{At: d2, What: models.LegalEventProduced, Categories: []string{"Holds"}, From: &d1}}},
		{Events: []models.LegalEvent{{At: d2, What: models.LegalEventProduced, To: &d1}, {At: d3, What: models.LegalEventHold}}},
	}
}

// TestLegalWordsInEnglishAreUnchanged: the legal email and the
// overview's legal notice read in English word for word as they did
// before their words moved to the legal catalog
// (../testdata/words_en.golden.json).
func TestLegalWordsInEnglishAreUnchanged(t *testing.T) {
	b, err := os.ReadFile("../testdata/words_en.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Email []string   `json:"legal_email"`
		Page  [][]string `json:"legal_page"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	en := i18n.For(i18n.English)
	p := models.Patron{GivenName: "Ana", FamilyName: "Ruiz"}
	var emails []string
	var pages [][]string
	for _, n := range legalNotices() {
		for _, c := range []views.Contact{{}, {Name: "Privacy Officer", Email: "p@x", Phone: "555"}} {
			emails = append(emails, carrelmail.LegalEmailText(en, "Springfield Library", time.UTC, c, p, n))
		}
		title, lines := n.Words(en, time.UTC)
		pages = append(pages, append([]string{title}, lines...))
	}
	if !reflect.DeepEqual(emails, g.Email) {
		t.Errorf("the English legal emails changed:\n%s", strings.Join(emails, "\n----\n"))
	}
	if !reflect.DeepEqual(pages, g.Page) {
		t.Errorf("the English legal notices changed:\n%q", pages)
	}
	if got := carrelmail.LegalEmailSubject(en, "Springfield Library"); got != "Springfield Library: legal process concerning your library records" {
		t.Errorf("subject %q", got)
	}
}

// TestLegalEmailInThePatronsLanguage: when a nondisclosure order is
// lifted, a patron who chose Spanish is told in Spanish (subject, body,
// the kind of process, the categories produced, the dates, the contact),
// and a patron who never chose a language in English.
func TestLegalEmailInThePatronsLanguage(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	cfg.Library.Contact = views.Contact{Name: "Privacy Officer", Email: "privacy@library.example"}
	forEachDB(t, func(t *testing.T, a *fixture) {
		srv.Reset()
		ctx := context.Background()
		n := a.clock.Now()
		req := models.LegalRequest{Kind: "court_order", Issuer: "Tribunal Superior de California", Reference: "CO-2026-0417",
			ReceivedOn: n.Add(-96 * time.Hour), CreatedAt: n.Add(-96 * time.Hour), Nondisclosure: true,
			NondisclosureLiftedAt: &n, ScopeCategories: "reference_questions,fines"}
		if err := a.store.DB.Create(&req).Error; err != nil {
			t.Fatal(err)
		}
		rosa := a.patron(card, pin, "Rosa", "Parks")
		ida := a.patron("21000000007777", pin, "Ida", "Wells")
		if err := a.store.SetLanguage(ctx, rosa.ID, "es"); err != nil {
			t.Fatal(err)
		}
		from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
		prod := models.LegalProduction{RequestID: req.ID, Categories: "reference_questions,fines", ScopeFrom: &from, ScopeTo: &to,
			Manifest: "{}", PackageSHA256: strings.Repeat("0", 64), ProducedAt: n.Add(-24 * time.Hour)}
		if err := a.store.DB.Create(&prod).Error; err != nil {
			t.Fatal(err)
		}
		for _, p := range []models.Patron{rosa, ida} {
			for _, row := range []any{&models.LegalRequestPatron{RequestID: req.ID, PatronID: p.ID},
				&models.LegalHold{PatronID: p.ID, RequestID: &req.ID, PlacedAt: n.Add(-48 * time.Hour), ReleasedAt: &n},
				&models.LegalProductionPatron{ProductionID: prod.ID, PatronID: p.ID, Part: "p.json", SHA256: strings.Repeat("1", 64)}} {
				if err := a.store.DB.Create(row).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
		if told, err := deliverer(a, cfg, io.Discard).TellLegal(ctx); err != nil || told != 2 {
			t.Fatalf("told %d (%v), want 2", told, err)
		}
		emails := map[string]legalEmail{}
		for _, m := range srv.Messages() {
			emails[m.To[0]] = readLegalEmail(t, m.Data)
		}
		es, en := emails["rosa@example.org"], emails["ida@example.org"]
		if es.subject != "Test Library: proceso legal sobre sus registros de la biblioteca" || es.lang != "es" {
			t.Errorf("Spanish email: subject %q, Content-Language %q", es.subject, es.lang)
		}
		for _, want := range []string{"Estimado/a Rosa Parks:",
			"Test Library recibió un proceso legal sobre sus registros de la biblioteca de parte de Tribunal Superior de California (Orden judicial, referencia CO-2026-0417).",
			"Una orden de confidencialidad nos impidió decírselo hasta el 27 de noviembre de 2026. Esto es lo que pasó:",
			"- 25 de noviembre de 2026: se pausó la eliminación de sus registros.",
			"- 26 de noviembre de 2026: entregamos sus registros de “Consultas de referencia por correo electrónico” y “Multas y cargos”, con fechas del 1 de enero de 2025 al 31 de octubre de 2026, para Tribunal Superior de California.",
			"- 27 de noviembre de 2026: se reanudó la eliminación de sus registros.",
			"Si tiene preguntas sobre esto, comuníquese con Privacy Officer, privacy@library.example."} {
			if !strings.Contains(es.body, want) {
				t.Errorf("the Spanish email lacks %q:\n%s", want, es.body)
			}
		}
		for _, bad := range []string{"⟦", "Dear", "deletion", "court order", "Court order"} {
			if strings.Contains(es.body, bad) {
				t.Errorf("the Spanish email has %q:\n%s", bad, es.body)
			}
		}
		if en.subject != "Test Library: legal process concerning your library records" || en.lang != "en" ||
			!strings.Contains(en.body, "Dear Ida Wells,") ||
			!strings.Contains(en.body, "we produced your “Email reference questions” and “Fines and fees”, dated January 1, 2025 to October 31, 2026") {
			t.Errorf("English email: subject %q, Content-Language %q:\n%s", en.subject, en.lang, en.body)
		}
	})
}

type legalEmail struct{ subject, lang, body string }

func readLegalEmail(t *testing.T, raw []byte) legalEmail {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return legalEmail{subject: subject, lang: m.Header.Get("Content-Language"), body: strings.ReplaceAll(string(b), "\r\n", "\n")}
}
