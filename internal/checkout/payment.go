package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// How a payment is charged:
//
//  1. One transaction locks the session, checks that it can be paid (open,
//     not expired, no attempt in flight, paid by the verified customer)
//     and inserts the attempt as pending, moving the session to pending.
//     Of any number of concurrent calls, one inserts; the others find the
//     attempt in flight and report it (and the unique index
//     payments_one_open refuses a second attempt even if the check were
//     wrong).
//  2. The gateway is called outside any transaction, with an idempotency
//     key derived from the attempt's id.
//  3. A second transaction applies the answer along the transition tables,
//     with its event, unless something else (confirm, a callback, the
//     reconciler) already did. An answer that never came leaves the
//     attempt pending: the card may have been charged, so it is never
//     counted as a failure.

// chargeTimeout bounds one gateway call; past it the outcome is unknown.
const chargeTimeout = 30 * time.Second

// VerificationTTL is the lifetime of a payment verification token.
const VerificationTTL = 5 * time.Minute

// Event types the payment flow writes to the outbox.
const (
	EventPaymentCompleted = pay.EventPaymentCompleted
	EventPaymentFailed    = pay.EventPaymentFailed
	EventPaymentCancelled = pay.EventPaymentCancelled
	EventPaymentExpired   = pay.EventPaymentExpired
	EventPaymentRefunded  = pay.EventPaymentRefunded
)

// PaymentFlow is what the payment use cases need besides the store.
type PaymentFlow struct {
	Gateways Gateways
	OTP      *otp.Service // nil: verification by code is unavailable
	Log      *slog.Logger // nil discards
	// Sealer keeps payment tokens encrypted while an attempt's outcome is
	// open, so that the reconciler can repeat a charge whose answer was
	// lost; nil keeps none (such an attempt then waits for an operator).
	Sealer Sealer
	// Committed, when set, is called after a transaction that wrote events
	// commits: the webhook dispatcher's cue to deliver them now.
	Committed func()
	// Metrics counts sessions, payments, refunds, codes and gateway
	// calls; nil counts nothing.
	Metrics *metrics.Metrics
	// Tracer makes spans of gateway calls and code sends; nil makes none.
	Tracer trace.Tracer
}

// Sealer encrypts and decrypts stored secrets (vault.Box).
type Sealer interface {
	Seal(plaintext string) string
	Open(sealed string) (string, error)
}

// UsePaymentFlow equips s for verification and payments. Call it once,
// before serving.
func (s *Service) UsePaymentFlow(f PaymentFlow) {
	if f.Log == nil {
		f.Log = slog.New(slog.DiscardHandler)
	}
	f.Gateways.metrics, f.Gateways.tracer = f.Metrics, f.Tracer
	s.flow = f
}

// Gateways are the gateways s charges through; a nil Service (a server
// wired for health checks only) has none.
func (s *Service) Gateways() Gateways {
	if s == nil {
		return Gateways{}
	}
	return s.flow.Gateways
}

// Payer is who asks to charge a session, as their token proves.
type Payer struct {
	ApplicationID string
	Environment   pay.Environment
	// SessionID is the session the payer's verification was made for;
	// "" when it was not bound to one.
	SessionID string
	// Identifier and Channel are what OTP verification proved; empty for
	// a backend SDK token, which may pay only locked sessions (whose
	// customer the backend itself set).
	Identifier string
	Channel    string
	Backend    bool
}

// ProcessRequest asks to charge a session.
type ProcessRequest struct {
	SessionID     string
	Method        string // "card", or an off-site method
	Gateway       string
	PaymentToken  string // from the gateway's own tokenizer; never a card number
	ClientIP      string
	UserAgent     string
	CustomerEmail string // supplementary contact, when the customer verified by phone
	CustomerPhone string // supplementary contact, when the customer verified by email
}

// Attempt is where a session's payment stands.
type Attempt struct {
	Session pay.Session
	Payment *pay.Payment // the latest attempt; nil before the first
}

