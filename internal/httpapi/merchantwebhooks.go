package httpapi

import (
	"bytes"
	"cmp"
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
	if key, ok := a.merchantKey(w, r); ok {
		a.sendTest(w, r, key.ApplicationID, key.Environment)
	}
}

// sendTest sends a test event to an endpoint of the application
// environment, found by the path's endpointId (or id), and answers.
func (a *api) sendTest(w http.ResponseWriter, r *http.Request, appID string, env pay.Environment) (endpointID string, ok bool) {
	return a.sendNow(w, r, func(ctx context.Context) (string, error) {
		e, err := a.merchant.WebhookEndpoint(ctx, appID, env, endpointPathID(r))
		return e.ID, err
	}, a.webhooks.Test)
}

// endpointPathID is the endpoint id of a key-scoped ({endpointId}) or a
// management ({id}) route.
func endpointPathID(r *http.Request) string {
	return cmp.Or(r.PathValue("endpointId"), r.PathValue("id"))
}

// rotateWebhookSecret is POST
// /api/merchant/v1/webhooks/{endpointId}/rotate-secret with an optional
// {"overlap": "24h"} (a Go duration, "0s" to end the old secret at once).
func (a *api) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	if key, ok := a.merchantKey(w, r); ok {
		a.rotateEndpointSecret(w, r, key.ApplicationID, key.Environment)
	}
}

// rotateEndpointSecret rotates the secret of an endpoint of the
// application environment and answers with the new one.
func (a *api) rotateEndpointSecret(w http.ResponseWriter, r *http.Request, appID string, env pay.Environment) (pay.WebhookEndpoint, bool) {
	overlap, err := readOverlap(w, r)
	if err != nil {
		a.paymentError(w, r, err)
		return pay.WebhookEndpoint{}, false
	}
	e, err := a.merchant.WebhookEndpoint(r.Context(), appID, env, endpointPathID(r))
	if err != nil {
		a.paymentError(w, r, err)
		return e, false
	}
	secret, until, err := a.merchant.RotateWebhookSecret(r.Context(), e.ID, overlap)
	if err != nil {
		a.paymentError(w, r, err)
		return e, false
	}
	// The secret is in this answer only: it must not sit in a cache.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, merchantRotatedOut{Secret: secret, PreviousSecretValidUntil: rfc3339(until)})
	return e, true
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
	ds, ok := a.webhookDeliveries(w, r, key.ApplicationID, key.Environment)
	if !ok {
		return
	}
	out := merchantData[merchantDeliveryOut]{Data: make([]merchantDeliveryOut, len(ds))}
	for i, d := range ds {
		out.Data[i] = deliveryOut(d)
	}
	writeJSON(w, http.StatusOK, out)
}

// webhookDeliveries reads the ?limit= of a deliveries listing and the
// application environment's most recent deliveries; it answers the
// request itself when it fails.
func (a *api) webhookDeliveries(w http.ResponseWriter, r *http.Request, appID string, env pay.Environment) ([]store.WebhookDelivery, bool) {
	limit := defaultDeliveryLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDeliveryLimit {
			a.paymentError(w, r, invalid("invalid_limit", "limit must be from 1 to %d", maxDeliveryLimit))
			return nil, false
		}
		limit = n
	}
	ds, err := a.merchant.WebhookDeliveries(r.Context(), appID, env, limit)
	if err != nil {
		a.paymentError(w, r, err)
		return nil, false
	}
	return ds, true
}

// resendWebhookDelivery is POST
// /api/merchant/v1/webhook-deliveries/{deliveryId}/resend: the same event
// (same id and body), freshly signed, sent now. It answers 200 with the
// attempt however the endpoint answered; 409 delivery_in_progress while
// the dispatcher is sending it.
func (a *api) resendWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	if key, ok := a.merchantKey(w, r); ok {
		a.resendDelivery(w, r, key.ApplicationID, key.Environment)
	}
}

// resendDelivery re-sends a delivery of the application environment,
// found by the path's deliveryId, and answers.
func (a *api) resendDelivery(w http.ResponseWriter, r *http.Request, appID string, env pay.Environment) (deliveryID string, ok bool) {
	return a.sendNow(w, r, func(ctx context.Context) (string, error) {
		d, err := a.merchant.WebhookDelivery(ctx, appID, env, r.PathValue("deliveryId"))
		return d.ID, err
	}, a.webhooks.Resend)
}

// sendNow answers a manual send (a test event, a re-send): the endpoint
// or delivery found by find, sent now by send; 200 with the attempt
// however the endpoint answered. It returns what find found, once sent.
func (a *api) sendNow(w http.ResponseWriter, r *http.Request,
	find func(context.Context) (string, error), send func(context.Context, string) (webhook.Attempt, error)) (string, bool) {
	if err := a.webhooksAvailable(); err != nil {
		a.paymentError(w, r, err)
		return "", false
	}
	id, err := find(r.Context())
	if err != nil {
		a.paymentError(w, r, err)
		return "", false
	}
	att, err := send(r.Context(), id)
	if err != nil {
		a.paymentError(w, r, err)
		return "", false
	}
	writeJSON(w, http.StatusOK, webhookAttemptOut(att))
	return id, true
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
