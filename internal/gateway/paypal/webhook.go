package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/sakkhq/sakk/internal/gateway"
)

// The headers PayPal sends each webhook delivery with, which
// verify-webhook-signature takes.
const (
	HeaderTransmissionID   = "Paypal-Transmission-Id"
	HeaderTransmissionTime = "Paypal-Transmission-Time"
	HeaderTransmissionSig  = "Paypal-Transmission-Sig"
	HeaderCertURL          = "Paypal-Cert-Url"
	HeaderAuthAlgo         = "Paypal-Auth-Algo"
)

// CodeEventIgnored is the error code ParseWebhook gives a verified event
// of a type sakk does not act on. It is an Invalid error so that nothing
// of the event is used; the HTTP layer should still answer it 2xx, or
// PayPal keeps delivering it.
const CodeEventIgnored = "event_ignored"

// Limits of verify-webhook-signature's fields, from PayPal's OpenAPI
// document: a header beyond them cannot be PayPal's.
var headerLimits = map[string]int{
	HeaderTransmissionID:   50,
	HeaderTransmissionTime: 100,
	HeaderTransmissionSig:  500,
	HeaderCertURL:          500,
	HeaderAuthAlgo:         100,
}

// event is the part of PayPal's webhook event sakk reads.
type event struct {
	ID           string `json:"id"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	Resource     struct {
		ID                string `json:"id"`
		SupplementaryData struct {
			RelatedIDs struct {
				OrderID string `json:"order_id"`
			} `json:"related_ids"`
		} `json:"supplementary_data"`
	} `json:"resource"`
}

// ParseWebhook has PayPal verify w (see the package comment), then reads
// which order it is about and re-reads that order with Fetch (capturing
// it, when the event says the shopper approved it). The event types read:
//
//	CHECKOUT.ORDER.APPROVED, CHECKOUT.ORDER.COMPLETED   resource is the order
//	PAYMENT.CAPTURE.COMPLETED, .PENDING, .DECLINED,
//	.DENIED, .REFUNDED, .REVERSED                       resource is a capture;
//	                                                    its related order_id
//
// Other types are refused with CodeEventIgnored. The Notification's
// Outcome is what Fetch said, not what the event said.
func (c *Connector) ParseWebhook(ctx context.Context, w gateway.Webhook) (gateway.Notification, error) {
	const op = "paypal.ParseWebhook"
	if c.webhookID == "" {
		return gateway.Notification{}, gateway.Unauthenticated(op, "no PayPal webhook id is configured", nil)
	}
	if err := c.verify(ctx, op, w); err != nil {
		return gateway.Notification{}, err
	}
	var ev event
	if err := json.Unmarshal(w.Body, &ev); err != nil || ev.ID == "" {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the webhook is not a PayPal event", err)
	}
	var ref string
	switch ev.EventType {
	case "CHECKOUT.ORDER.APPROVED", "CHECKOUT.ORDER.COMPLETED":
		ref = ev.Resource.ID
	case "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DECLINED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED":
		ref = ev.Resource.SupplementaryData.RelatedIDs.OrderID
	default:
		return gateway.Notification{}, gateway.Invalid(op, CodeEventIgnored, "sakk does not act on PayPal events of type "+strconv.Quote(ev.EventType), nil)
	}
	if ref == "" {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the PayPal event names no order", nil)
	}
	res, err := c.Fetch(ctx, gateway.FetchRequest{Reference: ref})
	if err != nil {
		return gateway.Notification{}, err
	}
	return gateway.Notification{Reference: ref, Outcome: res.Outcome, EventID: ev.ID}, nil
}

// verify asks PayPal whether w is a delivery it signed for this webhook.
// The body goes to PayPal as webhook_event byte for byte (not decoded and
// re-encoded), since the signature covers a CRC32 of the bytes.
func (c *Connector) verify(ctx context.Context, op string, w gateway.Webhook) error {
	fields := make(map[string]string, len(headerLimits))
	for h, limit := range headerLimits {
		v := w.Header.Get(h)
		if v == "" || len(v) > limit || !gateway.Printable(v) {
			return gateway.Unauthenticated(op, "the PayPal transmission headers are missing or malformed", errors.New("header "+h))
		}
		fields[h] = v
	}
	if !json.Valid(w.Body) || len(bytes.TrimSpace(w.Body)) == 0 || bytes.TrimSpace(w.Body)[0] != '{' {
		return gateway.Unauthenticated(op, "the PayPal webhook body is not a JSON object", nil)
	}
	var b bytes.Buffer
	b.WriteString(`{"auth_algo":`)
	writeJSONString(&b, fields[HeaderAuthAlgo])
	b.WriteString(`,"cert_url":`)
	writeJSONString(&b, fields[HeaderCertURL])
	b.WriteString(`,"transmission_id":`)
	writeJSONString(&b, fields[HeaderTransmissionID])
	b.WriteString(`,"transmission_sig":`)
	writeJSONString(&b, fields[HeaderTransmissionSig])
	b.WriteString(`,"transmission_time":`)
	writeJSONString(&b, fields[HeaderTransmissionTime])
	b.WriteString(`,"webhook_id":`)
	writeJSONString(&b, c.webhookID)
	b.WriteString(`,"webhook_event":`)
	b.Write(w.Body)
	b.WriteString(`}`)

	status, body, err := c.call(ctx, op, http.MethodPost, "/v1/notifications/verify-webhook-signature", b.Bytes(), "")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		e, _ := parseError(body)
		cause := &paypalError{status: status, e: e}
		if status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden {
			// PayPal refused to check what was sent: not its delivery.
			return gateway.Unauthenticated(op, "PayPal could not verify the webhook", cause)
		}
		return gateway.Unavailable(op, cause)
	}
	var v struct {
		VerificationStatus string `json:"verification_status"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return gateway.Unavailable(op, errors.New("paypal: unreadable verification answer"))
	}
	if v.VerificationStatus != "SUCCESS" {
		return gateway.Unauthenticated(op, "PayPal says the webhook signature does not verify", errors.New("verification_status "+strconv.Quote(v.VerificationStatus)))
	}
	return nil
}

// writeJSONString writes s as a JSON string.
func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always encodes
	b.Write(q)
}