// Process charges a session for who. Calls repeated while an attempt is
// in flight or after the session is paid report that attempt and charge
// nothing; a failed attempt may be followed by a new one.
func (s *Service) Process(ctx context.Context, who Payer, req ProcessRequest) (Attempt, error) {
	if req.Method == "" {
		return Attempt{}, pay.Errorf(pay.Invalid, "invalid_method", "method is required, e.g. card")
	}
	if len(req.PaymentToken) > 2048 || len(req.CustomerEmail) > MaxTextLen || len(req.CustomerPhone) > MaxTextLen {
		return Attempt{}, pay.Errorf(pay.Invalid, "invalid_request", "methodPayload, customerEmail or customerPhone is too long")
	}
	conn, err := s.flow.Gateways.For(ctx, who.ApplicationID, who.Environment, req.Gateway)
	if err != nil {
		return Attempt{}, err
	}
	sealed := "" // sealed out here: the embedded store's one writer runs the closure
	if req.PaymentToken != "" && s.flow.Sealer != nil {
		sealed = s.flow.Sealer.Seal(req.PaymentToken)
	}
	now := s.now().UTC()
	var out Attempt
	var started *pay.Payment
	err = s.store.WithRerunnableTx(ctx, func(tx *store.Tx) error {
		out, started = Attempt{}, nil
		sess, err := tx.SessionSummary(ctx, who.ApplicationID, who.Environment, req.SessionID)
		if err != nil {
			return sessionNotFound(err)
		}
		if err := who.mayPay(sess); err != nil {
			return err
		}
		latest, err := tx.LatestPayment(ctx, sess.ID)
		if err != nil {
			return err
		}
		out = Attempt{Session: sess, Payment: latest}
		switch sess.Status {
		case pay.SessionCompleted, pay.SessionRefunded, pay.SessionPending, pay.SessionRequiresAction:
			return nil // paid or in flight: report it, charge nothing
		case pay.SessionCancelled, pay.SessionExpired:
			return pay.Errorf(pay.Conflict, "session_closed", "this session is %s and can no longer be paid", sess.Status)
		}
		if !now.Before(sess.ExpiresAt) {
			return pay.Errorf(pay.Conflict, "session_expired", "this session has expired")
		}
		if sess.Gateway != "" && sess.Gateway != req.Gateway {
			return pay.Errorf(pay.Invalid, "gateway_mismatch", "this session is paid through %s", sess.Gateway)
		}
		if !conn.Capabilities().Supports(sess.Amount.Currency) {
			return pay.Errorf(pay.Invalid, gateway.CodeCurrencyNotSupported, "%s does not charge in %s", req.Gateway, sess.Amount.Currency)
		}
		p := pay.Payment{
			ID: pay.NewID(pay.PrefixPayment), SessionID: sess.ID, ApplicationID: sess.ApplicationID,
			Environment: sess.Environment, Gateway: req.Gateway, Method: req.Method, Status: pay.PaymentPending,
			Amount: sess.Amount, Refunded: money.New(0, sess.Amount.Currency), CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.CreatePaymentWithToken(ctx, p, sealed); err != nil {
			return err
		}
		sess.Customer = who.customer(sess.Customer, req)
		if err := tx.StartSessionPayment(ctx, sess.ID, sess.Status, sess.Customer, now); err != nil {
			return err
		}
		sess.Status, sess.UpdatedAt = pay.SessionPending, now
		out, started = Attempt{Session: sess, Payment: &p}, &p
		return nil
	})
	if pay.CodeOf(err) == "payment_in_flight" {
		// A concurrent call inserted first (only possible on PostgreSQL
		// between the read and the insert): report its attempt.
		return s.attempt(ctx, who.ApplicationID, who.Environment, req.SessionID)
	}
	if err != nil || started == nil {
		return out, err
	}
	s.changed()

	// The shopper leaving must not cut the gateway call short: an answer
	// lost that way is an unknown outcome for no reason.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), chargeTimeout)
	defer cancel()
	res, err := conn.Charge(cctx, s.chargeRequest(*started, out.Session.Customer, req.PaymentToken, req.ClientIP, req.UserAgent))
	return s.settle(context.WithoutCancel(ctx), *started, &out.Session, res, err)
}

// chargeRequest is the one request that charges attempt p. Every repeat
// of it (the reconciler's) carries the same idempotency key, so the
// gateway charges at most once.
func (s *Service) chargeRequest(p pay.Payment, c pay.Customer, paymentToken, clientIP, userAgent string) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		IdempotencyKey: "sakk_" + p.ID,
		PaymentID:      p.ID,
		SessionID:      p.SessionID,
		Amount:         p.Amount,
		Method:         p.Method,
		PaymentToken:   paymentToken,
		ReturnURL:      s.CallbackURL(p.SessionID),
		Customer:       gateway.Customer{Email: c.Email, Phone: c.Phone},
		ClientIP:       clientIP,
		UserAgent:      userAgent,
	}
}

