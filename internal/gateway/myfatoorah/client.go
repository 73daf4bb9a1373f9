package myfatoorah

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sakkhq/sakk/internal/gateway"
)

// envelope is the body of every MyFatoorah v2 answer, success or not:
//
//	{"IsSuccess": true, "Message": "", "ValidationErrors": null, "Data": {...}}
//
// A refusal has IsSuccess false, a Message, and for invalid fields
// ValidationErrors [{"Name": "InvoiceValue", "Error": "..."}].
type envelope struct {
	IsSuccess        bool              `json:"IsSuccess"`
	Message          string            `json:"Message"`
	ValidationErrors []validationError `json:"ValidationErrors"`
	Data             json.RawMessage   `json:"Data"`
}

// validationError is one entry of ValidationErrors.
type validationError struct {
	Name  string `json:"Name"`
	Error string `json:"Error"`
}

// apiError is the cause recorded in sakk errors, for logs: the HTTP
// status and MyFatoorah's message and field errors (which never contain
// the API token).
type apiError struct {
	status int
	env    *envelope
}

func (e *apiError) Error() string {
	if e.env == nil {
		return fmt.Sprintf("myfatoorah: HTTP %d", e.status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "myfatoorah: HTTP %d: %s", e.status, e.env.Message)
	for _, v := range e.env.ValidationErrors {
		fmt.Fprintf(&b, "; %s: %s", v.Name, v.Error)
	}
	return b.String()
}

// answer is one API answer that came back whole.
type answer struct {
	status int
	env    envelope
}

// ok reports a success: HTTP 200 and IsSuccess true.
func (a answer) ok() bool { return a.status == http.StatusOK && a.env.IsSuccess }

// refused reports an answer in which MyFatoorah refused the request: a
// 4xx other than 401, 403, 408 and 429, with IsSuccess false. Nothing was
// done. (401 and 403 are the merchant's token; see failure.)
func (a answer) refused() bool {
	switch a.status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return a.status >= 400 && a.status < 500 && !a.env.IsSuccess
}

// cause returns the answer as an error for logs.
func (a answer) cause() error { return &apiError{status: a.status, env: &a.env} }

// call sends one POST to MyFatoorah's v2 API and reads the envelope.
//
// MyFatoorah takes no idempotency key, so only reads (safe == true:
// InitiatePayment, GetPaymentStatus, GetRefundStatus) are retried after a
// transport error, a 5xx, a 429 or a body that does not parse. Writes
// (ExecutePayment, MakeRefund) are sent once: a write whose answer was
// lost is reported as gateway.Unavailable, an unknown outcome, and is
// settled by a lookup before anything is sent again (see the package
// comment). err is non-nil (Unavailable) only when no whole answer came.
func (c *Connector) call(ctx context.Context, op, path string, body any, safe bool) (answer, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return answer{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the request could not be encoded", err)
	}
	attempts := 1
	if safe {
		attempts += c.retries
	}
	var last error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if err := c.wait(ctx, attempt); err != nil {
				return answer{}, gateway.Unavailable(op, errors.Join(last, err))
			}
		}
		a, retry, err := c.send(ctx, path, payload)
		if err == nil && !retry {
			return a, nil
		}
		if err == nil {
			err = a.cause()
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return answer{}, gateway.Unavailable(op, last)
}

// send makes one attempt. retry reports an answer that is no answer: a
// 5xx, 429 or 408, whatever its body says.
func (c *Connector) send(ctx context.Context, path string, payload []byte) (a answer, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return answer{}, false, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return answer{}, true, err
	}
	defer resp.Body.Close()
	raw, err := gateway.ReadAnswer("myfatoorah", resp, maxResponseBytes)
	if err != nil {
		return answer{}, true, err
	}
	a.status = resp.StatusCode
	if a.status >= 500 || a.status == http.StatusTooManyRequests || a.status == http.StatusRequestTimeout {
		_ = json.Unmarshal(raw, &a.env) // for the log only
		return a, true, nil
	}
	if err := json.Unmarshal(raw, &a.env); err != nil {
		// Not MyFatoorah's envelope (a proxy's page, a cut body): the
		// request may or may not have been acted upon.
		return answer{}, true, fmt.Errorf("myfatoorah: unreadable answer (HTTP %d): %w", a.status, err)
	}
	return a, false, nil
}

// wait sleeps before retry number attempt (1, 2, …): the backoff doubled
// each time, at most gateway.MaxBackoff, with jitter.
func (c *Connector) wait(ctx context.Context, attempt int) error {
	return gateway.Backoff(ctx, c.backoff, gateway.MaxBackoff, attempt)
}

// failure turns a whole answer that is not a success into an error:
// MyFatoorah's refusals are Invalid (nothing was done), a refused token is
// Invalid too (nothing will work until the merchant fixes it), and
// anything else (a 2xx with IsSuccess false, an unexpected status) leaves
// the outcome unknown.
func failure(op string, a answer) error {
	switch {
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "the payment gateway refused the merchant's MyFatoorah API token", a.cause())
	case a.refused():
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "MyFatoorah refused the request", a.cause())
	}
	return gateway.Unavailable(op, a.cause())
}

// decodeData reads the Data member of a successful answer into v, with
// numbers kept as json.Number so that amounts stay exact.
func decodeData(a answer, v any) error {
	if len(a.env.Data) == 0 || string(a.env.Data) == "null" {
		return errors.New("myfatoorah: answer without Data")
	}
	dec := json.NewDecoder(bytes.NewReader(a.env.Data))
	dec.UseNumber()
	return dec.Decode(v)
}
