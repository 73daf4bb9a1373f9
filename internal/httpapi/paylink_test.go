package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// followLink is GET /pay/{linkID} (with extra query text and headers),
// checked against the contract but not following the redirect: the
// hosted page it leads to is HTML, outside the document.
func (s *server) followLink(t *testing.T, linkID, query string, header map[string]string) response {
	t.Helper()
	return s.Unfollowed("GET", "/pay/"+linkID+query, header, "")
}

// openedLink follows a link that must open a session and returns the
// session token its redirect carries.
func (s *server) openedLink(t *testing.T, linkID string) string {
	t.Helper()
	r := s.followLink(t, linkID, "", nil)
	loc := r.Header.Get("Location")
	tok, ok := strings.CutPrefix(loc, s.URL+"/checkout/")
	if r.Status != http.StatusSeeOther || !ok || tok == "" {
		t.Fatalf("GET /pay/%s = %d, Location %q; want 303 to %s/checkout/{token}\n%s", linkID, r.Status, loc, s.URL, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("redirect Cache-Control = %q, want no-store: it carries a session token", cc)
	}
	return tok
}

// wantLinkPage checks the page of a link that opened no session.
func wantLinkPage(t *testing.T, r response, status int, state, text string) {
	t.Helper()
	body := string(r.Body)
	if r.Status != status || !strings.Contains(body, `data-state="`+state+`"`) || !strings.Contains(body, text) {
		t.Errorf("status %d, want %d with state %s saying %q:\n%s", r.Status, status, state, text, body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	// The hosted page's own policy: nothing inline, nothing from elsewhere.
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("Content-Security-Policy %q is not the hosted page's strict one", csp)
	}
	if strings.Contains(body, "<script>") {
		t.Error("the page has an inline script")
	}
}

// A link opens a fresh, ordinary session per buyer, paid and refunded
// through the usual APIs; once its limit of paid payments is reached it
// shows the exhausted page.
func TestPaymentLinkOpensPaysAndExhausts(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			ctx := t.Context()
			app := s.NewApp("Shop", pay.Sandbox)
			appID := app.Application.ID
			if _, err := s.Merchant.AddProduct(ctx, merchant.NewProduct{
				ApplicationID: appID, StoreCode: "MUG-1", Title: "Mug", Price: money.New(5000, "MAD"),
			}); err != nil {
				t.Fatal(err)
			}
			one := int64(1)
			link, err := s.Merchant.CreatePaymentLink(ctx, merchant.NewPaymentLink{
				ApplicationID: appID, Environment: pay.Sandbox, QuantityLimit: &one,
				Lines: []merchant.PaymentLinkLine{
					{StoreCode: "MUG-1", Quantity: 2},
					{Name: "Gift wrap", UnitPrice: money.New(1050, "MAD"), Quantity: 1},
				},
			})
			if err != nil {
				t.Fatal(err)
			}

			// Two buyers at once: the limit counts paid payments, so both
			// get a session of their own.
			tok := s.openedLink(t, link.ID)
			other := s.openedLink(t, link.ID)
			if tok == other {
				t.Fatal("two buyers got the same session token")
			}
			if n := sessionCount(t, s.Store); n != 2 {
				t.Errorf("%d sessions after two buyers, want 2", n)
			}

			// The redirect leads to the session's hosted page.
			resp, err := http.Get(s.URL + "/checkout/" + tok)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(page), "Gift wrap") || !strings.Contains(string(page), "110.50") {
				t.Errorf("hosted page of the link's session: %d\n%s", resp.StatusCode, page)
			}

			vtok := s.verified(t, s.backendToken(t, app.Keys), "+212600000001", tok)
			m := wantAttempt(t, s.process(t, vtok, tok, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
			payID, sessID := str(m, "paymentId"), str(m, "sessionId")

			// An ordinary session: in the merchant API's payments, with
			// the link named in its metadata.
			r := s.Do("GET", merchantBase+"/payments", keyHeader(app.Keys), "", true)
			found := false
			data, _ := r.JSON(t)["data"].([]any)
			for _, row := range data {
				p := row.(map[string]any)
				if str(p, "id") == payID {
					found = p["amount"] == "110.50" && p["currency"] == "MAD" && p["status"] == "completed"
				}
			}
			if r.Status != 200 || !found {
				t.Errorf("payments list lacks %s at 110.50 MAD completed: %d %s", payID, r.Status, r.Body)
			}
			sess, err := s.Store.Session(ctx, appID, pay.Sandbox, sessID)
			if err != nil {
				t.Fatal(err)
			}
			if string(sess.Metadata) != `{"paymentLinkId":"`+link.ID+`"}` || sess.Amount != money.New(11050, "MAD") || len(sess.Items) != 2 {
				t.Errorf("link session %+v", sess)
			}
			if got, err := s.Merchant.PaymentLink(ctx, appID, pay.Sandbox, link.ID); err != nil || got.Paid != 1 {
				t.Errorf("link after one payment: Paid %d, %v; want 1", got.Paid, err)
			}

			// Limit 1 reached: the link is exhausted, in every language.
			en := s.followLink(t, link.ID, "", nil)
			wantLinkPage(t, en, http.StatusGone, "link_exhausted", "taken all the payments")
			if !strings.Contains(string(en.Body), `<span class="brand-name">Shop</span>`) {
				t.Errorf("the exhausted page does not say whose link it is:\n%s", en.Body)
			}
			fr := s.followLink(t, link.ID, "", map[string]string{"Accept-Language": "fr-FR,fr;q=0.9"})
			wantLinkPage(t, fr, http.StatusGone, "link_exhausted", "a reçu tous les paiements")
			ar := s.followLink(t, link.ID, "?locale=ar", nil)
			wantLinkPage(t, ar, http.StatusGone, "link_exhausted", "نفدت الكمية")
			if !strings.Contains(string(ar.Body), `dir="rtl"`) || !strings.Contains(string(ar.Body), `lang="ar"`) {
				t.Errorf("Arabic page is not right to left:\n%s", ar.Body)
			}

			// The payment refunds like any other; a refund does not give
			// the place back.
			if r := s.refund(app.Keys, payID, `{}`, nil); r.Status != 201 || str(r.JSON(t), "status") != "succeeded" {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			wantLinkPage(t, s.followLink(t, link.ID, "", nil), http.StatusGone, "link_exhausted", "Sold out")

			// And it is in the reports like any other payment (the
			// summary's period ends now: the test clock moves past the
			// payment's instant).
			s.Clock.Advance(time.Second)
			s.member(t, "owner@shop.example", pay.Owner, app.Merchant.ID)
			r = s.Do("GET", "/api/merchant/v1/apps/"+appID+"/reports/summary", s.pat(t, "owner@shop.example", testPassword), "", true)
			if r.Status != 200 || !strings.Contains(string(r.Body), `"refundedAmount":"110.50"`) || !strings.Contains(string(r.Body), `"paid":{"count":1,"amount":"110.50"}`) {
				t.Errorf("reports summary after the link's payment and refund: %d %s", r.Status, r.Body)
			}

			// The other buyer's session, opened while there was room, is
			// still payable: the limit counts payments, it does not cancel
			// sessions.
			vtok = s.verified(t, s.backendToken(t, app.Keys), "+212600000002", other)
			wantAttempt(t, s.process(t, vtok, other, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
			if got, err := s.Merchant.PaymentLink(ctx, appID, pay.Sandbox, link.ID); err != nil || got.Paid != 2 {
				t.Errorf("link after the second payment: Paid %d, %v; want 2", got.Paid, err)
			}
		})
	}
}

func TestPayLinkClosedPages(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			ctx := t.Context()
			appID := s.NewApp("Shop", pay.Sandbox).Application.ID
			newLink := func(expires time.Time) pay.PaymentLink {
				t.Helper()
				l, err := s.Merchant.CreatePaymentLink(ctx, merchant.NewPaymentLink{
					ApplicationID: appID, Environment: pay.Sandbox, ExpiresAt: expires,
					Lines: []merchant.PaymentLinkLine{{Name: "Ticket", UnitPrice: money.New(2500, "MAD"), Quantity: 1}},
				})
				if err != nil {
					t.Fatal(err)
				}
				return l
			}

			// Unknown: the hosted page's "not valid" page, 404.
			unknown := s.followLink(t, "plink_unknown", "", nil)
			wantLinkPage(t, unknown, http.StatusNotFound, "invalid", "This payment link is not valid.")
			if !strings.Contains(string(unknown.Body), `<span class="brand-name">Checkout</span>`) {
				t.Errorf("an unknown link's page names a brand:\n%s", unknown.Body)
			}

			// Deactivated: 410 saying so; reactivated, it opens again.
			off := newLink(time.Time{})
			s.openedLink(t, off.ID)
			if _, err := s.Merchant.SetPaymentLinkActive(ctx, appID, pay.Sandbox, off.ID, false); err != nil {
				t.Fatal(err)
			}
			wantLinkPage(t, s.followLink(t, off.ID, "", nil), http.StatusGone, "link_inactive", "no longer active")
			wantLinkPage(t, s.followLink(t, off.ID, "?locale=fr", nil), http.StatusGone, "link_inactive", "n’est plus actif")
			if _, err := s.Merchant.SetPaymentLinkActive(ctx, appID, pay.Sandbox, off.ID, true); err != nil {
				t.Fatal(err)
			}
			s.openedLink(t, off.ID)

			// Expired: open until its expiry, 410 from then on.
			soon := newLink(s.Clock.Now().Add(time.Hour))
			tok := s.openedLink(t, soon.ID)
			s.Clock.Advance(time.Hour)
			wantLinkPage(t, s.followLink(t, soon.ID, "", nil), http.StatusGone, "link_expired", "has expired")
			ar := s.followLink(t, soon.ID, "", map[string]string{"Accept-Language": "ar-MA"})
			wantLinkPage(t, ar, http.StatusGone, "link_expired", "انتهت صلاحية الرابط")
			if !strings.Contains(string(ar.Body), `dir="rtl"`) {
				t.Errorf("Arabic page is not right to left:\n%s", ar.Body)
			}
			if tok == "" {
				t.Error("no token before expiry")
			}
		})
	}
}

// Each follow of a link writes a session, and the URL is public: one
// address may follow 30 a minute, then gets the page asking it to wait.
func TestPayLinkRateLimit(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			appID := s.NewApp("Shop", pay.Sandbox).Application.ID
			l, err := s.Merchant.CreatePaymentLink(t.Context(), merchant.NewPaymentLink{
				ApplicationID: appID, Environment: pay.Sandbox,
				Lines: []merchant.PaymentLinkLine{{Name: "Ticket", UnitPrice: money.New(2500, "MAD"), Quantity: 1}},
			})
			if err != nil {
				t.Fatal(err)
			}
			for range 30 {
				s.openedLink(t, l.ID)
			}
			r := s.followLink(t, l.ID, "", nil)
			wantLinkPage(t, r, http.StatusTooManyRequests, "link_busy", "Wait a minute")
			if n := sessionCount(t, s.Store); n != 30 {
				t.Errorf("%d sessions, want 30: the refused follow must open none", n)
			}
			s.Clock.Advance(time.Minute)
			s.openedLink(t, l.ID)
		})
	}
}