// CallbackURL is where a shopper's browser returns after 3-D Secure or an
// off-site approval.
func (s *Service) CallbackURL(sessionID string) string {
	return s.publicURL + "/api/v1/payments/callback/" + sessionID
}

// mayPay checks that who may pay sess.
func (who Payer) mayPay(sess pay.Session) error {
	if who.SessionID != "" && who.SessionID != sess.ID {
		return pay.Errorf(pay.Forbidden, "verification_mismatch", "this verification was made for another session")
	}
	c := sess.Customer
	switch {
	case who.Backend && c.Locked:
		return nil
	case who.Backend:
		return pay.Errorf(pay.Forbidden, "verification_required", "the customer must verify by one-time code before paying")
	case c.Locked && !sameCustomer(c, who.Channel, who.Identifier):
		return pay.Errorf(pay.Forbidden, "customer_mismatch", "this session can only be paid by its own customer")
	}
	return nil
}

func sameCustomer(c pay.Customer, channel, identifier string) bool {
	for _, ch := range []otp.Channel{otp.Email, otp.Phone} {
		own := c.Email
		if ch == otp.Phone {
			own = c.Phone
		}
		if channel != string(ch) || own == "" {
			continue
		}
		if n, err := otp.NormalizeIdentifier(ch, own); err == nil && n == identifier {
			return true
		}
	}
	return false
}

// customer is the session's customer once who pays it: the verified
// identifier, and the supplementary contact where none is set.
func (who Payer) customer(c pay.Customer, req ProcessRequest) pay.Customer {
	if c.Locked || who.Identifier == "" {
		return c
	}
	c.VerifiedIdentifier, c.VerifiedChannel = who.Identifier, who.Channel
	if who.Channel == string(otp.Email) {
		c.Email = who.Identifier
		if req.CustomerPhone != "" {
			c.Phone = req.CustomerPhone
		}
	} else {
		c.Phone = who.Identifier
		if req.CustomerEmail != "" {
			c.Email = req.CustomerEmail
		}
	}
	return c
}

// Confirm re-reads where a session's payment stands: an attempt waiting
// for the gateway is asked about with Fetch, and the answer applied.
func (s *Service) Confirm(ctx context.Context, appID string, env pay.Environment, sessionID string) (Attempt, error) {
	a, err := s.attempt(ctx, appID, env, sessionID)
	if err != nil {
		return a, err
	}
	p := a.Payment
	if p == nil || p.GatewayReference == "" || (p.Status != pay.PaymentPending && p.Status != pay.PaymentRequiresAction) {
		return a, nil
	}
	conn, err := s.flow.Gateways.For(ctx, p.ApplicationID, p.Environment, p.Gateway)
	if err != nil {
		return a, err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), chargeTimeout)
	defer cancel()
	res, err := conn.Fetch(cctx, gateway.FetchRequest{Reference: p.GatewayReference})
	if err != nil {
		// Not known yet: the attempt stays where it is.
		s.flow.Log.WarnContext(ctx, "fetch payment", "payment_id", p.ID, "gateway", p.Gateway, "err", err)
		return a, nil
	}
	return s.settle(context.WithoutCancel(ctx), *p, nil, res, nil)
}

// SessionAttempt reads where a session's payment stands, without asking
// the gateway.
func (s *Service) SessionAttempt(ctx context.Context, appID string, env pay.Environment, sessionID string) (Attempt, error) {
	return s.attempt(ctx, appID, env, sessionID)
}

