package ils_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ils"
)

// The Standard Webhooks libraries' own signing vector
// (libraries/go/webhook_test.go, TestWebhookSign, and the same in every
// other language of github.com/standard-webhooks/standard-webhooks).
func TestSignWebhookMatchesTheSpecsVector(t *testing.T) {
	key, err := ils.ParseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := ils.SignWebhook(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("SignWebhook = %s, want %s", got, want)
	}
}

func TestParseWebhookSecret(t *testing.T) {
	secret32 := "whsec_" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // bytes 0..31
	key, err := ils.ParseWebhookSecret(" " + secret32 + "\n")
	if err != nil || len(key) != 32 || key[31] != 31 {
		t.Fatalf("ParseWebhookSecret(32 bytes) = %v, %v", key, err)
	}
	if key, err := ils.ParseWebhookSecret(strings.TrimRight(secret32, "=")); err != nil || len(key) != 32 {
		t.Errorf("unpadded base64 refused: %v", err)
	}
	refused := map[string]string{
		"no prefix (raw bytes)":    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"raw text":                 "correct horse battery staple and some more words",
		"not base64":               "whsec_not*base64*at*all*but*long*enough*to*count",
		"too short (16 bytes)":     "whsec_AAECAwQFBgcICQoLDA0ODw==",
		"too long (65 bytes)":      "whsec_" + strings.Repeat("A", 88),
		"empty":                    "",
		"prefix only":              "whsec_",
		"asymmetric key, not ours": "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	}
	for name, s := range refused {
		_, err := ils.ParseWebhookSecret(s)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if rest := strings.TrimPrefix(s, "whsec_"); len(rest) > 8 && strings.Contains(err.Error(), rest) {
			t.Errorf("%s: the error repeats the secret: %v", name, err)
		}
	}
}

func TestCheckWebhookURL(t *testing.T) {
	ok := []string{
		"https://hooks.example.org/carrel",
		"https://hooks.example.org:8443/carrel?token=abc",
		"http://localhost:8080/hook",
		"http://127.0.0.1:9000/hook",
		"http://[::1]/hook",
		"http://10.1.2.3/hook",
		"http://192.168.10.5:8080/mailer",
		"http://172.16.0.9/hook",
	}
	for _, u := range ok {
		if err := ils.CheckWebhookURL(u); err != nil {
			t.Errorf("CheckWebhookURL(%s) = %v", u, err)
		}
	}
	refused := []string{
		"http://hooks.example.org/carrel",      // plain http over the internet
		"http://8.8.8.8/hook",                  // a public address
		"http://internal.library.lan/hook",     // a name: not resolved, not trusted
		"ftp://hooks.example.org/",             // not http
		"https:///nohost",                      // no host
		"hooks.example.org/carrel",             // no scheme
		"https://user:pass@hooks.example.org/", // credentials in the URL
		"https://hooks.example.org/#frag",
		"javascript:alert(1)",
	}
	for _, u := range refused {
		err := ils.CheckWebhookURL(u)
		if err == nil {
			t.Errorf("CheckWebhookURL(%s) accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "pass") || strings.Contains(err.Error(), "/carrel") {
			t.Errorf("CheckWebhookURL(%s): the error shows more than the host: %v", u, err)
		}
	}
}

func TestWebhookBody(t *testing.T) {
	at := time.Date(2026, 4, 7, 10, 20, 30, 123456000, time.UTC)
	payload, _ := json.Marshal(models.OutboxPayload{Card: "21000000000201", Subject: models.ConsentReadingHistory,
		OldValue: "on", NewValue: "off", Actor: models.ActorPatron, Channel: models.ChannelWeb, At: at, ConsentID: 42})
	body, err := ils.WebhookBody(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"consent.changed","timestamp":"2026-04-07T10:20:30.123456Z","data":{"card_number":"21000000000201",` +
		`"subject":"reading_history","old_value":"on","new_value":"off","actor":"patron","channel":"web",` +
		`"changed_at":"2026-04-07T10:20:30.123456Z","consent_id":42}}`
	if string(body) != want {
		t.Errorf("body =\n%s\nwant\n%s", body, want)
	}
	again, _ := ils.WebhookBody(payload)
	if string(again) != string(body) {
		t.Error("the same payload made a different body")
	}
	if _, err := ils.WebhookBody([]byte("not json")); err == nil {
		t.Error("a broken payload made a body")
	}
	if id := ils.WebhookID(42); id != "msg_consent_42" || strings.Contains(id, ".") {
		t.Errorf("WebhookID(42) = %s", id)
	}
}
