package pay

import (
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

// PaymentLink is a reusable public URL (/pay/{ID}) that opens a fresh,
// ordinary session for a fixed list of items each time a buyer follows it.
// The sessions it opens are like any other (webhooks, refunds and reports
// apply); each remembers the link it came from.
type PaymentLink struct {
	ID            string
	ApplicationID string
	Environment   Environment
	Currency      money.Currency
	// Items are the lines every session of the link gets. Catalog lines
	// are copied from the product when the link is made (Reference is the
	// store code, ProductID set): a later change to the product does not
	// change what the link charges, so a published link's price is fixed.
	Items []Item
	// QuantityLimit is how many paid payments the link may take; 0 is no
	// limit.
	QuantityLimit int64
	ExpiresAt     time.Time // zero: never expires
	Active        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Paid counts the link's sessions that were paid (completed, or
	// paid and since refunded: a refund does not give the place back).
	// It is read with the link, never stored.
	Paid int64
}

// Codes of the errors a link that opens no session answers with.
const (
	CodePaymentLinkNotFound  = "payment_link_not_found" // unknown, or another application's
	CodePaymentLinkInactive  = "payment_link_inactive"
	CodePaymentLinkExpired   = "payment_link_expired"
	CodePaymentLinkExhausted = "payment_link_exhausted"
)

// Refusal says why the link may not open a session at now, or nil when
// it may. An inactive link is refused first, then an expired one, then
// one whose paid payments reached its limit.
//
// The limit counts payments taken, not sessions opened: while it has room
// a link opens a session for every buyer who asks, and each of those
// sessions may still be paid after the limit is reached (two buyers
// paying at once for the last place both pay). Bounding the sessions
// instead would let abandoned ones block real buyers until they expire;
// a merchant who must never exceed the limit refunds the excess.
func (l PaymentLink) Refusal(now time.Time) error {
	switch {
	case !l.Active:
		return Errorf(Conflict, CodePaymentLinkInactive, "this payment link has been deactivated")
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		return Errorf(Conflict, CodePaymentLinkExpired, "this payment link expired at %s", l.ExpiresAt.UTC().Format(time.RFC3339))
	case l.QuantityLimit > 0 && l.Paid >= l.QuantityLimit:
		return Errorf(Conflict, CodePaymentLinkExhausted, "this payment link has taken all %d of its payments", l.QuantityLimit)
	}
	return nil
}

// Total is the amount of each session the link opens: the sum of its
// items. ok is false when the sum cannot be represented.
func (l PaymentLink) Total() (total money.Amount, ok bool) {
	total = money.New(0, l.Currency)
	for _, it := range l.Items {
		line, err := it.UnitPrice.Mul(it.Quantity)
		if err == nil {
			total, err = total.Add(line)
		}
		if err != nil {
			return money.Amount{}, false
		}
	}
	return total, true
}
