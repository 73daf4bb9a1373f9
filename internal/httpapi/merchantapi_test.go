package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The merchant API (SURFACES.md §4), over the real wiring, every exchange
// validated against docs/openapi.yaml.

const merchantBase = "/api/merchant/v1"

func keyHeader(k merchant.Keys) map[string]string { return map[string]string{"X-API-Key": k.Secret} }

// paidSession opens a Checkout API session (1799.00 MAD), pays it with the
// approved test card for identifier and returns the session's id and the
// payment's.
func (s *server) paidSession(t *testing.T, k merchant.Keys, identifier string) (string, string) {
	t.Helper()
	sessTok, sessID := s.checkoutSession(t, k, "")
	vtok := s.verified(t, s.backendToken(t, k), identifier, sessTok)
	m := wantAttempt(t, s.process(t, vtok, sessTok, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
	return sessID, str(m, "paymentId")
}

func (s *server) refund(k merchant.Keys, paymentID, body string, header map[string]string) response {
	s.T.Helper()
	h := keyHeader(k)
	for name, v := range header {
		h[name] = v
	}
	return s.Do("POST", merchantBase+"/payments/"+paymentID+"/refunds", h, body, true)
}

// checkoutStatus reads the Checkout API's status of a transaction.
func (s *server) checkoutStatus(t *testing.T, k merchant.Keys, id string) string {
	t.Helper()
	r := s.Do("GET", "/api/v1/public/transactions/"+id+"/status", keyHeader(k), "", true)
	if r.Status != 200 {
		t.Fatalf("status: %d %s", r.Status, r.Body)
	}
	return str(r.JSON(t), "status")
}

func TestMerchantRefundPartialThenFull(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			sessID, payID := s.paidSession(t, app.Keys, "buyer@example.com")

			r := s.refund(app.Keys, payID, `{"amount": "799.00"}`, nil)
			if r.Status != 201 {
				t.Fatalf("partial refund: %d %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			if m["status"] != "succeeded" || m["amount"] != "799.00" || m["currency"] != "MAD" || m["paymentId"] != payID || m["sessionId"] != sessID {
				t.Errorf("partial refund: %s", r.Body)
			}
			if st := s.checkoutStatus(t, app.Keys, payID); st != "APPROVED" {
				t.Errorf("Checkout API status after a partial refund: %s, want APPROVED", st)
			}

			// More than what is left: refused, nothing changes.
			r = s.refund(app.Keys, payID, `{"amount": "1000.01"}`, nil)
			if r.Status != 409 || r.PaymentCode(t) != "refund_exceeds_remaining" {
				t.Errorf("refund beyond the rest: %d %s", r.Status, r.Body)
			}
			r = s.Do("GET", merchantBase+"/payments/"+payID, keyHeader(app.Keys), "", true)
			p := r.JSON(t)
			if refunds, _ := p["refunds"].([]any); r.Status != 200 || p["status"] != "completed" || p["refundedAmount"] != "799.00" || len(refunds) != 1 {
				t.Errorf("payment after a refused refund: %d %s", r.Status, r.Body)
			}

			// {} refunds the rest; the secret key may come as a bearer token.
			r = s.Do("POST", merchantBase+"/payments/"+payID+"/refunds", bearerHeader(app.Keys.Secret), `{}`, true)
			if r.Status != 201 {
				t.Fatalf("refund of the rest: %d %s", r.Status, r.Body)
			}
			if m := r.JSON(t); m["status"] != "succeeded" || m["amount"] != "1000.00" {
				t.Errorf("refund of the rest: %s", r.Body)
			}
			if st := s.checkoutStatus(t, app.Keys, payID); st != "REFUNDED" {
				t.Errorf("Checkout API status after the full refund: %s, want REFUNDED", st)
			}
			r = s.Do("GET", merchantBase+"/payments/"+payID, keyHeader(app.Keys), "", true)
			p = r.JSON(t)
			if refunds, _ := p["refunds"].([]any); p["status"] != "refunded" || p["refundedAmount"] != "1799.00" || len(refunds) != 2 {
				t.Errorf("payment after the full refund: %s", r.Body)
			}
			r = s.Do("GET", merchantBase+"/sessions/"+sessID, keyHeader(app.Keys), "", true)
			d := r.JSON(t)
			if r.Status != 200 || d["status"] != "refunded" {
				t.Errorf("session after the full refund: %d %s", r.Status, r.Body)
			}
			// The code that verified the buyer, sent for this session.
			if vs, _ := d["verifications"].([]any); len(vs) != 1 {
				t.Errorf("session verifications: %s", r.Body)
			} else if v := vs[0].(map[string]any); v["identifier"] != "buyer@example.com" || v["channel"] != "email" || v["verifiedAt"] == nil || fmt.Sprint(v["failedAttempts"]) != "0" {
				t.Errorf("session verification: %v", v)
			}
			r = s.refund(app.Keys, payID, `{}`, nil)
			if r.Status != 409 || r.PaymentCode(t) != "payment_not_refundable" {
				t.Errorf("refund of a refunded payment: %d %s", r.Status, r.Body)
			}

			// One payment.refunded per refund; the last one is not partial.
			events, err := s.Store.Events(t.Context(), sessID)
			if err != nil {
				t.Fatal(err)
			}
			var partial []any
			for _, e := range events {
				if e.Type != "payment.refunded" {
					continue
				}
				var body map[string]any
				if err := json.Unmarshal(e.Payload, &body); err != nil {
					t.Fatal(err)
				}
				partial = append(partial, body["partial"])
			}
			if fmt.Sprint(partial) != "[true false]" {
				t.Errorf("payment.refunded events' partial flags: %v, want [true false]", partial)
			}
		})
	}
}

