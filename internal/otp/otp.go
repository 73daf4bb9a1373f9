// Package otp proves that a shopper controls an email address or a phone
// number, with a one-time code sent to it.
//
// A code is six digits drawn uniformly from crypto/rand. The store keeps
// only a keyed hash of it (HMAC-SHA256 under an installation secret that
// is not in the database, over the verification id and the code), so a
// copy of the otp_codes table cannot be turned back into codes. A code
// expires after TTL, allows MaxAttempts wrong tries (the last one burns
// it), verifies once, and is replaced by the next request for the same
// (application, environment, channel, identifier). Verify answers one and
// the same error for a wrong, expired, used, burned, replaced or never
// requested code, so a caller learns nothing beyond "not this one".
// Checking and using a code are single UPDATE statements, so the limits
// hold under any concurrency, on any number of instances.
//
// Rate limiting of requests and verifications per (IP, application,
// identifier) is not done here: the HTTP surface does it with
// internal/ratelimit, which knows the client's address.
//
// Codes reach shoppers through a Sender per channel: SMTPSender for email,
// HTTPSMSSender for SMS. HTTPSMSSender speaks one small documented JSON
// shape, so any provider can be put behind it by a relay:
//
//	POST <URL>
//	Authorization: Bearer <Token>          (when a token is configured)
//	Content-Type: application/json
//
//	{"to": "+212612345678", "text": "123456 is your Shop verification code. …"}
//
// Any 2xx status means sent; anything else (redirects included) is an
// error naming the status, and the body is not read into it.
//
// In the sandbox, the test identifiers (emails at example.com, phones
// starting +2126000000) get no message and the fixed code 000000, stored
// and checked like any other. Other sandbox identifiers go to the
// configured sender; with none for the channel, the code is written to the
// server log (level Info) for the developer to read. In live, a channel
// without a sender is an error (Unavailable, "otp_unavailable") and
// nothing is stored; and no code is ever logged, at any level.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// The rules of a code.
const (
	TTL         = 10 * time.Minute // a code is refused from TTL after its request on
	MaxAttempts = 5                // wrong tries a code survives is MaxAttempts-1; the 5th burns it
	CodeLen     = 6
)

// PrefixVerification starts every verification id: "ver_…".
const PrefixVerification = "ver"

// MinSecretLen is the shortest installation secret New accepts.
const MinSecretLen = 32

// Codes of the errors this package returns, besides CodeInvalidIdentifier.
const (
	// CodeInvalidCode is Verify's one answer for every code that does not
	// verify.
	CodeInvalidCode = "invalid_code"
	// CodeUnavailable: no sender for the channel in live, or the sender
	// failed. Nothing was delivered; the shopper may try again.
	CodeUnavailable = "otp_unavailable"
)

// errInvalidCode is shared by every failure of Verify, so that they are
// indistinguishable down to the message.
func errInvalidCode() error {
	return pay.Errorf(pay.Invalid, CodeInvalidCode, "the code is wrong or has expired")
}

