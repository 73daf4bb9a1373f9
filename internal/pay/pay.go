// Package pay is sakk's domain: merchants, applications and their keys,
// catalog products, payment sessions, payment attempts, refunds and the
// events that record every change. It holds the vocabulary and the rules
// that do not depend on any outside system (status transition tables,
// error kinds, identifiers), and imports only the standard library and
// money.
package pay

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

// Environment separates an application's test data and keys from its real
// ones. Nothing created in one environment is visible from the other.
type Environment string

const (
	Sandbox Environment = "sandbox"
	Live    Environment = "live"
)

// Valid reports whether e is a known environment.
func (e Environment) Valid() bool { return e == Sandbox || e == Live }

// KeyTag is the environment's marker inside key strings: sk_test_…, sk_live_….
func (e Environment) KeyTag() string {
	if e == Live {
		return "live"
	}
	return "test"
}

// Merchant is the business that owns applications.
type Merchant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Application is one integration of a merchant (a shop, an app). Each has a
// sandbox and a live environment, with separate keys and separate data.
type Application struct {
	ID         string
	MerchantID string
	Name       string
	BrandLogo  string // logo URL shown on the hosted page
	// DisplayName is the name shoppers see on the hosted page; "" shows Name.
	DisplayName string
	// PrimaryColor is the hosted page's accent, "#rrggbb"; "" keeps sakk's.
	PrimaryColor string
	Permissions  []string // SDK token permissions it grants; none configured grants none
	Modules      []string
	// Currencies it accepts besides DefaultCurrency, which it always does.
	Currencies []money.Currency
	// RateLimit is the requests each of its keys may make per rate-limit
	// window; 0 means the installation's default.
	RateLimit int
	CreatedAt time.Time
}

// DefaultCurrency is accepted by every application.
const DefaultCurrency money.Currency = "MAD"

// Accepts reports whether the application takes payments in c.
func (a Application) Accepts(c money.Currency) bool {
	return c == DefaultCurrency || slices.Contains(a.Currencies, c)
}

// KeyKind says what a key authenticates.
type KeyKind string

const (
	// SecretKey (sk_) authenticates a merchant's backend: never in a browser.
	SecretKey KeyKind = "secret"
	// PublicKey (pk_) names the application next to a secret key.
	PublicKey KeyKind = "public"
	// ClientToken (tk_) is publishable: a browser exchanges it for an SDK
	// token, on a verified domain only.
	ClientToken KeyKind = "client"
)

// Prefix is the start of every key of this kind, before the environment tag.
func (k KeyKind) Prefix() string {
	switch k {
	case SecretKey:
		return "sk"
	case PublicKey:
		return "pk"
	case ClientToken:
		return "tk"
	}
	return ""
}

// APIKey is a stored key. The key itself is shown once, when created; the
// store keeps only its SHA-256 and a short visible prefix for listings.
type APIKey struct {
	ID            string
	ApplicationID string
	Environment   Environment
	Kind          KeyKind
	Prefix        string // e.g. "sk_test_4fQx": enough to tell keys apart
	Hash          string // hex SHA-256 of the whole key
	CreatedAt     time.Time
	ExpiresAt     time.Time // zero: no expiry; set on the old key by a rotation
	RevokedAt     time.Time // zero: not revoked
}

// ActiveAt reports whether the key authenticates at time now.
func (k APIKey) ActiveAt(now time.Time) bool {
	if !k.RevokedAt.IsZero() {
		return false
	}
	return k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt)
}

// Domain is a web origin host an application is allowed to run the SDK on
// and redirect buyers to, once Verified: either the merchant published the
// proof Verification describes, or an operator vouched for it.
type Domain struct {
	ApplicationID string
	Domain        string // lower-case host name, no scheme or port
	Verified      bool
	CreatedAt     time.Time
	// VerificationToken is what the merchant publishes to prove control of
	// the domain. It is not a secret (anyone may read the record), only
	// unguessable, so that no one can prepare a proof for a domain
	// before its owner adds it.
	VerificationToken string
	VerifiedAt        time.Time // zero: not verified, or verified before sakk recorded when
	LastCheckedAt     time.Time // zero: never checked
	LastError         string    // what the last failed check found; empty once verified
}

