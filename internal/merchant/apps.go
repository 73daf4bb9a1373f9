package merchant

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// Application reads an application, as the store holds it now.
func (s *Service) Application(ctx context.Context, id string) (pay.Application, error) {
	a, err := s.store.Application(ctx, id)
	if err != nil {
		return pay.Application{}, fmt.Errorf("merchant: application: %w", err)
	}
	return a, nil
}

// Applications lists a merchant's applications, oldest first.
func (s *Service) Applications(ctx context.Context, merchantID string) ([]pay.Application, error) {
	as, err := s.store.Applications(ctx, merchantID)
	if err != nil {
		return nil, fmt.Errorf("merchant: applications: %w", err)
	}
	return as, nil
}

// ApplicationPatch is a change to an application: nil fields stay.
type ApplicationPatch struct {
	Name         *string
	Currencies   *[]money.Currency
	Permissions  *[]string
	Modules      *[]string
	RateLimit    *int
	DisplayName  *string
	LogoURL      *string
	PrimaryColor *string
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// MaxRateLimit bounds an application's own rate limit (requests per
// window per key): beyond it a limit protects nothing.
const MaxRateLimit = 1_000_000

// Check checks p and applies it to a copy of app.
func (p ApplicationPatch) Check(app pay.Application) (pay.Application, error) {
	text := func(field string, v *string, max int, dst *string) error {
		if v == nil {
			return nil
		}
		t := strings.TrimSpace(*v)
		if !utf8.ValidString(t) || utf8.RuneCountInString(t) > max || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return pay.Errorf(pay.Invalid, "invalid_"+field, "%s is up to %d printable characters", field, max)
		}
		*dst = t
		return nil
	}
	if err := text("name", p.Name, 100, &app.Name); err != nil {
		return app, err
	}
	if p.Name != nil && app.Name == "" {
		return app, pay.Errorf(pay.Invalid, "invalid_name", "an application needs a name")
	}
	if err := text("displayName", p.DisplayName, 100, &app.DisplayName); err != nil {
		return app, err
	}
	if p.LogoURL != nil {
		if *p.LogoURL != "" {
			if err := checkURL(*p.LogoURL, "logo URL", true); err != nil {
				return app, err
			}
		}
		app.BrandLogo = *p.LogoURL
	}
	if p.PrimaryColor != nil {
		if *p.PrimaryColor != "" && !hexColor.MatchString(*p.PrimaryColor) {
			return app, pay.Errorf(pay.Invalid, "invalid_primary_color", "primaryColor is a colour as #rrggbb, not %q", *p.PrimaryColor)
		}
		app.PrimaryColor = strings.ToLower(*p.PrimaryColor)
	}
	if p.Currencies != nil {
		app.Currencies = nil
		for _, c := range *p.Currencies {
			if _, ok := money.Lookup(string(c)); !ok {
				return app, pay.Errorf(pay.Invalid, "invalid_currency", "%q is not an ISO 4217 currency sakk knows", c)
			}
			if c != pay.DefaultCurrency && !slices.Contains(app.Currencies, c) {
				app.Currencies = append(app.Currencies, c)
			}
		}
	}
	pick := func(field string, v *[]string, known []string, dst *[]string) error {
		if v == nil {
			return nil
		}
		var out []string
		for _, name := range *v {
			if !slices.Contains(known, name) {
				return pay.Errorf(pay.Invalid, "invalid_"+field, "%q is not one of %s", name, strings.Join(known, ", "))
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
		*dst = out
		return nil
	}
	if err := pick("permissions", p.Permissions, Permissions, &app.Permissions); err != nil {
		return app, err
	}
	if err := pick("modules", p.Modules, Modules, &app.Modules); err != nil {
		return app, err
	}
	if p.RateLimit != nil {
		if *p.RateLimit < 0 || *p.RateLimit > MaxRateLimit {
			return app, pay.Errorf(pay.Invalid, "invalid_rate_limit", "rateLimit is from 0 (the installation's default) to %d", MaxRateLimit)
		}
		app.RateLimit = *p.RateLimit
	}
	return app, nil
}

// UpdateApplication applies p to an application and returns it before
// and after.
func (s *Service) UpdateApplication(ctx context.Context, id string, p ApplicationPatch) (before, after pay.Application, err error) {
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if before, err = tx.Application(ctx, id); err != nil {
			return err
		}
		if after, err = p.Check(before); err != nil {
			return err
		}
		return tx.UpdateApplication(ctx, after)
	})
	if err != nil {
		return before, after, fmt.Errorf("merchant: update application: %w", err)
	}
	return before, after, nil
}

// DeleteApplication deletes an application: its keys stop working at once
// on this instance (within KeyCacheTTL on others), it no longer lists,
// and its payments stay in the store for the books.
func (s *Service) DeleteApplication(ctx context.Context, id string) error {
	var keys []pay.APIKey
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		for _, env := range []pay.Environment{pay.Sandbox, pay.Live} {
			for _, kind := range []pay.KeyKind{pay.SecretKey, pay.PublicKey, pay.ClientToken} {
				ks, err := tx.APIKeys(ctx, id, env, kind)
				if err != nil {
					return err
				}
				keys = append(keys, ks...)
			}
		}
		return tx.DeleteApplication(ctx, id, s.now().UTC())
	})
	for _, k := range keys {
		s.forgetKeys(ctx, k.Hash)
	}
	if err != nil {
		return fmt.Errorf("merchant: delete application: %w", err)
	}
	return nil
}

// APIKeys lists an application's keys of every kind in one environment,
// newest first (hashes only; texts are never kept).
func (s *Service) APIKeys(ctx context.Context, appID string, env pay.Environment) ([]pay.APIKey, error) {
	var out []pay.APIKey
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		for _, kind := range []pay.KeyKind{pay.SecretKey, pay.PublicKey, pay.ClientToken} {
			ks, err := tx.APIKeys(ctx, appID, env, kind)
			if err != nil {
				return err
			}
			out = append(out, ks...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("merchant: keys: %w", err)
	}
	slices.SortFunc(out, func(a, b pay.APIKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// RevokeKey ends one of an application's keys at once; another
// application's key is NotFound.
func (s *Service) RevokeKey(ctx context.Context, appID, keyID string) (pay.APIKey, error) {
	var k pay.APIKey
	now := s.now().UTC()
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if k, err = tx.APIKey(ctx, keyID); err != nil {
			return err
		}
		if k.ApplicationID != appID {
			return pay.Errorf(pay.NotFound, "key_not_found", "no key %q", keyID)
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		k.RevokedAt = now
		return tx.RevokeAPIKey(ctx, keyID, now)
	})
	if pay.KindOf(err) == pay.NotFound {
		return pay.APIKey{}, pay.Errorf(pay.NotFound, "key_not_found", "no key %q", keyID)
	}
	if err != nil {
		return pay.APIKey{}, fmt.Errorf("merchant: revoke key: %w", err)
	}
	s.forgetKeys(ctx, k.Hash)
	return k, nil
}

// Merchant reads a merchant.
func (s *Service) Merchant(ctx context.Context, id string) (pay.Merchant, error) {
	m, err := s.store.Merchant(ctx, id)
	if err != nil {
		return pay.Merchant{}, fmt.Errorf("merchant: %w", err)
	}
	return m, nil
}
