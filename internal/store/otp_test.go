package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func newOTPCode(app pay.Application, identifier string) store.OTPCode {
	return store.OTPCode{
		ID: pay.NewID("ver"), ApplicationID: app.ID, Environment: pay.Sandbox, SessionID: "sess_1",
		Channel: "email", Identifier: identifier, CodeHash: "hash-" + identifier,
		ExpiresAt: now.Add(10 * time.Minute), CreatedAt: now,
	}
}

func TestOTPCodeReplace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		if _, err := st.OTPCode(ctx, app.ID, pay.Sandbox, "email", "a@shop.test"); pay.KindOf(err) != pay.NotFound {
			t.Fatalf("no code yet: %v, want NotFound", err)
		}
		first := newOTPCode(app, "a@shop.test")
		if err := st.PutOTPCode(ctx, first); err != nil {
			t.Fatal(err)
		}
		got, err := st.OTPCode(ctx, app.ID, pay.Sandbox, "email", "a@shop.test")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("read back (-put +got):\n%s", diff)
		}

		// A wrong try and a use of the first code, then a new code: the new
		// one starts afresh, and the first one's id no longer works.
		if ok, err := st.CountOTPFailure(ctx, first.ID, now, 5); err != nil || !ok {
			t.Fatalf("count failure: %v, %v", ok, err)
		}
		if ok, err := st.UseOTPCode(ctx, first.ID, now, 5); err != nil || !ok {
			t.Fatalf("use: %v, %v", ok, err)
		}
		second := newOTPCode(app, "a@shop.test")
		second.SessionID, second.CodeHash, second.CreatedAt = "", "other", now.Add(time.Minute)
		if err := st.PutOTPCode(ctx, second); err != nil {
			t.Fatal(err)
		}
		got, err = st.OTPCode(ctx, app.ID, pay.Sandbox, "email", "a@shop.test")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(second, got); diff != "" {
			t.Errorf("after a new code (-put +got):\n%s", diff)
		}
		if ok, _ := st.UseOTPCode(ctx, first.ID, now, 5); ok {
			t.Error("the replaced code's id was used")
		}
		if ok, _ := st.CountOTPFailure(ctx, first.ID, now, 5); ok {
			t.Error("a failure was counted against the replaced code's id")
		}

		// The session's timeline keeps the first code, its wrong try and
		// its use, though otp_codes no longer has it; the second code, sent
		// for no session, is not on any timeline.
		codes, err := st.SessionCodes(ctx, app.ID, pay.Sandbox, "sess_1")
		if err != nil {
			t.Fatal(err)
		}
		want := []store.SessionCode{{ID: first.ID, Channel: "email", Identifier: "a@shop.test", Failures: 1, VerifiedAt: now, SentAt: now}}
		if diff := cmp.Diff(want, codes); diff != "" {
			t.Errorf("session codes (-want +got):\n%s", diff)
		}
		if codes, err := st.SessionCodes(ctx, app.ID, pay.Live, "sess_1"); err != nil || len(codes) != 0 {
			t.Errorf("the live environment sees the sandbox session's codes: %v, %v", codes, err)
		}

		// Another environment, channel or application is another identifier.
		for _, c := range []struct {
			app     string
			env     pay.Environment
			channel string
		}{
			{app.ID, pay.Live, "email"},
			{app.ID, pay.Sandbox, "phone"},
			{newApp(t, st).ID, pay.Sandbox, "email"},
		} {
			if _, err := st.OTPCode(ctx, c.app, c.env, c.channel, "a@shop.test"); pay.KindOf(err) != pay.NotFound {
				t.Errorf("%v: %v, want NotFound", c, err)
			}
		}
	})
}

func TestOTPCodeLiveness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)

		expired := newOTPCode(app, "expired@shop.test")
		if err := st.PutOTPCode(ctx, expired); err != nil {
			t.Fatal(err)
		}
		at := expired.ExpiresAt // expiry is exclusive: at ExpiresAt it is over
		if ok, _ := st.CountOTPFailure(ctx, expired.ID, at, 5); ok {
			t.Error("failure counted on an expired code")
		}
		if ok, _ := st.UseOTPCode(ctx, expired.ID, at, 5); ok {
			t.Error("expired code used")
		}
		if ok, err := st.UseOTPCode(ctx, expired.ID, at.Add(-time.Microsecond), 5); err != nil || !ok {
			t.Errorf("use just before expiry: %v, %v", ok, err)
		}
		if ok, _ := st.UseOTPCode(ctx, expired.ID, now, 5); ok {
			t.Error("code used twice")
		}

		burned := newOTPCode(app, "burned@shop.test")
		if err := st.PutOTPCode(ctx, burned); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if ok, err := st.CountOTPFailure(ctx, burned.ID, now, 3); err != nil || !ok {
				t.Fatalf("failure %d: %v, %v", i+1, ok, err)
			}
		}
		if ok, _ := st.CountOTPFailure(ctx, burned.ID, now, 3); ok {
			t.Error("a failure past the limit was counted")
		}
		if ok, _ := st.UseOTPCode(ctx, burned.ID, now, 3); ok {
			t.Error("a code out of attempts was used")
		}
		c, err := st.OTPCode(ctx, app.ID, pay.Sandbox, "email", "burned@shop.test")
		if err != nil || c.Attempts != 3 {
			t.Errorf("attempts %d (%v), want 3", c.Attempts, err)
		}

		if n, err := st.PruneOTPCodes(ctx, now.Add(10*time.Minute+time.Microsecond)); err != nil || n != 2 {
			t.Errorf("prune: %d, %v; want 2", n, err)
		}
		if _, err := st.OTPCode(ctx, app.ID, pay.Sandbox, "email", "burned@shop.test"); pay.KindOf(err) != pay.NotFound {
			t.Errorf("after prune: %v, want NotFound", err)
		}
	})
}

// TestOTPCodeConcurrency proves the two limits the UPDATEs keep under
// concurrency: one success per code, and no more wrong tries than allowed.
func TestOTPCodeConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		right, wrong := newOTPCode(app, "right@shop.test"), newOTPCode(app, "wrong@shop.test")
		for _, c := range []store.OTPCode{right, wrong} {
			if err := st.PutOTPCode(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		var used, counted atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if ok, err := st.UseOTPCode(ctx, right.ID, now, 5); err != nil {
					t.Error(err)
				} else if ok {
					used.Add(1)
				}
			})
			wg.Go(func() {
				if ok, err := st.CountOTPFailure(ctx, wrong.ID, now, 5); err != nil {
					t.Error(err)
				} else if ok {
					counted.Add(1)
				}
			})
		}
		wg.Wait()
		if n := used.Load(); n != 1 {
			t.Errorf("%d concurrent uses succeeded, want 1", n)
		}
		if n := counted.Load(); n != 5 {
			t.Errorf("%d concurrent failures counted, want 5", n)
		}
		c, err := st.OTPCode(ctx, app.ID, pay.Sandbox, "email", "wrong@shop.test")
		if err != nil || c.Attempts != 5 {
			t.Errorf("attempts %d (%v), want 5", c.Attempts, err)
		}
	})
}
