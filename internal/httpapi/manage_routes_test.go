package httpapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sakkhq/sakk/docs"
)

// TestManagementRoutesDocumented holds the route table and the OpenAPI
// document to each other: every route is documented with the access and
// permission its guard applies, and every documented management
// operation is a route.
func TestManagementRoutesDocumented(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	names := map[access]string{public: "public", member: "member", appMember: "appMember", appOrKey: "appOrKey"}
	inTable := map[string]bool{}
	for _, rt := range (&api{}).managementRoutes() {
		key := rt.method + " " + managementPrefix + rt.path
		inTable[key] = true
		item := doc.Paths.Find(managementPrefix + rt.path)
		if item == nil || item.GetOperation(rt.method) == nil {
			t.Errorf("%s is not in docs/openapi.yaml", key)
			continue
		}
		op := item.GetOperation(rt.method)
		if got := op.Extensions["x-sakk-access"]; got != names[rt.access] {
			t.Errorf("%s: x-sakk-access %v, the guard applies %s", key, got, names[rt.access])
		}
		if got, _ := op.Extensions["x-sakk-permission"].(string); got != string(rt.need) {
			t.Errorf("%s: x-sakk-permission %q, the guard applies %q", key, got, rt.need)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if _, ok := op.Extensions["x-sakk-access"]; ok && !inTable[method+" "+path] {
				t.Errorf("%s %s is documented as a management route but not served", method, path)
			}
		}
	}
}
