package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// Internal event types: what the engine writes to the outbox
// (pay.Event.Type), with a Payload as JSON. Each format maps the ones its
// surface knows to its own names and skips the rest.
const (
	PaymentCompleted = pay.EventPaymentCompleted
	PaymentFailed    = pay.EventPaymentFailed
	PaymentCancelled = pay.EventPaymentCancelled
	PaymentExpired   = pay.EventPaymentExpired
	PaymentRefunded  = pay.EventPaymentRefunded
	SessionCreated   = pay.EventSessionCreated
)

// TestEvent is the event type of a test delivery, in both formats.
const TestEvent = "test"

// Payload is the JSON payload of the engine's events (pay.EventPayload);
// the dispatcher renders each endpoint's body from it. MerchantName,
// StoreName and CreatedAt, when empty, are filled in here.
type Payload = pay.EventPayload

// names are an application's display names, for payloads that lack them.
type names struct{ merchant, store string }

// fill completes what a payload may leave out.
func fill(p *Payload, e pay.Event, n names) {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = e.CreatedAt
	}
	if p.MerchantName == "" {
		p.MerchantName = n.merchant
	}
	if p.StoreName == "" {
		p.StoreName = n.store
	}
}

// errUnmappable marks an event whose payload a format cannot render: it
// is skipped (and logged), never retried, never a crash.
var errUnmappable = errors.New("webhook: payload cannot be mapped")

func parsePayload(e pay.Event, n names) (Payload, money.Amount, money.Amount, error) {
	var p Payload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return p, money.Amount{}, money.Amount{}, fmt.Errorf("%w: %v", errUnmappable, err)
	}
	c := money.Currency(p.Currency)
	switch {
	case p.SessionID == "":
		return p, money.Amount{}, money.Amount{}, fmt.Errorf("%w: no sessionId", errUnmappable)
	case c.Exponent() < 0:
		return p, money.Amount{}, money.Amount{}, fmt.Errorf("%w: unknown currency %q", errUnmappable, p.Currency)
	case p.AmountMinor < 0 || p.RefundedMinor < 0:
		return p, money.Amount{}, money.Amount{}, fmt.Errorf("%w: negative amount", errUnmappable)
	}
	fill(&p, e, n)
	return p, money.New(p.AmountMinor, c), money.New(p.RefundedMinor, c), nil
}

// isoTime is the ISO 8601 layout of both formats: UTC with milliseconds,
// as JavaScript's Date.toISOString writes it.
const isoTime = "2006-01-02T15:04:05.000Z"

func iso(t time.Time) string { return t.UTC().Format(isoTime) }

// message is one event rendered for one format: the body every attempt
// sends, the event name, and the id receivers de-duplicate on.
type message struct {
	Type string
	ID   string
	Body []byte
}

// render maps an engine event to a format. ok is false when the format
// does not subscribe to the event's type; an error means the payload
// cannot be rendered.
func render(f pay.WebhookFormat, e pay.Event, n names) (m message, ok bool, err error) {
	switch f {
	case pay.WebhookCheckout:
		return renderCheckout(e, n)
	case pay.WebhookPayment:
		return renderPayment(e, n)
	}
	return message{}, false, fmt.Errorf("%w: unknown format %q", errUnmappable, f)
}

// The Checkout API's events (SURFACES.md §1). A failed attempt has no
// event there: the session may still be paid, and a refund has none
// either; the merchant reads REFUNDED from the status call.
var checkoutEvents = map[string]struct{ name, status string }{
	PaymentCompleted: {"transaction.approved", "APPROVED"},
	PaymentCancelled: {"transaction.cancelled", "CANCELED"},
	PaymentExpired:   {"transaction.expired", "CANCELED"},
	// Partner transactions (internal/partner) have the API's own statuses.
	pay.EventPartnerApproved: {"transaction.approved", "APPROVED"},
	pay.EventPartnerCanceled: {"transaction.cancelled", "CANCELED"},
	pay.EventPartnerExpired:  {"transaction.expired", "EXPIRED"},
}

