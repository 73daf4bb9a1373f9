package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/config"
	"github.com/sakkhq/sakk/internal/dashboard"
	"github.com/sakkhq/sakk/internal/demo"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/httpapi"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/partner"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/webhook"
)

// shutdownGrace is how long in-flight requests get to finish after a
// SIGTERM before their connections are closed.
const shutdownGrace = 20 * time.Second

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	set := config.NewSet("serve")
	set.Store(&cfg)
	set.Serve(&cfg)
	if err := parse(set, args, getenv, stderr); err != nil {
		return err
	}
	derivedURL := cfg.PublicURL == ""
	if err := cfg.CheckServe(); err != nil {
		return usageError{err.Error()}
	}
	// Listen before touching the store, so that a port in use is the first
	// and only complaint.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	adminLn, adminErr := listenAdmin(cfg.AdminAddr)
	if adminErr != nil && cfg.AdminAddr != config.DefaultAdminAddr {
		return adminErr
	}
	if derivedURL && strings.HasSuffix(cfg.Addr, ":0") {
		// Port 0 picked a port: links and redirects name the real one.
		cfg.PublicURL = loopbackURL(ln.Addr())
	}

	e, err := open(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer e.Close()

	m := metrics.New()
	tracer, stopTracing, err := startTracing(ctx, &cfg)
	if err != nil {
		return err
	}
	defer stopTracing()
	if err := observe(e, m, tracer); err != nil {
		return err
	}
	limiter := ratelimit.New(e.store, time.Now)
	if cfg.Demo {
		if err := seedDemo(ctx, e, stdout); err != nil {
			return fmt.Errorf("create demo data: %w", err)
		}
	}

	dispatcher := webhook.New(e.store, e.vault, webhook.Options{Logger: e.log, Metrics: m, Tracer: tracer})
	co, accounts, err := newCheckout(e, &cfg, dispatcher.Notify, m, tracer)
	if err != nil {
		return err
	}
	var shop *demo.Shop
	if cfg.Demo {
		if shop, err = demoShop(ctx, e, ln.Addr()); err != nil {
			e.log.InfoContext(ctx, "demo shop off", "reason", err)
		}
	}
	senders, err := newSenders(&cfg)
	if err != nil {
		return err
	}
	team := account.New(e.store, e.vault, time.Now, account.Options{Mailer: senders.Email, PublicURL: cfg.PublicURL})
	board, err := dashboard.New(dashboard.Deps{Logger: e.log, Account: team, Merchant: e.merchant, Checkout: co, Store: e.store,
		Webhooks: dispatcher, Gateways: accounts, PublicURL: cfg.PublicURL})
	if err != nil {
		return err
	}
	partners := partner.New(e.store, co, e.merchant, time.Now)
	stopping := make(chan struct{}) // closed by srv.Shutdown: event streams end
	srv := &http.Server{
		Handler: httpapi.New(httpapi.Deps{
			Partner:    partners,
			Stopping:   stopping,
			Dashboard:  board,
			Account:    team,
			PublicURL:  cfg.PublicURL,
			Demo:       shop,
			Logger:     e.log,
			Ready:      e.store.Ready,
			Checkout:   co,
			Accounts:   accounts,
			Webhooks:   dispatcher,
			Merchant:   e.merchant,
			Tokens:     e.tokens,
			Limiter:    ratelimit.Counted(limiter, m),
			RateLimit:  cfg.RateLimit,
			RateWindow: cfg.RateWindow,
			Metrics:    m,
			Tracer:     tracer,
		}),
		// Slow or stalled clients must not hold connections forever.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(func() { close(stopping) })
	go housekeeping(ctx, e, limiter)

	// Background work on every instance, sharing it through the store:
	// webhook delivery, session expiry and reconciliation. When serve
	// returns it stops them and waits while they record what they have in
	// flight, before the store closes.
	bgCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { dispatcher.Run(bgCtx) })
	background.Go(func() { paymentJobs(bgCtx, e, co) })
	background.Go(func() { partnerJobs(bgCtx, e, partners) })
	defer func() {
		stopBackground()
		background.Wait()
	}()
	if adminErr != nil {
		// The default port taken (another sakk on this machine): serve
		// without metrics rather than not at all. An address given on
		// purpose fails above instead.
		e.log.WarnContext(ctx, "admin listener off: the default address is taken; set --admin-addr", "err", adminErr)
	}
	stopAdmin := serveAdmin(adminLn, m, e.log)
	defer stopAdmin()
	e.log.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "engine", e.store.Engine())

	// Starting leaves garbage a server at rest would carry for hours: the
	// migration library parses every migration with buffers it pools
	// (about 16 MB), and the templates and tables are built once. Two
	// collections free it (a pooled buffer survives one), and the pages
	// go back to the system: an idle instance holds what it uses.
	runtime.GC()
	debug.FreeOSMemory()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	e.log.Info("shutting down: finishing requests in flight", "grace", shutdownGrace)
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	e.log.Info("stopped")
	return nil
}

