package otp_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testclock"
)

var secret = bytes.Repeat([]byte("k"), otp.MinSecretLen)

// recorder is a Sender that keeps what it is asked to send.
type recorder struct {
	mu   sync.Mutex
	msgs []otp.Message
	err  error
}

func (r *recorder) Send(_ context.Context, m otp.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) sent() []otp.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]otp.Message(nil), r.msgs...)
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// lastCode returns the code in the last message sent.
func (r *recorder) lastCode(t *testing.T) string {
	t.Helper()
	msgs := r.sent()
	if len(msgs) == 0 {
		t.Fatal("nothing was sent")
	}
	code := sixDigits.FindString(msgs[len(msgs)-1].Text)
	if code == "" {
		t.Fatalf("no code in %q", msgs[len(msgs)-1].Text)
	}
	return code
}

// fixture is a Service over a fresh store with one application.
type fixture struct {
	st    *store.Store
	svc   *otp.Service
	clock *testclock.Clock
	email *recorder
	phone *recorder
	log   *bytes.Buffer
	app   string
}

type fixtureOptions struct {
	noEmail, noPhone bool
}

func newFixture(t *testing.T, st *store.Store, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{
		st:    st,
		clock: testclock.New(time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)),
		email: &recorder{}, phone: &recorder{},
		log: &bytes.Buffer{},
	}
	var senders otp.Senders
	if !o.noEmail {
		senders.Email = f.email
	}
	if !o.noPhone {
		senders.Phone = f.phone
	}
	// Every level, and no timestamps (whose digits could look like a code).
	h := slog.NewTextHandler(syncWriter{w: f.log}, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	svc, err := otp.New(st, senders, secret, f.clock.Now, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	f.app = newApplication(t, st)
	return f
}

var logMu sync.Mutex

type syncWriter struct{ w *bytes.Buffer }

func (s syncWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return s.w.Write(p)
}

func (f *fixture) logged() string {
	logMu.Lock()
	defer logMu.Unlock()
	return f.log.String()
}

func newApplication(t *testing.T, st *store.Store) string {
	t.Helper()
	now := time.Now()
	m := pay.Merchant{ID: pay.NewID(pay.PrefixMerchant), Name: "Shop", CreatedAt: now}
	app := pay.Application{ID: pay.NewID(pay.PrefixApplication), MerchantID: m.ID, Name: "App", CreatedAt: now}
	err := st.WithTx(t.Context(), func(tx *store.Tx) error {
		return errors.Join(tx.CreateMerchant(t.Context(), m), tx.CreateApplication(t.Context(), app))
	})
	if err != nil {
		t.Fatal(err)
	}
	return app.ID
}

func (f *fixture) request(env pay.Environment, ch otp.Channel, identifier string) otp.Request {
	return otp.Request{
		ApplicationID: f.app, Environment: env, SessionID: "sess_1",
		Channel: ch, Identifier: identifier, Locale: "fr", BrandName: "Acme",
	}
}

// send sends a code and returns the verification id and the code the
// recorder of the channel received.
func (f *fixture) send(t *testing.T, r otp.Request) (string, string) {
	t.Helper()
	id, ttl, err := f.svc.Send(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "ver_") || ttl != otp.TTL {
		t.Errorf("Send: %q, %v", id, ttl)
	}
	rec := f.email
	if r.Channel == otp.Phone {
		rec = f.phone
	}
	return id, rec.lastCode(t)
}

func wantInvalidCode(t *testing.T, what string, err error) {
	t.Helper()
	if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != otp.CodeInvalidCode {
		t.Errorf("%s: %v (kind %v, code %q), want Invalid %q", what, err, pay.KindOf(err), pay.CodeOf(err), otp.CodeInvalidCode)
	}
}

// wrongCode returns a well-formed code other than code.
func wrongCode(code string, i int) string {
	w := fmt.Sprintf("%06d", i)
	if w == code {
		w = fmt.Sprintf("%06d", i+500_000)
	}
	return w
}

func TestSendVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		ctx := t.Context()
		r := f.request(pay.Live, otp.Email, "  Buyer@Shop.Test ")
		id, code := f.send(t, r)
		msgs := f.email.sent()
		if len(msgs) != 1 || msgs[0].To != "buyer@shop.test" || msgs[0].Locale != "fr" ||
			!strings.Contains(msgs[0].Subject, code) || !strings.Contains(msgs[0].Subject, "Acme") {
			t.Errorf("sent %+v", msgs)
		}
		if len(f.phone.sent()) != 0 {
			t.Error("an email code went to the phone sender")
		}

		// Verify normalises the identifier as Send did.
		r.Identifier = "buyer@SHOP.test"
		v, err := f.svc.Verify(ctx, r, code)
		if err != nil {
			t.Fatal(err)
		}
		if v != (otp.Verified{VerificationID: id, Channel: otp.Email, Identifier: "buyer@shop.test"}) {
			t.Errorf("Verified %+v", v)
		}
		_, err = f.svc.Verify(ctx, r, code)
		wantInvalidCode(t, "used twice", err)

		// Phone, through its own sender.
		pr := f.request(pay.Live, otp.Phone, "+212 6 12 34 56 78")
		_, code = f.send(t, pr)
		if m := f.phone.sent(); len(m) != 1 || m[0].To != "+212612345678" || m[0].Subject != "" {
			t.Errorf("SMS %+v", m)
		}
		if v, err := f.svc.Verify(ctx, pr, code); err != nil || v.Identifier != "+212612345678" || v.Channel != otp.Phone {
			t.Errorf("phone: %+v, %v", v, err)
		}
	})
}

func TestAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		ctx := t.Context()

		// Four wrong tries leave the code working.
		r := f.request(pay.Live, otp.Email, "four@shop.test")
		_, code := f.send(t, r)
		for i := range otp.MaxAttempts - 1 {
			_, err := f.svc.Verify(ctx, r, wrongCode(code, i))
			wantInvalidCode(t, "wrong code", err)
		}
		if _, err := f.svc.Verify(ctx, r, code); err != nil {
			t.Errorf("right code after %d wrong tries: %v", otp.MaxAttempts-1, err)
		}

		// The fifth burns it.
		r = f.request(pay.Live, otp.Email, "five@shop.test")
		_, code = f.send(t, r)
		for i := range otp.MaxAttempts {
			_, err := f.svc.Verify(ctx, r, wrongCode(code, i))
			wantInvalidCode(t, "wrong code", err)
		}
		_, err := f.svc.Verify(ctx, r, code)
		wantInvalidCode(t, "right code after 5 wrong tries", err)

		// Malformed codes count like wrong ones.
		r = f.request(pay.Live, otp.Email, "junk@shop.test")
		_, code = f.send(t, r)
		for _, junk := range []string{"", "12345", "1234567", "abcdef", code + " ", " " + code[1:]} {
			_, err := f.svc.Verify(ctx, r, junk)
			wantInvalidCode(t, fmt.Sprintf("code %q", junk), err)
		}
		_, err = f.svc.Verify(ctx, r, code)
		wantInvalidCode(t, "right code after 5 malformed tries", err)
	})
}

func TestExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		ctx := t.Context()
		r := f.request(pay.Live, otp.Email, "late@shop.test")
		_, code := f.send(t, r)
		f.clock.Advance(otp.TTL)
		_, err := f.svc.Verify(ctx, r, code)
		wantInvalidCode(t, "expired", err)

		r = f.request(pay.Live, otp.Email, "justintime@shop.test")
		_, code = f.send(t, r)
		f.clock.Advance(otp.TTL - time.Microsecond)
		if _, err := f.svc.Verify(ctx, r, code); err != nil {
			t.Errorf("just before expiry: %v", err)
		}
	})
}

func TestNewRequestReplacesCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		ctx := t.Context()
		r := f.request(pay.Live, otp.Email, "twice@shop.test")
		id1, old := f.send(t, r)
		id2, code := f.send(t, r)
		for code == old { // one chance in a million
			id2, code = f.send(t, r)
		}
		if id1 == id2 {
			t.Error("a new code kept the verification id")
		}
		_, err := f.svc.Verify(ctx, r, old)
		wantInvalidCode(t, "replaced code", err)
		if v, err := f.svc.Verify(ctx, r, code); err != nil || v.VerificationID != id2 {
			t.Errorf("new code: %+v, %v", v, err)
		}

		// A code proves the identifier to the session that asked for it,
		// and to no other; trying it elsewhere counts as a wrong try.
		r.SessionID = "sess_a"
		_, code = f.send(t, r)
		other := r
		other.SessionID = "sess_b"
		_, err = f.svc.Verify(ctx, other, code)
		wantInvalidCode(t, "another session", err)
		if _, err := f.svc.Verify(ctx, r, code); err != nil {
			t.Errorf("own session: %v", err)
		}

		// Environments and applications do not share codes.
		_, code = f.send(t, r)
		for _, o := range []otp.Request{
			{ApplicationID: newApplication(t, st), Environment: pay.Live, SessionID: r.SessionID, Channel: otp.Email, Identifier: r.Identifier},
			{ApplicationID: r.ApplicationID, Environment: pay.Sandbox, SessionID: r.SessionID, Channel: otp.Email, Identifier: r.Identifier},
		} {
			_, err := f.svc.Verify(ctx, o, code)
			wantInvalidCode(t, fmt.Sprintf("app %s env %s", o.ApplicationID, o.Environment), err)
		}
		if _, err := f.svc.Verify(ctx, r, code); err != nil {
			t.Errorf("own application: %v", err)
		}
	})
}

func TestConcurrentVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		ctx := t.Context()

		// Twenty right answers at once: one wins.
		r := f.request(pay.Live, otp.Email, "race@shop.test")
		_, code := f.send(t, r)
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := f.svc.Verify(ctx, r, code)
				switch {
				case err == nil:
					ok.Add(1)
				case pay.CodeOf(err) == otp.CodeInvalidCode:
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != 19 {
			t.Errorf("%d succeeded and %d were refused, want 1 and 19", ok.Load(), refused.Load())
		}

		// Twenty wrong answers at once: five count, and the code is burned.
		r = f.request(pay.Live, otp.Email, "guess@shop.test")
		_, code = f.send(t, r)
		for i := range 20 {
			wg.Go(func() {
				_, err := f.svc.Verify(ctx, r, wrongCode(code, i))
				if pay.CodeOf(err) != otp.CodeInvalidCode {
					t.Errorf("wrong code: %v", err)
				}
			})
		}
		wg.Wait()
		c, err := st.OTPCode(ctx, f.app, pay.Live, "email", "guess@shop.test")
		if err != nil || c.Attempts != otp.MaxAttempts {
			t.Errorf("attempts %d (%v), want %d", c.Attempts, err, otp.MaxAttempts)
		}
		_, err = f.svc.Verify(ctx, r, code)
		wantInvalidCode(t, "right code after 20 concurrent wrong tries", err)
	})
}

func TestCodesStoredHashed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		r := f.request(pay.Live, otp.Email, "hash@shop.test")
		id, code := f.send(t, r)
		c, err := st.OTPCode(t.Context(), f.app, pay.Live, "email", "hash@shop.test")
		if err != nil {
			t.Fatal(err)
		}
		if row := fmt.Sprintf("%+v", c); strings.Contains(row, code) {
			t.Errorf("the stored row holds the code %s: %s", code, row)
		}
		// The hash is keyed by the secret: a plain digest of the code (or
		// of id and code) is not it, so the table alone checks nothing.
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(id + "\x00" + code))
		if want := hex.EncodeToString(mac.Sum(nil)); c.CodeHash != want {
			t.Errorf("code_hash %s, want HMAC-SHA256(secret, id NUL code) %s", c.CodeHash, want)
		}
		for _, plain := range []string{code, id + code, id + "\x00" + code} {
			if sum := sha256.Sum256([]byte(plain)); c.CodeHash == hex.EncodeToString(sum[:]) {
				t.Errorf("code_hash is an unkeyed SHA-256 of %q", plain)
			}
		}
	})
}

