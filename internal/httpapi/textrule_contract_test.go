package httpapi

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sakkhq/sakk/internal/textrule"
)

// The limits docs/openapi.yaml states hold: every string of a JSON
// request body under /api/ whose field the text rule limits states a
// maxLength, and none states more than the rule allows (a field's own
// check may allow less: the partner API's vendorReference, 100).
func TestTextLimitsAsDocumented(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	checked := 0
	var walk func(where, pattern string, s *openapi3.SchemaRef, depth int)
	walk = func(where, pattern string, s *openapi3.SchemaRef, depth int) {
		if s == nil || s.Value == nil || depth > 12 {
			return
		}
		v := s.Value
		for _, sub := range slices.Concat(v.AllOf, v.OneOf, v.AnyOf) {
			walk(where, pattern, sub, depth+1)
		}
		switch {
		case v.Type.Is("string") && pattern != "":
			checked++
			want := bodyText.ValueRule(pattern).Limit()
			got := 0
			if v.MaxLength != nil {
				got = int(*v.MaxLength)
			}
			switch {
			case got == 0 && want != textrule.DefaultMax:
				problems = append(problems, fmt.Sprintf("%s %s: no maxLength, the text rule allows %d", where, pattern, want))
			case got > want:
				problems = append(problems, fmt.Sprintf("%s %s: maxLength %d, the text rule allows %d", where, pattern, got, want))
			}
		case v.Type.Is("array"):
			walk(where, pattern+"[]", v.Items, depth+1)
		default:
			for name, p := range v.Properties {
				walk(where, join(pattern, name), p, depth+1)
			}
			if ap := v.AdditionalProperties.Schema; ap != nil {
				walk(where, join(pattern, "key"), ap, depth+1)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
				walk(method+" "+path, "", mt.Schema, 0)
			}
		}
	}
	slices.Sort(problems)
	for _, p := range problems {
		t.Error(p)
	}
	if checked < 50 {
		t.Errorf("only %d string fields found in the request bodies: the walk missed the document", checked)
	}
}

func join(pattern, key string) string {
	if pattern == "" {
		return key
	}
	return pattern + "." + key
}
