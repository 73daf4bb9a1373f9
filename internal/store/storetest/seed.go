package storetest

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// seedBatch is how many payments one transaction of SeedPayments writes:
// a transaction per payment would time the disk's syncs, not the store.
const seedBatch = 5_000

// SeedPayments writes n sandbox payments of application appID, each on
// its own session, spread evenly over [from, from+span): for benchmarks
// of the reports, which need a realistic mix more than particular
// figures. Statuses cycle through five completed, two failed, one
// refunded (in full), one cancelled and one pending in ten; gateways and
// methods through stripe/card, paypal/paypal, myfatoorah/knet and
// myfatoorah/card; every fifth payment is in KWD and the rest in MAD,
// 10.00 to 99.99 (or 1.000 to 9.999); every other session has a verified
// customer.
func SeedPayments(tb testing.TB, st *store.Store, appID string, from time.Time, span time.Duration, n int) {
	tb.Helper()
	statuses := []pay.PaymentStatus{pay.PaymentCompleted, pay.PaymentCompleted, pay.PaymentCompleted, pay.PaymentFailed,
		pay.PaymentCompleted, pay.PaymentRefunded, pay.PaymentCompleted, pay.PaymentFailed, pay.PaymentCancelled, pay.PaymentPending}
	gateways := []struct{ gateway, method string }{{"stripe", "card"}, {"paypal", "paypal"}, {"myfatoorah", "knet"}, {"myfatoorah", "card"}}
	step := span / time.Duration(n)
	ctx := tb.Context()
	for start := 0; start < n; start += seedBatch {
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+seedBatch, n); i++ {
				at := from.Add(time.Duration(i) * step)
				amount := money.New(int64(1000+i%9000), "MAD")
				if i%5 == 0 {
					amount = money.New(int64(1000+i%9000), "KWD")
				}
				status, g := statuses[i%len(statuses)], gateways[i%len(gateways)]
				sess := pay.Session{ID: pay.NewID(pay.PrefixSession), ApplicationID: appID, Environment: pay.Sandbox,
					Status: pay.SessionStatus(status), Amount: amount, ExpiresAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at}
				if i%2 == 0 {
					sess.Customer = pay.Customer{Email: "a@example.com", VerifiedIdentifier: "a@example.com", VerifiedChannel: "email"}
				}
				refunded := money.New(0, amount.Currency)
				if status == pay.PaymentRefunded {
					refunded = amount
				}
				p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: sess.ID, ApplicationID: appID, Environment: pay.Sandbox,
					Gateway: g.gateway, Method: g.method, Status: status, Amount: amount, Refunded: refunded, CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateSession(ctx, sess); err != nil {
					return err
				}
				if err := tx.CreatePayment(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}
