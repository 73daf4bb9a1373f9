package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/otp"
)

// Verification of the shopper by one-time code (Public Payment API).

// channelOf reads the API's verification method.
func channelOf(method string) (otp.Channel, error) {
	switch method {
	case "email_otp":
		return otp.Email, nil
	case "mobile_otp":
		return otp.Phone, nil
	}
	return "", invalid("invalid_method", "method must be email_otp or mobile_otp")
}

func methodOf(ch otp.Channel) string {
	if ch == otp.Phone {
		return "mobile_otp"
	}
	return "email_otp"
}

type verificationIn struct {
	Method       string          `json:"method"`
	Identifier   string          `json:"identifier"`
	Code         string          `json:"code"`
	Metadata     json.RawMessage `json:"metadata"`
	SessionToken string          `json:"sessionToken"`
	Locale       string          `json:"locale"`
}

// verification reads and checks what both OTP routes share: the SDK
// token and its permission, the body, and the per (IP, application,
// identifier) rate limit.
func (a *api) verification(w http.ResponseWriter, r *http.Request, perm, op string) (checkout.CodeRequest, verificationIn, bool) {
	var in verificationIn
	c, err := a.sdkToken(r)
	if err == nil {
		err = permitted(c, perm)
	}
	if err == nil {
		_, err = readJSON(w, r, &in)
	}
	var ch otp.Channel
	if err == nil {
		ch, err = channelOf(in.Method)
	}
	if err == nil && strings.TrimSpace(in.Identifier) == "" {
		err = invalid(otp.CodeInvalidIdentifier, "identifier is required")
	}
	var sid string
	if err == nil && in.SessionToken != "" {
		sid, err = a.sessionRef(r.Context(), in.SessionToken, c.ApplicationID, c.Environment)
	}
	if err != nil {
		a.paymentError(w, r, err)
		return checkout.CodeRequest{}, in, false
	}
	id := strings.ToLower(strings.TrimSpace(in.Identifier))
	if !a.limit(w, r, "pp:"+op+":"+clientIP(r)+":"+c.ApplicationID+":"+id, flowLimit, flowWindow) {
		return checkout.CodeRequest{}, in, false
	}
	return checkout.CodeRequest{
		ApplicationID: c.ApplicationID, Environment: c.Environment, SessionID: sid,
		Channel: ch, Identifier: in.Identifier, Locale: in.Locale,
	}, in, true
}

// requestCode is POST /api/v1/checkout/verification/request.
func (a *api) requestCode(w http.ResponseWriter, r *http.Request) {
	req, _, ok := a.verification(w, r, permSendOTP, "otp-request")
	if !ok {
		return
	}
	id, ttl, err := a.checkout.SendCode(r.Context(), req)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "message": "verification code sent", "expiresIn": int(ttl / time.Second), "verificationId": id,
	})
}

// verifyCode is POST /api/v1/checkout/verification/verify.
func (a *api) verifyCode(w http.ResponseWriter, r *http.Request) {
	req, in, ok := a.verification(w, r, permVerifyOTP, "otp-verify")
	if !ok {
		return
	}
	if in.Code == "" {
		a.paymentError(w, r, invalid(otp.CodeInvalidCode, "code is required"))
		return
	}
	v, err := a.checkout.VerifyCode(r.Context(), req, in.Code)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "message": "verified", "verificationToken": v.Token,
		"identifier": v.Identifier, "method": methodOf(req.Channel), "expiresIn": "5m",
	})
}

// verificationMethods is GET /api/v1/checkout/verification/methods.
func (a *api) verificationMethods(w http.ResponseWriter, r *http.Request) {
	c, err := a.sdkToken(r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	methods := []string{}
	for _, ch := range a.checkout.VerificationMethods(c.Environment) {
		methods = append(methods, methodOf(ch))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "methods": methods})
}
