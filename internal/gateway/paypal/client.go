package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
)

// apiError is PayPal's error body: name, message, debug_id and details,
// each detail with an issue (PayPal's fine-grained code). The token
// endpoint answers OAuth2's error/error_description instead.
type apiError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	DebugID string `json:"debug_id"`
	Details []struct {
		Field       string `json:"field"`
		Issue       string `json:"issue"`
		Description string `json:"description"`
	} `json:"details"`
	OAuthError string `json:"error"`
}

// issue returns the first detail's issue, or "".
func (e *apiError) issue() string {
	if e == nil || len(e.Details) == 0 {
		return ""
	}
	return e.Details[0].Issue
}

func parseError(body []byte) (*apiError, bool) {
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || (e.Name == "" && e.OAuthError == "") {
		return nil, false
	}
	return &e, true
}

// paypalError is the cause recorded in sakk errors, for logs: PayPal's
// status, name, issue and debug_id (which PayPal's support asks for). It
// never holds credentials or tokens.
type paypalError struct {
	status int
	e      *apiError
}

func (e *paypalError) Error() string {
	if e.e == nil {
		return fmt.Sprintf("paypal: HTTP %d", e.status)
	}
	if e.e.OAuthError != "" {
		return fmt.Sprintf("paypal: HTTP %d %s", e.status, e.e.OAuthError)
	}
	return fmt.Sprintf("paypal: HTTP %d %s %s (debug_id %s): %s", e.status, e.e.Name, e.e.issue(), e.e.DebugID, e.e.Message)
}

// accessToken is a cached OAuth2 access token.
type accessToken struct {
	value   string
	expires time.Time // refresh after this
}

// token returns a valid access token, fetching one when none is cached,
// the cached one is about to expire, or it is stale (the token a call was
// just refused with). Concurrent callers share one fetch.
func (c *Connector) token(ctx context.Context, op, stale string) (string, error) {
	select {
	case c.tokenLock <- struct{}{}:
	case <-ctx.Done():
		return "", gateway.Unavailable(op, ctx.Err())
	}
	defer func() { <-c.tokenLock }()
	c.tokMu.Lock()
	t := c.tok
	c.tokMu.Unlock()
	if t.value != "" && t.value != stale && c.now().Before(t.expires) {
		return t.value, nil
	}
	t, err := c.fetchToken(ctx, op)
	if err != nil {
		return "", err
	}
	c.tokMu.Lock()
	c.tok = t
	c.tokMu.Unlock()
	return t.value, nil
}

// fetchToken asks PayPal for a token (client-credentials grant),
// retrying what got no usable answer.
func (c *Connector) fetchToken(ctx context.Context, op string) (accessToken, error) {
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.wait(ctx, attempt); err != nil {
				return accessToken{}, gateway.Unavailable(op, errors.Join(last, err))
			}
		}
		start := c.now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			return accessToken{}, gateway.Unavailable(op, err)
		}
		req.SetBasicAuth(c.clientID, c.clientSecret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		status, body, retry, err := c.do(req)
		if err == nil && !retry {
			if status != http.StatusOK {
				e, _ := parseError(body)
				cause := &paypalError{status: status, e: e}
				if status == http.StatusUnauthorized || status == http.StatusBadRequest || status == http.StatusForbidden {
					// Nothing was sent that could charge; every call fails
					// the same way until the merchant fixes the credentials.
					return accessToken{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "PayPal refused the merchant's REST app credentials", cause)
				}
				return accessToken{}, gateway.Unavailable(op, cause)
			}
			var tr struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
				ExpiresIn   int64  `json:"expires_in"`
			}
			if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || !gateway.Printable(tr.AccessToken) || !strings.EqualFold(tr.TokenType, "Bearer") || tr.ExpiresIn <= 0 {
				return accessToken{}, gateway.Unavailable(op, errors.New("paypal: unreadable token answer"))
			}
			life := time.Duration(tr.ExpiresIn) * time.Second
			// Refresh a little early, so that a token never expires on
			// its way to PayPal; a short-lived token is kept half its life.
			margin := min(tokenMargin, life/2)
			return accessToken{value: tr.AccessToken, expires: start.Add(life - margin)}, nil
		}
		if err == nil {
			e, _ := parseError(body)
			err = &paypalError{status: status, e: e}
		}
		last = err
		if ctx.Err() != nil || attempt >= c.retries {
			return accessToken{}, gateway.Unavailable(op, last)
		}
	}
}