func (s *Service) attempt(ctx context.Context, appID string, env pay.Environment, sessionID string) (Attempt, error) {
	sess, err := s.store.Session(ctx, appID, env, sessionID)
	if err != nil {
		return Attempt{}, sessionNotFound(err)
	}
	p, err := s.store.LatestPayment(ctx, sess.ID)
	if err != nil {
		return Attempt{}, fmt.Errorf("checkout: %w", err)
	}
	return Attempt{Session: sess, Payment: p}, nil
}

func sessionNotFound(err error) error {
	if pay.KindOf(err) == pay.NotFound {
		return pay.Errorf(pay.NotFound, "session_not_found", "no such session")
	}
	return fmt.Errorf("checkout: %w", err)
}

// settle applies a gateway's answer about attempt p (from Charge, Fetch or
// a notification) and returns where the session then stands. An answer
// about an attempt that has already moved on changes nothing.
//
// known, when not nil, is the attempt's session as the caller's own
// transaction left it (Process, which just started p): settle then tries
// first without reading either again, its writes conditioned on both
// standing as they were (the attempt's status and time, the session's
// status), and reads them only when something moved meanwhile.
func (s *Service) settle(ctx context.Context, p pay.Payment, known *pay.Session, res gateway.ChargeResult, chargeErr error) (Attempt, error) {
	outcome := gateway.ChargeOutcome(res, chargeErr)
	if outcome == gateway.Unknown && chargeErr != nil {
		s.flow.Log.WarnContext(ctx, "payment outcome unknown; left pending for the reconciler",
			"payment_id", p.ID, "gateway", p.Gateway, "err", chargeErr)
	}
	now := s.now().UTC()
	var out Attempt
	wrote := false
	var moved pay.PaymentStatus // the status this call moved the attempt to
	apply := func(tx *store.Tx, read bool) error {
		wrote, moved = false, ""
		var sess pay.Session
		cur := &p
		if read {
			var err error
			if sess, err = tx.SessionSummary(ctx, p.ApplicationID, p.Environment, p.SessionID); err != nil {
				return err
			}
			if cur, err = tx.LatestPayment(ctx, sess.ID); err != nil {
				return err
			}
		} else {
			sess = *known
		}
		out = Attempt{Session: sess, Payment: cur}
		if cur == nil || cur.ID != p.ID || (cur.Status != pay.PaymentPending && cur.Status != pay.PaymentRequiresAction) {
			if outcome == gateway.Approved && (cur == nil || cur.ID != p.ID || cur.Status != pay.PaymentCompleted) {
				// Money the gateway says it took for an attempt sakk holds
				// as not paid: never applied silently, never hidden.
				s.flow.Log.ErrorContext(ctx, "gateway reports an approval for an attempt that is final or superseded; an operator must look",
					"payment_id", p.ID, "gateway", p.Gateway, "reference", res.Reference)
			}
			return nil // already settled, or superseded
		}
		next := *cur
		next.UpdatedAt = now
		if res.Reference != "" {
			next.GatewayReference = res.Reference
		}
		event := ""
		switch outcome {
		case gateway.Approved:
			if res.Captured.Minor != 0 && res.Captured != cur.Amount {
				// Never mark paid what was not paid in full, nor hide it:
				// the attempt stays pending, loudly, for an operator.
				s.flow.Log.ErrorContext(ctx, "gateway captured a different amount; payment left pending",
					"payment_id", cur.ID, "want", money.Format(cur.Amount), "captured", money.Format(res.Captured))
				break
			}
			next.Status, next.RedirectURL, event = pay.PaymentCompleted, "", EventPaymentCompleted
		case gateway.Declined:
			next.Status, next.RedirectURL, event = pay.PaymentFailed, "", EventPaymentFailed
			next.ErrorCode, next.ErrorMessage, next.Retryable = res.DeclineCode, res.DeclineMessage, res.Retryable
			if chargeErr != nil {
				next.ErrorCode, next.ErrorMessage, next.Retryable = pay.CodeOf(chargeErr), pay.MessageOf(chargeErr), false
			}
			if next.ErrorCode == "" {
				next.ErrorCode = gateway.DeclineCard
			}
			if next.ErrorMessage == "" {
				next.ErrorMessage = "the payment was declined"
			}
		case gateway.ActionRequired:
			next.Status, next.RedirectURL = pay.PaymentRequiresAction, res.RedirectURL
		}
		if next.Status == cur.Status && next.GatewayReference == cur.GatewayReference && next.RedirectURL == cur.RedirectURL {
			return nil
		}
		if err := tx.UpdatePayment(ctx, next, *cur); err != nil {
			return err
		}
		if next.Status != cur.Status {
			moved = next.Status
		}
		out.Payment = &next
		to := sessionStatusOf(next.Status)
		if to != sess.Status {
			if !sess.Status.CanBecome(to) {
				// Only a session closed under an attempt in flight gets
				// here; the attempt's own state is what counts.
				s.flow.Log.ErrorContext(ctx, "session cannot follow its payment", "session_id", sess.ID,
					"session_status", sess.Status, "payment_status", next.Status)
			} else if err := tx.SetSessionStatus(ctx, sess.ID, sess.Status, to, now); err != nil {
				return err
			} else {
				out.Session.Status, out.Session.UpdatedAt = to, now
			}
		}
		if event == "" {
			return nil
		}
		if _, err := tx.AddEvent(ctx, paymentEvent(event, out.Session, next, now)); err != nil {
			return err
		}
		wrote = true
		return nil
	}
	var err error = store.ErrStale
	if known != nil {
		err = s.store.WithRerunnableTx(ctx, func(tx *store.Tx) error { return apply(tx, false) })
	}
	if errors.Is(err, store.ErrStale) {
		err = s.store.WithRerunnableTx(ctx, func(tx *store.Tx) error { return apply(tx, true) })
	}
	if err != nil {
		return out, fmt.Errorf("checkout: settle payment: %w", err)
	}
	if moved != "" {
		s.flow.Metrics.Payment(p.Gateway, p.Method, string(moved))
	}
	s.changed()
	if wrote {
		s.committed()
	}
	return out, nil
}