// newCheckout wires the checkout use cases to the payment gateways (the
// sandbox simulator; live connectors are configured per gateway) and to
// the senders of one-time codes. The simulator's and the codes' keys are
// derived from the encryption key, so every instance sharing it agrees.
func newCheckout(e *env, cfg *config.Config, committed func(), m *metrics.Metrics, tracer trace.Tracer) (*checkout.Service, *routing.Registry, error) {
	sim, err := sandbox.New(sandbox.Options{PublicURL: cfg.PublicURL, Key: e.vault.Derive("sandbox gateway", 32), Answers: e.store})
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox gateway: %w", err)
	}
	senders, err := newSenders(cfg)
	if err != nil {
		return nil, nil, err
	}
	codes, err := otp.New(e.store, senders, e.vault.Derive("otp codes", 32), time.Now, e.log)
	if err != nil {
		return nil, nil, err
	}
	accounts := routing.New(e.store, e.vault, sim, routing.Builtin(nil), time.Now)
	co := checkout.New(e.store, e.tokens, time.Now, cfg.PublicURL)
	co.UsePaymentFlow(checkout.PaymentFlow{Gateways: checkout.Gateways{Sandbox: sim, Accounts: accounts}, OTP: codes, Log: e.log, Sealer: e.vault, Committed: committed, Metrics: m, Tracer: tracer})
	return co, accounts, nil
}

// newSenders builds the configured mail and SMS senders (one-time codes;
// mail also carries the team's invites and password resets).
func newSenders(cfg *config.Config) (otp.Senders, error) {
	var senders otp.Senders
	if c := cfg.SMTP; c.Host != "" {
		s, err := otp.NewSMTPSender(otp.SMTPConfig{
			Host: c.Host, Port: c.Port, Username: c.Username, Password: c.Password, From: c.From,
			StartTLS: otp.StartTLSMode(c.StartTLS), TLS: c.TLS,
		})
		if err != nil {
			return senders, usageError{err.Error()}
		}
		senders.Email = s
	}
	if cfg.SMS.URL != "" {
		s, err := otp.NewHTTPSMSSender(otp.HTTPSMSConfig{URL: cfg.SMS.URL, Token: cfg.SMS.Token})
		if err != nil {
			return senders, usageError{err.Error()}
		}
		senders.Phone = s
	}
	return senders, nil
}

// paymentJobs expires sessions whose time ran out and reconciles attempts
// and refunds whose outcome is unknown, every few seconds, on every instance (both
// jobs are safe to run concurrently).
func paymentJobs(ctx context.Context, e *env, co *checkout.Service) {
	every(ctx, 15*time.Second, func() {
		if n, err := co.ExpireSessions(ctx, 500); err != nil {
			e.log.WarnContext(ctx, "expire sessions", "err", err)
		} else if n > 0 {
			e.log.InfoContext(ctx, "expired sessions", "count", n)
		}
		if _, err := co.Reconcile(ctx, 100); err != nil {
			e.log.WarnContext(ctx, "reconcile payments", "err", err)
		}
		if _, err := co.ReconcileRefunds(ctx, 100); err != nil {
			e.log.WarnContext(ctx, "reconcile refunds", "err", err)
		}
	})
}

// every runs job each period until ctx ends; the first run is one period
// after the start.
func every(ctx context.Context, period time.Duration, job func()) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			job()
		}
	}
}

// housekeeping deletes what has outlived its use: idempotent responses
// past their 24 hours and ended rate-limit windows. It is safe on every
// instance at once: each deletion is idempotent.
func housekeeping(ctx context.Context, e *env, limiter ratelimit.Limiter) {
	every(ctx, 10*time.Minute, func() {
		if _, err := e.store.PruneIdempotentResponses(ctx, time.Now().Add(-checkout.IdempotencyTTL)); err != nil {
			e.log.WarnContext(ctx, "prune idempotency keys", "err", err)
		}
		if _, err := e.store.PruneOTPCodes(ctx, time.Now().Add(-time.Hour)); err != nil {
			e.log.WarnContext(ctx, "prune one-time codes", "err", err)
		}
		if _, err := e.store.PruneSandboxAnswers(ctx, time.Now().Add(-24*time.Hour)); err != nil {
			e.log.WarnContext(ctx, "prune sandbox answers", "err", err)
		}
		if p, ok := limiter.(interface{ Prune(context.Context) error }); ok {
			if err := p.Prune(ctx); err != nil {
				e.log.WarnContext(ctx, "prune rate limits", "err", err)
			}
		}
	})
}