func TestMerchantRefundRefusals(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			other := s.NewApp("Other Shop", pay.Sandbox)
			live := s.NewApp("Live Shop", pay.Live)
			_, payID := s.paidSession(t, app.Keys, "buyer@example.com")
			_, otherPayID := s.paidSession(t, other.Keys, "buyer@example.com")
			sessTok, _ := s.checkoutSession(t, app.Keys, "")
			vtok := s.verified(t, s.backendToken(t, app.Keys), "+212600000001", sessTok)
			declined := str(wantAttempt(t, s.process(t, vtok, sessTok, "stripe", "card", s.cardToken(t, cardDeclined)), "failed"), "paymentId")

			key := keyHeader(app.Keys)
			cases := []struct {
				name    string
				header  map[string]string
				payment string
				body    string
				valid   bool
				status  int
				code    string
			}{
				{"no key", nil, payID, `{}`, true, 401, "invalid_key"},
				{"public key", map[string]string{"X-API-Key": app.Keys.Public}, payID, `{}`, true, 401, "invalid_key"},
				{"live key of another app", keyHeader(live.Keys), payID, `{}`, true, 404, "payment_not_found"},
				{"another application's payment", key, otherPayID, `{}`, true, 404, "payment_not_found"},
				{"unknown payment", key, "pay_unknown", `{}`, true, 404, "payment_not_found"},
				{"declined payment", key, declined, `{}`, true, 409, "payment_not_refundable"},
				{"amount a number", key, payID, `{"amount": 799}`, false, 400, "invalid_amount"},
				{"amount not a decimal", key, payID, `{"amount": "7,99"}`, true, 400, "invalid_amount"},
				{"amount too precise", key, payID, `{"amount": "1.001"}`, true, 400, "invalid_amount"},
				{"amount zero", key, payID, `{"amount": "0.00"}`, true, 400, "invalid_amount"},
				{"amount negative", key, payID, `{"amount": "-1.00"}`, true, 400, "invalid_amount"},
				{"more than captured", key, payID, `{"amount": "1799.01"}`, true, 409, "refund_exceeds_remaining"},
				{"unknown field", key, payID, `{"amout": "1.00"}`, false, 400, "invalid_request"},
				{"not JSON", key, payID, `{"amount":`, false, 400, "invalid_request"},
			}
			for _, c := range cases {
				r := s.Do("POST", merchantBase+"/payments/"+c.payment+"/refunds", c.header, c.body, c.valid)
				if r.Status != c.status || r.PaymentCode(t) != c.code {
					t.Errorf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
				}
			}
			for _, id := range []string{payID, otherPayID} {
				h := keyHeader(app.Keys)
				if id == otherPayID {
					h = keyHeader(other.Keys)
				}
				r := s.Do("GET", merchantBase+"/payments/"+id, h, "", true)
				if p := r.JSON(t); p["refundedAmount"] != "0.00" || len(p["refunds"].([]any)) != 0 {
					t.Errorf("a refused refund changed payment %s: %s", id, r.Body)
				}
			}
			// Reads are scoped the same way.
			if r := s.Do("GET", merchantBase+"/payments/"+otherPayID, key, "", true); r.Status != 404 || r.PaymentCode(t) != "payment_not_found" {
				t.Errorf("another application's payment: %d %s", r.Status, r.Body)
			}
		})
	}
}

