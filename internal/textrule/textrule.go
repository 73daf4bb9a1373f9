// Package textrule is the one rule for text that enters sakk from outside:
// request bodies, query strings, paths and form fields of every surface.
// Text is valid UTF-8 (no lone surrogate either), holds no control
// character (C0, DEL, C1) unless its field says it may hold line breaks
// and tabs, and is no longer than its field's limit, counted in
// characters as JSON Schema's maxLength counts them.
//
// Both stores then hold only text either engine accepts: PostgreSQL
// refuses a NUL or an invalid byte in a text column where SQLite stores
// it, so without this rule one request could be a 500 on one engine and
// a stored row on the other. Each surface applies the rule once, where it
// decodes its input, and answers a Problem in its own error shape.
package textrule

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rule is what one field may hold.
type Rule struct {
	Max       int  // the most characters; 0 is DefaultMax
	Multiline bool // line feed, carriage return and tab are allowed
	// Controls allows every control character: for a secret that is only
	// ever hashed (a password), never stored or shown as text.
	Controls bool
}

// DefaultMax is the limit of a field no table names: long enough for any
// token, URL or gateway credential sakk takes, short enough that no field
// fills a page.
const DefaultMax = 4096

// Problem is a field that breaks the rule.
type Problem struct {
	Field  string // where: "items[0].name", "query.cursor", "path"
	Reason string // what, for the caller: "holds the control character U+0000"
}

func (p *Problem) Error() string { return p.Field + ": " + p.Reason }

// Check checks one value of field against r.
func Check(field, s string, r Rule) *Problem {
	if reason := check(s, r); reason != "" {
		return &Problem{Field: field, Reason: reason}
	}
	return nil
}

func check(s string, r Rule) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	n := 0
	for _, c := range s {
		n++
		if control(c) && !r.Controls && !(r.Multiline && (c == '\n' || c == '\r' || c == '\t')) {
			return fmt.Sprintf("holds the control character U+%04X", c)
		}
	}
	max := r.Max
	if max == 0 {
		max = DefaultMax
	}
	if n > max {
		return fmt.Sprintf("is %d characters long; at most %d are allowed", n, max)
	}
	return ""
}

// control is a C0 or C1 control character, or DEL.
func control(c rune) bool { return c < 0x20 || c == 0x7f || 0x80 <= c && c <= 0x9f }

// Table gives each field of a JSON document its rule. Patterns name a
// field by its keys from the top, with [] for any index of an array:
// "items[].name". A pattern ending in ".*" covers everything below it:
// "metadata.*" is any field inside metadata, at any depth.
type Table struct {
	Values map[string]Rule // string values, by their field's pattern
	Keys   map[string]Rule // object keys, by the pattern of the key's own field
	Value  Rule            // a string value no pattern names
	Key    Rule            // a key no pattern names
}

func (t *Table) lookup(m map[string]Rule, pattern string, def Rule) Rule {
	if r, ok := m[pattern]; ok {
		return r
	}
	// The longest "prefix.*" that covers pattern.
	for p := pattern; ; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return def
		}
		p = p[:i]
		if r, ok := m[p+".*"]; ok {
			return r
		}
	}
}

// JSON checks every string of doc, keys included, against t. doc is one
// JSON value (the caller decoded it already); anything else answers a
// Problem on field "body".
func JSON(doc []byte, t *Table) *Problem {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	type frame struct {
		object  bool
		path    string // the container's own field, as the caller sees it
		pattern string // the same with indices as []
		index   int    // next index of an array
		key     string // an object's current key; "" before the first
		wantKey bool   // an object's next string is a key
	}
	var stack []frame
	var prev int64
	values := 0 // top-level values begun
	for {
		tok, err := dec.Token()
		if err == io.EOF && len(stack) == 0 && values == 1 {
			return nil
		}
		if len(stack) == 0 {
			values++
		}
		if err != nil || values > 1 {
			return &Problem{Field: "body", Reason: "is not one valid JSON value"}
		}
		off := dec.InputOffset()
		raw := doc[prev:off]
		prev = off
		// Where the token sits: the field it is the value of.
		path, pattern := "", ""
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
			if top.object {
				path, pattern = join(top.path, top.key), join(top.pattern, "*")
				if !top.wantKey {
					pattern = join(top.pattern, top.key)
				}
			} else {
				path, pattern = top.path+"["+strconv.Itoa(top.index)+"]", top.pattern+"[]"
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && !top.object {
					top.index++
				}
				stack = append(stack, frame{object: v == '{', path: path, pattern: pattern, wantKey: v == '{'})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantKey = true
				}
			}
			continue
		case string:
			if top != nil && top.object && top.wantKey {
				name := "the key of a field"
				if top.path != "" {
					name = "a key of " + top.path
				}
				if reason := checkRaw(v, raw, t.lookup(t.Keys, join(top.pattern, "*"), t.Key)); reason != "" {
					return &Problem{Field: cmp.Or(top.path, "body"), Reason: name + " " + reason}
				}
				top.key, top.wantKey = v, false
				continue
			}
			if reason := checkRaw(v, raw, t.lookup(t.Values, pattern, t.Value)); reason != "" {
				return &Problem{Field: cmp.Or(path, "body"), Reason: reason}
			}
		}
		if top != nil {
			if top.object {
				top.wantKey = true
			} else {
				top.index++
			}
		}
	}
}

// checkRaw checks a decoded string against r, looking at its raw bytes
// for what decoding hides: encoding/json turns invalid UTF-8 and lone
// surrogate escapes into U+FFFD.
func checkRaw(s string, raw []byte, r Rule) string {
	if !utf8.Valid(raw) {
		return "is not valid UTF-8"
	}
	if strings.ContainsRune(s, utf8.RuneError) && !bytes.Contains(raw, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
		return "is not valid UTF-8 (a lone surrogate)"
	}
	return check(s, r)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