// committed tells the webhook dispatcher that events were committed.
func (s *Service) committed() {
	if s.flow.Committed != nil {
		s.flow.Committed()
	}
}

// sessionStatusOf is the status a session takes from its latest attempt.
func sessionStatusOf(p pay.PaymentStatus) pay.SessionStatus {
	switch p {
	case pay.PaymentRequiresAction:
		return pay.SessionRequiresAction
	case pay.PaymentCompleted:
		return pay.SessionCompleted
	case pay.PaymentFailed:
		return pay.SessionFailed
	case pay.PaymentCancelled:
		return pay.SessionCancelled
	case pay.PaymentExpired:
		return pay.SessionExpired
	case pay.PaymentRefunded:
		return pay.SessionRefunded
	}
	return pay.SessionPending
}

// EventPayload is the payload of every payment event in the outbox.
type EventPayload = pay.EventPayload

func paymentEvent(typ string, sess pay.Session, p pay.Payment, now time.Time) pay.Event {
	return newEvent(typ, sess, paymentPayload(sess, p, now), now)
}

// paymentPayload is what every event about payment p of sess says.
func paymentPayload(sess pay.Session, p pay.Payment, now time.Time) EventPayload {
	created := p.CreatedAt
	if created.IsZero() {
		created = sess.CreatedAt
	}
	e := EventPayload{
		SessionID: sess.ID, PaymentID: p.ID, Status: string(p.Status), AmountMinor: p.Amount.Minor,
		Amount: money.Format(p.Amount), Currency: string(p.Amount.Currency), Gateway: p.Gateway, Method: p.Method,
		VendorReference: sess.VendorReference, CustomerEmail: sess.Customer.Email, CustomerPhone: sess.Customer.Phone,
		ErrorCode: p.ErrorCode, ErrorMessage: p.ErrorMessage, Metadata: sess.Metadata, CreatedAt: created, OccurredAt: now,
	}
	if p.Refunded.Minor != 0 {
		e.RefundedMinor, e.Refunded = p.Refunded.Minor, money.Format(p.Refunded)
	}
	return e
}

