package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/token"
)

// Payments of the Public Payment API: process and confirm, by a payment
// verification token or a backend SDK token.

// payer authenticates process and confirm: a payment verification token,
// or a backend SDK token (which may pay only sessions whose customer it
// locked).
func (a *api) payer(r *http.Request) (checkout.Payer, error) {
	tok := bearer(r)
	if tok == "" {
		return checkout.Payer{}, unauthenticated("invalid_token", "a payment verification token is required: Authorization: Bearer <verificationToken>")
	}
	c, err := a.tokens.Verify(r.Context(), tok, token.TypeVerification)
	if err == nil {
		return checkout.Payer{
			ApplicationID: c.ApplicationID, Environment: c.Environment, SessionID: c.SessionID,
			Identifier: c.Identifier, Channel: c.Channel,
		}, nil
	}
	if pay.KindOf(err) != pay.Unauthenticated {
		return checkout.Payer{}, err
	}
	if c, err := a.tokens.Verify(r.Context(), tok, token.TypeSDK); err == nil && c.IntegrationType == "backend" {
		return checkout.Payer{ApplicationID: c.ApplicationID, Environment: c.Environment, Backend: true}, nil
	}
	return checkout.Payer{}, unauthenticated("invalid_token", "the payment verification token is invalid or has expired")
}

type processIn struct {
	SessionToken  string `json:"sessionToken"`
	Method        string `json:"method"`
	Gateway       string `json:"gateway"`
	MethodPayload struct {
		TempPaymentToken string          `json:"tempPaymentToken"`
		ClientIP         string          `json:"clientIp"`
		UserAgent        string          `json:"userAgent"`
		PaymentMethodID  json.RawMessage `json:"paymentMethodId"`
		Type             string          `json:"type"`
	} `json:"methodPayload"`
	CustomerEmail string `json:"customerEmail"`
	CustomerPhone string `json:"customerPhone"`
}

// process is POST /api/v1/payments/process.
func (a *api) process(w http.ResponseWriter, r *http.Request) {
	who, err := a.payer(r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	if !a.limit(w, r, "pp:process:"+clientIP(r)+":"+who.ApplicationID+":"+who.Identifier, flowLimit, flowWindow) {
		return
	}
	var in processIn
	if _, err := readJSON(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	sid, err := a.sessionRef(r.Context(), in.SessionToken, who.ApplicationID, who.Environment)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	ip := in.MethodPayload.ClientIP
	if ip == "" {
		ip = clientIP(r)
	}
	ua := in.MethodPayload.UserAgent
	if ua == "" {
		ua = r.UserAgent()
	}
	// The gateway's token of the shopper's payment details: the card
	// tokenizer's, or the gateway's own payment method id (MyFatoorah).
	paymentToken := in.MethodPayload.TempPaymentToken
	if id, ok := jsonDecimal(in.MethodPayload.PaymentMethodID); paymentToken == "" && ok {
		paymentToken = id
	}
	at, err := a.checkout.Process(r.Context(), who, checkout.ProcessRequest{
		SessionID: sid, Method: in.Method, Gateway: in.Gateway, PaymentToken: paymentToken,
		ClientIP: ip, UserAgent: ua, CustomerEmail: in.CustomerEmail, CustomerPhone: in.CustomerPhone,
	})
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, attemptOut(at))
}

// confirm is POST /api/v1/payments/confirm (deprecated): it asks the
// gateway where a payment waiting for it stands, and reports.
func (a *api) confirm(w http.ResponseWriter, r *http.Request) {
	who, err := a.payer(r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	var in struct {
		SessionToken string `json:"sessionToken"`
	}
	if _, err := readJSON(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	sid, err := a.sessionRef(r.Context(), in.SessionToken, who.ApplicationID, who.Environment)
	if err == nil && who.SessionID != "" && who.SessionID != sid {
		err = pay.Errorf(pay.Forbidden, "verification_mismatch", "this verification was made for another session")
	}
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	at, err := a.checkout.Confirm(r.Context(), who.ApplicationID, who.Environment, sid)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	w.Header().Set("Deprecation", "true")
	writeJSON(w, http.StatusOK, attemptOut(at))
}

// attemptOut is the body of process and confirm.
func attemptOut(at checkout.Attempt) map[string]any {
	out := map[string]any{
		"status":    at.Session.Status,
		"sessionId": at.Session.ID,
	}
	p := at.Payment
	if p == nil {
		out["message"] = "no payment yet"
		return out
	}
	out["status"], out["paymentId"], out["gateway"] = p.Status, p.ID, p.Gateway
	switch p.Status {
	case pay.PaymentCompleted:
		out["message"] = "payment completed"
	case pay.PaymentRequiresAction:
		out["message"], out["redirectUrl"] = "the customer must complete the payment at redirectUrl", p.RedirectURL
	case pay.PaymentPending:
		out["message"] = "the payment is being processed"
	case pay.PaymentFailed:
		out["message"] = "the payment failed"
		out["error"] = map[string]any{"code": p.ErrorCode, "message": p.ErrorMessage, "retryable": p.Retryable, "details": map[string]any{}}
	default:
		out["message"] = "the payment is " + string(p.Status)
	}
	return out
}