// demoShop returns the demo shop of this installation, which calls sakk
// back on the address it listens on, or ErrNoKeys-wrapped when its demo
// data has no shop.
func demoShop(ctx context.Context, e *env, addr net.Addr) (*demo.Shop, error) {
	sealed, ok, err := e.store.Setting(ctx, demo.Setting)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, demo.ErrNoKeys
	}
	plain, err := e.vault.Open(sealed)
	if err != nil {
		return nil, err
	}
	var keys demo.Keys
	if err := json.Unmarshal([]byte(plain), &keys); err != nil {
		return nil, err
	}
	return demo.New(keys, loopbackURL(addr), e.log), nil
}

// loopbackURL is the http URL of a listening address, reached from the
// same machine.
func loopbackURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// demoSetting records that the demo data was created (or is being
// created) by some instance, so that instances starting together on one
// empty database create it once.
const demoSetting = "demo_seeded"

// demoOwnerEmail signs in as the demo merchant's owner.
const demoOwnerEmail = "owner@demo.example.com"

// seedDemo gives a new installation a demo merchant with a sandbox
// application, its keys, localhost as a verified domain and two catalog
// products, and prints the keys once.
func seedDemo(ctx context.Context, e *env, stdout io.Writer) error {
	n, err := e.store.CountMerchants(ctx)
	if err != nil || n > 0 {
		return err
	}
	claim := pay.NewID("seed")
	if got, err := e.store.InitSetting(ctx, demoSetting, claim); err != nil || got != claim {
		return err
	}
	created, err := e.merchant.CreateApplication(ctx, merchant.NewApplication{
		Name: "Demo Shop", MerchantName: "Demo Merchant", Environment: pay.Sandbox,
	})
	if err != nil {
		return err
	}
	appID := created.Application.ID
	if _, err := e.merchant.AddDomain(ctx, appID, "localhost", true); err != nil {
		return err
	}
	for _, p := range []struct{ code, title, price string }{
		{"DEMO-HEADPHONES", "Wireless Headphones", "1799.00"},
		{"DEMO-MUG", "Ceramic Mug", "89.50"},
	} {
		price, err := money.Parse(p.price, "MAD")
		if err != nil {
			return err
		}
		if _, err := e.merchant.AddProduct(ctx, merchant.NewProduct{
			ApplicationID: appID, StoreCode: p.code, Title: p.title, Price: price,
		}); err != nil {
			return err
		}
	}
	// The demo shop is a merchant of its own: it keeps its secret key and
	// receives its webhooks at /demo/webhooks.
	_, whsec, err := e.merchant.AddWebhook(ctx, merchant.NewWebhook{
		ApplicationID: appID, Environment: pay.Sandbox, URL: e.cfg.PublicURL + "/demo/webhooks", Format: pay.WebhookPayment,
	})
	if err != nil {
		return err
	}
	shopKeys, err := json.Marshal(demo.Keys{ApplicationID: appID, SecretKey: created.Keys.Secret, WebhookSecret: whsec})
	if err != nil {
		return err
	}
	if _, err := e.store.InitSetting(ctx, demo.Setting, e.vault.Seal(string(shopKeys))); err != nil {
		return err
	}
	// The demo merchant's owner, to sign in to the management API (and the
	// dashboard) with; the password is random and printed this once.
	ownerPassword := strings.ReplaceAll(pay.NewID("demo"), "_", "-")
	owner, err := e.account.CreateUser(ctx, account.NewUser{Email: demoOwnerEmail, Name: "Demo Owner", Password: ownerPassword,
		Role: pay.Owner, MerchantID: created.Merchant.ID}, account.CLI)
	if err != nil {
		return err
	}
	keys := appKeysJSON(appID, created.Merchant.ID, pay.Sandbox, created.Keys)
	lines := append([]string{
		"",
		"First start: created the demo merchant and its sandbox application.",
		"  application_id " + appID,
		"  merchant_id    " + created.Merchant.ID,
	}, keyLines(keys)...)
	lines = append(lines,
		"  verified domain localhost; catalog products DEMO-HEADPHONES, DEMO-MUG (MAD)",
		"Demo owner (dashboard: "+e.cfg.PublicURL+"/dashboard; management API: POST "+e.cfg.PublicURL+"/api/merchant/v1/auth/login) — shown only this once:",
		"  email     "+owner.Email,
		"  password  "+ownerPassword,
		"Demo shop: "+e.cfg.PublicURL+"/demo  (pay with 4242 4242 4242 4242 and the code 000000 for any email at example.com)",
		"Hosted checkout: "+e.cfg.PublicURL+"/checkout/{session_token}; browser SDK: "+e.cfg.PublicURL+"/sdk/v1/sakk.js",
		"Health: "+e.cfg.PublicURL+"/healthz and "+e.cfg.PublicURL+"/readyz",
		"")
	_, err = fmt.Fprintln(stdout, strings.Join(lines, "\n"))
	return err
}
