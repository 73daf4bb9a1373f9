package httpapi_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The management API's money views, refunds and reports summary, over
// the real wiring; who may call each route is walked in
// TestManagementRouteWalk, so these tests are about what the routes
// answer.

// seeded is a session with one payment attempt written straight to the
// store: for currencies, customers and statuses the sandbox flow does not
// make in one step.
type seeded struct {
	amount          money.Amount
	status          pay.PaymentStatus
	email, phone    string // phone normalised, as sessions store it
	verified        bool   // the email was proven
	gateway, method string
}

func (s *server) seed(t *testing.T, appID string, sp seeded) (sessionID, paymentID string) {
	t.Helper()
	now := s.Clock.Now()
	sess := pay.Session{ID: pay.NewID(pay.PrefixSession), ApplicationID: appID, Environment: pay.Sandbox,
		Status: pay.SessionStatus(sp.status), Amount: sp.amount, Customer: pay.Customer{Email: sp.email, Phone: sp.phone},
		ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	if sp.verified {
		sess.Customer.VerifiedIdentifier, sess.Customer.VerifiedChannel = sp.email, "email"
	}
	p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: sess.ID, ApplicationID: appID, Environment: pay.Sandbox,
		Gateway: sp.gateway, Method: sp.method, Status: sp.status, Amount: sp.amount, Refunded: money.New(0, sp.amount.Currency),
		CreatedAt: now, UpdatedAt: now}
	err := s.Store.WithTx(t.Context(), func(tx *store.Tx) error {
		if err := tx.CreateSession(t.Context(), sess); err != nil {
			return err
		}
		return tx.CreatePayment(t.Context(), p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return sess.ID, p.ID
}

// get answers a management GET that must succeed.
func (s *server) get(t *testing.T, path string, h map[string]string) map[string]any {
	t.Helper()
	r := s.Do("GET", "/api/merchant/v1"+path, h, "", true)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	return r.JSON(t)
}

// listIDs is the ids of a list answer's rows, in order (a customer's key
// for customers).
func listIDs(m map[string]any) []string {
	ids := []string{}
	data, _ := m["data"].([]any)
	for _, row := range data {
		o := row.(map[string]any)
		id := str(o, "id")
		if id == "" {
			id = str(o, "key")
		}
		ids = append(ids, id)
	}
	return ids
}

func sortedIDs(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }

// moneyFixture is one merchant's application with paid, failed and
// foreign-currency payments, and members of each role.
type moneyFixture struct {
	s                      *server
	app                    merchant.CreatedApplication
	owner, support, viewer map[string]string
	developer, other       map[string]string
	// flowSession and flowPayment were paid through the sandbox flow
	// (1799.00 MAD, buyer@example.com, verified); kwdPayment is 12.500
	// KWD completed by "=cmd@x.example" (+212612345678), failedPayment
	// 50.00 MAD declined for other@example.com.
	flowSession, flowPayment, kwdSession, kwdPayment, failedSession, failedPayment string
}

func newMoneyFixture(t *testing.T, engine store.Engine) *moneyFixture {
	s := newServer(t, engine, serverOptions{})
	owner := s.member(t, "owner@a.example", pay.Owner, "")
	f := &moneyFixture{s: s, owner: s.pat(t, "owner@a.example", testPassword)}
	for role, dst := range map[pay.Role]*map[string]string{pay.Support: &f.support, pay.Viewer: &f.viewer, pay.Developer: &f.developer} {
		email := string(role) + "@a.example"
		s.member(t, email, role, owner.MerchantID)
		*dst = s.pat(t, email, testPassword)
	}
	s.member(t, "owner@b.example", pay.Owner, "")
	f.other = s.pat(t, "owner@b.example", testPassword)
	app, err := s.Merchant.CreateApplication(t.Context(), merchant.NewApplication{Name: "Shop A", MerchantID: owner.MerchantID, Environment: pay.Sandbox})
	if err != nil {
		t.Fatal(err)
	}
	f.app = app
	f.flowSession, f.flowPayment = s.paidSession(t, app.Keys, "buyer@example.com")
	f.kwdSession, f.kwdPayment = s.seed(t, app.Application.ID, seeded{amount: money.New(12500, "KWD"), status: pay.PaymentCompleted,
		email: "=cmd@x.example", phone: "+212612345678", verified: true, gateway: "myfatoorah", method: "knet"})
	f.failedSession, f.failedPayment = s.seed(t, app.Application.ID, seeded{amount: money.New(5000, "MAD"), status: pay.PaymentFailed,
		email: "other@example.com", gateway: "paypal", method: "paypal"})
	return f
}

func (f *moneyFixture) path(rest string) string { return "/apps/" + f.app.Application.ID + rest }

func TestManageMoneySearch(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			f := newMoneyFixture(t, engine)
			s := f.s
			all := sortedIDs(f.flowPayment, f.kwdPayment, f.failedPayment)
			for _, c := range []struct {
				query string
				want  []string
			}{
				{"", all},
				{"status=completed", sortedIDs(f.flowPayment, f.kwdPayment)},
				{"status=failed", []string{f.failedPayment}},
				{"id=" + f.flowPayment, []string{f.flowPayment}},
				{"id=" + f.failedSession, []string{f.failedPayment}}, // a session's id finds its attempts
				{"email=" + url.QueryEscape(" BUYER@Example.com "), []string{f.flowPayment}},
				{"email=" + url.QueryEscape("=cmd@x.example"), []string{f.kwdPayment}},
				{"phone=" + url.QueryEscape("+212 6-12 34 56 78"), []string{f.kwdPayment}},
				{"phone=00212612345678", []string{f.kwdPayment}},
				{"amount=12.500&currency=KWD", []string{f.kwdPayment}},
				{"amount=12.5&currency=KWD", []string{f.kwdPayment}},
				{"amount=1799.00&currency=MAD", []string{f.flowPayment}},
				{"amount=1799.00&currency=KWD", []string{}},
				{"email=nobody@example.com", []string{}},
				{"created_from=" + url.QueryEscape(s.Clock.Now().Add(time.Hour).Format(time.RFC3339)), []string{}},
				{"created_to=" + url.QueryEscape(s.Clock.Now().Add(time.Hour).Format(time.RFC3339)), all},
				{"status=completed&email=buyer@example.com&amount=1799&currency=MAD", []string{f.flowPayment}},
			} {
				// Order is the pages' business, checked below.
				got := sortedIDs(listIDs(s.get(t, f.path("/payments?"+c.query), f.viewer))...)
				if !slices.Equal(got, c.want) {
					t.Errorf("payments?%s = %v, want %v", c.query, got, c.want)
				}
			}

			// A row carries its session's customer.
			row := s.get(t, f.path("/payments?id="+f.kwdPayment), f.viewer)["data"].([]any)[0].(map[string]any)
			if row["customerEmail"] != "=cmd@x.example" || row["customerPhone"] != "+212612345678" || row["amount"] != "12.500" || row["currency"] != "KWD" {
				t.Errorf("payment row: %v", row)
			}

			// Sessions, customers and events take their own searches.
			for _, c := range []struct {
				path string
				want []string
			}{
				{"/sessions?email=buyer@example.com", []string{f.flowSession}},
				{"/sessions?id=" + f.kwdPayment, []string{f.kwdSession}},
				{"/sessions?amount=50&currency=MAD", []string{f.failedSession}},
				{"/sessions?status=failed", []string{f.failedSession}},
				{"/sessions?phone=%2B212612345678", []string{f.kwdSession}},
				{"/customers?email=buyer@example.com", []string{"buyer@example.com"}},
				{"/customers?phone=%2B212612345678", []string{"=cmd@x.example"}},
				{"/customers?id=" + f.failedPayment, []string{"other@example.com"}},
			} {
				if got := listIDs(s.get(t, f.path(c.path), f.viewer)); !slices.Equal(got, c.want) {
					t.Errorf("%s = %v, want %v", c.path, got, c.want)
				}
			}
			cust := s.get(t, f.path("/customers?email=buyer@example.com"), f.viewer)["data"].([]any)[0].(map[string]any)
			if diff := cmp.Diff([]any{map[string]any{"currency": "MAD", "count": json.Number("1"), "amount": "1799.00", "refundedAmount": "0.00"}}, cust["paid"]); diff != "" {
				t.Errorf("customer paid (-want +got):\n%s", diff)
			}
			events := s.get(t, f.path("/events?subject_id="+f.flowSession), f.viewer)["data"].([]any)
			if len(events) == 0 {
				t.Fatal("no events of the paid session")
			}
			for _, e := range events {
				if e := e.(map[string]any); e["subjectId"] != f.flowSession || e["payload"] == nil {
					t.Errorf("event of another subject, or without payload: %v", e)
				}
			}
			completed := listIDs(s.get(t, f.path("/events?type=payment.completed&subject_id="+f.flowSession), f.viewer))
			if len(completed) != 1 {
				t.Errorf("payment.completed events of the paid session: %v", completed)
			}
			if got := listIDs(s.get(t, f.path("/events?type=payment.completed&subject_id="+f.kwdSession), f.viewer)); len(got) != 0 {
				t.Errorf("events of a session that emitted none: %v", got)
			}

			// Pages neither skip nor repeat.
			first := s.get(t, f.path("/payments?limit=2"), f.viewer)
			if first["hasMore"] != true || len(listIDs(first)) != 2 {
				t.Fatalf("first page: %v", first)
			}
			second := s.get(t, f.path("/payments?limit=2&cursor="+url.QueryEscape(str(first, "nextCursor"))), f.viewer)
			if got := sortedIDs(append(listIDs(first), listIDs(second)...)...); !slices.Equal(got, all) || second["hasMore"] != false {
				t.Errorf("two pages: %v then %v", first, second)
			}

			// Refused searches: 400 with a code, never an ignored filter.
			for query, code := range map[string]string{
				"/payments?amount=10.00":                  "invalid_amount",
				"/payments?currency=MAD":                  "invalid_filter",
				"/payments?amount=1.2345&currency=KWD":    "invalid_amount",
				"/payments?amount=ten&currency=MAD":       "invalid_amount",
				"/payments?phone=not-a-phone":             "invalid_phone",
				"/payments?format=xml":                    "invalid_format",
				"/payments?created_from=yesterday":        "invalid_date",
				"/payments?cursor=nope":                   "invalid_cursor",
				"/refunds?email=buyer@example.com":        "invalid_filter",
				"/customers?status=completed":             "invalid_filter",
				"/events?amount=1.00&currency=MAD":        "invalid_filter",
				"/payments?type=payment.completed":        "invalid_filter",
				"/sessions?subject_id=" + f.flowSession:   "invalid_filter",
				"/payments?format=csv&cursor=nope":        "invalid_cursor",
				"/payments?format=csv&amount=1&currency=": "invalid_amount",
			} {
				r := s.Do("GET", "/api/merchant/v1"+f.path(query), f.viewer, "", false)
				if r.Status != 400 || r.ErrorCode(t) != code {
					t.Errorf("%s = %d %s, want 400 %s", query, r.Status, r.Body, code)
				}
			}
		})
	}
}

