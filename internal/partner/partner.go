// Package partner carries out the AlyaPay partner surface's use cases
// (VENDOR-RESEARCH.md A.5–A.7, docs/compat.md): server-to-server
// transactions the customer confirms with a one-time code sent by SMS,
// their lookup, cancellation and expiry; each application environment's
// partner configuration (its AlyaPay-format webhook endpoint, the
// transaction expiry, the instalment plan); and the instalment schedule of
// any transaction, partner or hosted checkout. Every change is written
// with its outbox event in one transaction, like the checkout's.
package partner

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/instalment"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// Limits of a partner transaction, as the vendor documents them.
var (
	MinTotal = money.New(50000, "MAD")   // 500.00 MAD
	MaxTotal = money.New(1500000, "MAD") // 15,000.00 MAD
)

// Field limits, as the vendor documents them.
const (
	MaxNameLen            = 200
	MaxReferenceLen       = 100
	MaxVendorReferenceLen = 100
	MaxItems              = 500
	MinPhoneDigits        = 10
	MaxPhoneDigits        = 15
)

// Codes of the errors this package returns; the HTTP surface spells them
// in capitals and adds the vendor's numeric business code where it has one.
const (
	CodeInvalidPhone       = "invalid_phone"
	CodeInvalidAmount      = checkout.CodeInvalidAmount
	CodeInvalidCurrency    = checkout.CodeInvalidCurrency
	CodeInvalidItems       = checkout.CodeInvalidItems
	CodeAmountMismatch     = checkout.CodeAmountMismatch
	CodeAmountBelowMinimum = "amount_below_minimum"
	CodeAmountAboveMaximum = "amount_above_maximum"
	CodeInvalidVendorRef   = "invalid_vendor_reference"
	CodeNotFound           = "transaction_not_found"
	CodeNotPending         = "transaction_not_pending"
	CodeInvalidConfig      = "invalid_config"
)

// ExpiryChoices are the transaction expiries the vendor's plugins offer,
// in minutes; PutConfig accepts any whole number of minutes from 0 to the
// largest.
var ExpiryChoices = []int{0, 30, 60, 120, 360, 1440}

// Service runs the partner use cases.
type Service struct {
	store    *store.Store
	checkout *checkout.Service
	merchant *merchant.Service
	now      func() time.Time
}

// New returns a Service over the checkout's wiring (its one-time codes,
// its webhook cue, its applications) and the merchant's webhook endpoints.
func New(st *store.Store, co *checkout.Service, ms *merchant.Service, now func() time.Time) *Service {
	return &Service{store: st, checkout: co, merchant: ms, now: now}
}

func invalid(code, format string, args ...any) error {
	return pay.Errorf(pay.Invalid, code, format, args...)
}

func notFound() error {
	return pay.Errorf(pay.NotFound, CodeNotFound, "Transaction not found or does not belong to this merchant")
}

// NewTransaction is a request to open a partner transaction; amounts are
// already parsed exactly in Total's currency.
type NewTransaction struct {
	ApplicationID   string
	Environment     pay.Environment
	CustomerPhone   string
	Total           money.Amount
	Items           []pay.PartnerItem
	VendorReference string
}

// View is a transaction as the partner API shows it: a partner
// transaction, or a hosted checkout session found by its vendorReference
// (what the shop plugins' reconciliation asks about).
type View struct {
	ID              string
	OrderReference  string
	VendorReference string
	Status          pay.PartnerStatus
	Total           money.Amount
	CustomerPhone   string
	MerchantName    string
	StoreName       string
	Items           []pay.PartnerItem
	CreatedAt       time.Time
	UpdatedAt       time.Time // zero: never changed
	// Checkout marks a view of a hosted checkout transaction.
	Checkout bool
}

// checkPhone accepts the vendor's form: 10 to 15 digits, no "+", in
// international form (no leading 0), e.g. 212612345678.
func checkPhone(p string) error {
	if len(p) < MinPhoneDigits || len(p) > MaxPhoneDigits || p[0] == '0' {
		return invalid(CodeInvalidPhone, "customerPhone must be %d to %d digits in international form without +, e.g. 212612345678", MinPhoneDigits, MaxPhoneDigits)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return invalid(CodeInvalidPhone, "customerPhone must hold digits only, without +, e.g. 212612345678")
		}
	}
	return nil
}

