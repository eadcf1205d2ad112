package ils_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
	"github.com/carrel-library/carrel/models/modeltest"
)

// docBlock is the fenced code block of lang that follows marker in doc.
func docBlock(t *testing.T, doc, marker, lang string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, marker)
	if !ok {
		t.Fatalf("docs/webhooks.md has no %s", marker)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	if !ok {
		t.Fatalf("no ```%s block after %s", lang, marker)
	}
	code, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("the %s block does not end", lang)
	}
	return code
}

// verifyCase is one request a receiver's code must accept or refuse.
type verifyCase struct {
	Name    string            `json:"name"`
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Want    string            `json:"-"` // "ok" or "bad"
}

// TestWebhookDocs runs the verification code of docs/webhooks.md, in Go,
// Python and Perl, against a request the sender really made and against
// forgeries, and checks the page's example request.
func TestWebhookDocs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)

	t.Run("the example request", func(t *testing.T) {
		_, ex, _ := strings.Cut(doc, "```\nPOST /carrel/consent HTTP/1.1\n")
		ex, _, _ = strings.Cut(ex, "\n```")
		head, body, ok := strings.Cut(ex, "\n\n")
		if !ok {
			t.Fatal("no example request")
		}
		h := map[string]string{}
		for _, line := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			h[k] = v
		}
		at := time.Date(2026, 4, 7, 10, 20, 30, 123456000, time.UTC)
		payload, _ := json.Marshal(models.OutboxPayload{Card: "21000000000201", ILSID: "4711", Subject: models.ConsentReadingHistory,
			OldValue: "on", NewValue: "off", Actor: models.ActorPatron, Channel: models.ChannelWeb, At: at, ConsentID: 1234})
		want, _ := ils.WebhookBody(payload)
		if body != string(want) {
			t.Errorf("the example body is not what the sender makes:\n%s\n%s", body, want)
		}
		if h["webhook-id"] != ils.WebhookID(1234) {
			t.Errorf("example webhook-id %s", h["webhook-id"])
		}
		key, err := ils.ParseWebhookSecret("whsec_Y2FycmVsLWRvY3MtZXhhbXBsZS1zZWNyZXQtMzJi")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc, "whsec_Y2FycmVsLWRvY3MtZXhhbXBsZS1zZWNyZXQtMzJi") {
			t.Error("the page no longer names the example's secret")
		}
		if got := ils.SignWebhook(key, h["webhook-id"], time.Unix(1775557290, 0), want); got != h["webhook-signature"] || h["webhook-timestamp"] != "1775557290" {
			t.Errorf("example signature %s at %s, want %s", h["webhook-signature"], h["webhook-timestamp"], got)
		}
	})

	cases := docCases(t)
	runners := []struct {
		lang, marker, interpreter string
		run                       func(t *testing.T, code string, input []byte) string
	}{
		{"go", "<!-- verify:go -->", "go", runGoDoc},
		{"python", "<!-- verify:python -->", "python3", runScript("python3", pythonDriver, ".py")},
		{"perl", "<!-- verify:perl -->", "perl", runScript("perl", perlDriver, ".pl")},
	}
	input, _ := json.Marshal(cases)
	for _, r := range runners {
		t.Run(r.lang, func(t *testing.T) {
			if _, err := exec.LookPath(r.interpreter); err != nil {
				t.Skipf("%s is not installed", r.interpreter)
			}
			out := r.run(t, docBlock(t, doc, r.marker, r.lang), input)
			got := strings.Fields(out)
			if len(got) != len(cases) {
				t.Fatalf("the %s code answered %q for %d cases", r.lang, out, len(cases))
			}
			for i, c := range cases {
				if got[i] != c.Want {
					t.Errorf("%s: %s says %s, want %s", r.lang, c.Name, got[i], c.Want)
				}
			}
		})
	}
}

