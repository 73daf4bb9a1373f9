package testserver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sakkhq/sakk/docs"
)

// contract validates exchanges against the OpenAPI document.
type contract struct {
	router routers.Router
}

var (
	contractOnce sync.Once
	contractDoc  *openapi3.T
	contractErr  error
)

func loadContract(t testing.TB) *contract {
	t.Helper()
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		contractDoc, contractErr = loader.LoadFromData(docs.OpenAPI)
		if contractErr == nil {
			contractErr = contractDoc.Validate(loader.Context)
		}
	})
	if contractErr != nil {
		t.Fatalf("docs/openapi.yaml: %v", contractErr)
	}
	router, err := gorillamux.NewRouter(contractDoc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{router: router}
}

// invalidRequestKey marks a request the test sends knowing it breaks the
// contract (to see it refused); its response is still checked.
type invalidRequestKey struct{}

func markInvalid(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), invalidRequestKey{}, true))
}

// validatingTransport fails t on any request or answer that
// docs/openapi.yaml does not allow, a route it does not list included.
type validatingTransport struct {
	t        testing.TB
	contract *contract
}

func (c *contract) transport(t testing.TB) http.RoundTripper { return validatingTransport{t, c} }

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := v.contract.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("contract: %s %s is not in docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if invalid, _ := req.Context().Value(invalidRequestKey{}).(bool); !invalid {
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			v.t.Errorf("contract: request %s %s breaks docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("contract: response %d to %s %s breaks docs/openapi.yaml: %v\n%s", resp.StatusCode, req.Method, req.URL.Path, err, body)
	}
	return resp, nil
}

// OpenAPI is docs/openapi.yaml, parsed and validated, for tests that walk
// its operations.
func OpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	loadContract(t)
	return contractDoc
}