// call sends one API request with a bearer token, retrying what got no
// usable answer: a transport error, 409, 429 and 5xx. A POST is always
// retried with its PayPal-Request-Id (or is one that changes no money), so
// a retry cannot charge or refund twice. A 401 drops the token and is
// retried with a fresh one. It returns the final status and body; err is
// non-nil only when no usable answer came (Unavailable), or when no token
// could be had.
func (c *Connector) call(ctx context.Context, op, method, path string, payload []byte, requestID string) (int, []byte, error) {
	var last error
	stale := ""
	refreshed := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.wait(ctx, attempt); err != nil {
				return 0, nil, gateway.Unavailable(op, errors.Join(last, err))
			}
		}
		tok, err := c.token(ctx, op, stale)
		if err != nil {
			return 0, nil, err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return 0, nil, gateway.Unavailable(op, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if requestID != "" {
			req.Header.Set("PayPal-Request-Id", requestID)
		}
		if requestID != "" {
			// Orders, captures and refunds: the whole object back, not
			// just id, status and links.
			req.Header.Set("Prefer", "return=representation")
		}
		status, body, retry, err := c.do(req)
		if err == nil && status == http.StatusUnauthorized && !refreshed {
			// The token expired or was revoked early: once more with a
			// fresh one, at once.
			refreshed, stale = true, tok
			attempt--
			continue
		}
		if err == nil && !retry {
			return status, body, nil
		}
		if err == nil {
			e, _ := parseError(body)
			err = &paypalError{status: status, e: e}
		}
		last = err
		if ctx.Err() != nil || attempt >= c.retries {
			return 0, nil, gateway.Unavailable(op, last)
		}
	}
}

// do makes one attempt. retry reports a status worth retrying.
func (c *Connector) do(req *http.Request) (status int, body []byte, retry bool, err error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, true, err
	}
	defer resp.Body.Close()
	body, err = gateway.ReadAnswer("paypal", resp, maxResponseBytes)
	if err != nil {
		return 0, nil, true, err
	}
	status = resp.StatusCode
	retry = status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500
	return status, body, retry, nil
}

// wait sleeps before retry number attempt (1, 2, …): the backoff doubled
// each time, at most gateway.MaxBackoff, with jitter.
func (c *Connector) wait(ctx context.Context, attempt int) error {
	return gateway.Backoff(ctx, c.backoff, gateway.MaxBackoff, attempt)
}

// failure turns a final non-2xx answer into an error by the contract:
// PayPal's refusals (4xx with its error body) are Invalid, nothing was
// done; RESOURCE_NOT_FOUND is NotFound; anything else leaves the outcome
// unknown.
func failure(op string, status int, body []byte) error {
	e, ok := parseError(body)
	cause := &paypalError{status: status, e: e}
	if !ok {
		return gateway.Unavailable(op, cause)
	}
	switch issue := e.issue(); {
	case status == http.StatusNotFound || e.Name == "RESOURCE_NOT_FOUND":
		return gateway.NotFound(op, "PayPal has no such order")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "PayPal refused the merchant's credentials for this call", cause)
	case issue == "CURRENCY_NOT_SUPPORTED" || issue == "CURRENCY_NOT_SUPPORTED_FOR_COUNTRY" || issue == "CURRENCY_NOT_SUPPORTED_FOR_CARD_TYPE":
		return gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "PayPal does not take this currency for this merchant", cause)
	case issue == "DECIMAL_PRECISION" || issue == "DECIMALS_NOT_SUPPORTED":
		return gateway.Invalid(op, gateway.CodeAmountNotRepresentable, "PayPal cannot carry this amount exactly", cause)
	case issue == "DUPLICATE_REQUEST_ID" || issue == "PAYPAL_REQUEST_ID_PREVIOUSLY_USED":
		return gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key was used with a different request", cause)
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "PayPal refused the request", cause)
	}
	return gateway.Unavailable(op, cause)
}

// refundFailure is failure for refunds, which PayPal refuses beyond what
// is left of the capture.
func refundFailure(op string, status int, body []byte) error {
	if e, ok := parseError(body); ok && status == http.StatusUnprocessableEntity {
		cause := &paypalError{status: status, e: e}
		switch e.issue() {
		case "REFUND_AMOUNT_EXCEEDED", "CAPTURE_FULLY_REFUNDED":
			return gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "the refund is more than is left to refund", cause)
		case "REFUND_CAPTURE_CURRENCY_MISMATCH", "CURRENCY_MISMATCH":
			return gateway.Invalid(op, gateway.CodeInvalidRequest, "the refund's currency is not the capture's", cause)
		}
	}
	return failure(op, status, body)
}