// checkoutBody is the Checkout API's webhook body; field order follows the
// vendor's documentation.
type checkoutBody struct {
	Event     string `json:"event"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

type checkoutData struct {
	ID              string          `json:"id"` // the transaction id: the payment's, else the session's
	VendorReference string          `json:"vendorReference"`
	OrderReference  string          `json:"orderReference"` // the session id (payment_intent_id of the status call)
	Status          string          `json:"status"`
	Amount          json.RawMessage `json:"amount"` // a number with the currency's decimals, e.g. 1799.00
	Currency        string          `json:"currency"`
	CustomerPhone   string          `json:"customerPhone"`
	MerchantName    string          `json:"merchantName"`
	StoreName       string          `json:"storeName"`
	CreatedAt       string          `json:"createdAt"`
}

func renderCheckout(e pay.Event, n names) (message, bool, error) {
	ev, ok := checkoutEvents[e.Type]
	if !ok {
		return message{}, false, nil
	}
	p, amount, _, err := parsePayload(e, n)
	if err != nil {
		return message{}, false, err
	}
	id := p.PaymentID
	if id == "" {
		id = p.SessionID
	}
	orderRef := p.OrderReference // a partner transaction's short code
	if orderRef == "" {
		orderRef = p.SessionID
	}
	body, err := json.Marshal(checkoutBody{Event: ev.name, Timestamp: iso(e.CreatedAt), Data: checkoutData{
		ID: id, VendorReference: p.VendorReference, OrderReference: orderRef, Status: ev.status,
		Amount: json.RawMessage(money.Format(amount)), Currency: p.Currency, CustomerPhone: p.CustomerPhone,
		MerchantName: p.MerchantName, StoreName: p.StoreName, CreatedAt: iso(p.CreatedAt),
	}})
	// The Checkout API's event ids are UUIDs; one per event, so every
	// endpoint and every re-send carry the same.
	return message{Type: ev.name, ID: pay.NewUUID(), Body: body}, err == nil, err
}

// The Public Payment API's events (SURFACES.md §2) carry the engine's
// names unchanged.
var paymentEvents = map[string]bool{
	PaymentCompleted: true, PaymentFailed: true, PaymentCancelled: true, PaymentExpired: true, PaymentRefunded: true,
}

// paymentBody is the Public Payment API's webhook body (decided by sakk).
type paymentBody struct {
	ID          string `json:"id"` // the event id, "evt_…"
	Type        string `json:"type"`
	CreatedAt   string `json:"createdAt"`
	Environment string `json:"environment"`
	Data        any    `json:"data"`
}

type paymentData struct {
	SessionID       string          `json:"sessionId"`
	PaymentID       string          `json:"paymentId,omitempty"`
	Status          string          `json:"status"`
	Amount          json.RawMessage `json:"amount"`
	RefundedAmount  json.RawMessage `json:"refundedAmount"`
	Currency        string          `json:"currency"`
	Gateway         string          `json:"gateway,omitempty"`
	Method          string          `json:"method,omitempty"`
	VendorReference string          `json:"vendorReference,omitempty"`
	Customer        paymentCustomer `json:"customer"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	Error           *paymentError   `json:"error,omitempty"`
	CreatedAt       string          `json:"createdAt"`
}

type paymentCustomer struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

type paymentError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func renderPayment(e pay.Event, n names) (message, bool, error) {
	if !paymentEvents[e.Type] {
		return message{}, false, nil
	}
	p, amount, refunded, err := parsePayload(e, n)
	if err != nil {
		return message{}, false, err
	}
	if len(p.Metadata) > 0 && !json.Valid(p.Metadata) {
		return message{}, false, fmt.Errorf("%w: metadata is not JSON", errUnmappable)
	}
	data := paymentData{
		SessionID: p.SessionID, PaymentID: p.PaymentID, Status: p.Status,
		Amount: json.RawMessage(money.Format(amount)), RefundedAmount: json.RawMessage(money.Format(refunded)),
		Currency: p.Currency, Gateway: p.Gateway, Method: p.Method, VendorReference: p.VendorReference,
		Customer: paymentCustomer{Email: p.CustomerEmail, Phone: p.CustomerPhone}, Metadata: p.Metadata,
		CreatedAt: iso(p.CreatedAt),
	}
	if p.ErrorCode != "" {
		data.Error = &paymentError{Code: p.ErrorCode, Message: p.ErrorMessage}
	}
	body, err := json.Marshal(paymentBody{ID: e.ID, Type: e.Type, CreatedAt: iso(e.CreatedAt), Environment: string(e.Environment), Data: data})
	return message{Type: e.Type, ID: e.ID, Body: body}, err == nil, err
}

// testMessage is the body of a test event to an endpoint.
func testMessage(w pay.WebhookEndpoint, at time.Time) message {
	const note = "A test event from sakk: your endpoint is reachable and can verify signatures."
	if w.Format == pay.WebhookPayment {
		id := pay.NewID(pay.PrefixEvent)
		body, _ := json.Marshal(paymentBody{ID: id, Type: TestEvent, CreatedAt: iso(at), Environment: string(w.Environment),
			Data: map[string]string{"endpointId": w.ID, "message": note}})
		return message{Type: TestEvent, ID: id, Body: body}
	}
	id := pay.NewUUID()
	body, _ := json.Marshal(checkoutBody{Event: TestEvent, Timestamp: iso(at),
		Data: map[string]string{"id": id, "endpointId": w.ID, "message": note}})
	return message{Type: TestEvent, ID: id, Body: body}
}

// Header names of the two formats.
const (
	HeaderAlyaEventID   = "X-Alya-Event-Id"
	HeaderAlyaTimestamp = "X-Alya-Timestamp"
	HeaderAlyaSignature = "X-Alya-Signature"
	HeaderSakkSignature = "Sakk-Signature"
	HeaderSakkEventID   = "Sakk-Event-Id"
)

// sign sets the headers that identify and sign one attempt. secrets are
// the endpoint's signing secrets, current first; the checkout format has
// room for one signature, the payment format signs with each (a rotation's
// overlap). The key of the HMAC is the whole secret text, "whsec_…".
func sign(h http.Header, f pay.WebhookFormat, m message, secrets []string, at time.Time) {
	h.Set("Content-Type", "application/json")
	if f == pay.WebhookPayment {
		t := strconv.FormatInt(at.Unix(), 10)
		parts := []string{"t=" + t}
		for _, s := range secrets {
			parts = append(parts, "v1="+hmacHex(s, t, m.Body))
		}
		h.Set(HeaderSakkSignature, strings.Join(parts, ","))
		h.Set(HeaderSakkEventID, m.ID)
		return
	}
	ts := iso(at)
	h.Set(HeaderAlyaEventID, m.ID)
	h.Set(HeaderAlyaTimestamp, ts)
	h.Set(HeaderAlyaSignature, "sha256="+hmacHex(secrets[0], ts, m.Body))
}

// hmacHex is hex(HMAC-SHA256(secret, prefix + "." + body)).
func hmacHex(secret, prefix string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(prefix))
	mac.Write([]byte("."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
