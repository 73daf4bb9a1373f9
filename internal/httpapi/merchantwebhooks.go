package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/webhook"
)

// Webhook management in the merchant API: the key's application
// environment's endpoints (never their secrets, except the one a rotation
// creates, shown in its answer only), their recent deliveries, a test
// event, a re-send and secret rotation. Another application's or
// environment's endpoint or delivery is as unknown as a missing one.

// defaultDeliveryLimit and maxDeliveryLimit bound a deliveries listing.
const (
	defaultDeliveryLimit = 50
	maxDeliveryLimit     = 100
)

// merchantWebhooks is GET /api/merchant/v1/webhooks.
func (a *api) merchantWebhooks(w http.ResponseWriter, r *http.Request) {
	key, ok := a.merchantKey(w, r)
	if !ok {
		return
	}
	ws, err := a.merchant.WebhookEndpoints(r.Context(), key.ApplicationID, key.Environment)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := merchantData[merchantWebhookOut]{Data: make([]merchantWebhookOut, len(ws))}
	for i, e := range ws {
		out.Data[i] = webhookOut(e)
	}
	writeJSON(w, http.StatusOK, out)
}

// testWebhook is POST /api/merchant/v1/webhooks/{endpointId}/test: a
// `test` event sent now, once, enabled or not. It answers 200 with the
// attempt however the endpoint answered.
func (a *api) testWebhook(w http.ResponseWriter, r *http.Request) {
	a.sendNow(w, r, func(ctx context.Context, key pay.APIKey) (string, error) {
		e, err := a.merchant.WebhookEndpoint(ctx, key.ApplicationID, key.Environment, r.PathValue("endpointId"))
		return e.ID, err
	}, a.webhooks.Test)
}

// rotateWebhookSecret is POST
// /api/merchant/v1/webhooks/{endpointId}/rotate-secret with an optional
// {"overlap": "24h"} (a Go duration, "0s" to end the old secret at once).
func (a *api) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	key, ok := a.merchantKey(w, r)
	if !ok {
		return
	}
	overlap, err := readOverlap(w, r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	e, err := a.merchant.WebhookEndpoint(r.Context(), key.ApplicationID, key.Environment, r.PathValue("endpointId"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	secret, until, err := a.merchant.RotateWebhookSecret(r.Context(), e.ID, overlap)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	// The secret is in this answer only: it must not sit in a cache.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, merchantRotatedOut{Secret: secret, PreviousSecretValidUntil: rfc3339(until)})
}

// readOverlap reads a rotation's optional body: none, {} or
// {"overlap": null} mean merchant.DefaultWebhookOverlap.
func readOverlap(w http.ResponseWriter, r *http.Request) (time.Duration, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return 0, invalid("request_too_large", "the request body is larger than %d bytes", maxBody)
	}
	if err != nil {
		return 0, invalid("invalid_request", "cannot read the request body")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return merchant.DefaultWebhookOverlap, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var in map[string]json.RawMessage
	if _, err := readJSON(w, r, &in); err != nil {
		return 0, err
	}
	if err := onlyFields(in, "overlap"); err != nil {
		return 0, err
	}
	v := bytes.TrimSpace(in["overlap"])
	if len(v) == 0 || string(v) == "null" {
		return merchant.DefaultWebhookOverlap, nil
	}
	text, ok := jsonString(v)
	d, err := time.ParseDuration(text)
	if !ok || err != nil {
		return 0, invalid("invalid_overlap", `overlap must be a duration such as "24h", "90m" or "0s"`)
	}
	return d, nil
}

// merchantWebhookDeliveries is GET /api/merchant/v1/webhook-deliveries,
// newest first, at most limit (1 to 100, default 50).
func (a *api) merchantWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	key, ok := a.merchantKey(w, r)
	if !ok {
		return
	}
	limit := defaultDeliveryLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDeliveryLimit {
			a.paymentError(w, r, invalid("invalid_limit", "limit must be from 1 to %d", maxDeliveryLimit))
			return
		}
		limit = n
	}
	ds, err := a.merchant.WebhookDeliveries(r.Context(), key.ApplicationID, key.Environment, limit)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := merchantData[merchantDeliveryOut]{Data: make([]merchantDeliveryOut, len(ds))}
	for i, d := range ds {
		out.Data[i] = deliveryOut(d)
	}
	writeJSON(w, http.StatusOK, out)
}

