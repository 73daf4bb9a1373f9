package checkout

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/tracing"
)

// ProductLine is one line of a Public Payment API session: a catalog
// product linked by StoreCode, or an inline product with its own Name and
// Price (a decimal text, parsed exactly in the session's currency).
type ProductLine struct {
	StoreCode string
	Name      string
	Price     string
	Currency  money.Currency // inline products only; "" is the session's
	SKU       string
	ImageURL  string
	Quantity  int64
}

// Inline reports whether the line sets its own price.
func (l ProductLine) Inline() bool { return l.StoreCode == "" }

// NewPaymentSession is a Public Payment API request to open a session.
type NewPaymentSession struct {
	ApplicationID string
	Environment   pay.Environment
	Products      []ProductLine
	Currency      money.Currency // optional; the products' currency decides
	// Customer, when set, is preset by the merchant's backend: locked and
	// counted as verified.
	Customer  *pay.Customer
	Metadata  []byte
	ReturnURL string
	CancelURL string
	Gateway   string
	Locale    string
}

// ResolvePaymentSession turns a Public Payment API request into a
// session request: linked products are read from the catalog (a code it
// does not hold is NotFound, naming it), prices are parsed exactly, and
// every line must be in one currency, which the gateway, when named, must
// support in the request's environment.
func (s *Service) ResolvePaymentSession(ctx context.Context, req NewPaymentSession) (NewSession, error) {
	if len(req.Products) == 0 {
		return NewSession{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "products must hold at least one product")
	}
	if len(req.Products) > MaxItems {
		return NewSession{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "products may hold at most %d products", MaxItems)
	}
	cur := req.Currency
	items := make([]pay.Item, len(req.Products))
	for i, l := range req.Products {
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return NewSession{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "products[%d]: quantity must be a whole number from 1 to %d", i, MaxQuantity)
		}
		if !l.Inline() {
			p, err := s.store.ProductByStoreCode(ctx, req.ApplicationID, l.StoreCode)
			if pay.KindOf(err) == pay.NotFound {
				return NewSession{}, pay.Errorf(pay.NotFound, "product_not_found", "no product with storeCode %q", l.StoreCode)
			}
			if err != nil {
				return NewSession{}, fmt.Errorf("checkout: %w", err)
			}
			if cur == "" {
				cur = p.Price.Currency
			}
			if p.Price.Currency != cur {
				return NewSession{}, mixedCurrencies(i, p.Price.Currency, cur)
			}
			items[i] = pay.Item{Reference: p.StoreCode, ProductID: p.ID, Name: p.Title, UnitPrice: p.Price, Quantity: l.Quantity, ImageURL: p.ImageURL}
			continue
		}
		if cur == "" {
			cur = l.Currency
		}
		if cur == "" {
			cur = pay.DefaultCurrency
		}
		if l.Currency != "" && l.Currency != cur {
			return NewSession{}, mixedCurrencies(i, l.Currency, cur)
		}
		price, err := money.Parse(l.Price, cur)
		if err != nil {
			return NewSession{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "products[%d]: price: %s", i, strings.TrimPrefix(err.Error(), "money: "))
		}
		ref := l.SKU
		if ref == "" {
			ref = fmt.Sprintf("item-%d", i+1)
		}
		items[i] = pay.Item{Reference: ref, Name: l.Name, UnitPrice: price, Quantity: l.Quantity, ImageURL: l.ImageURL}
	}
	if _, ok := money.Lookup(string(cur)); !ok {
		return NewSession{}, pay.Errorf(pay.Invalid, CodeInvalidCurrency, "%q is not an ISO 4217 currency code", cur)
	}
	total := money.New(0, cur)
	for _, it := range items {
		line, err := it.UnitPrice.Mul(it.Quantity)
		if err == nil {
			total, err = total.Add(line)
		}
		if err != nil {
			return NewSession{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "products add up to more than sakk can represent")
		}
	}
	if req.Gateway != "" {
		conn, err := s.flow.Gateways.For(ctx, req.ApplicationID, req.Environment, req.Gateway)
		if err != nil {
			return NewSession{}, err
		}
		if !conn.Capabilities().Supports(cur) {
			return NewSession{}, pay.Errorf(pay.Invalid, "currency_not_supported", "%s does not charge in %s", req.Gateway, cur)
		}
	}
	out := NewSession{
		ApplicationID: req.ApplicationID, Environment: req.Environment, Currency: cur, Total: total, Items: items,
		Metadata: req.Metadata, ReturnURL: req.ReturnURL, CancelURL: req.CancelURL, Gateway: req.Gateway, Locale: req.Locale,
	}
	if c := req.Customer; c != nil {
		email, phone, err := normalizeCustomer(c.Email, c.Phone)
		if err != nil {
			return NewSession{}, err
		}
		out.CustomerEmail, out.CustomerPhone, out.CustomerLocked = email, phone, true
	}
	return out, nil
}

func mixedCurrencies(i int, got, want money.Currency) error {
	return pay.Errorf(pay.Invalid, CodeInvalidCurrency, "products[%d] is priced in %s, the session in %s: a session has one currency", i, got, want)
}