func TestManageMoneyCSV(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			f := newMoneyFixture(t, engine)
			s := f.s
			r := s.Do("GET", "/api/merchant/v1"+f.path("/payments?format=csv"), f.viewer, "", true)
			if r.Status != 200 {
				t.Fatalf("export: %d %s", r.Status, r.Body)
			}
			if got := r.Header.Get("Content-Type"); got != "text/csv; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got, want := r.Header.Get("Content-Disposition"), `attachment; filename="payments-`+f.app.Application.ID+`-sandbox.csv"`; got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
			lines := strings.Split(strings.TrimSuffix(string(r.Body), "\n"), "\n")
			if lines[0] != "id,sessionId,createdAt,status,amount,refundedAmount,currency,gateway,method,customerEmail,customerPhone,vendorReference" {
				t.Errorf("header: %s", lines[0])
			}
			if len(lines) != 4 {
				t.Fatalf("%d lines, want a header and 3 payments:\n%s", len(lines), r.Body)
			}
			var kwd string
			for _, l := range lines[1:] {
				if strings.HasPrefix(l, f.kwdPayment+",") {
					kwd = l
				}
			}
			// The hostile address is defused; so is the phone number, whose
			// "+" a spreadsheet would read as a formula too.
			if !strings.Contains(kwd, ",completed,12.500,0.000,KWD,myfatoorah,knet,'=cmd@x.example,'+212612345678,") {
				t.Errorf("KWD row: %s", kwd)
			}
			if strings.Contains(string(r.Body), ",=cmd") {
				t.Errorf("a formula reached the file:\n%s", r.Body)
			}

			// Filters apply to the export; so does the environment.
			r = s.Do("GET", "/api/merchant/v1"+f.path("/payments?format=csv&email=buyer@example.com"), f.viewer, "", true)
			if lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n"); r.Status != 200 || len(lines) != 2 || !strings.HasPrefix(lines[1], f.flowPayment+",") {
				t.Errorf("filtered export: %d\n%s", r.Status, r.Body)
			}
			r = s.Do("GET", "/api/merchant/v1"+f.path("/sessions?format=csv&environment=live"), f.viewer, "", true)
			if got := r.Header.Get("Content-Disposition"); r.Status != 200 || strings.Count(string(r.Body), "\n") != 1 ||
				got != `attachment; filename="sessions-`+f.app.Application.ID+`-live.csv"` {
				t.Errorf("live export: %d %q\n%s", r.Status, got, r.Body)
			}

			// Every view exports, under its own header.
			for view, header := range map[string]string{
				"sessions":  "id,createdAt,status,amount,currency,customerEmail,customerPhone,verifiedIdentifier,verifiedChannel,vendorReference,gateway,expiresAt",
				"refunds":   "id,paymentId,sessionId,createdAt,status,amount,currency,gatewayReference,failureCode",
				"customers": "key,email,phone,sessions,firstSeen,lastSeen,currency,paidCount,paidAmount,refundedAmount",
				"events":    "id,createdAt,type,subjectId,seq,payload",
			} {
				r := s.Do("GET", "/api/merchant/v1"+f.path("/"+view+"?format=csv"), f.viewer, "", true)
				if first, _, _ := strings.Cut(string(r.Body), "\n"); r.Status != 200 || first != header {
					t.Errorf("%s export: %d %s", view, r.Status, first)
				}
				if view == "customers" && !strings.Contains(string(r.Body), "\n'=cmd@x.example,'=cmd@x.example,'+212612345678,1,") {
					t.Errorf("customers export does not defuse the key and email:\n%s", r.Body)
				}
			}
		})
	}
}

