package checkout

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// OpenPaymentLink opens a fresh session for a buyer who followed the
// payment link linkID (its public URL, /pay/{linkID}), as the Checkout
// API would open it for the link's application environment: same rules,
// same token, so webhooks, refunds and reports treat it like any other.
// The session's metadata names the link ({"paymentLinkId": …}), and the
// session is recorded as the link's in its own transaction, which is how
// the link counts its paid payments.
//
// An unknown link is NotFound (payment_link_not_found); an inactive,
// expired or exhausted one is refused with pay.CodePaymentLinkInactive,
// CodePaymentLinkExpired or CodePaymentLinkExhausted (see
// pay.PaymentLink.Refusal for why the limit counts paid payments, not
// sessions opened). The decision is taken on a read just before the
// session is written, not under a lock: a link switched off at that very
// moment may still open that one session, which stays payable like any
// session opened before.
func (s *Service) OpenPaymentLink(ctx context.Context, linkID string) (Opened, error) {
	now := s.now().UTC()
	l, err := s.store.PaymentLink(ctx, linkID)
	if pay.KindOf(err) == pay.NotFound {
		return Opened{}, merchant.PaymentLinkNotFound(linkID)
	}
	if err != nil {
		return Opened{}, fmt.Errorf("checkout: open payment link: %w", err)
	}
	if err := l.Refusal(now); err != nil {
		return Opened{}, err
	}
	total, ok := l.Total()
	if !ok {
		return Opened{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "the link's items add up to more than sakk can represent")
	}
	metadata, err := json.Marshal(map[string]string{"paymentLinkId": l.ID})
	if err != nil {
		return Opened{}, fmt.Errorf("checkout: open payment link: %w", err)
	}
	sess, err := s.validate(ctx, NewSession{
		ApplicationID: l.ApplicationID, Environment: l.Environment, Currency: l.Currency,
		Total: total, Items: l.Items, Metadata: metadata,
	}, now)
	if err != nil {
		// The link was valid when made; the application changed since
		// (a currency it no longer accepts).
		return Opened{}, fmt.Errorf("checkout: open payment link %s: %w", l.ID, err)
	}
	var opened Opened
	_, err = s.openPlain(ctx, sess, s.issuer(ctx, sess),
		func(o Opened) (Response, error) { opened = o; return Response{}, nil },
		func(tx *store.Tx) error { return tx.AddPaymentLinkSession(ctx, l.ID, sess.ID) })
	if err != nil {
		return Opened{}, err
	}
	return opened, nil
}

// Brand is whose a payment link is, as its pages show it: the merchant's
// name (else the application's) and logo.
type Brand struct {
	Name string
	Logo string
}

// PaymentLinkBrand is the brand of link linkID, for the page of a link
// that opens no session, so the buyer sees whose link it was. An unknown
// link has none (NotFound).
func (s *Service) PaymentLinkBrand(ctx context.Context, linkID string) (Brand, error) {
	l, err := s.store.PaymentLink(ctx, linkID)
	if pay.KindOf(err) == pay.NotFound {
		return Brand{}, merchant.PaymentLinkNotFound(linkID)
	}
	if err != nil {
		return Brand{}, fmt.Errorf("checkout: payment link brand: %w", err)
	}
	a, err := s.app(ctx, l.ApplicationID)
	if err != nil {
		return Brand{}, err
	}
	return Brand{Name: cmp.Or(a.DisplayName, a.MerchantName, a.Name), Logo: a.BrandLogo}, nil
}
