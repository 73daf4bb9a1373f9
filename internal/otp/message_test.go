package otp

import (
	"strings"
	"testing"
)

func TestMessageLocales(t *testing.T) {
	seen := map[string]string{}
	for _, c := range []struct{ requested, want string }{
		{"en", "en"}, {"fr", "fr"}, {"ar", "ar"},
		{"fr-MA", "fr"}, {"AR_ma", "ar"}, {" FR ", "fr"},
		{"", "en"}, {"de", "en"}, {"zz-ZZ", "en"},
	} {
		for _, ch := range []Channel{Email, Phone} {
			m := message(ch, "buyer@shop.test", c.requested, "Acme", "482910")
			if m.Locale != c.want {
				t.Errorf("%s %q: locale %q, want %q", ch, c.requested, m.Locale, c.want)
			}
			if m.To != "buyer@shop.test" {
				t.Errorf("To %q", m.To)
			}
			if (m.Subject != "") != (ch == Email) {
				t.Errorf("%s: subject %q", ch, m.Subject)
			}
			for _, part := range []string{m.Subject, m.Text} {
				if part == "" {
					continue
				}
				if !strings.Contains(part, "482910") || !strings.Contains(part, "Acme") {
					t.Errorf("%s %q: %q lacks the code or the brand", ch, c.requested, part)
				}
				if strings.ContainsAny(part, "{}") {
					t.Errorf("%s %q: %q has an unfilled placeholder", ch, c.requested, part)
				}
			}
			if !strings.Contains(m.Text, "10") {
				t.Errorf("%s %q: %q does not say 10 minutes", ch, c.requested, m.Text)
			}
			if ch == Email && c.requested == c.want {
				seen[c.want] = m.Text
			}
		}
	}
	if seen["en"] == seen["fr"] || seen["fr"] == seen["ar"] || seen["en"] == seen["ar"] {
		t.Error("two locales share a text")
	}
	for locale, word := range map[string]string{"en": "Never share", "fr": "Ne communiquez jamais", "ar": "لا تشارك"} {
		if !strings.Contains(seen[locale], word) {
			t.Errorf("%s: %q lacks %q", locale, seen[locale], word)
		}
	}
}

func TestMessageBrand(t *testing.T) {
	for _, c := range []struct{ brand, want string }{
		{"", "Sakk"},
		{"  \t ", "Sakk"},
		{"Acme\r\nBcc: evil@x.test", "Acme Bcc: evil@x.test"},
		{"Shop {code}", "Shop {code}"}, // stays text, never becomes the code
		{strings.Repeat("é", 100), strings.Repeat("é", maxBrandLen)},
		{"Bad\x00\x7fbyte\xff", "Bad byte"},
	} {
		m := message(Email, "b@shop.test", "en", c.brand, "111111")
		if !strings.Contains(m.Subject, c.want) {
			t.Errorf("brand %q: subject %q, want it to hold %q", c.brand, m.Subject, c.want)
		}
		if strings.ContainsAny(m.Subject, "\r\n\x00") {
			t.Errorf("brand %q: subject %q holds a control character", c.brand, m.Subject)
		}
		if strings.Count(m.Subject, "111111") != 1 {
			t.Errorf("brand %q: subject %q", c.brand, m.Subject)
		}
	}
}
