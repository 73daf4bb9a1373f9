package textrule_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sakkhq/sakk/internal/textrule"
)

var table = &textrule.Table{
	Values: map[string]textrule.Rule{
		"name":         {Max: 5},
		"items[].name": {Max: 3},
		"metadata.*":   {Max: 10, Multiline: true},
		"password":     {Controls: true},
	},
	Keys: map[string]textrule.Rule{"metadata.*": {Max: 4}},
	Key:  textrule.Rule{Max: 8},
}

func TestJSON(t *testing.T) {
	cases := []struct {
		doc, field, reason string // field "" : accepted
	}{
		{`{"name":"Lamp","items":[{"name":"abc"}],"metadata":{"k":"a\nb\tc"}}`, "", ""},
		{`{"name":"Lampes"}`, "name", "is 6 characters long; at most 5 are allowed"},
		{`{"name":"éééé"}`, "", ""}, // characters, not bytes
		{`{"name":"L\u0000"}`, "name", "holds the control character U+0000"},
		{"{\"name\":\"L\xffp\"}", "name", "is not valid UTF-8"},
		{`{"name":"\ud800"}`, "name", "is not valid UTF-8 (a lone surrogate)"},
		{`{"name":"\ufffd"}`, "", ""},
		{"{\"name\":\"\xef\xbf\xbd\"}", "", ""},
		{`{"name":"a\u0085"}`, "name", "holds the control character U+0085"},
		{`{"name":"a\u007f"}`, "name", "holds the control character U+007F"},
		{`{"name":"a\nb"}`, "name", "holds the control character U+000A"},
		{`{"items":[{"name":"ab"},{"name":"abcd"}]}`, "items[1].name", "is 4 characters long; at most 3 are allowed"},
		{`{"items":[[],{"x":1},{"name":"a\u0001"}]}`, "items[2].name", "holds the control character U+0001"},
		{`{"metadata":{"k":{"deep":["a\u0000"]}}}`, "metadata.k.deep[0]", "holds the control character U+0000"},
		{`{"metadata":{"k":"a\u0000"}}`, "metadata.k", "holds the control character U+0000"},
		{`{"metadata":{"toolong":"a"}}`, "metadata", "a key of metadata is 7 characters long; at most 4 are allowed"},
		{`{"metadata":{"a\u0000":"a"}}`, "metadata", "a key of metadata holds the control character U+0000"},
		{`{"k\u0000":1}`, "body", "the key of a field holds the control character U+0000"},
		{`{"averyverylongkey":1}`, "body", "the key of a field is 16 characters long; at most 8 are allowed"},
		{`{"password":"a\u0000\u0007"}`, "", ""},
		{`{"other":"` + strings.Repeat("a", textrule.DefaultMax) + `"}`, "", ""},
		{`{"other":"` + strings.Repeat("a", textrule.DefaultMax+1) + `"}`, "other", "is 4097 characters long; at most 4096 are allowed"},
		{`["a","b\u0000"]`, "[1]", "holds the control character U+0000"},
		{`"\u0000"`, "body", "holds the control character U+0000"},
		{`{"a":1,"b":true,"c":null,"name":"ok"}`, "", ""},
		{`{"a":`, "body", "is not one valid JSON value"},
		{``, "body", "is not one valid JSON value"},
		{`{} {}`, "body", "is not one valid JSON value"},
		{` 1 `, "", ""},
	}
	for _, c := range cases {
		p := textrule.JSON([]byte(c.doc), table)
		switch {
		case c.field == "" && p != nil:
			t.Errorf("%.60s: refused: %v", c.doc, p)
		case c.field != "" && p == nil:
			t.Errorf("%.60s: accepted, want %s: %s", c.doc, c.field, c.reason)
		case p != nil && (p.Field != c.field || p.Reason != c.reason):
			t.Errorf("%.60s: %q: %q, want %q: %q", c.doc, p.Field, p.Reason, c.field, c.reason)
		}
	}
}

func TestCheck(t *testing.T) {
	if p := textrule.Check("q", "a\tb", textrule.Rule{}); p == nil || p.Field != "q" {
		t.Errorf("a tab on one line = %v, want refused", p)
	}
	if p := textrule.Check("q", "a\tb\r\n", textrule.Rule{Multiline: true}); p != nil {
		t.Errorf("a tab where lines are allowed = %v", p)
	}
	if p := textrule.Check("q", "a\x00", textrule.Rule{Multiline: true}); p == nil {
		t.Error("NUL where lines are allowed: accepted")
	}
	if p := textrule.Check("q", "مرحبا", textrule.Rule{Max: 5}); p != nil {
		t.Errorf("5 Arabic letters in 5 characters = %v", p)
	}
}

// FuzzJSON: the walker never panics, and whatever it accepts decodes to
// strings that are valid UTF-8 without control characters; what the
// decoder refuses, it refuses too.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"name":"Lamp"}`, `{"items":[{"name":"a"}],"metadata":{"k":"v\n"}}`, `["\u0000"]`, "{\"a\":\"\xff\"}", `{"a":{"b":[1,2,{"c":"\ud800"}]}}`, `{}`, `[]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p := textrule.JSON(doc, table)
		var v any
		if json.Unmarshal(doc, &v) != nil {
			if p == nil && !json.Valid(doc) {
				t.Fatalf("invalid JSON %q accepted", doc)
			}
			return
		}
		if p != nil {
			return
		}
		if !utf8.Valid(doc) {
			t.Fatalf("accepted invalid UTF-8 in %q", doc)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				for _, c := range v {
					if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f || 0x80 <= c && c <= 0x9f {
						if !strings.Contains(string(doc), "password") {
							t.Fatalf("accepted %q holding U+%04X", doc, c)
						}
					}
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for k, e := range v {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}