// TestOneErrorForEveryFailure: whatever went wrong, the caller reads the
// same error, down to its text.
func TestOneErrorForEveryFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		ctx := t.Context()
		failures := map[string]error{}
		verify := func(name string, r otp.Request, code string) {
			_, err := f.svc.Verify(ctx, r, code)
			failures[name] = err
		}

		r := f.request(pay.Live, otp.Email, "wrong@shop.test")
		_, code := f.send(t, r)
		verify("wrong", r, wrongCode(code, 1))

		r = f.request(pay.Live, otp.Email, "used@shop.test")
		_, code = f.send(t, r)
		if _, err := f.svc.Verify(ctx, r, code); err != nil {
			t.Fatal(err)
		}
		verify("used", r, code)

		r = f.request(pay.Live, otp.Email, "burned@shop.test")
		_, code = f.send(t, r)
		for i := range otp.MaxAttempts {
			f.svc.Verify(ctx, r, wrongCode(code, i))
		}
		verify("burned", r, code)

		verify("unknown", f.request(pay.Live, otp.Email, "nobody@shop.test"), "123456")

		r = f.request(pay.Live, otp.Email, "expired@shop.test")
		_, code = f.send(t, r)
		f.clock.Advance(otp.TTL)
		verify("expired", r, code)

		var first error
		for name, err := range failures {
			wantInvalidCode(t, name, err)
			if first == nil {
				first = err
				continue
			}
			if err.Error() != first.Error() || pay.MessageOf(err) != pay.MessageOf(first) {
				t.Errorf("%s: %q, unlike another failure's %q", name, err, first)
			}
		}
		if len(failures) != 5 {
			t.Errorf("%d failures checked", len(failures))
		}
	})
}

func TestSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()

		// Test identifiers: nothing sent, even with senders configured, and
		// 000000 verifies (once, like any code).
		f := newFixture(t, st, fixtureOptions{})
		for _, c := range []struct {
			ch otp.Channel
			id string
		}{
			{otp.Email, "Dev@Example.com"},
			{otp.Phone, "+212 600 000 0042"},
		} {
			r := f.request(pay.Sandbox, c.ch, c.id)
			if _, _, err := f.svc.Send(ctx, r); err != nil {
				t.Fatalf("%s: %v", c.id, err)
			}
			_, err := f.svc.Verify(ctx, r, "000001")
			wantInvalidCode(t, c.id+" with another code", err)
			if _, err := f.svc.Verify(ctx, r, otp.TestCode); err != nil {
				t.Errorf("%s with %s: %v", c.id, otp.TestCode, err)
			}
			_, err = f.svc.Verify(ctx, r, otp.TestCode)
			wantInvalidCode(t, c.id+" used twice", err)
		}
		if n := len(f.email.sent()) + len(f.phone.sent()); n != 0 {
			t.Errorf("%d messages sent to test identifiers", n)
		}
		if strings.Contains(f.logged(), "code=") {
			t.Errorf("a test identifier's code was logged:\n%s", f.logged())
		}

		// The test code is stored hashed like any other, and all other
		// rules apply: five wrong tries burn it.
		r := f.request(pay.Sandbox, otp.Email, "burn@example.com")
		f.svc.Send(ctx, r)
		c, err := st.OTPCode(ctx, f.app, pay.Sandbox, "email", "burn@example.com")
		if err != nil || strings.Contains(c.CodeHash, otp.TestCode) || len(c.CodeHash) != 64 {
			t.Errorf("stored %+v, %v", c, err)
		}
		for i := 1; i <= otp.MaxAttempts; i++ {
			f.svc.Verify(ctx, r, wrongCode(otp.TestCode, i))
		}
		_, err = f.svc.Verify(ctx, r, otp.TestCode)
		wantInvalidCode(t, "burned test code", err)

		// A subdomain of example.com is not a test identifier: it is sent.
		r = f.request(pay.Sandbox, otp.Email, "dev@mail.example.com")
		_, code := f.send(t, r)
		if _, err := f.svc.Verify(ctx, r, code); err != nil {
			t.Errorf("sandbox code through the sender: %v", err)
		}

		// Test identifiers mean nothing in live: the code is sent.
		r = f.request(pay.Live, otp.Email, "dev@example.com")
		if _, code := f.send(t, r); code != otp.TestCode {
			_, err := f.svc.Verify(ctx, r, otp.TestCode)
			wantInvalidCode(t, "000000 in live", err)
		}
	})
}

func TestSandboxWithoutSenderLogsCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{noEmail: true, noPhone: true})
		ctx := t.Context()
		for _, c := range []struct {
			ch       otp.Channel
			raw, id  string
			loggedID string
		}{
			{otp.Email, "Dev@Shop.Test", "dev@shop.test", "identifier=dev@shop.test"},
			{otp.Phone, "+33 6 12 34 56 78", "+33612345678", "identifier=+33612345678"},
		} {
			r := f.request(pay.Sandbox, c.ch, c.raw)
			if _, _, err := f.svc.Send(ctx, r); err != nil {
				t.Fatal(err)
			}
			line := ""
			for l := range strings.Lines(f.logged()) {
				if strings.Contains(l, c.loggedID) {
					line = l
				}
			}
			m := regexp.MustCompile(`code=([0-9]{6})`).FindStringSubmatch(line)
			if m == nil || !strings.Contains(line, "level=INFO") {
				t.Fatalf("%s: no Info line with the code in the log:\n%s", c.id, f.logged())
			}
			if _, err := f.svc.Verify(ctx, r, m[1]); err != nil {
				t.Errorf("%s: the logged code %s does not verify: %v", c.id, m[1], err)
			}
		}
	})
}

func TestLiveNeverLogsCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{})
		ctx := t.Context()
		var codes []string
		for _, r := range []otp.Request{
			f.request(pay.Live, otp.Email, "buyer@shop.test"),
			f.request(pay.Live, otp.Phone, "+212612345678"),
			f.request(pay.Live, otp.Email, "dev@example.com"),
		} {
			_, code := f.send(t, r)
			codes = append(codes, code)
			f.svc.Verify(ctx, r, wrongCode(code, 7))
			f.svc.Verify(ctx, r, code)
		}
		// A failing sender neither.
		f.email.err = errors.New("smtp down")
		r := f.request(pay.Live, otp.Email, "fail@shop.test")
		_, _, err := f.svc.Send(ctx, r)
		if pay.KindOf(err) != pay.Unavailable || pay.CodeOf(err) != otp.CodeUnavailable {
			t.Errorf("failing sender: %v, want Unavailable %q", err, otp.CodeUnavailable)
		}
		logged := f.logged()
		for _, code := range codes {
			if strings.Contains(logged, code) {
				t.Errorf("the live code %s is in the log:\n%s", code, logged)
			}
		}
		if strings.Contains(logged, "code=") {
			t.Errorf("a code attribute is in the live log:\n%s", logged)
		}
	})
}

func TestLiveWithoutSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, fixtureOptions{noPhone: true})
		ctx := t.Context()
		for _, id := range []string{"+212612345678", "+212600000000"} { // a test number too
			r := f.request(pay.Live, otp.Phone, id)
			_, _, err := f.svc.Send(ctx, r)
			if pay.KindOf(err) != pay.Unavailable || pay.CodeOf(err) != otp.CodeUnavailable {
				t.Errorf("%s: %v, want Unavailable %q", id, err, otp.CodeUnavailable)
			}
			if _, err := st.OTPCode(ctx, f.app, pay.Live, "phone", id); pay.KindOf(err) != pay.NotFound {
				t.Errorf("%s: a code was stored (%v)", id, err)
			}
		}
		if f.logged() != "" {
			t.Errorf("logged:\n%s", f.logged())
		}
	})
}

func TestBadRequests(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	f := newFixture(t, st, fixtureOptions{})
	ctx := t.Context()
	for _, c := range []struct {
		r    otp.Request
		code string
	}{
		{otp.Request{Environment: pay.Live, Channel: otp.Email, Identifier: "a@shop.test"}, "invalid_request"},
		{otp.Request{ApplicationID: f.app, Environment: "staging", Channel: otp.Email, Identifier: "a@shop.test"}, "invalid_request"},
		{otp.Request{ApplicationID: f.app, Environment: pay.Live, Channel: "fax", Identifier: "a@shop.test"}, "invalid_request"},
		{otp.Request{ApplicationID: f.app, Environment: pay.Live, Channel: otp.Email, Identifier: "not-an-address"}, otp.CodeInvalidIdentifier},
		{otp.Request{ApplicationID: f.app, Environment: pay.Live, Channel: otp.Phone, Identifier: "0612345678"}, otp.CodeInvalidIdentifier},
	} {
		_, _, err := f.svc.Send(ctx, c.r)
		if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != c.code {
			t.Errorf("Send %+v: %v, want Invalid %q", c.r, err, c.code)
		}
		_, err = f.svc.Verify(ctx, c.r, "123456")
		if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != c.code {
			t.Errorf("Verify %+v: %v, want Invalid %q", c.r, err, c.code)
		}
	}
	if n := len(f.email.sent()) + len(f.phone.sent()); n != 0 {
		t.Errorf("%d messages sent for bad requests", n)
	}
	if _, err := otp.New(st, otp.Senders{}, secret[:otp.MinSecretLen-1], time.Now, nil); err == nil {
		t.Error("a short secret was accepted")
	}
}