// DomainChallengePrefix is the label under which a domain's DNS proof is
// published: _sakk-challenge.shop.example.com. An underscore label cannot
// be a host name, so the record never collides with a real one.
const DomainChallengePrefix = "_sakk-challenge."

// DomainProofPath is where a domain's HTTPS proof is served (RFC 8615
// well-known location).
const DomainProofPath = "/.well-known/sakk-domain-verification.txt"

// DomainVerification is what a merchant publishes to verify a domain:
// either the DNS TXT record or the HTTPS file, both holding the same value.
type DomainVerification struct {
	DNS  DNSRecord
	HTTP ProofFile
}

// DNSRecord is a DNS record to create.
type DNSRecord struct {
	Name  string // fully qualified, without the trailing dot
	Type  string // "TXT"
	Value string
}

// ProofFile is a file to serve over HTTPS.
type ProofFile struct {
	URL  string
	Body string // leading and trailing white space is ignored
}

// ProofValue is the text the DNS record and the file must hold.
func (d Domain) ProofValue() string {
	return "sakk-domain-verification=" + d.VerificationToken
}

// Verification describes both ways to prove control of d.
func (d Domain) Verification() DomainVerification {
	return DomainVerification{
		DNS:  DNSRecord{Name: DomainChallengePrefix + d.Domain, Type: "TXT", Value: d.ProofValue()},
		HTTP: ProofFile{URL: "https://" + d.Domain + DomainProofPath, Body: d.ProofValue()},
	}
}

// Product is a catalog entry a session can link by its StoreCode, so that a
// browser can open a session without ever setting a price.
type Product struct {
	ID            string
	ApplicationID string
	StoreCode     string // unique within the application
	Title         string
	Price         money.Amount
	ImageURL      string
	CreatedAt     time.Time
}

// WebhookFormat chooses which surface's event names and signature an
// endpoint receives.
type WebhookFormat string

const (
	// WebhookCheckout: X-Alya-* headers, transaction.* events.
	WebhookCheckout WebhookFormat = "checkout"
	// WebhookPayment: Sakk-Signature header, payment.* events.
	WebhookPayment WebhookFormat = "payment"
)

// Valid reports whether f is a known format.
func (f WebhookFormat) Valid() bool { return f == WebhookCheckout || f == WebhookPayment }

// WebhookEndpoint is a merchant URL that receives signed events of one
// application environment.
type WebhookEndpoint struct {
	ID             string
	ApplicationID  string
	Environment    Environment
	URL            string
	Format         WebhookFormat
	SealedSecret   string // the signing secret, encrypted at rest: it must be read back to sign
	Enabled        bool
	DisabledReason string
	// Events are the event types (the format's names) the endpoint
	// receives; empty: every event.
	Events    []string
	CreatedAt time.Time
}

// Wants tells whether the endpoint receives events of type t.
func (w WebhookEndpoint) Wants(t string) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, t)
}

// Customer is who pays a session. Locked customers were set by the
// merchant's backend and count as verified.
type Customer struct {
	Email              string
	Phone              string
	Locked             bool
	VerifiedIdentifier string
	VerifiedChannel    string // "email" or "phone"; empty until verified
}

