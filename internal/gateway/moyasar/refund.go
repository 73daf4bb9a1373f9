package moyasar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/sakkhq/sakk/internal/gateway"
)

// refundKeyPrefix starts the metadata keys of the refund ledger (see the
// package comment). Charge refuses request metadata under it.
const refundKeyPrefix = "sakk_refund_"

// refundKey is the ledger's metadata key for an idempotency key: a hash,
// so that the key itself (sakk's refund id) is not written at Moyasar and
// the length is fixed.
func refundKey(idemKey string) string {
	sum := sha256.Sum256([]byte("sakk/moyasar/refund\x00" + idemKey))
	return refundKeyPrefix + hex.EncodeToString(sum[:10])
}

// ledgerEntry is one refund in the ledger: its amount and the refunded
// total the payment has once it is done, both in Moyasar's minor unit,
// written "amount:target".
type ledgerEntry struct{ amount, target int64 }

func (e ledgerEntry) String() string {
	return strconv.FormatInt(e.amount, 10) + ":" + strconv.FormatInt(e.target, 10)
}

func parseEntry(v any) (ledgerEntry, bool) {
	s, ok := v.(string)
	if !ok {
		return ledgerEntry{}, false
	}
	a, t, ok := strings.Cut(s, ":")
	if !ok {
		return ledgerEntry{}, false
	}
	amount, err1 := strconv.ParseInt(a, 10, 64)
	target, err2 := strconv.ParseInt(t, 10, 64)
	if err1 != nil || err2 != nil || amount <= 0 || target < amount {
		return ledgerEntry{}, false
	}
	return ledgerEntry{amount, target}, true
}

// Refund refunds req.Amount of the payment req.PaymentReference. Moyasar
// refunds have no idempotency key and no id of their own, so the refund is
// recorded first in the payment's metadata ledger (see the package
// comment) and its Reference is the ledger key's "refund_…" name. A refund
// beyond what is left is refused before anything is sent
// (CodeRefundExceedsCaptured), as is a refund in another currency or of a
// payment that took nothing (CodeNotCaptured).
func (c *Connector) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	const op = "moyasar.Refund"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.RefundResult{}, err
	}
	amount, err := c.moyasarAmount(op, req.Amount)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if req.PaymentReference == "" || len(req.PaymentReference) > maxReferenceLen || !gateway.Printable(req.PaymentReference) {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "no valid charge reference", nil)
	}
	unlock, err := c.refunding.lock(ctx, req.PaymentReference)
	if err != nil {
		return gateway.RefundResult{}, gateway.Unavailable(op, err)
	}
	defer unlock()

	p, err := c.payment(ctx, op, req.PaymentReference)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if !strings.EqualFold(p.Currency, string(req.Amount.Currency)) {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the refund's currency is not the charge's", nil)
	}
	taken := p.Amount
	switch p.Status {
	case "paid", "refunded":
	case "captured":
		if p.Captured > 0 {
			taken = p.Captured
		}
	default:
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeNotCaptured, "the charge took no money to refund (Moyasar status "+p.Status+")", nil)
	}
	key := refundKey(req.IdempotencyKey)
	res := gateway.RefundResult{Reference: strings.TrimPrefix(key, "sakk_")}

	entry, seen := parseEntry(p.Metadata[key])
	switch {
	case p.Metadata[key] != nil && !seen:
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("moyasar: unreadable refund ledger entry "+key))
	case seen && entry.amount != amount:
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key was used for a refund of another amount", nil)
	case seen && p.Refunded >= entry.target:
		// Done before: the answer was lost, or this is a repeat.
		res.Status = gateway.RefundSucceeded
		return res, nil
	case seen && p.Refunded != entry.target-entry.amount:
		// Another refund moved the total since this one was recorded:
		// whether this one happened cannot be told from the total.
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("moyasar: refund ledger entry "+key+" does not match the payment's refunded total"))
	case !seen:
		if p.Refunded < 0 || amount > taken-p.Refunded {
			return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "the refund is more than is left to refund", nil)
		}
		entry = ledgerEntry{amount: amount, target: p.Refunded + amount}
		md := maps.Clone(p.Metadata)
		if md == nil {
			md = map[string]any{}
		}
		md[key] = entry.String()
		if err := c.updateMetadata(ctx, op, p.ID, md); err != nil {
			return gateway.RefundResult{}, err
		}
	}

	// Never retried: without a key at Moyasar, a retry could refund twice.
	// A repeat of the whole call reads the ledger instead.
	status, out, err := c.call(ctx, op, http.MethodPost, "/v1/payments/"+url.PathEscape(p.ID)+"/refund", map[string]int64{"amount": amount}, false)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return gateway.RefundResult{}, c.refundFailure(op, status, out)
	}
	after, err := decodePayment(out)
	if err != nil {
		// Moyasar answered 2xx: the refund was made.
		res.Status = gateway.RefundSucceeded
		return res, nil
	}
	res.Status = gateway.RefundSucceeded
	if after.Refunded < entry.target {
		res.Status = gateway.RefundPending
	}
	return res, nil
}

// updateMetadata replaces the payment's metadata with md (PUT
// /v1/payments/{id}); retrying it is harmless.
func (c *Connector) updateMetadata(ctx context.Context, op, id string, md map[string]any) error {
	status, out, err := c.call(ctx, op, http.MethodPut, "/v1/payments/"+url.PathEscape(id), map[string]any{"metadata": md}, true)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return c.failure(op, status, out)
	}
	return nil
}

// refundFailure is failure for refunds: Moyasar's 400 about the amount is
// a refund beyond what is left.
func (c *Connector) refundFailure(op string, status int, body []byte) error {
	if e, ok := parseError(body); ok && status == http.StatusBadRequest && e.Errors["amount"] != nil {
		return gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "Moyasar refused the refund's amount", &moyasarError{status: status, e: e})
	}
	return c.failure(op, status, body)
}

// keyedLock serializes work per key (here: refunds per payment), waiting
// no longer than the caller's ctx.
type keyedLock struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// lock waits until key is free, takes it, and returns the function that
// frees it.
func (l *keyedLock) lock(ctx context.Context, key string) (func(), error) {
	for {
		l.mu.Lock()
		if l.held == nil {
			l.held = map[string]chan struct{}{}
		}
		ch, busy := l.held[key]
		if !busy {
			ch = make(chan struct{})
			l.held[key] = ch
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, key)
				l.mu.Unlock()
				close(ch)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
