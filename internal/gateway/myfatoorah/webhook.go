package myfatoorah

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sakkhq/sakk/internal/gateway"
)

// Webhook headers. MyFatoorah puts the signature in MyFatoorah-Signature;
// its own PHP library also reads MyFatoorah-Webhook-Version ("v1"/"v2")
// to pick the rule. Without that header the rule is told from the body's
// shape: v2 events have an "Event" object, v1 events an "EventType" number.
const (
	signatureHeader = "MyFatoorah-Signature"
	versionHeader   = "MyFatoorah-Webhook-Version"
)

// The signature, in both versions, is base64(HMAC-SHA256(secret, text)),
// the secret taken as the bytes of the webhook secret key as the portal
// shows it, and text a list of "key=value" joined by ",", where a null
// value is written as nothing ("CustomerEmail=").
//
//   - v1: text lists every property of the Data object, ordered by name
//     without regard to case (PHP's uksort with strcasecmp), except
//     GatewayReference for refund events (EventType 2), which is left out.
//   - v2: text lists fixed properties of Data, in the documented order,
//     named by their path: for PAYMENT_STATUS_CHANGED (Event.Code 1)
//     Invoice.Id, Invoice.Status, Transaction.Status,
//     Transaction.PaymentId, Invoice.ExternalIdentifier (v2Fields).
//
// Neither covers the raw bytes or a timestamp, so ParseWebhook re-reads
// the invoice after verifying and answers with MyFatoorah's current word.

// v2Fields are the signed properties of each v2 event code, in order.
var v2Fields = map[int64][]string{
	1: {"Invoice.Id", "Invoice.Status", "Transaction.Status", "Transaction.PaymentId", "Invoice.ExternalIdentifier"},
	2: {"Refund.Id", "Refund.Status", "Amount.ValueInBaseCurrency", "ReferencedInvoice.Id"},
	3: {"Deposit.Reference", "Deposit.ValueInBaseCurrency", "Deposit.NumberOfTransactions"},
	4: {"Supplier.Code", "KycDecision.Status"},
	5: {"Recurring.Id", "Recurring.Status", "Recurring.InitialInvoiceId"},
}

// event is what a verified notification says.
type event struct {
	version   int    // 1 or 2
	code      int64  // v1 EventType or v2 Event.Code; 1 is a payment's status change
	invoiceID string // for code 1
	id        string // for de-duplicating deliveries
}

// ParseWebhook verifies MyFatoorah-Signature over the notification's
// Data, by the v1 or v2 rule, before using anything of the body. For a
// payment's status change (v1 EventType 1, v2 Event.Code 1) it then reads
// the invoice with GetPaymentStatus and answers with its outcome now,
// whatever the notification claimed. Other verified events (refunds,
// deposits, suppliers, recurring) concern no charge: they are refused
// with an Invalid error, for the caller to acknowledge and ignore. A
// notification that does not verify is an Unauthenticated error.
func (c *Connector) ParseWebhook(ctx context.Context, w gateway.Webhook) (gateway.Notification, error) {
	const op = "myfatoorah.ParseWebhook"
	if c.webhookSecret == nil {
		return gateway.Notification{}, gateway.Unauthenticated(op, "MyFatoorah webhooks are not configured for this account", nil)
	}
	sig := w.Header.Get(signatureHeader)
	if sig == "" {
		return gateway.Notification{}, gateway.Unauthenticated(op, "the notification carries no MyFatoorah-Signature", nil)
	}
	ev, err := verify(c.webhookSecret, w.Header.Get(versionHeader), w.Body, sig)
	if err != nil {
		return gateway.Notification{}, gateway.Unauthenticated(op, "the notification's signature does not verify", err)
	}
	if ev.code != 1 {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the notification is not about a payment", nil)
	}
	if !isDigits(ev.invoiceID) {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the notification names no invoice", nil)
	}
	res, err := c.fetch(ctx, op, ev.invoiceID)
	if err != nil {
		return gateway.Notification{}, err
	}
	return gateway.Notification{Reference: ev.invoiceID, Outcome: res.Outcome, EventID: ev.id}, nil
}

// verify checks sig over body by the rule of version ("v1", "v2", or ""
// to tell it from the body) and returns what the verified body says.
func verify(secret []byte, version string, body []byte, sig string) (event, error) {
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(want) != sha256.Size {
		return event{}, errors.New("myfatoorah: signature is not base64 of 32 bytes")
	}
	var top map[string]json.RawMessage
	if err := strictJSON(body, &top); err != nil {
		return event{}, fmt.Errorf("myfatoorah: body is not a JSON object: %w", err)
	}
	switch strings.ToLower(version) {
	case "v1":
	case "v2":
	case "":
		version = "v1"
		if raw := bytes.TrimSpace(top["Event"]); len(raw) > 0 && raw[0] == '{' {
			version = "v2"
		}
	default:
		return event{}, fmt.Errorf("myfatoorah: unknown webhook version %q", version)
	}
	var (
		text string
		ev   event
	)
	if strings.EqualFold(version, "v2") {
		text, ev, err = v2Text(top)
	} else {
		text, ev, err = v1Text(top)
	}
	if err != nil {
		return event{}, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(text))
	if !hmac.Equal(mac.Sum(nil), want) {
		return event{}, errors.New("myfatoorah: signature mismatch")
	}
	if ev.id == "" {
		// No event id in the body: the signature names the delivery, by a
		// digest of it, so that logs and stored events never carry a
		// signature.
		sum := sha256.Sum256(want)
		ev.id = fmt.Sprintf("v%d:%x", ev.version, sum[:16])
	}
	return ev, nil
}