// docCases captures one request the sender makes (on the wall clock, as
// a receiver checks it) and derives the forgeries from it.
func docCases(t *testing.T) []verifyCase {
	t.Helper()
	var mu sync.Mutex
	var hdr http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hdr, body = r.Header.Clone(), b
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	s := modeltest.NewStore(t, modeltest.SQLite(t, nil), nil)
	s.ConsentTargets = []string{models.TargetWebhookPrefix + srv.URL}
	p := models.Patron{CardNumber: "21000000000201", PINHash: "x", FamilyName: "Doe", BorrowingStatus: models.StatusActive,
		FavoritesNotice: models.NoticeNone, ReadingHistoryEnabled: true}
	if err := s.DB.Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SetReadingHistory(t.Context(), p.ID, false, models.Actor{Channel: models.ChannelWeb}); err != nil {
		t.Fatal(err)
	}
	key, _ := ils.ParseWebhookSecret(testSecret)
	if rep, err := (&ils.Sender{Store: s, Webhooks: []ils.Webhook{{URL: srv.URL, Secret: key}}}).RunOnce(t.Context()); err != nil || rep.Sent != 1 {
		t.Fatalf("RunOnce: %v %v", rep, err)
	}
	mu.Lock()
	defer mu.Unlock()
	headers := func(id, ts, sig string) map[string]string {
		h := map[string]string{"webhook-id": id, "webhook-timestamp": ts}
		if sig != "" {
			h["webhook-signature"] = sig
		}
		return h
	}
	id, ts, sig := hdr.Get("webhook-id"), hdr.Get("webhook-timestamp"), hdr.Get("webhook-signature")
	other, _ := ils.ParseWebhookSecret("whsec_" + "b3RoZXItc2VjcmV0LW9mLXNvbWVvbmUtZWxzZS0zMmI=")
	old := time.Now().Add(-10 * time.Minute)
	oldTS := old.Unix()
	good := string(body)
	return []verifyCase{
		{"the request as sent", testSecret, headers(id, ts, sig), good, "ok"},
		{"a changed body", testSecret, headers(id, ts, sig), strings.Replace(good, `"new_value":"off"`, `"new_value":"on"`, 1), "bad"},
		{"another id", testSecret, headers(id+"9", ts, sig), good, "bad"},
		{"signed with another secret", testSecret, headers(id, ts, ils.SignWebhook(other, id, time.Unix(mustInt(t, ts), 0), body)), good, "bad"},
		{"signed ten minutes ago", testSecret, headers(id, jsonInt(oldTS), ils.SignWebhook(key, id, old, body)), good, "bad"},
		{"two signatures, the second good", testSecret,
			headers(id, ts, ils.SignWebhook(other, id, time.Unix(mustInt(t, ts), 0), body)+" "+sig), good, "ok"},
		{"no signature", testSecret, headers(id, ts, ""), good, "bad"},
		{"an asymmetric signature only", testSecret, headers(id, ts, "v1a,"+strings.TrimPrefix(sig, "v1,")), good, "bad"},
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

const goDriver = `
import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	var cases []struct {
		Secret  string            ` + "`json:\"secret\"`" + `
		Headers map[string]string ` + "`json:\"headers\"`" + `
		Body    string            ` + "`json:\"body\"`" + `
	}
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		if verifyWebhook(c.Secret, h, []byte(c.Body), time.Now()) == nil {
			fmt.Println("ok")
		} else {
			fmt.Println("bad")
		}
	}
}
`

// runGoDoc compiles the page's Go function with a main that feeds it the
// cases.
func runGoDoc(t *testing.T, code string, input []byte) string {
	t.Helper()
	dir := t.TempDir()
	// The page's block is a whole file; the driver's imports go after
	// its own.
	src := strings.Replace(code, "\nimport (", "\nimport (\n\t\"encoding/json\"\n\t\"fmt\"\n\t\"os\"", 1) +
		goDriver[strings.Index(goDriver, "func main"):]
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=")
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	return string(out)
}

const pythonDriver = `
import json, sys
for c in json.load(sys.stdin):
    try:
        verify_webhook(c["secret"], c["headers"], c["body"].encode())
        print("ok")
    except ValueError:
        print("bad")
`

const perlDriver = `
use strict;
use warnings;
use JSON::PP;
use Encode qw(encode);
my $cases = do { local $/; decode_json(<STDIN>) };
for my $c (@$cases) {
    my $h = $c->{headers};
    print verify_webhook($c->{secret}, $h->{'webhook-id'}, $h->{'webhook-timestamp'},
        $h->{'webhook-signature'}, encode('UTF-8', $c->{body})) ? "ok\n" : "bad\n";
}
`

// runScript runs the page's code and then driver with interpreter.
func runScript(interpreter, driver, ext string) func(t *testing.T, code string, input []byte) string {
	return func(t *testing.T, code string, input []byte) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "verify"+ext)
		if err := os.WriteFile(path, []byte(code+driver), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(interpreter, path)
		cmd.Stdin = bytes.NewReader(input)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", interpreter, err, out)
		}
		return string(out)
	}
}
