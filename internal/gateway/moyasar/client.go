package moyasar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/sakkhq/sakk/internal/gateway"
)

// apiError is Moyasar's error body: a type (invalid_request_error,
// authentication_error, rate_limit_error, api_connection_error,
// account_inactive_error, 3ds_auth_error, …), a short message, and for
// validation failures the fields at fault ({"amount": ["must be an
// integer"]}).
type apiError struct {
	Type    string              `json:"type"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
}

// parseError reads an error body; ok is false when it is not one.
func parseError(body []byte) (*apiError, bool) {
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || (e.Type == "" && e.Message == "") {
		return nil, false
	}
	return &e, true
}

// moyasarError is the cause recorded in sakk errors, for logs: Moyasar's
// status, type, message and the names of the fields at fault (never their
// values, which could echo request data, and never the secret key).
type moyasarError struct {
	status int
	e      *apiError
}

func (e *moyasarError) Error() string {
	if e.e == nil {
		return fmt.Sprintf("moyasar: HTTP %d", e.status)
	}
	fields := make([]string, 0, len(e.e.Errors))
	for k := range e.e.Errors {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	return fmt.Sprintf("moyasar: HTTP %d %s: %s (fields %q)", e.status, e.e.Type, e.e.Message, fields)
}

// call sends one API request with a JSON body (nil for none), retrying
// what got no usable answer when retry is true: a transport error, an
// unreadable body, 429 and 5xx. Only requests that are safe to repeat are
// retried: reads, payment creation (its given_id names the payment) and
// metadata updates. It returns the final status and body; err is non-nil
// (Unavailable) only when no usable answer came, which includes a
// retryable status on the last attempt.
func (c *Connector) call(ctx context.Context, op, method, path string, body any, retry bool) (int, []byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, gateway.Invalid(op, gateway.CodeInvalidRequest, "the request could not be encoded", err)
		}
	}
	retries := c.retries
	if !retry {
		retries = 0
	}
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.wait(ctx, attempt); err != nil {
				return 0, nil, gateway.Unavailable(op, errors.Join(last, err))
			}
		}
		status, out, again, err := c.send(ctx, method, path, payload)
		if err == nil && !again {
			return status, out, nil
		}
		if err == nil {
			e, _ := parseError(out)
			err = &moyasarError{status: status, e: e}
		}
		last = err
		if ctx.Err() != nil || attempt >= retries {
			return 0, nil, gateway.Unavailable(op, last)
		}
	}
}

// send makes one attempt. again reports a status worth retrying.
func (c *Connector) send(ctx context.Context, method, path string, payload []byte) (status int, body []byte, again bool, err error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, false, err
	}
	// Basic auth: the secret key is the user name, the password is empty.
	req.SetBasicAuth(c.secretKey, "")
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, true, err
	}
	defer resp.Body.Close()
	body, err = gateway.ReadAnswer("moyasar", resp, maxResponseBytes)
	if err != nil {
		return 0, nil, true, err
	}
	status = resp.StatusCode
	return status, body, status == http.StatusTooManyRequests || status >= 500, nil
}

// wait sleeps before retry number attempt (1, 2, …): the backoff doubled
// each time, at most gateway.MaxBackoff, with jitter so that retries that collided
// once do not collide again.
func (c *Connector) wait(ctx context.Context, attempt int) error {
	return gateway.Backoff(ctx, c.backoff, gateway.MaxBackoff, attempt)
}

// failure turns a final non-2xx answer into an error by the contract:
// Moyasar's refusals (400, 401, 403, 405) are Invalid, nothing was done;
// 404 is NotFound; anything else (a status Moyasar does not document, an
// error body that does not parse) leaves the outcome unknown.
func (c *Connector) failure(op string, status int, body []byte) error {
	e, ok := parseError(body)
	cause := &moyasarError{status: status, e: e}
	switch {
	case status == http.StatusNotFound:
		return gateway.NotFound(op, "Moyasar has no such payment")
	case !ok:
		return gateway.Unavailable(op, cause)
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusMethodNotAllowed:
		// Nothing was charged; every request fails the same way until the
		// merchant fixes the key or Moyasar activates the account.
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "the payment gateway refused the merchant's Moyasar credentials or account", cause)
	case status == http.StatusBadRequest:
		switch {
		case e.Errors["currency"] != nil:
			return gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "Moyasar does not take this currency for this account", cause)
		case e.Errors["source"] != nil || e.Errors["token"] != nil || e.Errors["source.token"] != nil:
			return gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "Moyasar refused the card token", cause)
		}
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "Moyasar refused the request", cause)
	}
	return gateway.Unavailable(op, cause)
}
