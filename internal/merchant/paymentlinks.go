package merchant

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// Limits on a payment link's contents. They are within a session's own
// (checkout.MaxItems, checkout.MaxQuantity, checkout.MaxTextLen), so that
// every link that is accepted can open its sessions.
const (
	MaxPaymentLinkItems    = 100
	MaxPaymentLinkQuantity = 1_000_000
	maxLinkTextLen         = 255
)

// MaxPaymentLinksPage bounds one page of PaymentLinks.
const MaxPaymentLinksPage = 100

// PaymentLinkLine is one line of a new payment link: a catalog product
// named by StoreCode, or an inline item with its own Name and UnitPrice.
type PaymentLinkLine struct {
	StoreCode string // a catalog product of the application; "" for an inline item
	// Inline items only.
	Name      string
	UnitPrice money.Amount // in the link's currency, greater than zero
	Reference string       // the merchant's own item id; "" makes one from the line's place
	ImageURL  string
	Quantity  int64 // from 1 to MaxPaymentLinkQuantity
}

// NewPaymentLink is a request to create a payment link.
type NewPaymentLink struct {
	ApplicationID string
	Environment   pay.Environment
	// Currency is that of every line; "" takes the first line's.
	Currency money.Currency
	Lines    []PaymentLinkLine
	// QuantityLimit, when set, is how many paid payments the link may take
	// (at least 1); nil for no limit.
	QuantityLimit *int64
	ExpiresAt     time.Time // zero: never; else in the future
	// Inactive creates the link switched off; by default it is active.
	Inactive bool
}

// CreatePaymentLink validates and stores a new link. Catalog lines are
// read from the application's products now and copied into the link, so
// the link keeps charging what the merchant saw when making it.
func (s *Service) CreatePaymentLink(ctx context.Context, req NewPaymentLink) (pay.PaymentLink, error) {
	now := s.now().UTC()
	if !req.Environment.Valid() {
		return pay.PaymentLink{}, pay.Errorf(pay.Invalid, "invalid_environment", "environment must be sandbox or live, not %q", req.Environment)
	}
	if _, ok := money.Lookup(string(req.Currency)); req.Currency != "" && !ok {
		return pay.PaymentLink{}, pay.Errorf(pay.Invalid, "invalid_currency", "%q is not an ISO 4217 currency code", req.Currency)
	}
	app, err := s.store.Application(ctx, req.ApplicationID)
	if err != nil {
		return pay.PaymentLink{}, fmt.Errorf("merchant: create payment link: %w", err)
	}
	l := pay.PaymentLink{
		ID: pay.NewID(pay.PrefixPaymentLink), ApplicationID: app.ID, Environment: req.Environment,
		Currency: req.Currency, Active: !req.Inactive, CreatedAt: now, UpdatedAt: now,
	}
	if l.Items, err = s.linkItems(ctx, app.ID, &l.Currency, req.Lines); err != nil {
		return pay.PaymentLink{}, err
	}
	if _, ok := money.Lookup(string(l.Currency)); !ok {
		return pay.PaymentLink{}, pay.Errorf(pay.Invalid, "invalid_currency", "%q is not an ISO 4217 currency code", l.Currency)
	}
	if !app.Accepts(l.Currency) {
		return pay.PaymentLink{}, pay.Errorf(pay.Invalid, "invalid_currency", "this application does not accept %s", l.Currency)
	}
	if total, ok := l.Total(); !ok || !total.IsPositive() {
		return pay.PaymentLink{}, pay.Errorf(pay.Invalid, "invalid_items", "the items add up to more than sakk can represent")
	}
	if req.QuantityLimit != nil {
		if *req.QuantityLimit < 1 {
			return pay.PaymentLink{}, pay.Errorf(pay.Invalid, "invalid_quantity_limit", "quantityLimit must be at least 1, or absent for no limit")
		}
		l.QuantityLimit = *req.QuantityLimit
	}
	if !req.ExpiresAt.IsZero() {
		if !req.ExpiresAt.After(now) {
			return pay.PaymentLink{}, pay.Errorf(pay.Invalid, "invalid_expires_at", "expiresAt must be in the future")
		}
		// Stored times have microseconds: answer with what a read returns.
		l.ExpiresAt = req.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	if err := s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.CreatePaymentLink(ctx, l) }); err != nil {
		return pay.PaymentLink{}, fmt.Errorf("merchant: create payment link: %w", err)
	}
	return l, nil
}