func TestManageMoneyRefunds(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			f := newMoneyFixture(t, engine)
			s := f.s
			refunds := "/api/merchant/v1" + f.path("/payments/"+f.flowPayment+"/refunds")
			for name, h := range map[string]map[string]string{"viewer": f.viewer, "developer": f.developer} {
				if r := s.Do("POST", refunds, h, `{"amount":"799.00"}`, true); r.Status != 403 || r.ErrorCode(t) != "forbidden" {
					t.Errorf("refund as %s: %d %s, want 403", name, r.Status, r.Body)
				}
			}
			if r := s.Do("POST", refunds, f.other, `{"amount":"799.00"}`, true); r.Status != 404 {
				t.Errorf("refund as another merchant: %d %s, want 404", r.Status, r.Body)
			}
			// Another application of the same merchant does not hold it.
			sibling, err := s.Merchant.CreateApplication(t.Context(), merchant.NewApplication{Name: "Shop A2",
				MerchantID: f.app.Application.MerchantID, Environment: pay.Sandbox})
			if err != nil {
				t.Fatal(err)
			}
			r := s.Do("POST", "/api/merchant/v1/apps/"+sibling.Application.ID+"/payments/"+f.flowPayment+"/refunds", f.owner, `{}`, true)
			if r.Status != 404 || r.ErrorCode(t) != "payment_not_found" {
				t.Errorf("refund through another application: %d %s, want 404", r.Status, r.Body)
			}

			withKey := func(h map[string]string, k string) map[string]string {
				out := map[string]string{"Idempotency-Key": k}
				for n, v := range h {
					out[n] = v
				}
				return out
			}
			r = s.Do("POST", refunds, withKey(f.support, "refund-1"), `{"amount":"799.00"}`, true)
			if r.Status != 201 {
				t.Fatalf("refund as support: %d %s", r.Status, r.Body)
			}
			ref := r.JSON(t)
			if ref["status"] != "succeeded" || ref["amount"] != "799.00" || ref["currency"] != "MAD" || ref["paymentId"] != f.flowPayment {
				t.Errorf("refund: %v", ref)
			}
			// The same request again is the same refund, not a second one.
			if r := s.Do("POST", refunds, withKey(f.support, "refund-1"), `{"amount":"799.00"}`, true); r.Status != 201 || str(r.JSON(t), "id") != str(ref, "id") {
				t.Errorf("idempotent retry: %d %s", r.Status, r.Body)
			}
			for body, code := range map[string]string{`{"amount":"7.001"}`: "invalid_amount", `{"amount":799}`: "invalid_amount", `{"amont":"1.00"}`: "invalid_request"} {
				if r := s.Do("POST", refunds, f.support, body, false); r.Status != 400 || r.ErrorCode(t) != code {
					t.Errorf("refund %s: %d %s, want 400 %s", body, r.Status, r.Body, code)
				}
			}
			if r := s.Do("POST", refunds, f.support, `{"amount":"1000.01"}`, true); r.Status != 409 || r.ErrorCode(t) != "refund_exceeds_remaining" {
				t.Errorf("refund beyond what is left: %d %s", r.Status, r.Body)
			}

			detail := s.get(t, f.path("/payments/"+f.flowPayment), f.viewer)
			rs, _ := detail["refunds"].([]any)
			if detail["refundedAmount"] != "799.00" || len(rs) != 1 || str(rs[0].(map[string]any), "id") != str(ref, "id") {
				t.Errorf("payment after the refund: %v", detail)
			}
			if got := listIDs(s.get(t, f.path("/refunds?id="+f.flowPayment), f.viewer)); !slices.Equal(got, []string{str(ref, "id")}) {
				t.Errorf("refunds of the payment: %v", got)
			}
			if got := listIDs(s.get(t, f.path("/refunds?amount=799&currency=MAD&status=succeeded"), f.viewer)); !slices.Equal(got, []string{str(ref, "id")}) {
				t.Errorf("refunds of 799.00 MAD: %v", got)
			}

			// The audit log says who refunded what.
			// The replayed request moved no money and left no entry.
			log := s.get(t, "/audit-logs?action=refunds.create", f.owner)["data"].([]any)
			if len(log) != 1 {
				t.Fatalf("%d refunds.create entries, want 1: %v", len(log), log)
			}
			e := log[0].(map[string]any)
			actor, _ := e["actor"].(map[string]any)
			target, _ := e["target"].(map[string]any)
			if actor["email"] != "support@a.example" || target["id"] != str(ref, "id") ||
				!cmp.Equal(e["changes"], map[string]any{"amount": []any{nil, "799.00"}}) {
				t.Errorf("audit entry: %v", e)
			}

			// The application's own secret key reads and refunds its
			// payments, in its environment.
			key := map[string]string{"X-API-Key": f.app.Keys.Secret}
			if got := sortedIDs(listIDs(s.get(t, f.path("/payments"), key))...); !slices.Equal(got, sortedIDs(f.flowPayment, f.kwdPayment, f.failedPayment)) {
				t.Errorf("payments with the key: %v", got)
			}
			if d := s.get(t, f.path("/sessions/"+f.flowSession), key); len(d["payments"].([]any)) != 1 || d["id"] != f.flowSession {
				t.Errorf("session with the key: %v", d)
			}
			r = s.Do("POST", refunds, key, `{}`, true)
			if r.Status != 201 || str(r.JSON(t), "amount") != "1000.00" {
				t.Errorf("refund of the rest with the key: %d %s", r.Status, r.Body)
			}
			if d := s.get(t, f.path("/payments/"+f.flowPayment), key); d["status"] != "refunded" || d["refundedAmount"] != "1799.00" {
				t.Errorf("payment refunded in full: %v", d)
			}
			if r := s.Do("GET", "/api/merchant/v1"+f.path("/payments?environment=live"), key, "", true); r.Status != 403 {
				t.Errorf("the sandbox key in live: %d %s", r.Status, r.Body)
			}

			// Another merchant sees none of it.
			for _, p := range []string{"/payments", "/payments/" + f.flowPayment, "/sessions/" + f.flowSession, "/refunds", "/reports/summary"} {
				if r := s.Do("GET", "/api/merchant/v1"+f.path(p), f.other, "", true); r.Status != 404 {
					t.Errorf("%s as another merchant: %d %s", p, r.Status, r.Body)
				}
			}
		})
	}
}

