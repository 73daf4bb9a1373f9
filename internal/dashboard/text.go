package dashboard

import (
	"net/http"
	"strings"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/textrule"
)

// The text rule (internal/textrule) on the dashboard: every page's path,
// query string and posted form fields are checked here, once, before the
// page's handler reads any of them; a field that breaks the rule is the
// error page with 400 naming the field. The services behind the pages
// keep their own, shorter limits (a name of 100 characters, …).

// maxForm bounds a posted form, as the largest page's own limit does.
const maxForm = 64 << 10

// formText is the rule of a form field: one line of at most the longest
// value formValue reads; a password (hashed, never stored as text) may
// hold any character.
func formText(name string) textrule.Rule {
	if strings.Contains(name, "password") {
		return textrule.Rule{Max: 128, Controls: true}
	}
	return textrule.Rule{Max: 2048}
}

// checkText wraps a page's handler with the rule.
func (h *Handler) checkText(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p := requestText(w, r); p != nil {
			h.fail(w, r, h.newPage(w, r), &pay.Error{Kind: pay.Invalid, Code: "invalid_text", Message: p.Error(), Err: p})
			return
		}
		next(w, r)
	}
}

func requestText(w http.ResponseWriter, r *http.Request) *textrule.Problem {
	if p := textrule.Check("path", r.URL.Path, textrule.Rule{Max: 2048}); p != nil {
		return p
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	// ParseForm reads the query and a urlencoded body; the parsed
	// values are what the page's handler reads afterwards.
	if err := r.ParseForm(); err != nil {
		return &textrule.Problem{Field: "form", Reason: "cannot be read: " + strings.TrimPrefix(err.Error(), "http: ")}
	}
	for name, vs := range r.Form {
		if p := textrule.Check("form", name, textrule.Rule{Max: 64}); p != nil {
			p.Reason = "a field name " + p.Reason
			return p
		}
		for _, v := range vs {
			if p := textrule.Check(name, v, formText(name)); p != nil {
				return p
			}
		}
	}
	return nil
}
