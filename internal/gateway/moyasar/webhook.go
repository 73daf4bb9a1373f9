package moyasar

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/sakkhq/sakk/internal/gateway"
)

// CodeEventIgnored is the error code ParseWebhook gives a verified
// notification of a type sakk does not act on (payouts, balance
// transfers). It is an Invalid error so that nothing of the event is used;
// the HTTP layer should still answer it 2xx, or Moyasar keeps retrying it
// (five more times).
const CodeEventIgnored = "event_ignored"

// maxWebhookKeys bounds the top-level members read from a notification.
const maxWebhookKeys = 64

// ParseWebhook checks a Moyasar notification and tells what it is about:
//
//  1. The body must be declared as JSON (Content-Type application/json)
//     and be exactly one JSON object, with no duplicate top-level keys and
//     no bytes after it: a token-in-body scheme is only as good as the
//     agreement between the parser that checks the token and the one that
//     reads the rest.
//  2. Its secret_token must equal the configured WebhookSecret, compared
//     in constant time, before anything else of the body is used.
//  3. Only payment events (type payment_…) are read; others are refused
//     with CodeEventIgnored.
//  4. The payment named by data.id is re-read from Moyasar (Fetch): the
//     token proves the sender knew a shared password, not that the body
//     says the truth, so the Notification's Reference and Outcome are the
//     API's. EventID is the notification's id, for de-duplicating
//     Moyasar's retries.
//
// A failed check is an Unauthenticated error. A failed re-read is the
// re-read's error (NotFound, or Unavailable: try again later).
func (c *Connector) ParseWebhook(ctx context.Context, w gateway.Webhook) (gateway.Notification, error) {
	const op = "moyasar.ParseWebhook"
	if c.webhookSecret == nil {
		return gateway.Notification{}, gateway.Unauthenticated(op, "no Moyasar webhook secret token is configured", nil)
	}
	if mt, _, err := mime.ParseMediaType(w.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return gateway.Notification{}, gateway.Unauthenticated(op, "a Moyasar notification is a JSON body", errors.New("Content-Type is not application/json"))
	}
	members, err := strictObject(w.Body)
	if err != nil {
		return gateway.Notification{}, gateway.Unauthenticated(op, "the body is not a Moyasar notification", err)
	}
	var token string
	if raw, ok := members["secret_token"]; !ok || json.Unmarshal(raw, &token) != nil {
		return gateway.Notification{}, gateway.Unauthenticated(op, "the notification carries no secret token", nil)
	}
	// Hashing first makes the comparison constant-time whatever the
	// lengths.
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256(c.webhookSecret)
	if !hmac.Equal(got[:], want[:]) {
		return gateway.Notification{}, gateway.Unauthenticated(op, "the notification's secret token does not match", nil)
	}

	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Live *bool  `json:"live"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	// Re-marshalled members, so that exactly the members checked above are
	// read.
	canon, _ := json.Marshal(members)
	if err := json.Unmarshal(canon, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the notification is not a Moyasar event", err)
	}
	if ev.Live != nil && *ev.Live != c.live {
		return gateway.Notification{}, gateway.Unauthenticated(op, "the notification is from the other mode (test or live) than the secret key", nil)
	}
	if !strings.HasPrefix(ev.Type, "payment_") {
		return gateway.Notification{}, gateway.Invalid(op, CodeEventIgnored, "sakk does not act on Moyasar events of type "+strconv.Quote(ev.Type), nil)
	}
	if ev.Data.ID == "" {
		return gateway.Notification{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the notification names no payment", nil)
	}
	res, err := c.Fetch(ctx, gateway.FetchRequest{Reference: ev.Data.ID})
	if err != nil {
		return gateway.Notification{}, err
	}
	return gateway.Notification{Reference: res.Reference, Outcome: res.Outcome, EventID: ev.ID}, nil
}

// strictObject reads body as exactly one JSON object: its top-level
// members, each once, and nothing after the closing brace.
func strictObject(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := t.(string)
		if !ok {
			return nil, errors.New("malformed object")
		}
		if _, dup := members[k]; dup {
			return nil, errors.New("duplicate key " + strconv.Quote(k))
		}
		if len(members) == maxWebhookKeys {
			return nil, errors.New("too many keys")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		members[k] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, errors.New("malformed object")
	}
	if dec.InputOffset() != int64(len(body)) {
		return nil, errors.New("bytes after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return members, nil
}
