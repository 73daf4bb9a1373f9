package partner

import (
	"context"
	"fmt"
	"slices"

	"github.com/sakkhq/sakk/internal/instalment"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// Config is an application environment's partner configuration as the
// API shows it. Its webhook endpoint is an ordinary Checkout-format
// endpoint, also listed (and manageable) in the merchant API and the
// dashboard.
type Config struct {
	WebhookURL        string
	WebhookEnabled    bool
	TransactionExpiry int
	Installments      int
	IntervalDays      int
}

// ConfigPatch changes a configuration; nil fields stay.
type ConfigPatch struct {
	WebhookURL        *string
	WebhookEnabled    *bool
	TransactionExpiry *int
	GenerateNewSecret bool
	Installments      *int
	IntervalDays      *int
}

// Config reads an application environment's partner configuration.
func (s *Service) Config(ctx context.Context, appID string, env pay.Environment) (Config, error) {
	c, err := s.store.PartnerConfig(ctx, appID, env)
	if err != nil {
		return Config{}, fmt.Errorf("partner: config: %w", err)
	}
	return s.show(ctx, c)
}

func (s *Service) show(ctx context.Context, c pay.PartnerConfig) (Config, error) {
	out := Config{TransactionExpiry: c.TransactionExpiry, Installments: c.Installments, IntervalDays: c.IntervalDays}
	if c.WebhookEndpointID == "" {
		return out, nil
	}
	w, err := s.merchant.WebhookEndpoint(ctx, c.ApplicationID, c.Environment, c.WebhookEndpointID)
	if pay.KindOf(err) == pay.NotFound {
		return out, nil // deleted through the merchant API since
	}
	if err != nil {
		return out, fmt.Errorf("partner: config: %w", err)
	}
	out.WebhookURL, out.WebhookEnabled = w.URL, w.Enabled
	return out, nil
}

// PutConfig changes an application environment's partner configuration
// and answers it, with the webhook signing secret when one was made: on
// the first webhookUrl (a new endpoint, or an existing Checkout-format
// endpoint of the same URL adopted as it is, whose secret is not shown
// again) and on generateNewSecret. The secret is shown this once.
//
// webhookUrl "" with webhookEnabled false (or "" alone) switches the
// endpoint off; in live, the URL must be https.
func (s *Service) PutConfig(ctx context.Context, appID string, env pay.Environment, p ConfigPatch) (Config, string, error) {
	if p.TransactionExpiry != nil && (*p.TransactionExpiry < 0 || *p.TransactionExpiry > slices.Max(ExpiryChoices)) {
		return Config{}, "", invalid(CodeInvalidConfig, "transactionExpiry must be a whole number of minutes from 0 (never) to %d", slices.Max(ExpiryChoices))
	}
	if p.Installments != nil && (*p.Installments < 1 || *p.Installments > instalment.MaxCount) {
		return Config{}, "", invalid(CodeInvalidConfig, "installments must be from 1 to %d", instalment.MaxCount)
	}
	if p.IntervalDays != nil && (*p.IntervalDays < 1 || *p.IntervalDays > instalment.MaxIntervalDays) {
		return Config{}, "", invalid(CodeInvalidConfig, "installmentIntervalDays must be from 1 to %d", instalment.MaxIntervalDays)
	}
	c, err := s.store.PartnerConfig(ctx, appID, env)
	if err != nil {
		return Config{}, "", fmt.Errorf("partner: put config: %w", err)
	}
	if p.TransactionExpiry != nil {
		c.TransactionExpiry = *p.TransactionExpiry
	}
	if p.Installments != nil {
		c.Installments = *p.Installments
	}
	if p.IntervalDays != nil {
		c.IntervalDays = *p.IntervalDays
	}
	secret, err := s.putWebhook(ctx, &c, p)
	if err != nil {
		return Config{}, "", err
	}
	c.UpdatedAt = s.now().UTC()
	if err := s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.PutPartnerConfig(ctx, c) }); err != nil {
		return Config{}, "", fmt.Errorf("partner: put config: %w", err)
	}
	out, err := s.show(ctx, c)
	return out, secret, err
}

