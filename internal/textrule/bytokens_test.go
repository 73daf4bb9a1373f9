package textrule

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"strconv"
	"testing"
)

// FuzzJSONByTokens holds JSON to the walk it replaced, one that read the
// document through encoding/json's tokens (several times slower, and
// allocating for every token): both answer the same Problem for any
// valid JSON, and both refuse anything else (the old walk could name a
// string it had passed before it found the document broken).
func FuzzJSONByTokens(f *testing.F) {
	for _, s := range []string{
		`{"name":"Lamp","items":[{"name":"abc","id":"x"}],"metadata":{"k":"a\nb"}}`,
		`{"metadata":{"toolong":"a"}}`, `{"k\u0000":1}`, `{"m\u0065tadata":{"averylongkey":"v"}}`,
		`[[],{"x":1},{"name":"a\u0001"}]`, "{\"name\":\"\xff\"}", `{"name":"\ud800"}`, `"x"`, ` 1 `, `{} {}`, ``,
	} {
		f.Add([]byte(s))
	}
	table := &Table{
		Values: map[string]Rule{"name": {Max: 5}, "items[].name": {Max: 3}, "metadata.*": {Max: 10, Multiline: true}, "password": {Controls: true}},
		Keys:   map[string]Rule{"metadata.*": {Max: 4}},
		Key:    Rule{Max: 8},
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, want := JSON(doc, table), byTokens(doc, table)
		if !json.Valid(doc) {
			if got == nil || want == nil {
				t.Fatalf("%q: invalid JSON: %v, by tokens %v", doc, got, want)
			}
			return
		}
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Fatalf("%q: %v, by tokens %v", doc, got, want)
		}
	})
}

func BenchmarkJSON(b *testing.B) {
	doc := []byte(`{"total":"1799.00","currency":"MAD","items":[{"id":"PRODUCT_123","name":"Wireless Headphones","price":1799,"quantity":1}],"vendor_reference":"order-000000001","metadata":{"cart":"c-0001","channel":"web","campaign":"winter"},"customer_email":"buyer@example.com","customer_phone":"212650296165","return_url":"https://shop.example.com/orders/000000001/return"}`)
	table := &Table{Values: map[string]Rule{"items[].name": {Max: 255}, "return_url": {Max: 2048}, "metadata.*": {Max: 500}}, Keys: map[string]Rule{"metadata.*": {Max: 40}}, Key: Rule{Max: 64}}
	for _, walk := range []struct {
		name string
		fn   func([]byte, *Table) *Problem
	}{{"bytes", JSON}, {"tokens", byTokens}} {
		b.Run(walk.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p := walk.fn(doc, table); p != nil {
					b.Fatal(p)
				}
			}
		})
	}
}

// byTokens is the walk JSON replaced, kept as its reference.
func byTokens(doc []byte, t *Table) *Problem {
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