func TestManageReportsSummary(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			f := newMoneyFixture(t, engine)
			s := f.s
			if r := s.Do("POST", "/api/merchant/v1"+f.path("/payments/"+f.flowPayment+"/refunds"), f.support, `{"amount":"799.00"}`, true); r.Status != 201 {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			// The fixture's payments are all made at one instant of the
			// test clock: one day holds them.
			day := s.Clock.Now().Truncate(24 * time.Hour)
			q := url.Values{"from": {day.Format(time.RFC3339)}, "to": {day.Add(24 * time.Hour).Format(time.RFC3339)}, "interval": {"day"}}
			got := s.get(t, f.path("/reports/summary?"+q.Encode()), f.viewer)
			start := day.Format("2006-01-02T15:04:05.000000Z")
			n := func(i int) json.Number { return json.Number(strconv.Itoa(i)) }
			tally := func(c int, amount string) map[string]any { return map[string]any{"count": n(c), "amount": amount} }
			want := map[string]any{
				"from": start, "to": day.Add(24 * time.Hour).Format("2006-01-02T15:04:05.000000Z"), "interval": "day",
				"currencies": []any{
					map[string]any{
						"currency":       "KWD",
						"totals":         map[string]any{"completed": tally(1, "12.500")},
						"paid":           tally(1, "12.500"),
						"refundedAmount": "0.000",
						"successRate":    map[string]any{"paid": n(1), "attempts": n(1), "rate": json.Number("1")},
						"series": []any{map[string]any{"start": start, "paid": tally(1, "12.500"),
							"byStatus": map[string]any{"completed": n(1)}}},
						"funnel":    map[string]any{"opened": n(1), "verified": n(1), "paid": n(1)},
						"byGateway": []any{map[string]any{"name": "myfatoorah", "count": n(1), "paid": tally(1, "12.500")}},
						"byMethod":  []any{map[string]any{"name": "knet", "count": n(1), "paid": tally(1, "12.500")}},
					},
					map[string]any{
						"currency":       "MAD",
						"totals":         map[string]any{"completed": tally(1, "1799.00"), "failed": tally(1, "50.00")},
						"paid":           tally(1, "1799.00"),
						"refundedAmount": "799.00",
						"successRate":    map[string]any{"paid": n(1), "attempts": n(2), "rate": json.Number("0.5")},
						"series": []any{map[string]any{"start": start, "paid": tally(1, "1799.00"),
							"byStatus": map[string]any{"completed": n(1), "failed": n(1)}}},
						"funnel": map[string]any{"opened": n(2), "verified": n(1), "paid": n(1)},
						"byGateway": []any{
							map[string]any{"name": "paypal", "count": n(1), "paid": tally(0, "0.00")},
							map[string]any{"name": "stripe", "count": n(1), "paid": tally(1, "1799.00")},
						},
						"byMethod": []any{
							map[string]any{"name": "card", "count": n(1), "paid": tally(1, "1799.00")},
							map[string]any{"name": "paypal", "count": n(1), "paid": tally(0, "0.00")},
						},
					},
				},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}

			// By default the 30 days up to now, which hold the payments
			// (made at an earlier instant of the test clock than now).
			s.Clock.Advance(time.Second)
			def := s.get(t, f.path("/reports/summary"), f.viewer)
			if cs, _ := def["currencies"].([]any); len(cs) != 2 || len(cs[1].(map[string]any)["series"].([]any)) < 30 {
				t.Errorf("default period: %v", def)
			}
			// Hours of a time zone; live has nothing.
			q.Set("interval", "hour")
			q.Set("timezone", "Africa/Casablanca")
			if got := s.get(t, f.path("/reports/summary?"+q.Encode()), f.viewer); len(got["currencies"].([]any)[0].(map[string]any)["series"].([]any)) < 24 {
				t.Errorf("hourly series: %v", got)
			}
			if got := s.get(t, f.path("/reports/summary?environment=live"), f.owner); len(got["currencies"].([]any)) != 0 {
				t.Errorf("live summary: %v", got)
			}
			for query, code := range map[string]string{
				"interval=week":              "invalid_interval",
				"from=yesterday":             "invalid_date",
				"timezone=Mars/Olympus_Mons": "invalid_timezone",
				"timezone=Local":             "invalid_timezone",
				"from=" + url.QueryEscape(day.Format(time.RFC3339)) + "&to=" + url.QueryEscape(day.Format(time.RFC3339)): "invalid_date_range",
				"from=2000-01-01T00:00:00Z&interval=hour": "invalid_date_range",
			} {
				r := s.Do("GET", "/api/merchant/v1"+f.path("/reports/summary?"+query), f.viewer, "", false)
				if r.Status != 400 || r.ErrorCode(t) != code {
					t.Errorf("summary?%s = %d %s, want 400 %s", query, r.Status, r.Body, code)
				}
			}
		})
	}
}
