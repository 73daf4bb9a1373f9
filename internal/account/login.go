package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// LoginRequest is one sign-in attempt.
type LoginRequest struct {
	Email, Password string
	Code            string // TOTP or backup code; needed when two-factor is on
	IP, UserAgent   string
}

// Session is a signed-in browser: Cookie is the cookie's value, which
// exists only in this answer (the store keeps its hash).
type Session struct {
	User      pay.User
	Cookie    string
	ExpiresAt time.Time
}

// Errors of signing in. A wrong password and an unknown email are the
// same error, answered after the same work.
var (
	errInvalidCredentials = pay.Errorf(pay.Unauthenticated, "invalid_credentials", "the email or password is wrong")
	errTwoFactorRequired  = pay.Errorf(pay.Unauthenticated, "two_factor_required", "enter the code of your authenticator app, or a backup code")
	errInvalidCode        = pay.Errorf(pay.Unauthenticated, "invalid_two_factor_code", "the two-factor code is wrong or was used already")
)

func tooManyAttempts(window time.Duration) error {
	return pay.Errorf(pay.RateLimited, "too_many_attempts", "too many failed sign-ins: try again in %s", window)
}

// Login checks an email and password (and second factor), and opens a new
// session: a session id never survives a sign-in, so one planted before
// it is worthless. previous, the cookie the browser sent, is revoked.
func (s *Service) Login(ctx context.Context, req LoginRequest, previous string) (Session, error) {
	email := strings.ToLower(strings.TrimSpace(req.Email))
	accountKey, addressKey := "login:account:"+hashToken(email), "login:ip:"+req.IP
	now := s.now().UTC()
	since := now.Add(-s.opts.FailureWindow)
	accountFailures, err := s.store.LoginFailures(ctx, accountKey, since)
	if err != nil {
		return Session{}, fmt.Errorf("account: login: %w", err)
	}
	addressFailures, err := s.store.LoginFailures(ctx, addressKey, since)
	if err != nil {
		return Session{}, fmt.Errorf("account: login: %w", err)
	}
	if accountFailures >= s.opts.AccountFailures || addressFailures >= s.opts.AddressFailures {
		return Session{}, tooManyAttempts(s.opts.FailureWindow)
	}
	fail := func(cause error) (Session, error) {
		err := s.store.WithTx(ctx, func(tx *store.Tx) error {
			return tx.RecordLoginFailure(ctx, []string{accountKey, addressKey}, now, since)
		})
		if err != nil {
			return Session{}, fmt.Errorf("account: login: %w", err)
		}
		s.slowDown(ctx, max(accountFailures, addressFailures)+1)
		return Session{}, cause
	}

	u, err := s.store.UserByEmail(ctx, email)
	if pay.KindOf(err) == pay.NotFound {
		checkPassword(s.dummyHash, req.Password)
		return fail(errInvalidCredentials)
	}
	if err != nil {
		return Session{}, fmt.Errorf("account: login: %w", err)
	}
	if len(req.Password) > maxPassword || !checkPassword(u.PasswordHash, req.Password) {
		return fail(errInvalidCredentials)
	}
	if u.TOTPEnabled {
		if req.Code == "" {
			return Session{}, errTwoFactorRequired
		}
		ok, err := s.useSecondFactor(ctx, u, req.Code)
		if err != nil {
			return Session{}, err
		}
		if !ok {
			return fail(errInvalidCode)
		}
	}
	cookie := randomText(32)
	out := Session{User: u, Cookie: cookie, ExpiresAt: now.Add(s.opts.SessionLifetime)}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if previous != "" {
			if err := tx.RevokeLoginSession(ctx, hashToken(previous), now); err != nil {
				return err
			}
		}
		if err := tx.ClearLoginFailures(ctx, accountKey); err != nil {
			return err
		}
		return tx.CreateLoginSession(ctx, store.LoginSession{Hash: hashToken(cookie), UserID: u.ID, IP: req.IP,
			UserAgent: truncate(req.UserAgent, 256), CreatedAt: now, ExpiresAt: out.ExpiresAt})
	})
	if err != nil {
		return Session{}, fmt.Errorf("account: login: %w", err)
	}
	return out, nil
}

// slowDown holds a failed answer back once failures pile up, so that
// guessing slows before it is refused outright.
func (s *Service) slowDown(ctx context.Context, failures int) {
	if failures < 3 {
		return
	}
	d := min(time.Duration(failures-2)*s.opts.Slowdown, time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// touchEvery is how stale a session's last use may be before a request
// writes it again: the idle limit is hours, so a minute of slack costs
// nothing, and most requests then write nothing.
const touchEvery = time.Minute

var errNoSession = pay.Errorf(pay.Unauthenticated, "unauthenticated", "sign in first: the session is missing, expired or ended")

// SessionUser finds the user of a session cookie; a revoked, expired or
// idle session is Unauthenticated.
func (s *Service) SessionUser(ctx context.Context, cookie string) (pay.User, error) {
	hash := hashToken(cookie)
	ls, u, err := s.store.LoginSessionUser(ctx, hash)
	if pay.KindOf(err) == pay.NotFound {
		return pay.User{}, errNoSession
	}
	if err != nil {
		return pay.User{}, fmt.Errorf("account: session: %w", err)
	}
	now := s.now().UTC()
	if !ls.RevokedAt.IsZero() || !now.Before(ls.ExpiresAt) || !now.Before(ls.LastSeenAt.Add(s.opts.IdleTimeout)) {
		return pay.User{}, errNoSession
	}
	if now.Sub(ls.LastSeenAt) >= touchEvery {
		if err := s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.TouchLoginSession(ctx, hash, now) }); err != nil {
			return pay.User{}, fmt.Errorf("account: session: %w", err)
		}
	}
	return u, nil
}

