package moyasar

import (
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

// SetBackoff shortens the wait before retries, so that tests of retries
// do not sleep for seconds.
func SetBackoff(c *Connector, d time.Duration) { c.backoff = d }

// ToMoyasar and FromMoyasar expose the amount conversions to the tests.
func ToMoyasar(a money.Amount) (int64, bool) { return toMoyasar(a) }

// FromMoyasar converts back; see fromMoyasar.
func FromMoyasar(v int64, cur string) (money.Amount, bool) { return fromMoyasar(v, cur) }

// RefundKey is the ledger's metadata key for an idempotency key.
func RefundKey(key string) string { return refundKey(key) }
