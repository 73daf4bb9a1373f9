package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

func TestChargeOutcome(t *testing.T) {
	timeout := gateway.Unavailable("stripe.Charge", context.DeadlineExceeded)
	cases := []struct {
		name string
		res  gateway.ChargeResult
		err  error
		want gateway.Outcome
	}{
		{"approved", gateway.ChargeResult{Outcome: gateway.Approved}, nil, gateway.Approved},
		{"declined", gateway.ChargeResult{Outcome: gateway.Declined}, nil, gateway.Declined},
		{"action required", gateway.ChargeResult{Outcome: gateway.ActionRequired}, nil, gateway.ActionRequired},
		{"pending", gateway.ChargeResult{Outcome: gateway.Pending}, nil, gateway.Pending},
		{"no outcome and no error", gateway.ChargeResult{}, nil, gateway.Unknown},
		{"refused as invalid", gateway.ChargeResult{}, gateway.Invalid("op", gateway.CodeInvalidPaymentToken, "bad token", nil), gateway.Declined},
		{"refused, wrapped", gateway.ChargeResult{}, fmt.Errorf("checkout: process: %w", gateway.Invalid("op", gateway.CodeCurrencyNotSupported, "no", nil)), gateway.Declined},
		{"timeout", gateway.ChargeResult{Outcome: gateway.Unknown}, timeout, gateway.Unknown},
		{"timeout with a stale outcome", gateway.ChargeResult{Outcome: gateway.Approved}, timeout, gateway.Unknown},
		{"key reused", gateway.ChargeResult{}, gateway.Invalid("op", gateway.CodeIdempotencyKeyReused, "reused", nil), gateway.Unknown},
		{"unclassified error", gateway.ChargeResult{}, errors.New("EOF"), gateway.Unknown},
		{"bare context error", gateway.ChargeResult{}, context.Canceled, gateway.Unknown},
		{"not found", gateway.ChargeResult{}, gateway.NotFound("op", "no such charge"), gateway.Unknown},
	}
	for _, c := range cases {
		if got := gateway.ChargeOutcome(c.res, c.err); got != c.want {
			t.Errorf("%s: ChargeOutcome = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	cases := []struct {
		err  error
		kind pay.Kind
		code string
	}{
		{gateway.Invalid("stripe.Charge", gateway.CodeAmountNotRepresentable, "KWD amounts must end in 0", nil), pay.Invalid, gateway.CodeAmountNotRepresentable},
		{gateway.Unavailable("stripe.Charge", cause), pay.Unavailable, gateway.CodeUnavailable},
		{gateway.NotFound("stripe.Fetch", "no such charge"), pay.NotFound, gateway.CodeChargeNotFound},
		{gateway.Unauthenticated("stripe.ParseWebhook", "bad signature", nil), pay.Unauthenticated, gateway.CodeInvalidSignature},
	}
	for _, c := range cases {
		if k, code := pay.KindOf(c.err), pay.CodeOf(c.err); k != c.kind || code != c.code {
			t.Errorf("%v: kind %v code %q, want %v %q", c.err, k, code, c.kind, c.code)
		}
	}
	// The cause is kept for logs and errors.Is, never shown to callers.
	err := gateway.Unavailable("stripe.Charge", cause)
	if !errors.Is(err, cause) {
		t.Error("Unavailable does not wrap its cause")
	}
	if msg := pay.MessageOf(err); msg == "" || msg == cause.Error() {
		t.Errorf("MessageOf = %q: want a caller-safe message without the cause", msg)
	}
}

func TestSupports(t *testing.T) {
	anyCur := gateway.Capabilities{}
	some := gateway.Capabilities{Currencies: []money.Currency{"USD", "KWD"}}
	cases := []struct {
		caps gateway.Capabilities
		cur  money.Currency
		want bool
	}{
		{anyCur, "USD", true},
		{anyCur, "JPY", true},
		{anyCur, "ZZZ", false},
		{anyCur, "usd", false},
		{some, "USD", true},
		{some, "KWD", true},
		{some, "MAD", false},
		{gateway.Capabilities{Currencies: []money.Currency{"ZZZ"}}, "ZZZ", false},
	}
	for _, c := range cases {
		if got := c.caps.Supports(c.cur); got != c.want {
			t.Errorf("%v.Supports(%q) = %v, want %v", c.caps.Currencies, c.cur, got, c.want)
		}
	}
}

func TestOutcomeFinal(t *testing.T) {
	for o, want := range map[gateway.Outcome]bool{
		gateway.Approved: true, gateway.Declined: true,
		gateway.ActionRequired: false, gateway.Pending: false, gateway.Unknown: false, "": false,
	} {
		if got := o.Final(); got != want {
			t.Errorf("%q.Final() = %v, want %v", o, got, want)
		}
	}
}
