package pay

import (
	"slices"
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

// PartnerStatus is where a partner transaction stands: the AlyaPay API
// Integration's server-to-server, phone-confirmed purchase
// (VENDOR-RESEARCH.md A.5). The strings are that API's: spell them exactly.
type PartnerStatus string

const (
	PartnerPending   PartnerStatus = "PENDING"   // waiting for the customer to confirm by SMS code
	PartnerApproved  PartnerStatus = "APPROVED"  // the customer confirmed: the merchant may ship
	PartnerCanceled  PartnerStatus = "CANCELED"  // cancelled by the merchant while pending
	PartnerExpired   PartnerStatus = "EXPIRED"   // not confirmed within the application's transaction expiry
	PartnerCompleted PartnerStatus = "COMPLETED" // every instalment paid
)

// partnerTransitions is the only place that says which partner status may
// follow which; as with sessions, no status follows itself.
var partnerTransitions = map[PartnerStatus][]PartnerStatus{
	PartnerPending:   {PartnerApproved, PartnerCanceled, PartnerExpired},
	PartnerApproved:  {PartnerCompleted},
	PartnerCanceled:  nil,
	PartnerExpired:   nil,
	PartnerCompleted: nil,
}

// Valid reports whether s is one of the partner statuses above.
func (s PartnerStatus) Valid() bool {
	_, ok := partnerTransitions[s]
	return ok
}

// CanBecome reports whether a transaction in status s may move to next.
func (s PartnerStatus) CanBecome(next PartnerStatus) bool {
	return next.Valid() && slices.Contains(partnerTransitions[s], next)
}

// PartnerTransaction is one partner purchase. Its id is a UUID, as the
// vendor's are; OrderReference is the short code the customer is shown.
type PartnerTransaction struct {
	ID              string
	ApplicationID   string
	Environment     Environment
	OrderReference  string // e.g. "AB12345"
	VendorReference string // the merchant's order id, "" when none
	Status          PartnerStatus
	Total           money.Amount
	CustomerPhone   string // digits only, no "+", as the API takes it
	Items           []PartnerItem
	ExpiresAt       time.Time // zero: never (transaction expiry 0)
	CreatedAt       time.Time
	UpdatedAt       time.Time // zero until the first change
}

// PartnerItem is one line of a partner transaction.
type PartnerItem struct {
	Name       string
	Reference  string // SKU, "" when none
	Quantity   int64
	UnitPrice  money.Amount
	CategoryID *int64 // the vendor's category, when given
}

// Event types of partner transactions in the outbox. Only the Checkout
// webhook format maps them (to transaction.approved, .cancelled and
// .expired); the Public Payment API's format has no partner surface.
const (
	EventPartnerApproved = "partner.approved"
	EventPartnerCanceled = "partner.canceled"
	EventPartnerExpired  = "partner.expired"
)

// PartnerConfig is an application environment's partner configuration
// (GET|PUT /api/v1/public/partner/config): where its AlyaPay-format
// webhooks go, how long a pending transaction waits, and its instalment
// plan.
type PartnerConfig struct {
	ApplicationID     string
	Environment       Environment
	WebhookEndpointID string // the endpoint the config manages, "" when none
	TransactionExpiry int    // minutes; 0: transactions never expire
	Installments      int    // instalments of a purchase's plan
	IntervalDays      int    // days between two instalments' due dates
	UpdatedAt         time.Time
}

// Defaults of a partner configuration never written.
const (
	DefaultTransactionExpiry = 30 // minutes, the vendor's default
	DefaultInstallments      = 4  // the vendor's widgets' default
	DefaultIntervalDays      = 30
)

// DefaultPartnerConfig is the configuration of an application environment
// that never wrote one.
func DefaultPartnerConfig(appID string, env Environment) PartnerConfig {
	return PartnerConfig{ApplicationID: appID, Environment: env, TransactionExpiry: DefaultTransactionExpiry,
		Installments: DefaultInstallments, IntervalDays: DefaultIntervalDays}
}