// Two concurrent partial refunds that together exceed the payment: one
// succeeds, the other is refused, and the payment shows one refund.
func TestMerchantConcurrentRefunds(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			_, payID := s.paidSession(t, app.Keys, "buyer@example.com")
			statuses := make([]int, 6)
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Go(func() {
					statuses[i] = s.refund(app.Keys, payID, `{"amount": "1000.00"}`, nil).Status
				})
			}
			wg.Wait()
			created, refused := 0, 0
			for _, st := range statuses {
				switch st {
				case 201:
					created++
				case 409:
					refused++
				}
			}
			if created != 1 || refused != len(statuses)-1 {
				t.Errorf("statuses %v: want one 201 and the rest 409", statuses)
			}
			r := s.Do("GET", merchantBase+"/payments/"+payID, keyHeader(app.Keys), "", true)
			if p := r.JSON(t); p["refundedAmount"] != "1000.00" || len(p["refunds"].([]any)) != 1 {
				t.Errorf("payment after the race: %s", r.Body)
			}
		})
	}
}

func TestMerchantRefundIdempotencyKey(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			_, payID := s.paidSession(t, app.Keys, "buyer@example.com")
			h := map[string]string{"Idempotency-Key": "refund-order-1001"}
			first := s.refund(app.Keys, payID, `{"amount": "100.00"}`, h)
			again := s.refund(app.Keys, payID, `{"amount": "100.00"}`, h)
			if first.Status != 201 || again.Status != 201 || str(first.JSON(t), "id") != str(again.JSON(t), "id") {
				t.Fatalf("replay:\n%d %s\n%d %s", first.Status, first.Body, again.Status, again.Body)
			}
			if r := s.refund(app.Keys, payID, `{"amount": "200.00"}`, h); r.Status != 422 || r.PaymentCode(t) != "idempotency_key_reused" {
				t.Errorf("same key, other body: %d %s", r.Status, r.Body)
			}
			r := s.Do("GET", merchantBase+"/payments/"+payID, keyHeader(app.Keys), "", true)
			if p := r.JSON(t); p["refundedAmount"] != "100.00" || len(p["refunds"].([]any)) != 1 {
				t.Errorf("payment after the replay: %s", r.Body)
			}
		})
	}
}

// page reads every page of a listing, limit rows at a time, and returns
// the ids in order, failing on a duplicate.
func (s *server) pages(t *testing.T, k merchant.Keys, path string, query url.Values, limit int) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	cursor := ""
	for n := 0; ; n++ {
		if n > 50 {
			t.Fatal("pagination does not end")
		}
		q := url.Values{}
		for name, v := range query {
			q[name] = v
		}
		q.Set("limit", fmt.Sprint(limit))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := s.Do("GET", merchantBase+path+"?"+q.Encode(), keyHeader(k), "", true)
		if r.Status != 200 {
			t.Fatalf("list %s: %d %s", path, r.Status, r.Body)
		}
		m := r.JSON(t)
		data, _ := m["data"].([]any)
		if len(data) > limit {
			t.Fatalf("page of %d rows, limit %d", len(data), limit)
		}
		for _, row := range data {
			id := str(row.(map[string]any), "id")
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		next, _ := m["nextCursor"].(string)
		if (next != "") != (m["hasMore"] == true) {
			t.Fatalf("hasMore and nextCursor disagree: %s", r.Body)
		}
		if next == "" {
			return ids
		}
		cursor = next
	}
}

