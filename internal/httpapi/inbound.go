package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/textrule"
)

// maxWebhookBody bounds an inbound notification; gateways send a few kB.
const maxWebhookBody = 256 << 10

// inboundWebhook is POST /api/v1/webhooks/{gateway}[/{applicationId}]: a
// gateway's notification about a charge. The raw body is verified by the
// connector of each account that may have sent it (only the named
// application's, when the URL names one) before anything in it is read;
// a notification no account verifies is refused with 401 and changes
// nothing. A verified one is applied along the transition tables, so a
// replayed, late or out-of-order notification changes nothing final; one
// about a charge sakk does not know, or of a kind it does not act on, is
// answered 200 so that the gateway stops sending it. Bodies and
// signatures are never logged.
func (a *api) inboundWebhook(w http.ResponseWriter, r *http.Request) {
	name, appID := r.PathValue("gateway"), r.PathValue("applicationId")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			a.paymentError(w, r, &pay.Error{Kind: pay.Invalid, Code: "request_too_large", Message: "the notification is too large"})
			return
		}
		a.paymentError(w, r, invalid("invalid_request", "cannot read the request body"))
		return
	}
	if a.accounts == nil {
		a.paymentError(w, r, pay.Errorf(pay.NotFound, "not_found", "no gateway accounts are configured"))
		return
	}
	accounts, err := a.accounts.Accounts(r.Context(), name, appID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	for _, acct := range accounts {
		n, err := acct.Connector.ParseWebhook(r.Context(), gateway.Webhook{Header: r.Header, Body: body})
		if err == nil {
			// Verified is not clean: what a gateway names meets the text
			// rule before the store is asked about it.
			err = notificationText(n)
		}
		switch pay.KindOf(err) {
		case pay.Unauthenticated:
			continue // not this account's signature
		case pay.Invalid:
			a.log.InfoContext(r.Context(), "inbound webhook ignored", "gateway", name, "application_id", acct.ApplicationID, "reason", pay.MessageOf(err))
			writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "ignored"})
			return
		}
		if err != nil {
			a.paymentError(w, r, err) // the connector could not re-read the charge: the gateway retries
			return
		}
		at, err := a.checkout.Notify(r.Context(), acct.ApplicationID, acct.Environment, name, n)
		if pay.KindOf(err) == pay.NotFound {
			a.log.InfoContext(r.Context(), "inbound webhook about an unknown charge", "gateway", name, "application_id", acct.ApplicationID, "event_id", n.EventID)
			writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "unknown charge"})
			return
		}
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		a.log.InfoContext(r.Context(), "inbound webhook applied", "gateway", name, "event_id", n.EventID,
			"payment_id", at.Payment.ID, "status", at.Payment.Status)
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "applied"})
		return
	}
	a.log.WarnContext(r.Context(), "inbound webhook refused: no account verifies its signature", "gateway", name, "application_id", appID)
	a.paymentError(w, r, pay.Errorf(pay.Unauthenticated, "invalid_signature", "the notification's signature does not verify"))
}

// notificationText refuses, as Invalid (ignored), a notification whose
// charge reference or event id breaks the text rule.
func notificationText(n gateway.Notification) error {
	for _, f := range []struct{ name, v string }{{"reference", n.Reference}, {"eventId", n.EventID}} {
		if p := textrule.Check(f.name, f.v, textrule.Rule{}); p != nil {
			return textError(p)
		}
	}
	return nil
}
