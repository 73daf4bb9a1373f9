package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// totpPeriod is the TOTP step every authenticator app uses by default.
const totpPeriod = 30

// backupCodeCount is how many backup codes enabling two-factor gives.
const backupCodeCount = 10

// TwoFactorSetup is what an authenticator app needs: the secret, and the
// otpauth:// URL a QR code carries.
type TwoFactorSetup struct {
	Secret     string
	OTPAuthURL string
}

// SetupTwoFactor starts two-factor set-up for u: a new secret, stored
// sealed, that takes effect once EnableTwoFactor sees a code made with
// it. While two-factor is on, it must be disabled first.
func (s *Service) SetupTwoFactor(ctx context.Context, u pay.User) (TwoFactorSetup, error) {
	if u.TOTPEnabled {
		return TwoFactorSetup{}, pay.Errorf(pay.Conflict, "two_factor_enabled", "two-factor is on already: disable it first to set up a new authenticator")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.opts.Issuer, AccountName: u.Email, Period: totpPeriod})
	if err != nil {
		return TwoFactorSetup{}, fmt.Errorf("account: two-factor set-up: %w", err)
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		return tx.SetUserTOTP(ctx, u.ID, s.vault.Seal(key.Secret()), false, s.now().UTC())
	})
	if err != nil {
		return TwoFactorSetup{}, fmt.Errorf("account: two-factor set-up: %w", err)
	}
	return TwoFactorSetup{Secret: key.Secret(), OTPAuthURL: key.URL()}, nil
}

// EnableTwoFactor turns two-factor on once code proves the authenticator
// holds the secret of SetupTwoFactor, and returns fresh backup codes,
// shown this once.
func (s *Service) EnableTwoFactor(ctx context.Context, u pay.User, code string, by Actor) ([]string, error) {
	if u.TOTPEnabled {
		return nil, pay.Errorf(pay.Conflict, "two_factor_enabled", "two-factor is on already")
	}
	if u.TOTPSealed == "" {
		return nil, pay.Errorf(pay.Conflict, "two_factor_not_set_up", "call POST /auth/2fa/setup first")
	}
	secret, err := s.vault.Open(u.TOTPSealed)
	if err != nil {
		return nil, fmt.Errorf("account: enable two-factor: %w", err)
	}
	step, ok := s.matchTOTP(secret, code)
	if !ok {
		return nil, pay.Errorf(pay.Invalid, "invalid_two_factor_code", "the code does not match: check the authenticator's clock and try the current code")
	}
	codes := make([]string, backupCodeCount)
	hashes := make([]string, backupCodeCount)
	for i := range codes {
		codes[i] = newBackupCode()
		hashes[i] = hashToken(normalizeBackupCode(codes[i]))
	}
	now := s.now().UTC()
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserTOTP(ctx, u.ID, u.TOTPSealed, true, now); err != nil {
			return err
		}
		if _, err := tx.AdvanceTOTPStep(ctx, u.ID, step); err != nil {
			return err
		}
		if err := tx.ReplaceBackupCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: u.MerchantID, Action: "2fa.enable", TargetType: "user", TargetID: u.ID}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("account: enable two-factor: %w", err)
	}
	return codes, nil
}

// DisableTwoFactor turns two-factor off; it needs a current code (or a
// backup code), so a session left open is not enough to remove it.
func (s *Service) DisableTwoFactor(ctx context.Context, u pay.User, code string, by Actor) error {
	if !u.TOTPEnabled {
		return pay.Errorf(pay.Conflict, "two_factor_disabled", "two-factor is not on")
	}
	ok, err := s.useSecondFactor(ctx, u, code)
	if err != nil {
		return err
	}
	if !ok {
		return pay.Errorf(pay.Invalid, "invalid_two_factor_code", "the code is wrong or was used already")
	}
	now := s.now().UTC()
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserTOTP(ctx, u.ID, "", false, now); err != nil {
			return err
		}
		if err := tx.ReplaceBackupCodes(ctx, u.ID, nil); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: u.MerchantID, Action: "2fa.disable", TargetType: "user", TargetID: u.ID}, now)
	})
	if err != nil {
		return fmt.Errorf("account: disable two-factor: %w", err)
	}
	return nil
}

// useSecondFactor accepts a TOTP code not used before, or an unused
// backup code, spending it.
func (s *Service) useSecondFactor(ctx context.Context, u pay.User, code string) (bool, error) {
	code = strings.TrimSpace(code)
	if len(code) > 32 {
		return false, nil
	}
	secret, err := s.vault.Open(u.TOTPSealed)
	if err != nil {
		return false, fmt.Errorf("account: second factor: %w", err)
	}
	var ok bool
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if step, match := s.matchTOTP(secret, code); match {
			// Each step's code works once: a code seen over a shoulder
			// or replayed from a log is spent.
			ok, err = tx.AdvanceTOTPStep(ctx, u.ID, step)
			return err
		}
		ok, err = tx.UseBackupCode(ctx, u.ID, hashToken(normalizeBackupCode(code)), s.now().UTC())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("account: second factor: %w", err)
	}
	return ok, nil
}

// matchTOTP checks code against the steps around now (one either side,
// for clocks a little apart) and says which step it matched.
func (s *Service) matchTOTP(secret, code string) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	now := s.now().UTC()
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	for _, d := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// backupAlphabet leaves out characters people confuse (0/o, 1/l/i).
const backupAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// newBackupCode is ten characters (about 49 bits) shown as xxxxx-xxxxx.
func newBackupCode() string {
	var b [10]byte
	for i := range b {
		var one [1]byte
		for {
			rand.Read(one[:])
			// 248 = 8×31: rejecting the rest keeps characters equally likely.
			if one[0] < 248 {
				break
			}
		}
		b[i] = backupAlphabet[int(one[0])%len(backupAlphabet)]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

func normalizeBackupCode(c string) string {
	return strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(c, "-", ""), " ", ""))
}