// resendWebhookDelivery is POST
// /api/merchant/v1/webhook-deliveries/{deliveryId}/resend: the same event
// (same id and body), freshly signed, sent now. It answers 200 with the
// attempt however the endpoint answered; 409 delivery_in_progress while
// the dispatcher is sending it.
func (a *api) resendWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	a.sendNow(w, r, func(ctx context.Context, key pay.APIKey) (string, error) {
		d, err := a.merchant.WebhookDelivery(ctx, key.ApplicationID, key.Environment, r.PathValue("deliveryId"))
		return d.ID, err
	}, a.webhooks.Resend)
}

// sendNow answers a manual send (a test event, a re-send): the key's own
// endpoint or delivery, found by find, sent now by send; 200 with the
// attempt however the endpoint answered.
func (a *api) sendNow(w http.ResponseWriter, r *http.Request,
	find func(context.Context, pay.APIKey) (string, error), send func(context.Context, string) (webhook.Attempt, error)) {
	key, ok := a.merchantKey(w, r)
	if !ok {
		return
	}
	if err := a.webhooksAvailable(); err != nil {
		a.paymentError(w, r, err)
		return
	}
	id, err := find(r.Context(), key)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	att, err := send(r.Context(), id)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookAttemptOut(att))
}

// webhooksAvailable refuses to send when this server was built without a
// dispatcher.
func (a *api) webhooksAvailable() error {
	if a.webhooks == nil {
		return pay.Errorf(pay.Unavailable, "webhooks_unavailable", "this server does not send webhooks")
	}
	return nil
}

// merchantData is a listing that is not paged.
type merchantData[T any] struct {
	Data []T `json:"data"`
}

type merchantWebhookOut struct {
	ID             string `json:"id"`
	URL            string `json:"url"`
	Format         string `json:"format"`
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabledReason"`
	CreatedAt      string `json:"createdAt"`
}

func webhookOut(e pay.WebhookEndpoint) merchantWebhookOut {
	return merchantWebhookOut{ID: e.ID, URL: e.URL, Format: string(e.Format), Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, CreatedAt: rfc3339(e.CreatedAt)}
}

type merchantWebhookAttemptOut struct {
	DeliveryID      string `json:"deliveryId"`
	Delivered       bool   `json:"delivered"`
	StatusCode      int    `json:"statusCode"`
	LatencyMS       int64  `json:"latencyMs"`
	ResponseExcerpt string `json:"responseExcerpt"`
	Error           string `json:"error"`
}

func webhookAttemptOut(a webhook.Attempt) merchantWebhookAttemptOut {
	return merchantWebhookAttemptOut{DeliveryID: a.DeliveryID, Delivered: a.Delivered, StatusCode: a.StatusCode,
		LatencyMS: a.Latency.Milliseconds(), ResponseExcerpt: a.ResponseExcerpt, Error: a.Error}
}

type merchantRotatedOut struct {
	Secret                   string `json:"secret"`
	PreviousSecretValidUntil string `json:"previousSecretValidUntil"`
}

type merchantDeliveryOut struct {
	ID            string  `json:"id"`
	EndpointID    string  `json:"endpointId"`
	EventID       string  `json:"eventId"`
	EventType     string  `json:"eventType"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	LastStatus    int     `json:"lastStatus"`
	LastError     string  `json:"lastError"`
	DeliveredAt   *string `json:"deliveredAt"`   // null until delivered
	NextAttemptAt *string `json:"nextAttemptAt"` // null unless pending
	CreatedAt     string  `json:"createdAt"`
}

func deliveryOut(d store.WebhookDelivery) merchantDeliveryOut {
	out := merchantDeliveryOut{ID: d.ID, EndpointID: d.EndpointID, EventID: d.MessageID, EventType: d.EventType,
		Status: string(d.Status), Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		CreatedAt: rfc3339(d.CreatedAt)}
	if !d.DeliveredAt.IsZero() {
		at := rfc3339(d.DeliveredAt)
		out.DeliveredAt = &at
	}
	if d.Status == store.DeliveryPending {
		at := rfc3339(d.NextAttemptAt)
		out.NextAttemptAt = &at
	}
	return out
}
