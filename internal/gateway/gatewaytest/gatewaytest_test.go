package gatewaytest_test

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// harness runs the suite against the sandbox simulator as name, through
// wrap (which may break it).
func harness(t *testing.T, name string, wrap func(gateway.Connector) gateway.Connector) gatewaytest.Harness {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sim, err := sandbox.New(sandbox.Options{PublicURL: srv.URL, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(sandbox.ChallengePattern, sim.ChallengeHandler())
	cards := map[gatewaytest.Behaviour]string{
		gatewaytest.Approve:           sandbox.CardApproved,
		gatewaytest.Decline:           sandbox.CardDeclined,
		gatewaytest.InsufficientFunds: sandbox.CardInsufficientFunds,
		gatewaytest.ThreeDSecure:      sandbox.CardThreeDSecure,
		gatewaytest.ProcessingError:   sandbox.CardProcessingError,
	}
	return gatewaytest.Harness{
		Connector: wrap(sim.Connector(name)),
		Token: func(t *testing.T, b gatewaytest.Behaviour) (string, bool) {
			tok, err := sim.Tokenize(sandbox.Card{Number: cards[b], ExpMonth: 12, ExpYear: time.Now().Year() + 5, CVC: "123"})
			if err != nil {
				t.Fatal(err)
			}
			return tok, true
		},
		Complete: func(t *testing.T, res gateway.ChargeResult, pass bool) { answer(t, res.RedirectURL, pass) },
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// answer submits the challenge page's form at u like a browser.
func answer(t *testing.T, u string, pass bool) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"action": {"fail"}}
	if pass {
		form.Set("action", "complete")
	}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	resp, err = client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %s", u, resp.Status)
	}
}

// wrapped lets one method of a connector be replaced.
type wrapped struct {
	gateway.Connector
	caps   func(gateway.Capabilities) gateway.Capabilities
	charge func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error)
	fetch  func(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error)
	refund func(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error)
	parse  func(ctx context.Context, w gateway.Webhook) (gateway.Notification, error)
}

func (w *wrapped) Capabilities() gateway.Capabilities {
	if w.caps != nil {
		return w.caps(w.Connector.Capabilities())
	}
	return w.Connector.Capabilities()
}

func (w *wrapped) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	if w.charge != nil {
		return w.charge(ctx, req)
	}
	return w.Connector.Charge(ctx, req)
}

func (w *wrapped) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	if w.fetch != nil {
		return w.fetch(ctx, req)
	}
	return w.Connector.Fetch(ctx, req)
}

func (w *wrapped) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	if w.refund != nil {
		return w.refund(ctx, req)
	}
	return w.Connector.Refund(ctx, req)
}

func (w *wrapped) ParseWebhook(ctx context.Context, wh gateway.Webhook) (gateway.Notification, error) {
	if w.parse != nil {
		return w.parse(ctx, wh)
	}
	return w.Connector.ParseWebhook(ctx, wh)
}

// restricted declares three currencies, one per exponent, and refuses
// the others as a real connector must.
func restricted(c gateway.Connector) gateway.Connector {
	w := &wrapped{Connector: c}
	w.caps = func(caps gateway.Capabilities) gateway.Capabilities {
		caps.Currencies = []money.Currency{"USD", "JPY", "KWD"}
		return caps
	}
	w.charge = func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
		if !w.Capabilities().Supports(req.Amount.Currency) && req.Amount.Currency.Exponent() >= 0 {
			return gateway.ChargeResult{}, gateway.Invalid("test.Charge", gateway.CodeCurrencyNotSupported, "currency not supported", nil)
		}
		return c.Charge(ctx, req)
	}
	return w
}

// stripeRule refuses 3-decimal amounts that are not multiples of ten, as
// Stripe does, instead of rounding them.
func stripeRule(c gateway.Connector) gateway.Connector {
	w := &wrapped{Connector: c}
	w.charge = func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
		if req.Amount.Currency.Exponent() == 3 && req.Amount.Minor%10 != 0 {
			return gateway.ChargeResult{}, gateway.Invalid("test.Charge", gateway.CodeAmountNotRepresentable, "amount not representable", nil)
		}
		return c.Charge(ctx, req)
	}
	w.refund = func(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
		if req.Amount.Currency.Exponent() == 3 && req.Amount.Minor%10 != 0 {
			return gateway.RefundResult{}, gateway.Invalid("test.Refund", gateway.CodeAmountNotRepresentable, "amount not representable", nil)
		}
		return c.Refund(ctx, req)
	}
	return w
}

// TestSuitePasses runs the suite against correct connectors shaped
// unlike the sandbox: a restricted currency list, and Stripe's rule for
// 3-decimal amounts.
func TestSuitePasses(t *testing.T) {
	t.Run("restricted currencies", func(t *testing.T) { gatewaytest.Run(t, harness(t, "stripe", restricted)) })
	t.Run("multiples of ten in 3-decimal currencies", func(t *testing.T) { gatewaytest.Run(t, harness(t, "stripe", stripeRule)) })
}

