package httpapi_test

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// manageCfgMember creates a member of role (in merchantID, or in a new
// merchant when merchantID is "") and returns a personal access token and
// the member's merchant.
func (s *server) manageCfgMember(t *testing.T, email string, role pay.Role, merchantID string) (pat, merchantOf string) {
	t.Helper()
	u := s.member(t, email, role, merchantID)
	return strings.TrimPrefix(s.pat(t, email, testPassword)["Authorization"], "Bearer "), u.MerchantID
}

// manageSignIn signs a member in and returns the Cookie header value of
// the session.
func (s *server) manageSignIn(t *testing.T, email string) string {
	t.Helper()
	return "sakk_session=" + s.login(t, email, testPassword)
}

// manage calls a management route with a personal access token.
func (s *server) manage(t *testing.T, pat, method, path, body string) response {
	t.Helper()
	return s.Do(method, "/api/merchant/v1"+path, map[string]string{"Authorization": "Bearer " + pat}, body, true)
}

// manageInvalid is manage for a body the contract refuses, sent to see
// the server refuse it too.
func (s *server) manageInvalid(t *testing.T, pat, method, path, body string) response {
	t.Helper()
	return s.Do(method, "/api/merchant/v1"+path, map[string]string{"Authorization": "Bearer " + pat}, body, false)
}

// wantStatus fails unless r has status (and, for an error, code).
func wantStatus(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if code != "" {
		if got := r.ErrorCode(t); got != code {
			t.Fatalf("error code %q, want %q: %s", got, code, r.Body)
		}
	}
	if status == http.StatusNoContent {
		return nil
	}
	return r.JSON(t)
}

// newManagedApp creates an application by the API and returns its id
// and its sandbox keys.
func (s *server) newManagedApp(t *testing.T, pat, name string) (string, merchant.Keys) {
	t.Helper()
	m := wantStatus(t, s.manage(t, pat, "POST", "/apps", `{"name":"`+name+`"}`), 201, "")
	k, _ := m["keys"].(map[string]any)
	return str(m, "id"), merchant.Keys{Secret: str(k, "secretKey"), Public: str(k, "publicKey"), ClientToken: str(k, "clientToken")}
}

// auditActions lists the actions of the application's audit entries, in
// order of name: the test clock stands still, so entries share one time
// and their order in the log says nothing.
func (s *server) auditActions(t *testing.T, pat, appID string) []string {
	t.Helper()
	m := wantStatus(t, s.manage(t, pat, "GET", "/audit-logs?limit=100&appId="+appID, ""), 200, "")
	var out []string
	for _, e := range m["data"].([]any) {
		out = append(out, str(e.(map[string]any), "action"))
	}
	slices.Sort(out)
	return out
}

// txtZone is a DNS server on loopback holding TXT records a test sets;
// every other name is NXDOMAIN.
type txtZone struct {
	addr string
	mu   sync.Mutex
	txt  map[string]string // absolute name → value
}

