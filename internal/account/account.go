// Package account is a merchant's team: people who sign in with a
// password and, when they turn it on, a second factor; their browser
// sessions and personal access tokens; invites and password resets by
// mail; roles; and the audit log of what each of them changed. The
// management API and the CLI both go through it.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/vault"
)

// Options are the account rules an installation may tune; zero fields
// take the defaults named beside them.
type Options struct {
	// IdleTimeout ends a session unused that long (12 h); SessionLifetime
	// ends it whatever happens (7 days).
	IdleTimeout     time.Duration
	SessionLifetime time.Duration
	// Throttling of sign-ins: after AccountFailures failed attempts on one
	// email (5), or AddressFailures from one client address (20), within
	// FailureWindow (15 min), sign-ins are refused until the window moves
	// on. From the third failure on, each failed answer is slowed by
	// Slowdown (250 ms) per failure past the second, at most 1 s.
	AccountFailures int
	AddressFailures int
	FailureWindow   time.Duration
	Slowdown        time.Duration
	// Hashing is the password hash cost (DefaultHashing).
	Hashing Hashing
	// Mailer sends invites and password resets; nil sends none (invites
	// are then refused, resets silently not sent).
	Mailer otp.Sender
	// PublicURL is the base of the links mailed (…/dashboard/invite?token=).
	PublicURL string
	// Issuer names the installation in authenticator apps ("sakk").
	Issuer string
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.IdleTimeout, 12*time.Hour)
	def(&o.SessionLifetime, 7*24*time.Hour)
	def(&o.FailureWindow, 15*time.Minute)
	def(&o.Slowdown, 250*time.Millisecond)
	if o.AccountFailures == 0 {
		o.AccountFailures = 5
	}
	if o.AddressFailures == 0 {
		o.AddressFailures = 20
	}
	if o.Hashing == (Hashing{}) {
		o.Hashing = DefaultHashing
	}
	if o.Issuer == "" {
		o.Issuer = "sakk"
	}
}

// Service carries out account operations.
type Service struct {
	store *store.Store
	vault *vault.Box
	now   func() time.Time
	opts  Options
	// dummyHash is checked against when an email is unknown, so that an
	// unknown email costs the same time as a wrong password.
	dummyHash string
}

// New returns a Service. now is the clock (time.Now in production).
func New(st *store.Store, box *vault.Box, now func() time.Time, o Options) *Service {
	o.defaults()
	return &Service{store: st, vault: box, now: now, opts: o, dummyHash: o.Hashing.hashPassword(randomText(16))}
}

// Limits on what people type: long enough for any real name or
// passphrase, short enough that hashing one costs nothing unusual.
const (
	minPassword = 10
	maxPassword = 128
	maxName     = 100
	maxEmail    = 254
)

// NormalizeEmail checks an email address and returns it lower-case.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > maxEmail || !strings.Contains(e, "@") {
		return "", pay.Errorf(pay.Invalid, "invalid_email", "%q is not an email address", s)
	}
	return e, nil
}

func checkNewPassword(password, email string) error {
	switch n := utf8.RuneCountInString(password); {
	case !utf8.ValidString(password):
		return pay.Errorf(pay.Invalid, "invalid_password", "the password is not valid UTF-8")
	case n < minPassword:
		return pay.Errorf(pay.Invalid, "weak_password", "a password needs at least %d characters", minPassword)
	case len(password) > maxPassword:
		return pay.Errorf(pay.Invalid, "invalid_password", "a password is limited to %d bytes", maxPassword)
	case strings.EqualFold(password, email):
		return pay.Errorf(pay.Invalid, "weak_password", "the password cannot be the email address")
	}
	return nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxName || strings.ContainsFunc(name, isControl) {
		return "", pay.Errorf(pay.Invalid, "invalid_name", "a name is up to %d printable characters", maxName)
	}
	return name, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

// NewUser is a request to create a user.
type NewUser struct {
	Email, Name, Password string
	Role                  pay.Role
	// MerchantID names an existing merchant; else MerchantName names one,
	// created when no merchant has that name.
	MerchantID, MerchantName string
}

// CreateUser creates a user (and its merchant when named and new): how an
// operator makes a merchant's first owner.
func (s *Service) CreateUser(ctx context.Context, req NewUser, by Actor) (pay.User, error) {
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		return pay.User{}, err
	}
	name, err := checkName(req.Name)
	if err != nil {
		return pay.User{}, err
	}
	if err := checkNewPassword(req.Password, email); err != nil {
		return pay.User{}, err
	}
	if !req.Role.Valid() {
		return pay.User{}, pay.Errorf(pay.Invalid, "invalid_role", "role must be one of owner, admin, developer, support, viewer, not %q", req.Role)
	}
	merchantName := strings.TrimSpace(req.MerchantName)
	if (req.MerchantID == "") == (merchantName == "") {
		return pay.User{}, pay.Errorf(pay.Invalid, "invalid_merchant", "name the merchant by its id or by its name, one of the two")
	}
	now := s.now().UTC()
	u := pay.User{ID: pay.NewID(pay.PrefixUser), Email: email, Name: name, Role: req.Role,
		PasswordHash: s.opts.Hashing.hashPassword(req.Password), CreatedAt: now, UpdatedAt: now}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if req.MerchantID != "" {
			if _, err := tx.Merchant(ctx, req.MerchantID); err != nil {
				return err
			}
			u.MerchantID = req.MerchantID
		} else {
			m, err := tx.MerchantByName(ctx, merchantName)
			if pay.KindOf(err) == pay.NotFound {
				m = pay.Merchant{ID: pay.NewID(pay.PrefixMerchant), Name: merchantName, CreatedAt: now}
				err = tx.CreateMerchant(ctx, m)
			}
			if err != nil {
				return err
			}
			u.MerchantID = m.ID
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: u.MerchantID, Action: "users.create", TargetType: "user", TargetID: u.ID,
			Changes: Changes{"email": {nil, email}, "role": {nil, string(u.Role)}}}, now)
	})
	if pay.KindOf(err) == pay.Conflict {
		return pay.User{}, pay.Errorf(pay.Conflict, "email_taken", "a user with email %s exists already", email)
	}
	if err != nil {
		return pay.User{}, fmt.Errorf("account: create user: %w", err)
	}
	return u, nil
}

// randomText is n random bytes as URL-safe base64.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how session cookies, access tokens, backup codes and
// mailed tokens are stored: each carries enough randomness that a plain
// SHA-256 cannot be reversed, and lookup by hash is direct.
func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}