// v1Text builds the v1 signed text: every Data property, by name without
// regard to case.
func v1Text(top map[string]json.RawMessage) (string, event, error) {
	ev := event{version: 1}
	code, err := intOf(top["EventType"])
	if err != nil {
		return "", event{}, errors.New("myfatoorah: v1 notification without EventType")
	}
	ev.code = code
	var data map[string]json.RawMessage
	if err := strictJSON(top["Data"], &data); err != nil || data == nil {
		return "", event{}, errors.New("myfatoorah: v1 notification without a Data object")
	}
	if code == 2 {
		delete(data, "GatewayReference")
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.SortStableFunc(keys, func(a, b string) int {
		if c := strings.Compare(asciiLower(a), asciiLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, err := valueText(data[k])
		if err != nil {
			return "", event{}, fmt.Errorf("myfatoorah: Data.%s: %w", k, err)
		}
		parts = append(parts, k+"="+v)
	}
	if code == 1 {
		ev.invoiceID, _ = valueText(data["InvoiceId"])
	}
	return strings.Join(parts, ","), ev, nil
}

// v2Text builds the v2 signed text: the event code's fixed properties.
func v2Text(top map[string]json.RawMessage) (string, event, error) {
	ev := event{version: 2}
	var head struct {
		Code      json.RawMessage `json:"Code"`
		Reference string          `json:"Reference"`
	}
	if err := json.Unmarshal(top["Event"], &head); err != nil {
		return "", event{}, errors.New("myfatoorah: v2 notification without an Event object")
	}
	code, err := intOf(head.Code)
	if err != nil {
		return "", event{}, errors.New("myfatoorah: v2 notification without Event.Code")
	}
	fields, ok := v2Fields[code]
	if !ok {
		return "", event{}, fmt.Errorf("myfatoorah: unknown v2 Event.Code %d", code)
	}
	ev.code = code
	var data map[string]json.RawMessage
	if err := strictJSON(top["Data"], &data); err != nil || data == nil {
		return "", event{}, errors.New("myfatoorah: v2 notification without a Data object")
	}
	parts := make([]string, 0, len(fields))
	values := map[string]string{}
	for _, f := range fields {
		obj, name, _ := strings.Cut(f, ".")
		var inner map[string]json.RawMessage
		if raw, ok := data[obj]; ok && !isNull(raw) {
			if err := strictJSON(raw, &inner); err != nil {
				return "", event{}, fmt.Errorf("myfatoorah: Data.%s is not an object", obj)
			}
		}
		v, err := valueText(inner[name])
		if err != nil {
			return "", event{}, fmt.Errorf("myfatoorah: Data.%s: %w", f, err)
		}
		values[f] = v
		parts = append(parts, f+"="+v)
	}
	if code == 1 {
		ev.invoiceID = values["Invoice.Id"]
	}
	if head.Reference != "" && gateway.Printable(head.Reference) && len(head.Reference) <= maxReferenceLen {
		ev.id = "v2:" + head.Reference
	}
	return strings.Join(parts, ","), ev, nil
}

// valueText writes a JSON value as MyFatoorah's signer (PHP) does: a
// string as its text, null (or absent) as nothing, true as "1" and false
// as nothing, an integer as its digits and any other number in its
// shortest form ("2.50" is "2.5"). This text is only hashed, never read
// as money. Objects and arrays have no text: refused.
func valueText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case 't':
		return "1", nil
	case 'f':
		return "", nil
	case '{', '[':
		return "", errors.New("a nested value cannot be signed")
	}
	lit := string(raw)
	if !strings.ContainsAny(lit, ".eE") {
		if _, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return lit, nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return "", fmt.Errorf("not a JSON value: %q", lit)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// intOf reads an integer given as a JSON number or a string of digits.
func intOf(raw json.RawMessage) (int64, error) {
	s, err := valueText(raw)
	if err != nil || s == "" {
		return 0, errors.New("no integer")
	}
	return strconv.ParseInt(s, 10, 64)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// strictJSON decodes one JSON value and refuses anything after it.
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// asciiLower lowers ASCII letters only, as strcasecmp compares.
func asciiLower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}
