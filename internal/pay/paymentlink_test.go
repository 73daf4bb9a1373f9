package pay

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

func TestPaymentLinkRefusal(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	open := PaymentLink{Active: true, QuantityLimit: 2, Paid: 1, ExpiresAt: now.Add(time.Second)}
	for _, tc := range []struct {
		name string
		edit func(*PaymentLink)
		want string // "" opens
	}{
		{"room left", func(*PaymentLink) {}, ""},
		{"no limit, no expiry", func(l *PaymentLink) { l.QuantityLimit, l.Paid, l.ExpiresAt = 0, 99, time.Time{} }, ""},
		{"inactive", func(l *PaymentLink) { l.Active = false }, CodePaymentLinkInactive},
		{"expires now", func(l *PaymentLink) { l.ExpiresAt = now }, CodePaymentLinkExpired},
		{"expired", func(l *PaymentLink) { l.ExpiresAt = now.Add(-time.Hour) }, CodePaymentLinkExpired},
		{"limit reached", func(l *PaymentLink) { l.Paid = 2 }, CodePaymentLinkExhausted},
		{"limit passed (concurrent payments)", func(l *PaymentLink) { l.Paid = 3 }, CodePaymentLinkExhausted},
		{"inactive before expired", func(l *PaymentLink) { l.Active, l.ExpiresAt = false, now }, CodePaymentLinkInactive},
		{"expired before exhausted", func(l *PaymentLink) { l.ExpiresAt, l.Paid = now, 2 }, CodePaymentLinkExpired},
	} {
		l := open
		tc.edit(&l)
		err := l.Refusal(now)
		if CodeOf(err) != tc.want || (err != nil && KindOf(err) != Conflict) {
			t.Errorf("%s: Refusal = %v (code %q), want code %q", tc.name, err, CodeOf(err), tc.want)
		}
	}
}

func TestPaymentLinkTotal(t *testing.T) {
	l := PaymentLink{Currency: "KWD", Items: []Item{
		{UnitPrice: money.New(1250, "KWD"), Quantity: 3},
		{UnitPrice: money.New(5, "KWD"), Quantity: 1},
	}}
	if got, ok := l.Total(); !ok || got != money.New(3755, "KWD") {
		t.Errorf("Total = %v, %v; want 3.755 KWD", got, ok)
	}
	l.Items = append(l.Items, Item{UnitPrice: money.New(1<<62, "KWD"), Quantity: 2})
	if _, ok := l.Total(); ok {
		t.Error("Total of an overflowing link is ok")
	}
}
