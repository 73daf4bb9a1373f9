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
	"strconv"
	"strings"
	"sync"
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

	once  sync.Once
	floor int // shortest's answer
}

// ValueRule is the rule of a string value at pattern ("items[].name").
func (t *Table) ValueRule(pattern string) Rule { return t.lookup(t.Values, pattern, t.Value) }

// Limit is the most characters r allows.
func (r Rule) Limit() int { return limit(r.Max) }

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
//
// It runs on every request body, so it reads doc once, byte by byte, and
// allocates nothing for a string of printable ASCII no rule can refuse
// (no escape, no byte outside 0x20–0x7E, no longer than the shortest
// limit of t): the common case. Any other string is decoded and checked
// in full.
func JSON(doc []byte, t *Table) *Problem {
	if !json.Valid(doc) {
		return &Problem{Field: "body", Reason: "is not one valid JSON value"}
	}
	w := walkers.Get().(*walker)
	w.doc, w.i, w.t, w.floor, w.stack = doc, 0, t, t.shortest(), w.stack[:0]
	w.space()
	p := w.value()
	w.doc, w.t = nil, nil
	walkers.Put(w)
	return p
}

// walkers keeps walkers between documents, with their frames' key
// buffers: a walker holds its first frames itself, so it lives on the
// heap, and JSON runs on every request body.
var walkers = sync.Pool{New: func() any {
	w := new(walker)
	w.stack = w.frames[:0]
	return w
}}

// shortest is the least Max of any rule of t: a string of printable ASCII
// no longer than that breaks none.
func (t *Table) shortest() int {
	t.once.Do(func() {
		t.floor = limit(t.Value.Max)
		for _, m := range []map[string]Rule{t.Values, t.Keys} {
			for _, r := range m {
				t.floor = min(t.floor, limit(r.Max))
			}
		}
		t.floor = min(t.floor, limit(t.Key.Max))
	})
	return t.floor
}

func limit(max int) int { return cmp.Or(max, DefaultMax) }

// walker reads one valid JSON document, keeping the containers it is in.
type walker struct {
	doc   []byte
	i     int
	t     *Table
	floor int
	// stack holds the containers from the top down, each at its current
	// member; frames backs it for all but deeply nested documents.
	stack  []frame
	frames [16]frame
	buf    []byte // scratch for rule lookups
}

type frame struct {
	array bool
	index int    // an array's current element
	key   []byte // an object's current key, decoded
}

func (w *walker) space() {
	for w.i < len(w.doc) && (w.doc[w.i] == ' ' || w.doc[w.i] == '\t' || w.doc[w.i] == '\n' || w.doc[w.i] == '\r') {
		w.i++
	}
}

// value reads the value at w.i, whose field is the stack's current member.
func (w *walker) value() *Problem {
	switch w.doc[w.i] {
	case '{', '[':
		return w.container(w.doc[w.i] == '[')
	case '"':
		return w.text(w.str(), false)
	}
	for w.i < len(w.doc) && !strings.ContainsRune(",]} \t\r\n", rune(w.doc[w.i])) {
		w.i++ // a number, true, false or null
	}
	return nil
}

func (w *walker) container(array bool) *Problem {
	w.i++ // the opening bracket
	top := len(w.stack)
	if top < cap(w.stack) {
		w.stack = w.stack[:top+1] // the frame's key buffer is reused
		w.stack[top].array, w.stack[top].index, w.stack[top].key = array, 0, w.stack[top].key[:0]
	} else {
		w.stack = append(w.stack, frame{array: array})
	}
	for {
		w.space()
		if c := w.doc[w.i]; c == ']' || c == '}' {
			w.i++
			w.stack = w.stack[:top]
			return nil
		}
		if !array {
			raw := w.str()
			if p := w.text(raw, true); p != nil {
				return p
			}
			w.stack[top].key = appendDecoded(w.stack[top].key[:0], raw)
			w.space()
			w.i++ // the colon
			w.space()
		}
		if p := w.value(); p != nil {
			return p
		}
		w.stack[top].index++
		w.space()
		if w.doc[w.i] == ',' {
			w.i++
		}
	}
}

// str reads the string at w.i and answers it raw, quotes included.
func (w *walker) str() []byte {
	start := w.i
	for w.i++; w.doc[w.i] != '"'; w.i++ {
		if w.doc[w.i] == '\\' {
			w.i++
		}
	}
	w.i++
	return w.doc[start:w.i]
}

// text checks one string, raw as in doc: a key of the stack's top
// container, or the value of its current member.
func (w *walker) text(raw []byte, key bool) *Problem {
	plain := true
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c > 0x7e || c == '\\' {
			plain = false
			break
		}
	}
	n := len(raw) - 2
	if plain && n <= w.floor {
		return nil
	}
	var r Rule
	if key {
		r = w.t.lookup(w.t.Keys, w.pattern(len(w.stack)-1, true), w.t.Key)
	} else {
		r = w.t.lookup(w.t.Values, w.pattern(len(w.stack), false), w.t.Value)
	}
	if plain && n <= limit(r.Max) {
		return nil
	}
	var s string
	json.Unmarshal(raw, &s) // valid: json.Valid said so
	reason := checkRaw(s, raw, r)
	switch {
	case reason == "":
		return nil
	case !key:
		return &Problem{Field: cmp.Or(w.path(len(w.stack)), "body"), Reason: reason}
	}
	name, container := "the key of a field", w.path(len(w.stack)-1)
	if container != "" {
		name = "a key of " + container
	}
	return &Problem{Field: cmp.Or(container, "body"), Reason: name + " " + reason}
}

// pattern is the field pattern of the current members of the stack's
// first n containers ("items[].name"), and with keys, of any key of the
// container they lead to ("metadata.*").
func (w *walker) pattern(n int, keys bool) string {
	b := w.buf[:0]
	for _, f := range w.stack[:n] {
		if f.array {
			b = append(b, "[]"...)
		} else {
			b = joinKey(b, f.key)
		}
	}
	if keys {
		b = joinKey(b, []byte("*"))
	}
	w.buf = b
	return string(b)
}

// path is pattern with each array's index: "items[0].name".
func (w *walker) path(n int) string {
	var b []byte
	for _, f := range w.stack[:n] {
		if f.array {
			b = append(append(append(b, '['), strconv.Itoa(f.index)...), ']')
		} else {
			b = joinKey(b, f.key)
		}
	}
	return string(b)
}

func joinKey(b, key []byte) []byte {
	if len(b) > 0 {
		b = append(b, '.')
	}
	return append(b, key...)
}

// appendDecoded appends the decoded text of a raw JSON string to b.
func appendDecoded(b, raw []byte) []byte {
	if !bytes.ContainsRune(raw, '\\') {
		return append(b, raw[1:len(raw)-1]...)
	}
	var s string
	json.Unmarshal(raw, &s)
	return append(b, s...)
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