// putWebhook brings the configuration's endpoint in line with the patch.
func (s *Service) putWebhook(ctx context.Context, c *pay.PartnerConfig, p ConfigPatch) (string, error) {
	var cur *pay.WebhookEndpoint
	if c.WebhookEndpointID != "" {
		w, err := s.merchant.WebhookEndpoint(ctx, c.ApplicationID, c.Environment, c.WebhookEndpointID)
		switch {
		case err == nil:
			cur = &w
		case pay.KindOf(err) != pay.NotFound:
			return "", fmt.Errorf("partner: put config: %w", err)
		}
	}
	url := ""
	if cur != nil {
		url = cur.URL
	}
	if p.WebhookURL != nil {
		url = *p.WebhookURL
	}
	enabled := url != ""
	if p.WebhookEnabled != nil {
		enabled = *p.WebhookEnabled && url != ""
	}
	if url == "" {
		if cur != nil && cur.Enabled {
			off := false
			if _, _, err := s.merchant.UpdateWebhook(ctx, c.ApplicationID, c.Environment, cur.ID, merchant.WebhookPatch{Enabled: &off}); err != nil {
				return "", err
			}
		}
		return "", nil
	}
	if cur == nil {
		// Adopt an endpoint the merchant already made for this URL in the
		// Checkout format, rather than sign every event twice to it.
		ws, err := s.merchant.WebhookEndpoints(ctx, c.ApplicationID, c.Environment)
		if err != nil {
			return "", fmt.Errorf("partner: put config: %w", err)
		}
		for i := range ws {
			if ws[i].URL == url && ws[i].Format == pay.WebhookCheckout {
				cur = &ws[i]
				break
			}
		}
	}
	secret := ""
	if cur == nil {
		w, sec, err := s.merchant.AddWebhook(ctx, merchant.NewWebhook{ApplicationID: c.ApplicationID, Environment: c.Environment,
			URL: url, Format: pay.WebhookCheckout})
		if err != nil {
			return "", err
		}
		cur, secret = &w, sec
	}
	c.WebhookEndpointID = cur.ID
	patch := merchant.WebhookPatch{}
	if cur.URL != url {
		patch.URL = &url
	}
	if cur.Enabled != enabled {
		patch.Enabled = &enabled
	}
	if patch.URL != nil || patch.Enabled != nil {
		if _, _, err := s.merchant.UpdateWebhook(ctx, c.ApplicationID, c.Environment, cur.ID, patch); err != nil {
			return "", err
		}
	}
	if p.GenerateNewSecret && secret == "" {
		// The Checkout format carries one signature, made with the newest
		// secret, so the old one has no overlap to keep.
		sec, _, err := s.merchant.RotateWebhookSecret(ctx, cur.ID, 0)
		if err != nil {
			return "", fmt.Errorf("partner: put config: %w", err)
		}
		secret = sec
	}
	return secret, nil
}

// InstalmentStatus is an instalment's status in the vendor's words.
type InstalmentStatus string

const (
	InstalmentPaid      InstalmentStatus = "PAID"
	InstalmentPending   InstalmentStatus = "PENDING"
	InstalmentUpcoming  InstalmentStatus = "UPCOMING"
	InstalmentScheduled InstalmentStatus = "SCHEDULED"
	InstalmentCanceled  InstalmentStatus = "CANCELED"
)

// Schedule is a transaction's instalment plan.
type Schedule struct {
	TransactionID   string
	VendorReference string
	CustomerPhone   string
	Total           money.Amount
	Installments    []ScheduledInstalment
}

// ScheduledInstalment is one instalment with where it stands.
type ScheduledInstalment struct {
	instalment.Instalment
	Status InstalmentStatus
}

// Schedule splits a transaction (a partner transaction, or a hosted
// checkout payment or session) into its application's instalment plan.
// The first instalment is due the day the transaction was approved (else
// opened); while it waits for approval it is PENDING and the rest
// SCHEDULED. Once approved the first is PAID, the next UPCOMING and the
// rest SCHEDULED; once COMPLETED all are PAID; a cancelled or expired
// transaction's are all CANCELED.
func (s *Service) Schedule(ctx context.Context, appID string, env pay.Environment, id string) (Schedule, error) {
	v, err := s.Transaction(ctx, appID, env, id)
	if pay.CodeOf(err) == CodeNotFound {
		v, err = s.checkoutView(ctx, appID, env, id)
	}
	if err != nil {
		return Schedule{}, err
	}
	plan, err := s.Plan(ctx, appID, env)
	if err != nil {
		return Schedule{}, err
	}
	start := v.CreatedAt
	if v.Status == pay.PartnerApproved || v.Status == pay.PartnerCompleted {
		if !v.UpdatedAt.IsZero() {
			start = v.UpdatedAt
		}
	}
	parts, err := instalment.Split(v.Total, start, plan)
	if err != nil {
		return Schedule{}, fmt.Errorf("partner: schedule: %w", err)
	}
	out := Schedule{TransactionID: v.ID, VendorReference: v.VendorReference, CustomerPhone: v.CustomerPhone, Total: v.Total,
		Installments: make([]ScheduledInstalment, len(parts))}
	for i, in := range parts {
		st := InstalmentScheduled
		switch v.Status {
		case pay.PartnerCompleted:
			st = InstalmentPaid
		case pay.PartnerApproved:
			if i == 0 {
				st = InstalmentPaid
			} else if i == 1 {
				st = InstalmentUpcoming
			}
		case pay.PartnerPending:
			if i == 0 {
				st = InstalmentPending
			}
		default:
			st = InstalmentCanceled
		}
		out.Installments[i] = ScheduledInstalment{Instalment: in, Status: st}
	}
	return out, nil
}