func newTXTZone(t *testing.T) *txtZone {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := &txtZone{addr: pc.LocalAddr().String(), txt: map[string]string{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { close(started) }}
	failed := make(chan error, 1)
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-failed:
		t.Fatalf("DNS server: %v", err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	return z
}

func (z *txtZone) set(name, value string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[dns.Fqdn(name)] = value
}

func (z *txtZone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, q := range req.Question {
		v, ok := z.txt[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if q.Qtype == dns.TypeTXT {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{v}})
		}
	}
	w.WriteMsg(m)
}

func TestManageDomains(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			z := newTXTZone(t)
			// The file check runs too: with no address for the name, it
			// finds the host does not resolve, without leaving loopback.
			s.Merchant.SetDomainVerifier(merchant.DomainVerifier{Resolver: merchant.ResolverAt(z.addr)})
			owner, mid := s.manageCfgMember(t, "owner@shop.test", pay.Owner, "")
			viewer, _ := s.manageCfgMember(t, "viewer@shop.test", pay.Viewer, mid)
			stranger, _ := s.manageCfgMember(t, "owner@other.test", pay.Owner, "")
			appID, _ := s.newManagedApp(t, owner, "Shop")
			base := "/apps/" + appID + "/domains"

			m := wantStatus(t, s.manage(t, owner, "POST", base, `{"domain":"Shop.Sakk.Test"}`), 201, "")
			v := m["verification"].(map[string]any)
			rec, file := v["dns"].(map[string]any), v["http"].(map[string]any)
			if m["domain"] != "shop.sakk.test" || m["verified"] != false || str(rec, "name") != "_sakk-challenge.shop.sakk.test" ||
				!strings.HasPrefix(str(rec, "value"), "sakk-domain-verification=") || str(file, "body") != str(rec, "value") ||
				str(file, "url") != "https://shop.sakk.test/.well-known/sakk-domain-verification.txt" {
				t.Errorf("new domain: %s", mustJSON(m))
			}
			// Adding it again changes nothing, token included.
			again := wantStatus(t, s.manage(t, owner, "POST", base, `{"domain":"shop.sakk.test"}`), 200, "")
			if str(again["verification"].(map[string]any)["dns"].(map[string]any), "value") != str(rec, "value") {
				t.Errorf("re-adding gave a new token: %s", mustJSON(again))
			}
			wantStatus(t, s.manage(t, owner, "POST", base, `{"domain":"https://shop.sakk.test/x"}`), 400, "invalid_domain")

			// No record yet: 409 saying so, kept on the domain.
			r := wantStatus(t, s.manage(t, owner, "POST", base+"/shop.sakk.test/verify", ""), 409, "domain_not_verified")
			if msg := str(r["error"].(map[string]any), "message"); !strings.Contains(msg, "no TXT record at _sakk-challenge.shop.sakk.test") {
				t.Errorf("failure message %q does not say what was found", msg)
			}
			list := wantStatus(t, s.manage(t, viewer, "GET", base, ""), 200, "")
			d := list["data"].([]any)[0].(map[string]any)
			if len(list["data"].([]any)) != 1 || d["verified"] != false || !strings.Contains(str(d, "lastError"), "no TXT record") || d["lastCheckedAt"] == nil {
				t.Errorf("listed after a failed check: %s", mustJSON(list))
			}

			// Role and tenancy: a viewer may read only; another merchant
			// does not see the application at all.
			wantStatus(t, s.manage(t, viewer, "POST", base+"/shop.sakk.test/verify", ""), 403, "forbidden")
			wantStatus(t, s.manage(t, viewer, "DELETE", base+"/shop.sakk.test", ""), 403, "forbidden")
			wantStatus(t, s.manage(t, viewer, "POST", base, `{"domain":"b.sakk.test"}`), 403, "forbidden")
			wantStatus(t, s.manage(t, stranger, "GET", base, ""), 404, "application_not_found")
			wantStatus(t, s.manage(t, stranger, "POST", base+"/shop.sakk.test/verify", ""), 404, "application_not_found")

			// The record published: verified.
			z.set(str(rec, "name"), str(rec, "value"))
			ok := wantStatus(t, s.manage(t, owner, "POST", base+"/shop.sakk.test/verify", ""), 200, "")
			if ok["verified"] != true || ok["verifiedAt"] == nil || str(ok, "lastError") != "" {
				t.Errorf("verified domain: %s", mustJSON(ok))
			}

			wantStatus(t, s.manage(t, owner, "POST", base+"/unknown.sakk.test/verify", ""), 404, "domain_not_found")
			wantStatus(t, s.manage(t, owner, "DELETE", base+"/shop.sakk.test", ""), 204, "")
			wantStatus(t, s.manage(t, owner, "DELETE", base+"/shop.sakk.test", ""), 404, "domain_not_found")
			if l := wantStatus(t, s.manage(t, owner, "GET", base, ""), 200, ""); len(l["data"].([]any)) != 0 {
				t.Errorf("after delete: %s", mustJSON(l))
			}
			// One entry per write that changed something.
			want := []string{"apps.create", "domains.create", "domains.delete", "domains.verify"}
			if got := s.auditActions(t, owner, appID); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("audit actions %v, want %v", got, want)
			}
		})
	}
}

