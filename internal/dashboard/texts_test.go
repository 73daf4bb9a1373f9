package dashboard

import (
	"regexp"
	"testing"
)

// TestTextsComplete: every language has every English key, with the same
// {placeholders}, and nothing more.
func TestTextsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range catalogues {
		for k := range c["en"] {
			if seen[k] {
				t.Errorf("%q is in two catalogues", k)
			}
			seen[k] = true
		}
	}
	ph := regexp.MustCompile(`\{[a-z]+\}`)
	for lang, m := range texts {
		for k, en := range texts["en"] {
			v, ok := m[k]
			if !ok {
				t.Errorf("%s lacks %q", lang, k)
				continue
			}
			if got, want := ph.FindAllString(v, -1), ph.FindAllString(en, -1); len(got) != len(want) {
				t.Errorf("%s %q has placeholders %v, English %v", lang, k, got, want)
			}
		}
		for k := range m {
			if _, ok := texts["en"][k]; !ok {
				t.Errorf("%s has %q, which English lacks", lang, k)
			}
		}
	}
}

// TestLabels: the English words a newcomer (and MANAGEMENT.md's browser
// journey) looks for.
func TestLabels(t *testing.T) {
	for k, want := range map[string]string{
		"email": "Email", "password": "Password", "sign_in": "Sign in", "nav_overview": "Overview", "nav_payments": "Payments",
		"nav_products": "Products", "nav_links": "Payment links", "nav_apps": "Applications", "nav_webhooks": "Webhooks",
		"nav_team": "Team", "nav_audit": "Audit log", "nav_settings": "Settings", "create_app": "Create application", "refund": "Refund",
	} {
		if texts["en"][k] != want {
			t.Errorf("%s is %q, want %q", k, texts["en"][k], want)
		}
	}
}