// broken lists connectors that break one rule of the contract each, and a
// line of the suite's output that must name the break.
var broken = map[string]struct {
	wrap func(gateway.Connector) gateway.Connector
	want string
}{
	"approves without an answer": {func(c gateway.Connector) gateway.Connector {
		return &wrapped{Connector: c, charge: func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
			if ctx.Err() != nil {
				return gateway.ChargeResult{Outcome: gateway.Approved, Reference: "x", Captured: req.Amount}, nil
			}
			return c.Charge(ctx, req)
		}}
	}, "want an error and no approval"},
	"reads a lost answer as a refusal": {func(c gateway.Connector) gateway.Connector {
		return &wrapped{Connector: c, charge: func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
			if err := ctx.Err(); err != nil {
				return gateway.ChargeResult{}, gateway.Invalid("test.Charge", gateway.CodeInvalidRequest, "canceled", err)
			}
			return c.Charge(ctx, req)
		}}
	}, "a lost answer is never a decline"},
	"rounds amounts": {func(c gateway.Connector) gateway.Connector {
		round := func(res gateway.ChargeResult, err error) (gateway.ChargeResult, error) {
			res.Captured.Minor -= res.Captured.Minor % 100
			return res, err
		}
		return &wrapped{Connector: c,
			charge: func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
				return round(c.Charge(ctx, req))
			},
			fetch: func(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
				return round(c.Fetch(ctx, req))
			}}
	}, "want approved and exactly the amount"},
	"refunds more than captured": {func(c gateway.Connector) gateway.Connector {
		return &wrapped{Connector: c, refund: func(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
			res, err := c.Refund(ctx, req)
			if pay.CodeOf(err) == gateway.CodeRefundExceedsCaptured {
				return gateway.RefundResult{Reference: "re_x", Status: gateway.RefundSucceeded}, nil
			}
			return res, err
		}}
	}, "want an Invalid error (over-refund)"},
	"ignores idempotency keys": {func(c gateway.Connector) gateway.Connector {
		return &wrapped{Connector: c, charge: func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
			req.IdempotencyKey += pay.NewID("x")
			return c.Charge(ctx, req)
		}}
	}, "want the same reference and outcome"},
	"calls every decline retryable": {func(c gateway.Connector) gateway.Connector {
		mark := func(res gateway.ChargeResult, err error) (gateway.ChargeResult, error) {
			if res.Outcome == gateway.Declined {
				res.Retryable = true
			}
			return res, err
		}
		return &wrapped{Connector: c,
			charge: func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
				return mark(c.Charge(ctx, req))
			},
			fetch: func(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
				return mark(c.Fetch(ctx, req))
			}}
	}, "decline: Retryable true, want false"},
	"charges currencies it does not declare": {func(c gateway.Connector) gateway.Connector {
		w := restricted(c).(*wrapped)
		w.charge = nil
		return w
	}, "which Capabilities leaves out"},
	"skips 3-D Secure": {func(c gateway.Connector) gateway.Connector {
		return &wrapped{Connector: c, charge: func(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
			res, err := c.Charge(ctx, req)
			if res.Outcome == gateway.ActionRequired {
				res = gateway.ChargeResult{Outcome: gateway.Approved, Reference: res.Reference, Captured: req.Amount}
			}
			return res, err
		}}
	}, "want action_required"},
	"accepts any webhook": {func(c gateway.Connector) gateway.Connector {
		return &wrapped{Connector: c, parse: func(context.Context, gateway.Webhook) (gateway.Notification, error) {
			return gateway.Notification{Reference: "x", Outcome: gateway.Approved, EventID: "evt"}, nil
		}}
	}, "ParseWebhook on a connector without Webhooks"},
}

const brokenEnv = "GATEWAYTEST_BROKEN"

// TestSuiteCatchesBrokenConnectors runs the suite, in a child process so
// that its failures do not fail this test, against each broken connector,
// and requires it to fail for the right reason: a suite that cannot fail
// proves nothing.
func TestSuiteCatchesBrokenConnectors(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("in the child process")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenConnector$", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a connector that %s:\n%s", name, out)
			}
			if !strings.Contains(string(out), b.want) {
				t.Errorf("the suite failed a connector that %s, but its output lacks %q:\n%s", name, b.want, out)
			}
		})
	}
}

// TestBrokenConnector is the child process of
// TestSuiteCatchesBrokenConnectors; it is skipped in a normal run.
func TestBrokenConnector(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenConnectors")
	}
	b, ok := broken[name]
	if !ok {
		t.Fatalf("no broken connector %q", name)
	}
	gatewaytest.Run(t, harness(t, "stripe", b.wrap))
}