// CheckWindow refuses a total outside the vendor's amount window (MAD
// only: the window is the vendor's, in MAD).
func CheckWindow(total money.Amount) error {
	if total.Currency != MinTotal.Currency {
		return nil
	}
	if total.Minor < MinTotal.Minor {
		return invalid(CodeAmountBelowMinimum, "total must be at least %s MAD", money.Format(MinTotal))
	}
	if total.Minor > MaxTotal.Minor {
		return invalid(CodeAmountAboveMaximum, "total must be at most %s MAD", money.Format(MaxTotal))
	}
	return nil
}

func (s *Service) validate(req NewTransaction) error {
	if err := checkPhone(req.CustomerPhone); err != nil {
		return err
	}
	if req.Total.Currency != "MAD" {
		return invalid(CodeInvalidCurrency, "currency must be MAD")
	}
	if !req.Total.IsPositive() {
		return invalid(CodeInvalidAmount, "total must be greater than 0")
	}
	if err := CheckWindow(req.Total); err != nil {
		return err
	}
	if len(req.Items) == 0 {
		return invalid(CodeInvalidItems, "items must hold at least one item")
	}
	if len(req.Items) > MaxItems {
		return invalid(CodeInvalidItems, "items may hold at most %d items", MaxItems)
	}
	sum := money.New(0, req.Total.Currency)
	for i, it := range req.Items {
		switch {
		case strings.TrimSpace(it.Name) == "" || len([]rune(it.Name)) > MaxNameLen:
			return invalid(CodeInvalidItems, "items[%d].name is required, at most %d characters", i, MaxNameLen)
		case len([]rune(it.Reference)) > MaxReferenceLen:
			return invalid(CodeInvalidItems, "items[%d].reference is at most %d characters", i, MaxReferenceLen)
		case it.Quantity < 1 || it.Quantity > checkout.MaxQuantity:
			return invalid(CodeInvalidItems, "items[%d].quantity must be a whole number from 1 to %d", i, checkout.MaxQuantity)
		case it.UnitPrice.Minor < 1:
			return invalid(CodeInvalidItems, "items[%d].unitPrice must be at least 0.01", i)
		}
		line, err := it.UnitPrice.Mul(it.Quantity)
		if err == nil {
			sum, err = sum.Add(line)
		}
		if err != nil {
			return invalid(CodeInvalidItems, "items add up to more than sakk can represent")
		}
	}
	if sum != req.Total {
		return invalid(CodeAmountMismatch, "total %s does not match the sum of unitPrice × quantity, %s", money.Format(req.Total), money.Format(sum))
	}
	if len([]rune(req.VendorReference)) > MaxVendorReferenceLen {
		return invalid(CodeInvalidVendorRef, "vendorReference is at most %d characters", MaxVendorReferenceLen)
	}
	return nil
}

// Create opens a PENDING partner transaction and sends the customer the
// one-time code that confirms it, by SMS through the OTP sender (in the
// sandbox, test numbers 2126000000… get none and confirm with 000000).
// The code is sent before the row is written, so a 201 means the
// customer was asked; a failed send writes nothing (503 otp_unavailable).
func (s *Service) Create(ctx context.Context, req NewTransaction) (View, error) {
	if err := s.validate(req); err != nil {
		return View{}, err
	}
	codes := s.checkout.Codes()
	if codes == nil {
		return View{}, &pay.Error{Kind: pay.Unavailable, Code: otp.CodeUnavailable, Message: "confirmation by SMS is not available"}
	}
	cfg, err := s.store.PartnerConfig(ctx, req.ApplicationID, req.Environment)
	if err != nil {
		return View{}, fmt.Errorf("partner: create: %w", err)
	}
	merchantName, storeName, err := s.checkout.Names(ctx, req.ApplicationID)
	if err != nil {
		return View{}, fmt.Errorf("partner: create: %w", err)
	}
	now := s.now().UTC()
	t := pay.PartnerTransaction{
		ID: pay.NewUUID(), ApplicationID: req.ApplicationID, Environment: req.Environment, OrderReference: newOrderReference(),
		VendorReference: req.VendorReference, Status: pay.PartnerPending, Total: req.Total, CustomerPhone: req.CustomerPhone,
		Items: req.Items, CreatedAt: now,
	}
	if cfg.TransactionExpiry > 0 {
		t.ExpiresAt = now.Add(time.Duration(cfg.TransactionExpiry) * time.Minute)
	}
	if _, _, err := codes.Send(ctx, otp.Request{
		ApplicationID: t.ApplicationID, Environment: t.Environment, SessionID: t.ID,
		Channel: otp.Phone, Identifier: "+" + t.CustomerPhone, BrandName: storeName,
	}); err != nil {
		return View{}, fmt.Errorf("partner: create: %w", err)
	}
	if err := s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.CreatePartnerTransaction(ctx, t) }); err != nil {
		return View{}, fmt.Errorf("partner: create: %w", err)
	}
	return viewOf(t, merchantName, storeName), nil
}

