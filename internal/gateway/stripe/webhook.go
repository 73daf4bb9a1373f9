package stripe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
)

// SignatureHeader is the header Stripe signs webhook deliveries in.
const SignatureHeader = "Stripe-Signature"

// Tolerance is how far a delivery's signed timestamp may be from now, in
// either direction: Stripe's libraries' default, five minutes. Older
// deliveries are replays.
const Tolerance = 5 * time.Minute

// CodeEventIgnored is the error code ParseWebhook gives a verified event
// of a type sakk does not act on (Stripe sends whatever types the endpoint
// subscribes to). It is an Invalid error so that nothing of the event is
// used; the HTTP layer should still answer it 2xx, or Stripe keeps
// retrying it.
const CodeEventIgnored = "event_ignored"

// maxSignatures bounds the v1 values read from one header (Stripe sends
// one per active signing secret, two while a secret is being rolled).
const maxSignatures = 8

// event is the part of Stripe's Event object sakk reads.
type event struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Type   string `json:"type"`
	Data   struct {
		Object struct {
			ID            string `json:"id"`
			Object        string `json:"object"`
			PaymentIntent string `json:"payment_intent"` // on a charge
		} `json:"object"`
	} `json:"data"`
}

// ParseWebhook verifies w's Stripe-Signature against the endpoint's
// signing secret, then reads the event:
//
//	payment_intent.succeeded       Approved
//	payment_intent.payment_failed  Declined
//	payment_intent.canceled        Declined
//	payment_intent.processing      Pending
//	payment_intent.requires_action ActionRequired
//	charge.refunded                Approved: the charge (its payment_intent)
//	                               stays captured; a refund is a refund's state
//
// Other types are refused with CodeEventIgnored. The PaymentIntent is not
// re-fetched (see the package comment).
func (c *Connector) ParseWebhook(ctx context.Context, w gateway.Webhook) (gateway.Notification, error) {
	const op = "stripe.ParseWebhook"
	if c.webhookSecret == nil {
		return gateway.Notification{}, gateway.Unauthenticated(op, "no Stripe webhook signing secret is configured", nil)
	}
	if err := verify(w.Header.Get(SignatureHeader), w.Body, c.webhookSecret, c.now()); err != nil {
		return gateway.Notification{}, gateway.Unauthenticated(op, "the Stripe-Signature does not verify", err)
	}
	var ev event
	if err := json.Unmarshal(w.Body, &ev); err != nil || ev.Object != "event" || ev.ID == "" {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the webhook is not a Stripe event", err)
	}
	n := gateway.Notification{EventID: ev.ID, Reference: ev.Data.Object.ID}
	obj := ev.Data.Object.Object
	switch ev.Type {
	case "payment_intent.succeeded":
		n.Outcome = gateway.Approved
	case "payment_intent.payment_failed", "payment_intent.canceled":
		n.Outcome = gateway.Declined
	case "payment_intent.processing":
		n.Outcome = gateway.Pending
	case "payment_intent.requires_action":
		n.Outcome = gateway.ActionRequired
	case "charge.refunded":
		n.Outcome = gateway.Approved
		if obj != "charge" {
			return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the Stripe event names no charge", nil)
		}
		// The charge's PaymentIntent is the charge sakk knows.
		n.Reference, obj = ev.Data.Object.PaymentIntent, "payment_intent"
	default:
		return gateway.Notification{}, gateway.Invalid(op, CodeEventIgnored, "sakk does not act on Stripe events of type "+strconv.Quote(ev.Type), nil)
	}
	if obj != "payment_intent" || n.Reference == "" {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the Stripe event names no PaymentIntent", nil)
	}
	return n, nil
}

// verify checks a Stripe-Signature header "t=<unix seconds>,v1=<hex>,…"
// for body: one of the v1 values must be the hex HMAC-SHA256, keyed with
// the endpoint secret, of "<t>.<body>", and t must be within Tolerance of
// now. Other schemes (v0, the test-mode scheme) are ignored.
func verify(header string, body, secret []byte, now time.Time) error {
	if header == "" {
		return errors.New("no Stripe-Signature header")
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" {
				return errors.New("more than one timestamp")
			}
			ts = v
		case "v1":
			if len(sigs) == maxSignatures {
				return errors.New("too many signatures")
			}
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" {
		return errors.New("no timestamp")
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || t <= 0 {
		return errors.New("malformed timestamp")
	}
	if len(sigs) == 0 {
		return errors.New("no v1 signature")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := mac.Sum(nil)
	found := false
	for _, s := range sigs {
		// Every value is compared, in constant time, so that timing says
		// nothing about which one matched.
		if hmac.Equal(s, want) {
			found = true
		}
	}
	if !found {
		return errors.New("no v1 signature matches")
	}
	// The age is checked after the signature, so that a forged header
	// learns nothing from the answer about the clock.
	if d := now.Sub(time.Unix(t, 0)); d > Tolerance || d < -Tolerance {
		return errors.New("timestamp outside the tolerance (a replay, or a clock off by more than five minutes)")
	}
	return nil
}