// Service sends and verifies codes. It is safe for concurrent use.
type Service struct {
	store   *store.Store
	senders Senders
	secret  []byte
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Service. secret keys the codes' hashes: at least
// MinSecretLen random bytes, the same on every instance sharing the
// database and kept from one start to the next (a changed secret only
// invalidates the codes in flight). log receives the sandbox codes of
// channels without a sender; nil discards them.
func New(st *store.Store, senders Senders, secret []byte, now func() time.Time, log *slog.Logger) (*Service, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("otp: the secret must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, senders: senders, secret: append([]byte(nil), secret...), now: now, log: log}, nil
}

// Request names who asks for (or checks) a code, and for whom.
type Request struct {
	ApplicationID string
	Environment   pay.Environment
	// SessionID is the checkout session the code is for, or "". Verify
	// accepts a code only with the SessionID it was sent with: a code
	// proves the identifier to the session that asked.
	SessionID  string
	Channel    Channel
	Identifier string // as the shopper typed it: Send and Verify normalise it
	Locale     string // en, fr or ar; anything else is en (Send only)
	BrandName  string // who the message says the code is from (Send only); "" is "Sakk"
}

// Verified is what a successful Verify proves.
type Verified struct {
	VerificationID string
	Channel        Channel
	Identifier     string // normalised
}

// Send makes a new code for the request's identifier, replacing any
// earlier one, and delivers it. It returns the verification id and how
// long the code is valid.
//
// The code is stored before it is sent, so that it never reaches a shopper
// without being checkable; if sending then fails, that new code is simply
// never used. Errors: Invalid ("invalid_identifier", or "invalid_request"
// for a request without application, environment or known channel),
// Unavailable ("otp_unavailable") when the code could not be sent.
func (s *Service) Send(ctx context.Context, r Request) (verificationID string, expiresIn time.Duration, err error) {
	identifier, err := s.check(r)
	if err != nil {
		return "", 0, err
	}
	test := r.Environment == pay.Sandbox && IsTestIdentifier(r.Channel, identifier)
	sender := s.senders.of(r.Channel)
	if sender == nil && !test && r.Environment == pay.Live {
		return "", 0, &pay.Error{Kind: pay.Unavailable, Code: CodeUnavailable, Op: "otp.Send",
			Message: "verification by " + string(r.Channel) + " is not available", Err: errors.New("no sender configured for " + string(r.Channel))}
	}

	code := TestCode
	if !test {
		code = newCode()
	}
	now := s.now().UTC()
	c := store.OTPCode{
		ID:            pay.NewID(PrefixVerification),
		ApplicationID: r.ApplicationID,
		Environment:   r.Environment,
		SessionID:     r.SessionID,
		Channel:       string(r.Channel),
		Identifier:    identifier,
		Attempts:      0,
		ExpiresAt:     now.Add(TTL),
		CreatedAt:     now,
	}
	c.CodeHash = s.hash(c.ID, code)
	if err := s.store.PutOTPCode(ctx, c); err != nil {
		return "", 0, fmt.Errorf("otp: send: %w", err)
	}

	switch {
	case test:
		// A documented test identifier: nothing to deliver.
	case sender == nil:
		// Sandbox only (live returned above): the developer reads the code
		// in the log. This is the only place a code is ever logged.
		s.log.InfoContext(ctx, "sandbox verification code (no sender configured for this channel)",
			"channel", string(r.Channel), "identifier", identifier, "code", code,
			"verification_id", c.ID, "application_id", r.ApplicationID)
	default:
		if err := sender.Send(ctx, message(r.Channel, identifier, r.Locale, r.BrandName, code)); err != nil {
			// err comes from the sender, which never echoes the message.
			return "", 0, &pay.Error{Kind: pay.Unavailable, Code: CodeUnavailable, Op: "otp.Send",
				Message: "the code could not be sent; try again later", Err: err}
		}
	}
	return c.ID, TTL, nil
}

// Verify checks code against the current code of the request's
// identifier and, if it matches and is still live, uses it up. Every
// failure (wrong, expired, already used, out of attempts, replaced by a
// newer request, requested by another session, never requested) is the
// same Invalid "invalid_code" error; a wrong code counts one attempt
// against the live code. Only a malformed request (see Send) or a store
// failure answers anything else.
func (s *Service) Verify(ctx context.Context, r Request, code string) (Verified, error) {
	identifier, err := s.check(r)
	if err != nil {
		return Verified{}, err
	}
	c, err := s.store.OTPCode(ctx, r.ApplicationID, r.Environment, string(r.Channel), identifier)
	if pay.KindOf(err) == pay.NotFound {
		return Verified{}, errInvalidCode()
	}
	if err != nil {
		return Verified{}, fmt.Errorf("otp: verify: %w", err)
	}
	now := s.now().UTC()
	// The hash comparison is constant-time, and done whatever the code
	// looks like, so a malformed code costs what a wrong one does (and
	// counts as one).
	match := hmac.Equal([]byte(s.hash(c.ID, code)), []byte(c.CodeHash)) && c.SessionID == r.SessionID
	if match {
		// The UPDATE re-checks everything (same id, not used, not expired,
		// attempts left) atomically: of concurrent right answers, one wins.
		used, err := s.store.UseOTPCode(ctx, c.ID, now, MaxAttempts)
		if err != nil {
			return Verified{}, fmt.Errorf("otp: verify: %w", err)
		}
		if !used {
			return Verified{}, errInvalidCode()
		}
		return Verified{VerificationID: c.ID, Channel: r.Channel, Identifier: identifier}, nil
	}
	if _, err := s.store.CountOTPFailure(ctx, c.ID, now, MaxAttempts); err != nil {
		return Verified{}, fmt.Errorf("otp: verify: %w", err)
	}
	return Verified{}, errInvalidCode()
}

// check validates the parts of a request both Send and Verify need, and
// returns the normalised identifier.
func (s *Service) check(r Request) (string, error) {
	if r.ApplicationID == "" || !r.Environment.Valid() {
		return "", pay.Errorf(pay.Invalid, "invalid_request", "no application or environment")
	}
	if !r.Channel.Valid() {
		return "", pay.Errorf(pay.Invalid, "invalid_request", "the verification method must be email or phone")
	}
	return NormalizeIdentifier(r.Channel, r.Identifier)
}

// hash is the stored form of a code: HMAC-SHA256 under the installation
// secret of the verification id and the code. The id makes each hash
// unique to its row (equal codes hash apart); the secret makes the table
// alone useless: a million candidates are nothing to try, but without the
// secret no candidate can be checked against a hash.
func (s *Service) hash(id, code string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(id))
	m.Write([]byte{0}) // ids contain no NUL: the split between id and code is unambiguous
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

var million = big.NewInt(1_000_000)

// newCode returns CodeLen decimal digits, each of the 10^6 codes equally
// likely: rand.Int draws by rejection sampling, never by a biased modulo.
func newCode() string {
	n, err := rand.Int(rand.Reader, million)
	if err != nil {
		panic(err) // crypto/rand does not fail (since Go 1.24 it crashes instead)
	}
	return fmt.Sprintf("%0*d", CodeLen, n.Int64())
}

// Channels are the channels a code can be sent by in env: both in the
// sandbox (test identifiers need no sender, and the log stands in for a
// missing one); in live, those with a sender.
func (s *Service) Channels(env pay.Environment) []Channel {
	var chs []Channel
	for _, ch := range []Channel{Email, Phone} {
		if env == pay.Sandbox || s.senders.of(ch) != nil {
			chs = append(chs, ch)
		}
	}
	return chs
}