// linkItems checks a link's lines and turns them into its items, all in
// one currency: *cur, or the first line's when *cur is empty (then set).
func (s *Service) linkItems(ctx context.Context, appID string, cur *money.Currency, lines []PaymentLinkLine) ([]pay.Item, error) {
	switch {
	case len(lines) == 0:
		return nil, pay.Errorf(pay.Invalid, "invalid_items", "a payment link needs at least one item")
	case len(lines) > MaxPaymentLinkItems:
		return nil, pay.Errorf(pay.Invalid, "invalid_items", "a payment link may hold at most %d items", MaxPaymentLinkItems)
	}
	items := make([]pay.Item, len(lines))
	for i, ln := range lines {
		bad := func(code, format string, args ...any) error {
			return pay.Errorf(pay.Invalid, code, "items[%d]: %s", i, fmt.Sprintf(format, args...))
		}
		if ln.Quantity < 1 || ln.Quantity > MaxPaymentLinkQuantity {
			return nil, bad("invalid_items", "quantity must be a whole number from 1 to %d", MaxPaymentLinkQuantity)
		}
		var it pay.Item
		if code := strings.TrimSpace(ln.StoreCode); code != "" {
			p, err := s.store.ProductByStoreCode(ctx, appID, code)
			if pay.KindOf(err) == pay.NotFound {
				return nil, pay.Errorf(pay.NotFound, "product_not_found", "items[%d]: no product with storeCode %q", i, code)
			}
			if err != nil {
				return nil, fmt.Errorf("merchant: create payment link: %w", err)
			}
			it = pay.Item{Reference: p.StoreCode, ProductID: p.ID, Name: p.Title, UnitPrice: p.Price, Quantity: ln.Quantity, ImageURL: p.ImageURL}
		} else {
			name, ref := strings.TrimSpace(ln.Name), strings.TrimSpace(ln.Reference)
			if ref == "" {
				ref = fmt.Sprintf("item-%d", i+1)
			}
			switch {
			case name == "":
				return nil, bad("invalid_items", "an inline item needs a name (or give a storeCode)")
			case len(name) > maxLinkTextLen || len(ref) > maxLinkTextLen:
				return nil, bad("invalid_items", "name and reference are limited to %d bytes", maxLinkTextLen)
			case !utf8.ValidString(name) || !utf8.ValidString(ref):
				return nil, bad("invalid_items", "name and reference must be valid UTF-8")
			}
			if ln.ImageURL != "" {
				if err := checkURL(ln.ImageURL, "image URL", false); err != nil {
					return nil, err
				}
			}
			it = pay.Item{Reference: ref, Name: name, UnitPrice: ln.UnitPrice, Quantity: ln.Quantity, ImageURL: ln.ImageURL}
		}
		if !it.UnitPrice.IsPositive() {
			return nil, bad("invalid_price", "the unit price must be greater than zero")
		}
		if *cur == "" {
			*cur = it.UnitPrice.Currency
		}
		if it.UnitPrice.Currency != *cur {
			return nil, bad("invalid_currency", "priced in %s, but the link is in %s: a link has one currency", it.UnitPrice.Currency, *cur)
		}
		items[i] = it
	}
	return items, nil
}

