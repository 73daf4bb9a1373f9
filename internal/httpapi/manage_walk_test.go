package httpapi_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testserver"
)

// TestManagementRouteWalk calls every management operation of
// docs/openapi.yaml as nobody, as each role, as another merchant and as
// an application's secret key, and holds each answer to what the
// operation's x-sakk-access and x-sakk-permission say. A route added
// without a guard, or with another guard than documented, fails here.
func TestManagementRouteWalk(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			owner := s.member(t, "owner@a.example", pay.Owner, "")
			roles := map[pay.Role]map[string]string{pay.Owner: s.pat(t, "owner@a.example", testPassword)}
			for _, role := range []pay.Role{pay.Admin, pay.Developer, pay.Support, pay.Viewer} {
				email := string(role) + "@a.example"
				s.member(t, email, role, owner.MerchantID)
				roles[role] = s.pat(t, email, testPassword)
			}
			s.member(t, "owner@b.example", pay.Owner, "")
			other := s.pat(t, "owner@b.example", testPassword)

			r := s.Do("POST", "/api/merchant/v1/apps", roles[pay.Owner], `{"name":"Shop A"}`, true)
			if r.Status != 201 {
				t.Fatalf("create app: %d %s", r.Status, r.Body)
			}
			app := r.JSON(t)
			appID := str(app, "id")
			keys, _ := app["keys"].(map[string]any)
			secretKey := map[string]string{"X-API-Key": str(keys, "secretKey")}
			// Another application of the same merchant: the key must not
			// reach it either.
			r = s.Do("POST", "/api/merchant/v1/apps", roles[pay.Owner], `{"name":"Shop A2"}`, true)
			sibling := str(r.JSON(t), "id")

			type op struct{ method, path, access, perm string }
			var ops []op
			for path, item := range testserver.OpenAPI(t).Paths.Map() {
				for method, o := range item.Operations() {
					acc, ok := o.Extensions["x-sakk-access"].(string)
					if !ok {
						continue
					}
					perm, _ := o.Extensions["x-sakk-permission"].(string)
					ops = append(ops, op{method, path, acc, perm})
				}
			}
			sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
			if len(ops) < 25 {
				t.Fatalf("only %d management operations documented", len(ops))
			}
			fill := func(path, app string) string {
				path = strings.ReplaceAll(path, "{appId}", app)
				for strings.Contains(path, "{") {
					i, j := strings.Index(path, "{"), strings.Index(path, "}")
					path = path[:i] + "nope" + path[j+1:]
				}
				return path
			}
			call := func(o op, path string, h map[string]string) response {
				body := ""
				if o.method != "GET" && o.method != "DELETE" {
					body = `{}`
				}
				return s.Do(o.method, path, h, body, false)
			}
			for _, o := range ops {
				if o.access == "public" {
					continue
				}
				name := o.method + " " + o.path
				path := fill(o.path, appID)
				if r := call(o, path, nil); r.Status != http.StatusUnauthorized {
					t.Errorf("%s without a credential = %d %s, want 401", name, r.Status, r.Body)
				}
				appScoped := strings.Contains(o.path, "{appId}")
				if appScoped {
					if r := call(o, path, other); r.Status != http.StatusNotFound {
						t.Errorf("%s as another merchant = %d %s, want 404", name, r.Status, r.Body)
					}
				}
				for role, h := range roles {
					allowed := o.perm == "" || role.Can(pay.Permission(o.perm))
					if !allowed {
						if r := call(o, path, h); r.Status != http.StatusForbidden || r.ErrorCode(t) != "forbidden" {
							t.Errorf("%s as %s = %d %s, want 403 forbidden", name, role, r.Status, r.Body)
						}
					} else if o.method == "GET" {
						if r := call(o, path, h); r.Status == 401 || r.Status == 403 || r.Status >= 500 {
							t.Errorf("%s as %s = %d %s, want it served", name, role, r.Status, r.Body)
						}
					}
				}
				switch {
				case o.access == "appOrKey":
					if r := call(o, fill(o.path, sibling), secretKey); r.Status != http.StatusForbidden {
						t.Errorf("%s with another application's key = %d %s, want 403", name, r.Status, r.Body)
					}
					if o.method == "GET" {
						if r := call(o, path, secretKey); r.Status == 401 || r.Status == 403 || r.Status >= 500 {
							t.Errorf("%s with the application's key = %d %s, want it served", name, r.Status, r.Body)
						}
					}
				default:
					if r := call(o, path, secretKey); r.Status != http.StatusForbidden || r.ErrorCode(t) != "forbidden" {
						t.Errorf("%s with an application key = %d %s, want 403 forbidden", name, r.Status, r.Body)
					}
				}
			}
		})
	}
}