func TestManageProducts(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			owner, mid := s.manageCfgMember(t, "owner@shop.test", pay.Owner, "")
			viewer, _ := s.manageCfgMember(t, "viewer@shop.test", pay.Viewer, mid)
			stranger, _ := s.manageCfgMember(t, "owner@other.test", pay.Owner, "")
			appID, keys := s.newManagedApp(t, owner, "Shop")
			otherAppID, _ := s.newManagedApp(t, owner, "Other")
			strangerApp, _ := s.newManagedApp(t, stranger, "Theirs")
			base := "/apps/" + appID + "/products"

			p := wantStatus(t, s.manage(t, owner, "POST", base, `{"storeCode":"MUG-1","title":"Mug","price":"50.00","imageUrl":"https://img.example.com/mug.png"}`), 201, "")
			if p["storeCode"] != "MUG-1" || p["price"] != "50.00" || p["currency"] != "MAD" || !strings.HasPrefix(str(p, "id"), "prod_") {
				t.Errorf("created: %s", mustJSON(p))
			}
			kwd := wantStatus(t, s.manage(t, owner, "POST", base, `{"storeCode":"CUP","title":"Cup","price":"1.250","currency":"KWD"}`), 201, "")
			if kwd["price"] != "1.250" || kwd["currency"] != "KWD" {
				t.Errorf("KWD product: %s", mustJSON(kwd))
			}
			wantStatus(t, s.manage(t, owner, "POST", base, `{"storeCode":"MUG-1","title":"Again","price":"1.00"}`), 409, "store_code_taken")
			wantStatus(t, s.manage(t, owner, "POST", base, `{"storeCode":"X","title":"X","price":"1.001"}`), 400, "invalid_price")
			wantStatus(t, s.manage(t, owner, "POST", base, `{"storeCode":"X","title":"X","price":"0"}`), 400, "invalid_price")
			// The same code in another application of the merchant is its own.
			wantStatus(t, s.manage(t, owner, "POST", "/apps/"+otherAppID+"/products", `{"storeCode":"MUG-1","title":"Other mug","price":"9.00"}`), 201, "")

			list := wantStatus(t, s.manage(t, viewer, "GET", base, ""), 200, "")
			if data := list["data"].([]any); len(data) != 2 || str(data[0].(map[string]any), "storeCode") != "CUP" {
				t.Errorf("list: %s", mustJSON(list))
			}
			got := wantStatus(t, s.manage(t, viewer, "GET", base+"/MUG-1", ""), 200, "")
			if mustJSON(got) != mustJSON(p) {
				t.Errorf("GET %s, want %s", mustJSON(got), mustJSON(p))
			}

			up := wantStatus(t, s.manage(t, owner, "PATCH", base+"/MUG-1", `{"title":"Big mug","price":"75.50"}`), 200, "")
			if up["title"] != "Big mug" || up["price"] != "75.50" || up["currency"] != "MAD" || up["imageUrl"] != "https://img.example.com/mug.png" || up["id"] != p["id"] {
				t.Errorf("updated: %s", mustJSON(up))
			}
			// The same values again change nothing, and are not recorded.
			if same := wantStatus(t, s.manage(t, owner, "PATCH", base+"/MUG-1", `{"price":"75.5"}`), 200, ""); mustJSON(same) != mustJSON(up) {
				t.Errorf("no-op patch: %s, want %s", mustJSON(same), mustJSON(up))
			}
			wantStatus(t, s.manage(t, owner, "PATCH", base+"/MUG-1", `{"currency":"USD"}`), 400, "invalid_price")
			wantStatus(t, s.manage(t, owner, "PATCH", base+"/MUG-1", `{"title":" "}`), 400, "invalid_title")

			// Viewers read; another merchant's application, or another
			// application's code, is unknown.
			wantStatus(t, s.manage(t, viewer, "POST", base, `{"storeCode":"V","title":"V","price":"1.00"}`), 403, "forbidden")
			wantStatus(t, s.manage(t, viewer, "PATCH", base+"/MUG-1", `{"title":"V"}`), 403, "forbidden")
			wantStatus(t, s.manage(t, viewer, "DELETE", base+"/MUG-1", ""), 403, "forbidden")
			wantStatus(t, s.manage(t, stranger, "GET", base+"/MUG-1", ""), 404, "application_not_found")
			wantStatus(t, s.manage(t, stranger, "PATCH", base+"/MUG-1", `{"title":"Mine"}`), 404, "application_not_found")
			wantStatus(t, s.manage(t, stranger, "GET", "/apps/"+strangerApp+"/products/MUG-1", ""), 404, "product_not_found")
			wantStatus(t, s.manage(t, owner, "GET", "/apps/"+otherAppID+"/products/CUP", ""), 404, "product_not_found")

			// A browser signed in writes from its own origin only; an
			// application's secret key never reaches these routes.
			cookie := s.manageSignIn(t, "owner@shop.test")
			wantStatus(t, s.Do("DELETE", "/api/merchant/v1"+base+"/MUG-1", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, "", true), 403, "forbidden")
			wantStatus(t, s.Do("GET", "/api/merchant/v1"+base+"/MUG-1", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, "", true), 200, "")
			wantStatus(t, s.Do("GET", "/api/merchant/v1"+base, keyHeader(keys), "", true), 403, "forbidden")
			wantStatus(t, s.Do("DELETE", "/api/merchant/v1"+base+"/MUG-1", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}, "", true), 204, "")
			wantStatus(t, s.manage(t, owner, "GET", base+"/MUG-1", ""), 404, "product_not_found")
			wantStatus(t, s.manage(t, owner, "DELETE", base+"/MUG-1", ""), 404, "product_not_found")
			// The other application's MUG-1 is untouched.
			wantStatus(t, s.manage(t, owner, "GET", "/apps/"+otherAppID+"/products/MUG-1", ""), 200, "")

			want := []string{"apps.create", "products.create", "products.create", "products.delete", "products.update"}
			if got := s.auditActions(t, owner, appID); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("audit actions %v, want %v", got, want)
			}
		})
	}
}