// PaymentLinks lists the links of an application environment, newest
// first, limit at a time (0 is MaxPaymentLinksPage), each with its count
// of paid payments. cursor is "" for the first page, else a page's next;
// next is "" on the last page.
func (s *Service) PaymentLinks(ctx context.Context, appID string, env pay.Environment, cursor string, limit int) (links []pay.PaymentLink, next string, err error) {
	switch {
	case limit < 0 || limit > MaxPaymentLinksPage:
		return nil, "", pay.Errorf(pay.Invalid, "invalid_limit", "limit must be from 1 to %d", MaxPaymentLinksPage)
	case limit == 0:
		limit = MaxPaymentLinksPage
	}
	// The cursor is the id of the previous page's last link: the listing
	// goes on after its place, which only a link of this application
	// environment can name.
	var after store.Position
	if cursor != "" {
		l, err := s.store.PaymentLink(ctx, cursor)
		if err != nil || l.ApplicationID != appID || l.Environment != env {
			if err == nil || pay.KindOf(err) == pay.NotFound {
				return nil, "", pay.Errorf(pay.Invalid, "invalid_cursor", "cursor is not one this API returned")
			}
			return nil, "", fmt.Errorf("merchant: payment links: %w", err)
		}
		after = store.Position{CreatedAt: l.CreatedAt, ID: l.ID}
	}
	links, err = s.store.PaymentLinks(ctx, appID, env, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("merchant: payment links: %w", err)
	}
	if len(links) > limit {
		links = links[:limit]
		next = links[limit-1].ID
	}
	return links, next, nil
}

// PaymentLink reads one link of an application environment, with its
// count of paid payments. Another application's or environment's link is
// as unknown as one that does not exist.
func (s *Service) PaymentLink(ctx context.Context, appID string, env pay.Environment, id string) (pay.PaymentLink, error) {
	l, err := s.store.PaymentLink(ctx, id)
	if pay.KindOf(err) == pay.NotFound || err == nil && (l.ApplicationID != appID || l.Environment != env) {
		return pay.PaymentLink{}, PaymentLinkNotFound(id)
	}
	if err != nil {
		return pay.PaymentLink{}, fmt.Errorf("merchant: payment link: %w", err)
	}
	return l, nil
}

// SetPaymentLinkActive switches a link on or off and returns it. An
// inactive link's URL shows a page saying so; sessions it opened before
// stay payable until they expire.
func (s *Service) SetPaymentLinkActive(ctx context.Context, appID string, env pay.Environment, id string, active bool) (pay.PaymentLink, error) {
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		return tx.SetPaymentLinkActive(ctx, appID, env, id, active, s.now().UTC())
	})
	if pay.KindOf(err) == pay.NotFound {
		return pay.PaymentLink{}, PaymentLinkNotFound(id)
	}
	if err != nil {
		return pay.PaymentLink{}, fmt.Errorf("merchant: set payment link active: %w", err)
	}
	return s.PaymentLink(ctx, appID, env, id)
}

// PaymentLinkPatch is a change to a payment link; nil fields stay. Its
// items and limit are what buyers were promised, so they never change.
type PaymentLinkPatch struct {
	Active *bool
	// ExpiresAt, when set, is the new end: zero for never, else a time in
	// the future.
	ExpiresAt *time.Time
}

// UpdatePaymentLink changes a link in one transaction and returns it
// before and after.
func (s *Service) UpdatePaymentLink(ctx context.Context, appID string, env pay.Environment, id string, p PaymentLinkPatch) (before, after pay.PaymentLink, err error) {
	now := s.now().UTC()
	var expires time.Time
	if p.ExpiresAt != nil && !p.ExpiresAt.IsZero() {
		if !p.ExpiresAt.After(now) {
			return before, after, pay.Errorf(pay.Invalid, "invalid_expires_at", "expiresAt must be in the future, or null for never")
		}
		// Stored times have microseconds: answer with what a read returns.
		expires = p.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	if before, err = s.PaymentLink(ctx, appID, env, id); err != nil {
		return before, after, err
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		// Only what differs is written, so that a repeated patch leaves
		// updated_at alone.
		if p.Active != nil && *p.Active != before.Active {
			if err := tx.SetPaymentLinkActive(ctx, appID, env, id, *p.Active, now); err != nil {
				return err
			}
		}
		if p.ExpiresAt != nil && !expires.Equal(before.ExpiresAt) {
			return tx.SetPaymentLinkExpiry(ctx, appID, env, id, expires, now)
		}
		return nil
	})
	if err != nil {
		return before, after, fmt.Errorf("merchant: update payment link: %w", err)
	}
	after, err = s.PaymentLink(ctx, appID, env, id)
	return before, after, err
}

// PaymentLinkNotFound is the one answer for a link that does not exist or
// is another application's.
func PaymentLinkNotFound(id string) error {
	return pay.Errorf(pay.NotFound, pay.CodePaymentLinkNotFound, "no payment link %q", id)
}