// normalizeCustomer checks a preset customer's contact details and
// returns them in the form OTP verification compares.
func normalizeCustomer(email, phone string) (string, string, error) {
	if email == "" && phone == "" {
		return "", "", pay.Errorf(pay.Invalid, "invalid_customer", "customer needs an email or a phone")
	}
	var err error
	if email != "" {
		if email, err = otp.NormalizeIdentifier(otp.Email, email); err != nil {
			return "", "", pay.Errorf(pay.Invalid, "invalid_customer", "customer.email: %s", pay.MessageOf(err))
		}
	}
	if phone != "" {
		if phone, err = otp.NormalizeIdentifier(otp.Phone, phone); err != nil {
			return "", "", pay.Errorf(pay.Invalid, "invalid_customer", "customer.phone: %s", pay.MessageOf(err))
		}
	}
	return email, phone, nil
}

// CodeRequest asks for, or checks, a one-time code.
type CodeRequest struct {
	ApplicationID string
	Environment   pay.Environment
	SessionID     string // the session it is for, or ""
	Channel       otp.Channel
	Identifier    string
	Locale        string
}

// VerificationMethods are the channels a shopper of env can verify by.
func (s *Service) VerificationMethods(env pay.Environment) []otp.Channel {
	if s.flow.OTP == nil {
		return []otp.Channel{}
	}
	return s.flow.OTP.Channels(env)
}

// SendCode sends a one-time code for r and returns the verification id
// and how long the code is valid.
func (s *Service) SendCode(ctx context.Context, r CodeRequest) (string, time.Duration, error) {
	if s.flow.OTP == nil {
		return "", 0, pay.Errorf(pay.Unavailable, otp.CodeUnavailable, "verification by one-time code is not available")
	}
	a, err := s.app(ctx, r.ApplicationID)
	if err != nil {
		return "", 0, err
	}
	if err := s.checkCodeSession(ctx, r); err != nil {
		return "", 0, err
	}
	if t := s.flow.Tracer; t != nil {
		var span trace.Span
		ctx, span = t.Start(ctx, "otp.send", trace.WithAttributes(attribute.String("otp.channel", string(r.Channel))))
		defer span.End()
	}
	id, ttl, err := s.flow.OTP.Send(ctx, otp.Request{
		ApplicationID: r.ApplicationID, Environment: r.Environment, SessionID: r.SessionID,
		Channel: r.Channel, Identifier: r.Identifier, Locale: r.Locale, BrandName: cmp.Or(a.DisplayName, a.Name),
	})
	if err != nil {
		s.flow.Metrics.OTP(string(r.Channel), metrics.OTPSendFailed)
		tracing.Fail(trace.SpanFromContext(ctx), err)
	} else {
		s.flow.Metrics.OTP(string(r.Channel), metrics.OTPSent)
	}
	return id, ttl, err
}

// Verified is a code that verified, with its payment verification token.
type Verified struct {
	Token      string
	ExpiresAt  time.Time
	Identifier string // normalised
}

// VerifyCode checks a one-time code and, if it verifies, issues the
// payment verification token bound to the application environment, the
// identifier, its channel and, when the code was for one, the session.
func (s *Service) VerifyCode(ctx context.Context, r CodeRequest, code string) (Verified, error) {
	if s.flow.OTP == nil {
		return Verified{}, pay.Errorf(pay.Unavailable, otp.CodeUnavailable, "verification by one-time code is not available")
	}
	v, err := s.flow.OTP.Verify(ctx, otp.Request{
		ApplicationID: r.ApplicationID, Environment: r.Environment, SessionID: r.SessionID,
		Channel: r.Channel, Identifier: r.Identifier,
	}, code)
	if err != nil {
		s.flow.Metrics.OTP(string(r.Channel), metrics.OTPFailed)
		return Verified{}, err
	}
	s.flow.Metrics.OTP(string(r.Channel), metrics.OTPVerified)
	tok, exp, err := s.tokens.Issue(ctx, token.Claims{
		Type: token.TypeVerification, ApplicationID: r.ApplicationID, Environment: r.Environment,
		SessionID: r.SessionID, Identifier: v.Identifier, Channel: string(v.Channel),
	}, VerificationTTL)
	if err != nil {
		return Verified{}, fmt.Errorf("checkout: verification token: %w", err)
	}
	return Verified{Token: tok, ExpiresAt: exp, Identifier: v.Identifier}, nil
}

// checkCodeSession refuses a code for a session that is not the
// application's, is closed, or is locked to another customer.
func (s *Service) checkCodeSession(ctx context.Context, r CodeRequest) error {
	if r.SessionID == "" {
		return nil
	}
	sess, err := s.store.SessionSummary(ctx, r.ApplicationID, r.Environment, r.SessionID)
	if err != nil {
		return sessionNotFound(err)
	}
	if sess.Status.Final() {
		return pay.Errorf(pay.Conflict, "session_closed", "this session is %s", sess.Status)
	}
	if sess.Customer.Locked {
		id, err := otp.NormalizeIdentifier(r.Channel, r.Identifier)
		if err != nil {
			return err
		}
		if !sameCustomer(sess.Customer, string(r.Channel), id) {
			return pay.Errorf(pay.Forbidden, "customer_mismatch", "this session can only be paid by its own customer")
		}
	}
	return nil
}

// HasPermission reports whether an SDK token grants perm.
func HasPermission(c token.Claims, perm string) bool { return slices.Contains(c.Permissions, perm) }
