// Package httpapi is sakk's HTTP surface: every route is registered in
// routes.go, so this file is the map of what sakk answers.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/docs"
	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/demo"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/hostedpage"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/partner"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/webhook"
)

// Deps is what the handlers need.
type Deps struct {
	Logger *slog.Logger
	// Ready reports whether sakk can serve: the store answers and its
	// schema is current.
	Ready    func(context.Context) error
	Checkout *checkout.Service
	Merchant *merchant.Service
	// Partner is the AlyaPay partner surface (partnerapi.go); nil answers
	// its routes 503 partner_unavailable.
	Partner *partner.Service
	// Account is the merchants' teams, which the management API signs in;
	// nil leaves the management API out.
	Account *account.Service
	Tokens  *token.Ring
	Limiter ratelimit.Limiter
	// Demo is the demo shop served at /demo, or nil.
	Demo *demo.Shop
	// Dashboard is the merchant's dashboard at /dashboard, or nil.
	Dashboard interface{ Register(*http.ServeMux) }
	// Accounts are the merchants' gateway accounts, which verify inbound
	// notifications; nil refuses them all.
	Accounts *routing.Registry
	// Webhooks sends the merchant API's webhook tests and re-sends; nil
	// answers those two routes 503 webhooks_unavailable.
	Webhooks *webhook.Dispatcher
	// RateLimit requests per RateWindow is each key's default allowance.
	RateLimit  int
	RateWindow time.Duration
	// Now is the clock the hosted page tells expired sessions by; nil is
	// time.Now.
	Now func() time.Time
	// TokenizerURLs point the hosted page at stand-ins for the gateways'
	// browser tokenizers: for tests only; the zero value is the gateways.
	TokenizerURLs hostedpage.TokenizerURLs
	// PublicURL is the base URL sakk is reached at; https:// makes the
	// session cookie Secure.
	PublicURL string
	// Metrics times every request by route pattern and status; nil
	// records nothing. They are served on the admin listener, never here.
	Metrics *metrics.Metrics
	// Tracer makes each request's span (and is nil when tracing is off).
	Tracer trace.Tracer
	// Stopping is closed when the server begins to shut down: long-lived
	// answers (event streams) end then, so that shutdown need not wait
	// for them. nil: they end when their clients leave.
	Stopping <-chan struct{}
}

// api holds what handlers share.
type api struct {
	log        *slog.Logger
	checkout   *checkout.Service
	merchant   *merchant.Service
	partner    *partner.Service
	account    *account.Service
	tokens     *token.Ring
	limiter    ratelimit.Limiter
	accounts   *routing.Registry
	webhooks   *webhook.Dispatcher
	rateLimit  int
	rateWindow time.Duration
	// crossOrigin refuses cookie-authenticated writes from other origins.
	crossOrigin *http.CrossOriginProtection
	now         func() time.Time
	// secureCookies marks the session cookie Secure (a public URL on https).
	secureCookies bool
	// publicURL is the base of the links the management API hands out
	// (a payment link's /pay/{id}), without a trailing slash.
	publicURL string
	// streams counts the open event streams per application; stopping
	// ends them (Deps.Stopping).
	streams  streamSlots
	stopping <-chan struct{}
}