// Logout ends the session of a cookie; an unknown one is no error.
func (s *Service) Logout(ctx context.Context, cookie string) error {
	err := s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.RevokeLoginSession(ctx, hashToken(cookie), s.now().UTC()) })
	if err != nil {
		return fmt.Errorf("account: logout: %w", err)
	}
	return nil
}

// TokenPrefix starts every personal access token, so that a leaked one
// is recognisable (secret scanners) and never mistaken for a key.
const TokenPrefix = "sakk_pat_"

// MaxTokenLifetime bounds a token's expiresIn.
const MaxTokenLifetime = 366 * 24 * time.Hour

// CreatedToken is a new personal access token; Text exists only here.
type CreatedToken struct {
	Token store.AccessToken
	Text  string
}

// CreateToken issues a personal access token acting as u; expiresIn 0
// never expires.
func (s *Service) CreateToken(ctx context.Context, u pay.User, name string, expiresIn time.Duration, by Actor) (CreatedToken, error) {
	name, err := checkName(name)
	if err != nil || name == "" {
		return CreatedToken{}, pay.Errorf(pay.Invalid, "invalid_name", "a token needs a name of up to %d printable characters", maxName)
	}
	if expiresIn < 0 || expiresIn > MaxTokenLifetime {
		return CreatedToken{}, pay.Errorf(pay.Invalid, "invalid_expires_in", "expiresIn must be from 1 second to %d days, or absent", MaxTokenLifetime/(24*time.Hour))
	}
	now := s.now().UTC()
	text := TokenPrefix + randomText(30)
	t := store.AccessToken{ID: pay.NewID(pay.PrefixAccessToken), UserID: u.ID, Name: name, Prefix: text[:len(TokenPrefix)+4],
		Hash: hashToken(text), CreatedAt: now}
	if expiresIn > 0 {
		t.ExpiresAt = now.Add(expiresIn)
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccessToken(ctx, t); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: u.MerchantID, Action: "tokens.create", TargetType: "token", TargetID: t.ID,
			Changes: Changes{"name": {nil, name}}}, now)
	})
	if err != nil {
		return CreatedToken{}, fmt.Errorf("account: create token: %w", err)
	}
	return CreatedToken{Token: t, Text: text}, nil
}

// Tokens lists u's tokens (never their text).
func (s *Service) Tokens(ctx context.Context, u pay.User) ([]store.AccessToken, error) {
	ts, err := s.store.AccessTokens(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("account: tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken revokes one of u's tokens at once.
func (s *Service) RevokeToken(ctx context.Context, u pay.User, id string, by Actor) error {
	now := s.now().UTC()
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeAccessToken(ctx, u.ID, id, now); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: u.MerchantID, Action: "tokens.revoke", TargetType: "token", TargetID: id}, now)
	})
	if pay.KindOf(err) == pay.NotFound {
		return pay.Errorf(pay.NotFound, "token_not_found", "no access token %q", id)
	}
	if err != nil {
		return fmt.Errorf("account: revoke token: %w", err)
	}
	return nil
}

var errBadToken = pay.Errorf(pay.Unauthenticated, "invalid_token", "the access token is invalid, expired or revoked")

// TokenUser finds the user a personal access token acts as. Tokens are
// read from the store on every request, so a revoked one stops at once on
// every instance.
func (s *Service) TokenUser(ctx context.Context, text string) (pay.User, store.AccessToken, error) {
	if !strings.HasPrefix(text, TokenPrefix) {
		return pay.User{}, store.AccessToken{}, errBadToken
	}
	t, u, err := s.store.AccessTokenUser(ctx, hashToken(text))
	if pay.KindOf(err) == pay.NotFound {
		return pay.User{}, t, errBadToken
	}
	if err != nil {
		return pay.User{}, t, fmt.Errorf("account: token: %w", err)
	}
	now := s.now().UTC()
	if !t.ActiveAt(now) {
		return pay.User{}, t, errBadToken
	}
	if now.Sub(t.LastUsedAt) >= touchEvery {
		if err := s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.TouchAccessToken(ctx, t.ID, now) }); err != nil {
			return pay.User{}, t, fmt.Errorf("account: token: %w", err)
		}
	}
	return u, t, nil
}