func TestManagePaymentLinks(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			owner, mid := s.manageCfgMember(t, "owner@shop.test", pay.Owner, "")
			viewer, _ := s.manageCfgMember(t, "viewer@shop.test", pay.Viewer, mid)
			stranger, _ := s.manageCfgMember(t, "owner@other.test", pay.Owner, "")
			appID, keys := s.newManagedApp(t, owner, "Shop")
			base := "/apps/" + appID + "/payment-links"
			wantStatus(t, s.manage(t, owner, "POST", "/apps/"+appID+"/products", `{"storeCode":"MUG-1","title":"Mug","price":"50.00"}`), 201, "")

			l := wantStatus(t, s.manage(t, owner, "POST", base,
				`{"items":[{"storeCode":"MUG-1","quantity":2},{"name":"Gift wrap","unitPrice":"10.50"}],"quantityLimit":5}`), 201, "")
			id := str(l, "id")
			items := l["items"].([]any)
			first, second := items[0].(map[string]any), items[1].(map[string]any)
			if l["url"] != s.URL+"/pay/"+id || l["total"] != "110.50" || l["currency"] != "MAD" || l["active"] != true ||
				l["quantityLimit"] != json.Number("5") || l["paid"] != json.Number("0") || l["environment"] != "sandbox" ||
				first["storeCode"] != "MUG-1" || first["name"] != "Mug" || first["unitPrice"] != "50.00" || first["quantity"] != json.Number("2") ||
				second["storeCode"] != nil || second["unitPrice"] != "10.50" || second["quantity"] != json.Number("1") {
				t.Errorf("created link: %s", mustJSON(l))
			}

			// Refusals: a product the application lacks, a price finer
			// than the currency, a viewer, another merchant.
			wantStatus(t, s.manage(t, owner, "POST", base, `{"items":[{"storeCode":"NOPE"}]}`), 404, "product_not_found")
			wantStatus(t, s.manage(t, owner, "POST", base, `{"items":[{"name":"X","unitPrice":"1.001"}]}`), 400, "invalid_price")
			wantStatus(t, s.manageInvalid(t, owner, "POST", base, `{"items":[]}`), 400, "invalid_items")
			wantStatus(t, s.manage(t, viewer, "POST", base, `{"items":[{"storeCode":"MUG-1"}]}`), 403, "forbidden")
			wantStatus(t, s.manage(t, viewer, "PATCH", base+"/"+id, `{"active":false}`), 403, "forbidden")
			wantStatus(t, s.manage(t, stranger, "GET", base+"/"+id, ""), 404, "application_not_found")
			// A link lives in one environment.
			wantStatus(t, s.manage(t, owner, "GET", base+"/"+id+"?environment=live", ""), 404, pay.CodePaymentLinkNotFound)

			// Deleting the product does not break the link: it holds a copy.
			wantStatus(t, s.manage(t, owner, "DELETE", "/apps/"+appID+"/products/MUG-1", ""), 204, "")
			tok := s.openedLink(t, id)

			// Paid once: the listing counts it.
			vtok := s.verified(t, s.backendToken(t, keys), "+212600000001", tok)
			wantAttempt(t, s.process(t, vtok, tok, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
			list := wantStatus(t, s.manage(t, viewer, "GET", base, ""), 200, "")
			data := list["data"].([]any)
			if len(data) != 1 || str(data[0].(map[string]any), "id") != id || data[0].(map[string]any)["paid"] != json.Number("1") {
				t.Errorf("list after one payment: %s", mustJSON(list))
			}

			off := wantStatus(t, s.manage(t, owner, "PATCH", base+"/"+id, `{"active":false}`), 200, "")
			if off["active"] != false || off["paid"] != json.Number("1") {
				t.Errorf("deactivated: %s", mustJSON(off))
			}
			if r := s.followLink(t, id, "", nil); r.Status != http.StatusGone {
				t.Errorf("inactive link answered %d, want 410", r.Status)
			}
			// The end moves, is refused in the past, and goes with null.
			end := s.Clock.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
			if got := wantStatus(t, s.manage(t, owner, "PATCH", base+"/"+id, `{"expiresAt":"`+end+`"}`), 200, ""); !strings.HasPrefix(str(got, "expiresAt"), strings.TrimSuffix(end, "Z")) {
				t.Errorf("expiresAt %q after setting %s", str(got, "expiresAt"), end)
			}
			past := s.Clock.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			wantStatus(t, s.manage(t, owner, "PATCH", base+"/"+id, `{"expiresAt":"`+past+`"}`), 400, "invalid_expires_at")
			if got := wantStatus(t, s.manage(t, owner, "PATCH", base+"/"+id, `{"expiresAt":null}`), 200, ""); got["expiresAt"] != nil {
				t.Errorf("expiresAt %v after null", got["expiresAt"])
			}
			// Switching off again is no change, and not recorded twice.
			wantStatus(t, s.manage(t, owner, "PATCH", base+"/"+id, `{"active":false}`), 200, "")
			if got := wantStatus(t, s.manage(t, viewer, "GET", base+"/"+id, ""), 200, ""); got["active"] != false {
				t.Errorf("GET after deactivation: %s", mustJSON(got))
			}

			want := []string{"apps.create", "payment_links.create", "payment_links.update", "payment_links.update", "payment_links.update", "products.create", "products.delete"}
			if got := s.auditActions(t, owner, appID); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("audit actions %v, want %v", got, want)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