// New returns the handler of every route, wrapped in the middleware every
// request goes through.
func New(d Deps) http.Handler {
	a := &api{
		log: d.Logger, checkout: d.Checkout, merchant: d.Merchant, tokens: d.Tokens,
		limiter: d.Limiter, accounts: d.Accounts, webhooks: d.Webhooks, rateLimit: d.RateLimit, rateWindow: d.RateWindow,
		account: d.Account, crossOrigin: http.NewCrossOriginProtection(), secureCookies: strings.HasPrefix(d.PublicURL, "https://"),
		publicURL: strings.TrimSuffix(d.PublicURL, "/"), partner: d.Partner, stopping: d.Stopping,
	}
	if a.now = d.Now; a.now == nil {
		a.now = time.Now
	}
	mux := http.NewServeMux()

	// Operations.
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", readyz(d.Ready, d.Logger))
	mux.HandleFunc("GET /openapi.yaml", openAPI)
	mux.HandleFunc("GET /favicon.ico", favicon)
	mux.HandleFunc("GET /.well-known/jwks.json", a.jwks)

	// Checkout API (SURFACES.md §1).
	mux.HandleFunc("POST /api/v1/public/sessions", a.createSession)
	mux.HandleFunc("POST /api/v1/public/session-intents", a.createSessionIntent)
	mux.HandleFunc("GET /api/v1/public/transactions/{transaction_id}/status", a.transactionStatus)
	// The AlyaPay partner surface the vendor's shop plugins call
	// (partnerapi.go, docs/compat.md).
	mux.HandleFunc("GET /api/v1/public/transactions/{transaction_id}/schedules", a.transactionSchedules)
	mux.HandleFunc("POST /api/v1/public/partner/transactions", a.createPartnerTransaction)
	mux.HandleFunc("GET /api/v1/public/partner/transactions/{transactionId}", a.partnerTransaction)
	mux.HandleFunc("POST /api/v1/public/partner/transactions/{transactionId}/confirm", a.confirmPartner)
	mux.HandleFunc("GET /api/v1/public/partner/transactions/vendor/{vendorReference}", a.partnerByVendor)
	mux.HandleFunc("PUT /api/v1/public/partner/transactions/vendor/{vendorReference}/cancel", a.cancelPartner)
	mux.HandleFunc("GET /api/v1/public/partner/config", a.partnerConfig)
	mux.HandleFunc("PUT /api/v1/public/partner/config", a.putPartnerConfig)

	// Public Payment API (SURFACES.md §2).
	mux.HandleFunc("POST /api/v1/auth", a.auth)
	mux.HandleFunc("POST /api/v1/tokenize", a.tokenize)
	mux.HandleFunc("POST /api/v1/checkout/session", a.createPaymentSession(""))
	mux.HandleFunc("POST /api/v1/checkout/web/session", a.createPaymentSession("frontend"))
	mux.HandleFunc("POST /api/v1/checkout/backend/session", a.createPaymentSession("backend"))
	mux.HandleFunc("GET /api/v1/checkout/session/{sessionToken}", a.paymentSession)
	mux.HandleFunc("POST /api/v1/checkout/verification/request", a.requestCode)
	mux.HandleFunc("POST /api/v1/checkout/verification/verify", a.verifyCode)
	mux.HandleFunc("GET /api/v1/checkout/verification/methods", a.verificationMethods)
	mux.HandleFunc("GET /api/v1/checkout/sessions/currencies", currencies)
	mux.HandleFunc("GET /api/v1/checkout/sessions/gateways", a.gateways)
	mux.HandleFunc("POST /api/v1/payments/process", a.process)
	mux.HandleFunc("POST /api/v1/payments/confirm", a.confirm)
	mux.HandleFunc("GET /api/v1/payments/callback/{sessionToken}", a.callback)
	mux.HandleFunc("POST /api/v1/webhooks/{gateway}", a.inboundWebhook)
	mux.HandleFunc("POST /api/v1/webhooks/{gateway}/{applicationId}", a.inboundWebhook)

	// Merchant API (SURFACES.md §4).
	mux.HandleFunc("POST /api/merchant/v1/payments/{paymentId}/refunds", a.createRefund)
	mux.HandleFunc("GET /api/merchant/v1/payments/{paymentId}", a.merchantPayment)
	mux.HandleFunc("GET /api/merchant/v1/payments", a.merchantPayments)
	mux.HandleFunc("GET /api/merchant/v1/sessions/{sessionId}", a.merchantSession)
	mux.HandleFunc("GET /api/merchant/v1/sessions", a.merchantSessions)
	mux.HandleFunc("GET /api/merchant/v1/webhooks", a.merchantWebhooks)
	mux.HandleFunc("POST /api/merchant/v1/webhooks/{endpointId}/test", a.testWebhook)
	mux.HandleFunc("POST /api/merchant/v1/webhooks/{endpointId}/rotate-secret", a.rotateWebhookSecret)
	mux.HandleFunc("GET /api/merchant/v1/webhook-deliveries", a.merchantWebhookDeliveries)
	mux.HandleFunc("POST /api/merchant/v1/webhook-deliveries/{deliveryId}/resend", a.resendWebhookDelivery)
	mux.HandleFunc("GET /api/merchant/v1/events/stream", a.eventStream) // sakk listen (merchantevents.go)

	// Management API (MANAGEMENT.md): the team, the account, and every
	// merchant operation; each route's guard is in managementRoutes.
	if d.Account != nil {
		for _, rt := range a.managementRoutes() {
			mux.Handle(rt.method+" "+managementPrefix+rt.path, a.guard(rt))
		}
	}

	if d.Demo != nil {
		d.Demo.Register(mux)
	}
	if d.Dashboard != nil {
		d.Dashboard.Register(mux)
	}

	// The sandbox simulator's browser-facing parts (SURFACES.md §3).
	mux.HandleFunc("POST "+sandbox.TokensPath, a.sandboxTokens)
	if sim := sandboxOf(d.Checkout); sim != nil {
		mux.Handle(sandbox.ChallengePattern, sim.ChallengeHandler())
	}

	// The hosted checkout page, its assets and the browser SDK
	// (SURFACES.md §1 and §3; internal/hostedpage).
	if d.Checkout != nil {
		pages, err := hostedpage.New(hostedpage.Deps{Logger: d.Logger, Checkout: d.Checkout, Tokens: d.Tokens, Now: d.Now, TokenizerURLs: d.TokenizerURLs})
		if err != nil {
			// Only a public URL that is not absolute gets here (config
			// refuses one); the rest of the API still serves.
			d.Logger.Error("hosted page disabled", "err", err)
		} else {
			pages.Register(mux)
			mux.HandleFunc("GET /pay/{linkId}", a.payLink(pages)) // payment links' public URL (paylink.go)
		}
	}

	return withTrace(d.Tracer, withRequestID(withAccessLog(d.Logger, d.Metrics, withRecover(d.Logger, a.withTextRule(mux)))))
}

// healthz answers while the process runs, whatever the database does, so
// that an orchestrator restarts only a process that is really stuck.
func healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when requests can be served, so that a load
// balancer sends none to an instance whose database is unreachable.
func readyz(ready func(context.Context) error, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			log.WarnContext(ctx, "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// favicon answers the icon browsers ask every page's origin for with
// nothing, so that no page logs a failed request.
func favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.WriteHeader(http.StatusNoContent)
}

// openAPI serves the document every HTTP test validates against.
func openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(docs.OpenAPI)
}

// jwks serves the public keys that verify sakk's tokens.
func (a *api) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := a.tokens.JWKS(r.Context())
	if err != nil {
		a.log.ErrorContext(r.Context(), "jwks", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(set)
}
