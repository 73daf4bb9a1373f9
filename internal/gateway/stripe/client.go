package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sakkhq/sakk/internal/gateway"
)

// apiError is Stripe's error object: the "error" member of a 4xx or 5xx
// body, and a PaymentIntent's last_payment_error.
type apiError struct {
	Type          string         `json:"type"` // api_error, card_error, idempotency_error, invalid_request_error
	Code          string         `json:"code"`
	DeclineCode   string         `json:"decline_code"`
	Message       string         `json:"message"`
	Param         string         `json:"param"`
	PaymentIntent *paymentIntent `json:"payment_intent"`
}

// parseError reads an error body {"error": {...}}.
func parseError(body []byte) (*apiError, bool) {
	var b struct {
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Error == nil {
		return nil, false
	}
	return b.Error, true
}

// stripeError is the cause recorded in sakk errors, for logs: Stripe's
// status, type, code and message (which never contain the secret key).
type stripeError struct {
	status int
	e      *apiError
}

func (e *stripeError) Error() string {
	if e.e == nil {
		return fmt.Sprintf("stripe: HTTP %d", e.status)
	}
	return fmt.Sprintf("stripe: HTTP %d %s %s (param %q): %s", e.status, e.e.Type, e.e.Code, e.e.Param, e.e.Message)
}

// call sends one API request, retrying what got no usable answer: a
// transport error, 409 (another request with the same key in flight), 429
// and 5xx, unless Stripe says Stripe-Should-Retry: false. A POST is only
// ever retried with its Idempotency-Key, so a retry cannot charge twice.
// It returns the final status and body; err is non-nil (Unavailable) only
// when no usable answer came, which includes a retryable status on the
// last attempt.
func (c *Connector) call(ctx context.Context, op, method, path string, form url.Values, idemKey string) (int, []byte, error) {
	var payload string
	if form != nil {
		payload = form.Encode()
	}
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.wait(ctx, attempt); err != nil {
				return 0, nil, gateway.Unavailable(op, errors.Join(last, err))
			}
		}
		status, body, retry, err := c.send(ctx, method, path, payload, idemKey)
		if err == nil && !retry {
			return status, body, nil
		}
		if err == nil {
			e, _ := parseError(body)
			err = &stripeError{status: status, e: e}
		}
		last = err
		if ctx.Err() != nil || attempt >= c.retries {
			return 0, nil, gateway.Unavailable(op, last)
		}
	}
}

// send makes one attempt. retry reports a status worth retrying.
func (c *Connector) send(ctx context.Context, method, path, payload, idemKey string) (status int, body []byte, retry bool, err error) {
	var rd io.Reader
	if method == http.MethodPost {
		rd = strings.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secretKey)
	req.Header.Set("Stripe-Version", apiVersion)
	req.Header.Set("Accept", "application/json")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, true, err
	}
	defer resp.Body.Close()
	body, err = gateway.ReadAnswer("stripe", resp, maxResponseBytes)
	if err != nil {
		return 0, nil, true, err
	}
	status = resp.StatusCode
	switch resp.Header.Get("Stripe-Should-Retry") {
	case "true":
		retry = true
	case "false":
		retry = false
	default:
		retry = status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500
	}
	return status, body, retry, nil
}

// wait sleeps before retry number attempt (1, 2, …): the backoff doubled
// each time, at most gateway.MaxBackoff, with jitter so that retries that collided
// once do not collide again.
func (c *Connector) wait(ctx context.Context, attempt int) error {
	return gateway.Backoff(ctx, c.backoff, gateway.MaxBackoff, attempt)
}

// failure turns a final non-2xx answer into an error by the contract:
// Stripe's refusals (4xx) are Invalid, nothing was done; an unknown
// object is NotFound; what is left (a 5xx Stripe said not to retry, an
// unexpected status) leaves the outcome unknown.
func (c *Connector) failure(op string, status int, body []byte) error {
	e, ok := parseError(body)
	cause := &stripeError{status: status, e: e}
	if !ok {
		return gateway.Unavailable(op, cause)
	}
	switch {
	case e.Code == "resource_missing" && (status == http.StatusNotFound || e.Param == "intent" || e.Param == "payment_intent" || e.Param == "id"):
		return gateway.NotFound(op, "Stripe has no such payment")
	case status == http.StatusNotFound:
		return gateway.NotFound(op, "Stripe has no such payment")
	case e.Type == "idempotency_error":
		return gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key was used with a different request", cause)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// Nothing was charged; every request will fail the same way
		// until the merchant fixes the key.
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "the payment gateway refused the merchant's Stripe credentials", cause)
	case e.Code == "resource_missing" && e.Param == "payment_method":
		return gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "the card token is unknown to Stripe", cause)
	case e.Code == "invalid_charge_amount_no_decimal_compatible":
		return gateway.Invalid(op, gateway.CodeAmountNotRepresentable, "Stripe cannot carry this amount exactly", cause)
	case status == http.StatusBadRequest || status == http.StatusPaymentRequired:
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "Stripe refused the request", cause)
	}
	return gateway.Unavailable(op, cause)
}

// refundFailure is failure for refunds, which Stripe refuses beyond what
// is left to refund.
func (c *Connector) refundFailure(op string, status int, body []byte) error {
	if status == http.StatusBadRequest {
		if e, ok := parseError(body); ok && e.Type != "idempotency_error" {
			cause := &stripeError{status: status, e: e}
			switch {
			case e.Code == "charge_already_refunded":
				return gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "the charge is already fully refunded", cause)
			case e.Param == "amount" && e.Code != "amount_too_small":
				// "Refund amount (…) is greater than unrefunded amount
				// on charge (…)".
				return gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "the refund is more than is left to refund", cause)
			}
		}
	}
	return c.failure(op, status, body)
}