// newOrderReference is the short code of a transaction: two capital
// letters and five digits, as the vendor's "AB12345".
func newOrderReference() string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	var b strings.Builder
	for range 2 {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b.WriteByte(letters[n.Int64()])
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(100000))
	fmt.Fprintf(&b, "%05d", n.Int64())
	return b.String()
}

func viewOf(t pay.PartnerTransaction, merchantName, storeName string) View {
	return View{ID: t.ID, OrderReference: t.OrderReference, VendorReference: t.VendorReference, Status: t.Status, Total: t.Total,
		CustomerPhone: t.CustomerPhone, MerchantName: merchantName, StoreName: storeName, Items: t.Items,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (s *Service) view(ctx context.Context, t pay.PartnerTransaction) (View, error) {
	m, st, err := s.checkout.Names(ctx, t.ApplicationID)
	if err != nil {
		return View{}, fmt.Errorf("partner: %w", err)
	}
	return viewOf(t, m, st), nil
}

// Transaction reads a partner transaction by its id. Another
// application's, or another environment's, is not found.
func (s *Service) Transaction(ctx context.Context, appID string, env pay.Environment, id string) (View, error) {
	t, err := s.store.PartnerTransaction(ctx, appID, env, id)
	if pay.KindOf(err) == pay.NotFound {
		return View{}, notFound()
	}
	if err != nil {
		return View{}, fmt.Errorf("partner: transaction: %w", err)
	}
	return s.view(ctx, t)
}

// ByVendorReference reads the newest transaction the merchant opened with
// its order id ref: a partner transaction, or a hosted checkout session
// (session-intents' vendorReference), whichever is newer. The shop
// plugins' reconciliation asks this about orders opened either way.
func (s *Service) ByVendorReference(ctx context.Context, appID string, env pay.Environment, ref string) (View, error) {
	if ref == "" {
		return View{}, notFound()
	}
	t, perr := s.store.PartnerTransactionByVendor(ctx, appID, env, ref)
	if perr != nil && pay.KindOf(perr) != pay.NotFound {
		return View{}, fmt.Errorf("partner: by vendor reference: %w", perr)
	}
	sid, created, serr := s.store.SessionByVendorReference(ctx, appID, env, ref)
	if serr != nil && pay.KindOf(serr) != pay.NotFound {
		return View{}, fmt.Errorf("partner: by vendor reference: %w", serr)
	}
	switch {
	case serr == nil && (perr != nil || created.After(t.CreatedAt)):
		return s.checkoutView(ctx, appID, env, sid)
	case perr == nil:
		return s.view(ctx, t)
	}
	return View{}, notFound()
}

// checkoutView reads a hosted checkout transaction (a payment or session
// id) as the partner API shows one.
func (s *Service) checkoutView(ctx context.Context, appID string, env pay.Environment, id string) (View, error) {
	tr, err := s.checkout.Transaction(ctx, appID, env, id, "")
	if pay.KindOf(err) == pay.NotFound {
		return View{}, notFound()
	}
	if err != nil {
		return View{}, fmt.Errorf("partner: %w", err)
	}
	v := View{ID: tr.ID(), OrderReference: tr.Session.ID, VendorReference: tr.Session.VendorReference, Status: CheckoutStatus(tr),
		Total: tr.Session.Amount, CustomerPhone: strings.TrimPrefix(tr.Session.Customer.Phone, "+"),
		MerchantName: tr.MerchantName, StoreName: tr.StoreName, CreatedAt: tr.Session.CreatedAt, UpdatedAt: tr.Session.UpdatedAt, Checkout: true}
	if tr.Payment != nil {
		v.Total, v.CreatedAt, v.UpdatedAt = tr.Payment.Amount, tr.Payment.CreatedAt, tr.Payment.UpdatedAt
	}
	// The status read carries no vendorReference or customer: the
	// session's summary does.
	sess, err := s.store.SessionSummary(ctx, appID, env, tr.Session.ID)
	if err != nil {
		return View{}, fmt.Errorf("partner: %w", err)
	}
	v.VendorReference, v.CustomerPhone = sess.VendorReference, strings.TrimPrefix(sess.Customer.Phone, "+")
	return v, nil
}

// CheckoutStatus is a hosted checkout transaction's status in the
// partner API's words. Unlike the seed's status call (which reads
// CANCELED for both), an expired session reads EXPIRED: the plugins'
// reconciliation maps it to their "expired" order status. A refunded one
// reads REFUNDED, as on the status call; the plugins treat it as neither
// paid nor failed.
func CheckoutStatus(t checkout.Transaction) pay.PartnerStatus {
	if t.Payment != nil {
		switch t.Payment.Status {
		case pay.PaymentCompleted:
			return pay.PartnerApproved
		case pay.PaymentRefunded:
			return "REFUNDED"
		case pay.PaymentExpired:
			return pay.PartnerExpired
		case pay.PaymentFailed, pay.PaymentCancelled:
			if t.Session.Status == pay.SessionExpired {
				return pay.PartnerExpired
			}
			if t.Session.Status == pay.SessionFailed {
				return pay.PartnerPending // a declined attempt may be retried while the session lives
			}
			return pay.PartnerCanceled
		}
		return pay.PartnerPending
	}
	switch t.Session.Status {
	case pay.SessionCompleted:
		return pay.PartnerApproved
	case pay.SessionRefunded:
		return "REFUNDED"
	case pay.SessionCancelled:
		return pay.PartnerCanceled
	case pay.SessionExpired:
		return pay.PartnerExpired
	}
	return pay.PartnerPending
}

// Cancel cancels the newest pending partner transaction with the
// merchant's order id ref. One that is no longer pending is refused
// (Invalid, transaction_not_pending: 400, as the vendor answers it).
func (s *Service) Cancel(ctx context.Context, appID string, env pay.Environment, ref string) (View, error) {
	t, err := s.store.PartnerTransactionByVendor(ctx, appID, env, ref)
	if pay.KindOf(err) == pay.NotFound || ref == "" {
		return View{}, notFound()
	}
	if err != nil {
		return View{}, fmt.Errorf("partner: cancel: %w", err)
	}
	t, err = s.move(ctx, t, pay.PartnerCanceled, pay.EventPartnerCanceled, nil)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, t)
}

// Confirm checks the customer's one-time code and approves the
// transaction. A wrong, expired or used code is Invalid invalid_code; a
// transaction no longer pending (or past its expiry) is Invalid
// transaction_not_pending.
func (s *Service) Confirm(ctx context.Context, appID string, env pay.Environment, id, code string) (View, error) {
	t, err := s.store.PartnerTransaction(ctx, appID, env, id)
	if pay.KindOf(err) == pay.NotFound {
		return View{}, notFound()
	}
	if err != nil {
		return View{}, fmt.Errorf("partner: confirm: %w", err)
	}
	now := s.now().UTC()
	if t.Status != pay.PartnerPending || !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return View{}, notPending(t.Status)
	}
	codes := s.checkout.Codes()
	if codes == nil {
		return View{}, &pay.Error{Kind: pay.Unavailable, Code: otp.CodeUnavailable, Message: "confirmation by SMS is not available"}
	}
	if _, err := codes.Verify(ctx, otp.Request{ApplicationID: appID, Environment: env, SessionID: t.ID,
		Channel: otp.Phone, Identifier: "+" + t.CustomerPhone}, code); err != nil {
		return View{}, err
	}
	t, err = s.move(ctx, t, pay.PartnerApproved, pay.EventPartnerApproved, func(cur pay.PartnerTransaction) error {
		if !cur.ExpiresAt.IsZero() && !now.Before(cur.ExpiresAt) {
			return notPending(pay.PartnerExpired)
		}
		return nil
	})
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, t)
}