func newEvent(typ string, sess pay.Session, payload EventPayload, now time.Time) pay.Event {
	body, err := json.Marshal(payload)
	if err != nil {
		panic(errors.New("checkout: event payload: " + err.Error())) // only plain fields: cannot fail
	}
	return pay.Event{
		ID: pay.NewID(pay.PrefixEvent), ApplicationID: sess.ApplicationID, Environment: sess.Environment,
		Type: typ, SubjectID: sess.ID, Payload: body, CreatedAt: now,
	}
}

// Details is a session as its hosted page shows it.
type Details struct {
	Attempt
	ApplicationName string
	DisplayName     string // the application's brand name for shoppers; "" for none
	MerchantName    string
	BrandLogo       string
	Gateways        []string // those that can charge the session, the one routed for its currency (else the default) first
}

// SessionDetails reads a session with what its page shows of its
// application.
func (s *Service) SessionDetails(ctx context.Context, appID string, env pay.Environment, sessionID string) (Details, error) {
	at, err := s.attempt(ctx, appID, env, sessionID)
	if err != nil {
		return Details{}, err
	}
	a, err := s.app(ctx, appID)
	if err != nil {
		return Details{}, err
	}
	names, err := s.flow.Gateways.AvailableFor(ctx, appID, env, at.Session.Amount.Currency)
	if err != nil {
		return Details{}, err
	}
	return Details{Attempt: at, ApplicationName: a.Name, DisplayName: a.DisplayName, MerchantName: a.MerchantName, BrandLogo: a.BrandLogo, Gateways: names}, nil
}

// GatewayPublic returns what a browser may see of the account that
// charges appID's env through name (a publishable key).
func (s *Service) GatewayPublic(ctx context.Context, appID string, env pay.Environment, name string) (map[string]string, error) {
	return s.flow.Gateways.PublicFor(ctx, appID, env, name)
}

// ReturningSession names the application environment of a session whose
// shopper comes back from a gateway with only its id.
func (s *Service) ReturningSession(ctx context.Context, sessionID string) (string, pay.Environment, error) {
	appID, env, err := s.store.SessionOwner(ctx, sessionID)
	if err != nil {
		return "", "", sessionNotFound(err)
	}
	return appID, env, nil
}

// AllowedOrigin checks a browser origin ("https://shop.example:8443")
// against the application's verified domains and returns it normalised
// (lower-case scheme and host, no default port). Anything but an http(s)
// origin on a verified host is Forbidden.
func (s *Service) AllowedOrigin(ctx context.Context, appID, origin string) (string, error) {
	refuse := pay.Errorf(pay.Forbidden, "origin_not_allowed", "this origin is not a verified domain of the application")
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", refuse
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	domains, err := s.store.Domains(ctx, appID)
	if err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	for _, d := range domains {
		if d.Verified && d.Domain == host {
			if port != "" {
				host = net.JoinHostPort(host, port)
			}
			return u.Scheme + "://" + host, nil
		}
	}
	return "", refuse
}

// Notify applies a verified gateway notification about one of appID's env
// attempts at gatewayName. A notification is a hint, applied along the
// transition tables like any answer: a late or repeated one changes
// nothing that is final. A reference sakk does not know (or another
// application's) is NotFound.
func (s *Service) Notify(ctx context.Context, appID string, env pay.Environment, gatewayName string, n gateway.Notification) (Attempt, error) {
	p, err := s.store.PaymentByReference(ctx, gatewayName, n.Reference)
	if err != nil || p.ApplicationID != appID || p.Environment != env {
		if err != nil && pay.KindOf(err) != pay.NotFound {
			return Attempt{}, fmt.Errorf("checkout: notify: %w", err)
		}
		return Attempt{}, pay.Errorf(pay.NotFound, "payment_not_found", "no payment with this gateway reference")
	}
	return s.settle(ctx, p, nil, gateway.ChargeResult{Outcome: n.Outcome, Reference: n.Reference}, nil)
}