func TestMerchantListings(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			other := s.NewApp("Other Shop", pay.Sandbox)
			s.paidSession(t, other.Keys, "buyer@example.com")

			// A first batch an hour before the second; sessions of one
			// batch share their creation time, so ids break the ties.
			var first, second, paid, payments []string
			for i := range 4 {
				_, id := s.checkoutSession(t, app.Keys, "")
				first = append(first, id)
				if i == 0 {
					sid, pid := s.paidSession(t, app.Keys, "first@example.com")
					first, paid, payments = append(first, sid), append(paid, sid), append(payments, pid)
				}
			}
			s.Clock.Advance(time.Hour)
			boundary := s.Clock.Now()
			for i := range 3 {
				sid, pid := s.paidSession(t, app.Keys, fmt.Sprintf("buyer%d@example.com", i))
				second, paid, payments = append(second, sid), append(paid, sid), append(payments, pid)
				_, id := s.checkoutSession(t, app.Keys, "")
				second = append(second, id)
			}

			all := s.pages(t, app.Keys, "/sessions", nil, 2)
			if len(all) != len(first)+len(second) || !sameSet(all, append(append([]string{}, first...), second...)) {
				t.Fatalf("listed %d sessions %v, want %d", len(all), all, len(first)+len(second))
			}
			if !sameSet(all[:len(second)], second) {
				t.Errorf("the newer batch is not listed first: %v", all)
			}
			if one := s.pages(t, app.Keys, "/sessions", nil, 100); fmt.Sprint(one) != fmt.Sprint(all) {
				t.Errorf("pages of 2 and of 100 disagree:\n%v\n%v", all, one)
			}
			if got := s.pages(t, app.Keys, "/sessions", url.Values{"status": {"completed"}}, 3); !sameSet(got, paid) {
				t.Errorf("completed sessions %v, want %v", got, paid)
			}
			from := url.Values{"created_from": {boundary.Format(time.RFC3339Nano)}}
			if got := s.pages(t, app.Keys, "/sessions", from, 2); !sameSet(got, second) {
				t.Errorf("sessions since the boundary %v, want %v", got, second)
			}
			to := url.Values{"created_to": {boundary.Format(time.RFC3339Nano)}}
			if got := s.pages(t, app.Keys, "/sessions", to, 2); !sameSet(got, first) {
				t.Errorf("sessions before the boundary %v, want %v", got, first)
			}
			if got := s.pages(t, app.Keys, "/payments", url.Values{"status": {"completed"}}, 1); !sameSet(got, payments) {
				t.Errorf("completed payments %v, want %v", got, payments)
			}
			if got := s.pages(t, app.Keys, "/payments", from, 2); len(got) != 3 {
				t.Errorf("payments since the boundary %v, want 3", got)
			}

			// One session with its items and payments; another app's is 404.
			r := s.Do("GET", merchantBase+"/sessions/"+paid[0], keyHeader(app.Keys), "", true)
			d := r.JSON(t)
			items, _ := d["items"].([]any)
			pays, _ := d["payments"].([]any)
			if r.Status != 200 || d["status"] != "completed" || d["amount"] != "1799.00" || len(items) != 1 || len(pays) != 1 {
				t.Errorf("session: %d %s", r.Status, r.Body)
			}
			if r := s.Do("GET", merchantBase+"/sessions/"+paid[0], keyHeader(other.Keys), "", true); r.Status != 404 || r.PaymentCode(t) != "session_not_found" {
				t.Errorf("another application's session: %d %s", r.Status, r.Body)
			}

			for _, c := range []struct {
				query string
				valid bool
				code  string
			}{
				{"limit=0", false, "invalid_limit"},
				{"limit=101", false, "invalid_limit"},
				{"cursor=not-a-cursor", true, "invalid_cursor"},
				{"created_from=yesterday", false, "invalid_date"},
				{"status=paid", false, "invalid_status"},
			} {
				r := s.Do("GET", merchantBase+"/sessions?"+c.query, keyHeader(app.Keys), "", c.valid)
				if r.Status != 400 || r.PaymentCode(t) != c.code {
					t.Errorf("%s: %d %s, want 400 %s", c.query, r.Status, r.Body, c.code)
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		if m[x]--; m[x] < 0 {
			return false
		}
	}
	return true
}

// The merchant API counts against the key's allowance, like the Checkout
// API, and answers 429 in its own error shape.
func TestMerchantRateLimit(t *testing.T) {
	s := newServer(t, storetest.Engines(t)[0], serverOptions{RateLimit: 3})
	app := s.NewApp("Atlas Shop", pay.Sandbox)
	for i := range 3 {
		if r := s.Do("GET", merchantBase+"/sessions", keyHeader(app.Keys), "", true); r.Status != 200 || r.Header.Get("RateLimit-Limit") != "3" {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if r := s.Do("GET", merchantBase+"/sessions", keyHeader(app.Keys), "", true); r.Status != 429 || r.PaymentCode(t) != "rate_limit_exceeded" {
		t.Errorf("4th request: %d %s", r.Status, r.Body)
	}
}