func notPending(st pay.PartnerStatus) error {
	// 400, as the vendor answers it.
	return &pay.Error{Kind: pay.Invalid, Code: CodeNotPending, Message: "Transaction is not in PENDING status",
		Err: fmt.Errorf("the transaction is %s", st)}
}

// move changes t's status with its event, in one transaction, re-reading
// the row under its lock first: of two concurrent moves, one wins and the
// other is refused as not pending. check, when set, vets the locked row.
func (s *Service) move(ctx context.Context, t pay.PartnerTransaction, to pay.PartnerStatus, event string, check func(pay.PartnerTransaction) error) (pay.PartnerTransaction, error) {
	now := s.now().UTC()
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.PartnerTransaction(ctx, t.ApplicationID, t.Environment, t.ID)
		if err != nil {
			return err
		}
		if !cur.Status.CanBecome(to) {
			return notPending(cur.Status)
		}
		if check != nil {
			if err := check(cur); err != nil {
				return err
			}
		}
		if err := tx.SetPartnerStatus(ctx, cur.ID, cur.Status, to, now); err != nil {
			return err
		}
		cur.Status, cur.UpdatedAt = to, now
		t = cur
		_, err = tx.AddEvent(ctx, partnerEvent(event, cur, now))
		return err
	})
	if errors.Is(err, store.ErrStale) {
		return t, notPending("changed concurrently")
	}
	if pay.CodeOf(err) == CodeNotPending {
		return t, err
	}
	if err != nil {
		return t, fmt.Errorf("partner: %s: %w", strings.ToLower(string(to)), err)
	}
	s.checkout.Committed()
	return t, nil
}

