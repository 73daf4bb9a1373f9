package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
)

// Webhook endpoints and deliveries in the management API, app-scoped under
// /apps/{appId}. Members and the application's own secret key (appOrKey)
// reach them; the test, rotation, listing and re-send share the
// key-scoped routes' code (merchantwebhooks.go). An endpoint of another
// application or environment is 404. Secrets appear once, in the answer
// that creates them, and never in the audit log.

// manageWebhookOut is an endpoint as the management API shows it.
type manageWebhookOut struct {
	merchantWebhookOut
	Environment string   `json:"environment"`
	Events      []string `json:"events"` // empty: every event
	// Secret is set in POST's answer only: shown this once.
	Secret string `json:"secret,omitempty"`
}

func manageWebhook(e pay.WebhookEndpoint) manageWebhookOut {
	return manageWebhookOut{merchantWebhookOut: webhookOut(e), Environment: string(e.Environment), Events: nonNilStrings(e.Events)}
}

// listWebhookEndpoints is GET /apps/{appId}/webhook-endpoints?environment.
func (a *api) listWebhookEndpoints(w http.ResponseWriter, r *http.Request, c *caller) {
	ws, err := a.merchant.WebhookEndpoints(r.Context(), c.app.ID, c.env)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]manageWebhookOut, len(ws))
	for i, e := range ws {
		out[i] = manageWebhook(e)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

// webhookIn is the body of POST and PATCH /apps/{appId}/webhook-endpoints.
type webhookIn struct {
	URL     *string   `json:"url"`
	Format  *string   `json:"format"`
	Events  *[]string `json:"events"`
	Enabled *bool     `json:"enabled"`
}

func (in webhookIn) patch() merchant.WebhookPatch {
	p := merchant.WebhookPatch{URL: in.URL, Events: in.Events, Enabled: in.Enabled}
	if in.Format != nil {
		f := pay.WebhookFormat(*in.Format)
		p.Format = &f
	}
	return p
}

// createWebhookEndpoint is POST /apps/{appId}/webhook-endpoints {"url",
// "format","events"?,"enabled"?}: 201 with the endpoint and its signing
// secret, shown this once.
func (a *api) createWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *caller) {
	var in webhookIn
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	req := merchant.NewWebhook{ApplicationID: c.app.ID, Environment: c.env}
	if in.URL != nil {
		req.URL = *in.URL
	}
	if in.Format != nil {
		req.Format = pay.WebhookFormat(*in.Format)
	}
	if in.Events != nil {
		req.Events = *in.Events
	}
	e, secret, err := a.merchant.AddWebhook(r.Context(), req)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	if in.Enabled != nil && !*in.Enabled {
		// Created disabled: the merchant deploys the secret first.
		if _, e, err = a.merchant.UpdateWebhook(r.Context(), c.app.ID, c.env, e.ID, merchant.WebhookPatch{Enabled: in.Enabled}); err != nil {
			a.paymentError(w, r, err)
			return
		}
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "webhook_endpoints.create",
		TargetType: "webhook_endpoint", TargetID: e.ID, Changes: account.Changes{
			"url": {nil, e.URL}, "format": {nil, string(e.Format)}, "events": {nil, nonNilStrings(e.Events)},
			"enabled": {nil, e.Enabled}, "secret": {nil, "[set]"}}})
	out := manageWebhook(e)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
}

// updateWebhookEndpoint is PATCH /apps/{appId}/webhook-endpoints/{id}
// {"url"?,"format"?,"events"?,"enabled"?}.
func (a *api) updateWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *caller) {
	var in webhookIn
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	before, after, err := a.merchant.UpdateWebhook(r.Context(), c.app.ID, c.env, r.PathValue("id"), in.patch())
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	ch := account.Changes{}
	if before.URL != after.URL {
		ch["url"] = [2]any{before.URL, after.URL}
	}
	if before.Format != after.Format {
		ch["format"] = [2]any{string(before.Format), string(after.Format)}
	}
	if !slices.Equal(before.Events, after.Events) {
		ch["events"] = [2]any{nonNilStrings(before.Events), nonNilStrings(after.Events)}
	}
	if before.Enabled != after.Enabled {
		ch["enabled"] = [2]any{before.Enabled, after.Enabled}
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "webhook_endpoints.update",
		TargetType: "webhook_endpoint", TargetID: after.ID, Changes: ch})
	writeJSON(w, http.StatusOK, manageWebhook(after))
}

// deleteWebhookEndpoint is DELETE /apps/{appId}/webhook-endpoints/{id}.
func (a *api) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *caller) {
	e, err := a.merchant.DeleteWebhook(r.Context(), c.app.ID, c.env, r.PathValue("id"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "webhook_endpoints.delete",
		TargetType: "webhook_endpoint", TargetID: e.ID, Changes: account.Changes{"url": {e.URL, nil}}})
	noContent(w)
}

// testWebhookEndpoint is POST /apps/{appId}/webhook-endpoints/{id}/test.
func (a *api) testWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *caller) {
	if id, ok := a.sendTest(w, r, c.app.ID, c.env); ok {
		a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "webhook_endpoints.test",
			TargetType: "webhook_endpoint", TargetID: id})
	}
}

// rotateWebhookEndpointSecret is POST
// /apps/{appId}/webhook-endpoints/{id}/rotate-secret {"overlap"?}.
func (a *api) rotateWebhookEndpointSecret(w http.ResponseWriter, r *http.Request, c *caller) {
	if e, ok := a.rotateEndpointSecret(w, r, c.app.ID, c.env); ok {
		a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "webhook_endpoints.rotate_secret",
			TargetType: "webhook_endpoint", TargetID: e.ID, Changes: account.Changes{"secret": {"[hidden]", "[rotated]"}}})
	}
}

// excerptLen is how much of a delivery's request body a listing shows,
// as much as is kept of a response.
const excerptLen = 1024

// manageDeliveryOut is a delivery with what was sent and, from its last
// attempt, what came back.
type manageDeliveryOut struct {
	merchantDeliveryOut
	RequestExcerpt  string `json:"requestExcerpt"`
	ResponseExcerpt string `json:"responseExcerpt"`
}

// listWebhookDeliveries is GET /apps/{appId}/webhook-deliveries?limit.
func (a *api) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, c *caller) {
	ds, ok := a.webhookDeliveries(w, r, c.app.ID, c.env)
	if !ok {
		return
	}
	out := make([]manageDeliveryOut, len(ds))
	for i, d := range ds {
		out[i] = manageDeliveryOut{merchantDeliveryOut: deliveryOut(d), RequestExcerpt: excerpt(d.Body)}
		as, err := a.merchant.WebhookAttempts(r.Context(), d.ID)
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		if len(as) > 0 {
			out[i].ResponseExcerpt = as[len(as)-1].ResponseExcerpt
		}
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

// excerpt is the start of a body, cut at a character boundary.
func excerpt(b []byte) string {
	s := string(b)
	if len(s) <= excerptLen {
		return s
	}
	return strings.ToValidUTF8(s[:excerptLen], "")
}

// resendAppWebhookDelivery is POST
// /apps/{appId}/webhook-deliveries/{deliveryId}/resend.
func (a *api) resendAppWebhookDelivery(w http.ResponseWriter, r *http.Request, c *caller) {
	if id, ok := a.resendDelivery(w, r, c.app.ID, c.env); ok {
		a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "webhook_deliveries.resend",
			TargetType: "webhook_delivery", TargetID: id})
	}
}
