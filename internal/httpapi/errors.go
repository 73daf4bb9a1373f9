package httpapi

import (
	"net/http"

	"github.com/sakkhq/sakk/internal/pay"
)

// statusOf is the one mapping from an error to an HTTP status; each
// surface shapes its own body around it.
func statusOf(err error) int {
	switch pay.CodeOf(err) {
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "idempotency_key_reused":
		return http.StatusUnprocessableEntity
	case pay.CodePaymentLinkInactive, pay.CodePaymentLinkExpired, pay.CodePaymentLinkExhausted:
		// The link exists but opens no session now (an inactive one
		// may be switched back on): gone is what a browser understands.
		return http.StatusGone
	}
	switch pay.KindOf(err) {
	case pay.Invalid:
		return http.StatusBadRequest
	case pay.Unauthenticated:
		return http.StatusUnauthorized
	case pay.Forbidden:
		return http.StatusForbidden
	case pay.NotFound:
		return http.StatusNotFound
	case pay.Conflict:
		return http.StatusConflict
	case pay.RateLimited:
		return http.StatusTooManyRequests
	case pay.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
