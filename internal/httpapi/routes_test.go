package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthAndReadiness(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&logs, nil)))
	readyErr := error(nil)
	h := New(Deps{Logger: log, Ready: func(context.Context) error { return readyErr }})

	get := func(path, requestID string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := get("/healthz", ""); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("X-Request-Id"), "req_") {
		t.Errorf("/healthz = %d, request id %q", rec.Code, rec.Header().Get("X-Request-Id"))
	}
	if rec := get("/readyz", "lb-42"); rec.Code != http.StatusOK || rec.Header().Get("X-Request-Id") != "lb-42" {
		t.Errorf("/readyz = %d, request id %q; want 200 and the caller's id", rec.Code, rec.Header().Get("X-Request-Id"))
	}
	if !strings.Contains(logs.String(), `"request_id":"lb-42"`) {
		t.Errorf("access log does not name the request id:\n%s", logs.String())
	}

	readyErr = errors.New("database unreachable")
	if rec := get("/readyz", "bad id\nwith newline"); rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Header().Get("X-Request-Id"), "\n") {
		t.Errorf("/readyz with the store down = %d, request id %q", rec.Code, rec.Header().Get("X-Request-Id"))
	}
	if rec := get("/healthz", ""); rec.Code != http.StatusOK {
		t.Errorf("/healthz with the store down = %d, want 200", rec.Code)
	}
	if rec := get("/nowhere", ""); rec.Code != http.StatusNotFound {
		t.Errorf("/nowhere = %d", rec.Code)
	}
}