// partnerEvent is the outbox event of a partner transaction's change.
func partnerEvent(typ string, t pay.PartnerTransaction, now time.Time) pay.Event {
	body, err := json.Marshal(pay.EventPayload{
		SessionID: t.ID, PaymentID: t.ID, Status: string(t.Status), AmountMinor: t.Total.Minor, Amount: money.Format(t.Total),
		Currency: string(t.Total.Currency), VendorReference: t.VendorReference, OrderReference: t.OrderReference,
		CustomerPhone: t.CustomerPhone, CreatedAt: t.CreatedAt, OccurredAt: now,
	})
	if err != nil {
		panic(errors.New("partner: event payload: " + err.Error())) // only plain fields: cannot fail
	}
	return pay.Event{ID: pay.NewID(pay.PrefixEvent), ApplicationID: t.ApplicationID, Environment: t.Environment,
		Type: typ, SubjectID: t.ID, Payload: body, CreatedAt: now}
}

// ExpireTransactions ends up to limit pending partner transactions whose
// expiry passed, each with its transaction.expired event, and answers how
// many it ended. It is safe on every instance at once: a transaction
// another instance ended first is skipped.
func (s *Service) ExpireTransactions(ctx context.Context, limit int) (int, error) {
	refs, err := s.store.OverduePartnerTransactions(ctx, s.now().UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("partner: expire: %w", err)
	}
	n := 0
	for _, r := range refs {
		t, err := s.store.PartnerTransaction(ctx, r.ApplicationID, r.Environment, r.ID)
		if err != nil {
			return n, fmt.Errorf("partner: expire: %w", err)
		}
		now := s.now().UTC()
		_, err = s.move(ctx, t, pay.PartnerExpired, pay.EventPartnerExpired, func(cur pay.PartnerTransaction) error {
			if cur.ExpiresAt.IsZero() || now.Before(cur.ExpiresAt) {
				return notPending(cur.Status)
			}
			return nil
		})
		if pay.CodeOf(err) == CodeNotPending {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Plan is the instalment plan of an application environment.
func (s *Service) Plan(ctx context.Context, appID string, env pay.Environment) (instalment.Plan, error) {
	c, err := s.store.PartnerConfig(ctx, appID, env)
	if err != nil {
		return instalment.Plan{}, fmt.Errorf("partner: plan: %w", err)
	}
	return instalment.Plan{Count: c.Installments, IntervalDays: c.IntervalDays}, nil
}

// SessionTTL is how long a hosted checkout session of an application
// environment stays open when it was opened through session-intents: its
// transactionExpiry once it wrote a partner configuration (0 there, and no
// configuration, leave the checkout's own lifetime: 0 here).
func (s *Service) SessionTTL(ctx context.Context, appID string, env pay.Environment) (time.Duration, error) {
	c, err := s.store.PartnerConfig(ctx, appID, env)
	if err != nil {
		return 0, fmt.Errorf("partner: session ttl: %w", err)
	}
	if c.UpdatedAt.IsZero() {
		return 0, nil
	}
	return time.Duration(c.TransactionExpiry) * time.Minute, nil
}
