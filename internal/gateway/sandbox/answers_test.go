package sandbox_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// TestAnswerReadOnAnotherInstance: two simulators with one key and one
// store, as two sakk instances; a challenge answered on one is read by
// the other's Fetch (the callback may reach either) and Refund, and the
// first answer stands wherever the second is given.
func TestAnswerReadOnAnotherInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		key := newKey(t)
		withStore := func(o *sandbox.Options) { o.Answers = st }
		one, two := newEnv(t, key, withStore), newEnv(t, key, withStore)

		passed := one.challenge(t, "stripe", "https://shop.example/back")
		one.complete(t, passed, true)
		res, err := two.sim.Connector("stripe").Fetch(ctx, gateway.FetchRequest{Reference: passed.Reference})
		if err != nil || res.Outcome != gateway.Approved {
			t.Fatalf("the other instance reads %+v, %v; want approved", res, err)
		}
		if _, err := two.sim.Connector("stripe").Refund(ctx, gateway.RefundRequest{IdempotencyKey: "rf1", PaymentReference: passed.Reference, Amount: usd(100)}); err != nil {
			t.Errorf("refund on the other instance: %v", err)
		}

		// Off-site, refused on the first instance, then "approved" on the
		// second: the first answer stands on both.
		refused := one.challenge(t, "paypal", "https://shop.example/back")
		one.complete(t, refused, false)
		page := strings.Replace(refused.RedirectURL, one.srv.URL, two.srv.URL, 1)
		if resp, body := get(t, page); resp.StatusCode != http.StatusOK || !strings.Contains(body, "not confirmed") {
			t.Errorf("the other instance's challenge page: %s, without the first answer", resp.Status)
		}
		u, err := url.Parse(page)
		if err != nil {
			t.Fatal(err)
		}
		form := u.Query()
		form.Set("action", "complete")
		if resp := post(t, page, form); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "outcome=cancel") {
			t.Errorf("a second answer on the other instance: %s to %q, want the first answer's outcome=cancel", resp.Status, resp.Header.Get("Location"))
		}
		for i, e := range []*env{one, two} {
			res, err := e.sim.Connector("paypal").Fetch(ctx, gateway.FetchRequest{Reference: refused.Reference})
			if err != nil || res.Outcome != gateway.Declined {
				t.Errorf("instance %d reads %+v, %v; want declined", i+1, res, err)
			}
		}
	})
}