// Session is one checkout: what is bought, for how much, and where it
// stands. A session is paid at most once, by one of its payment attempts.
type Session struct {
	ID              string
	ApplicationID   string
	Environment     Environment
	Status          SessionStatus
	Amount          money.Amount // the total, exactly the sum of Items
	Items           []Item
	Customer        Customer
	VendorReference string
	Metadata        json.RawMessage // merchant's own data, returned as given; nil when none
	ReturnURL       string
	CancelURL       string
	Gateway         string // requested gateway; empty lets routing choose
	Locale          string
	ExpiresAt       time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Item is one line of a session.
type Item struct {
	Reference string // the merchant's item id, or the catalog store code
	ProductID string // set when the line links a catalog product
	Name      string
	UnitPrice money.Amount
	Quantity  int64
	ImageURL  string
}

// Payment is one attempt to charge a session through one gateway.
type Payment struct {
	ID               string
	SessionID        string
	ApplicationID    string
	Environment      Environment
	Gateway          string
	Method           string // "card", or the off-site method
	Status           PaymentStatus
	Amount           money.Amount
	Refunded         money.Amount // sum of succeeded refunds; never above Amount
	GatewayReference string       // the gateway's own id for the charge
	RedirectURL      string       // where the shopper must go while the attempt requires action
	ErrorCode        string       // why it failed: one of gateway's Decline* codes, or the gateway's own
	ErrorMessage     string       // safe to show the shopper
	Retryable        bool         // a failed attempt may succeed if tried again with the same details
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Refund returns part or all of a completed payment.
type Refund struct {
	ID               string
	PaymentID        string
	ApplicationID    string
	Environment      Environment
	Amount           money.Amount
	Status           string // pending, succeeded, failed
	GatewayReference string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Event records one change, written in the same transaction as the change
// itself (the outbox), and later delivered to webhook endpoints.
type Event struct {
	ID            string
	ApplicationID string
	Environment   Environment
	Type          string // e.g. "payment.completed"
	SubjectID     string // the session (or payment) the event is about
	Seq           int64  // order of events about one subject, from 1
	Payload       json.RawMessage
	CreatedAt     time.Time
}

// Event types the payment flow writes to the outbox. Each webhook format
// maps the ones its surface knows to its own names.
const (
	EventPaymentCompleted = "payment.completed"
	EventPaymentFailed    = "payment.failed"
	EventPaymentCancelled = "payment.cancelled"
	EventPaymentExpired   = "payment.expired"
	EventPaymentRefunded  = "payment.refunded" // full or partial (Partial)
	EventSessionCreated   = "session.created"
)

// EventPayload is the JSON payload of every payment event in the outbox,
// written in the transaction of the change; webhook deliveries are
// rendered from it. Amounts are integer minor units of Currency, each
// with a decimal twin carrying the currency's digits.
type EventPayload struct {
	SessionID string `json:"sessionId"`
	PaymentID string `json:"paymentId,omitempty"` // the attempt, when there is one
	// Status is the payment's status after the change, or the session's
	// when there is no attempt.
	Status          string          `json:"status"`
	AmountMinor     int64           `json:"amountMinor"`
	Amount          string          `json:"amount,omitempty"`
	Currency        string          `json:"currency"`
	RefundedMinor   int64           `json:"refundedMinor,omitempty"` // refunded so far
	Refunded        string          `json:"refunded,omitempty"`
	Gateway         string          `json:"gateway,omitempty"`
	Method          string          `json:"method,omitempty"`
	VendorReference string          `json:"vendorReference,omitempty"`
	OrderReference  string          `json:"orderReference,omitempty"` // partner transactions' short code
	CustomerEmail   string          `json:"customerEmail,omitempty"`
	CustomerPhone   string          `json:"customerPhone,omitempty"`
	MerchantName    string          `json:"merchantName,omitempty"` // filled by the dispatcher when empty
	StoreName       string          `json:"storeName,omitempty"`    // the application's name; likewise
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	ErrorCode       string          `json:"errorCode,omitempty"`
	ErrorMessage    string          `json:"errorMessage,omitempty"`
	// Refund events only: the refund this event is about.
	RefundID          string `json:"refundId,omitempty"`
	RefundAmountMinor int64  `json:"refundAmountMinor,omitempty"`
	RefundAmount      string `json:"refundAmount,omitempty"`
	Partial           *bool  `json:"partial,omitempty"` // the payment is not yet refunded in full (refund events: always set)
	// CreatedAt is when the payment (else the session) was created;
	// OccurredAt when the change happened.
	CreatedAt  time.Time `json:"createdAt"`
	OccurredAt time.Time `json:"occurredAt"`
}
