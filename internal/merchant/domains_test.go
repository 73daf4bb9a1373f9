package merchant_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

var tokenPattern = regexp.MustCompile(`^[0-9A-Za-z]{32}$`)

func TestNormalizeDomain(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		in   string
		want string // empty: refused
	}{
		{"shop.example.com", "shop.example.com"},
		{"Shop.EXAMPLE.com", "shop.example.com"},
		{"example.com.", "example.com"},
		{"  example.com \t", "example.com"},
		{" Example.COM. ", "example.com"},
		{"localhost", "localhost"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"a-b.c0m", "a-b.c0m"},
		{label63 + ".com", label63 + ".com"},

		{"", ""},
		{"   ", ""},
		{".", ""},
		{"https://x.com", ""},
		{"x.com:443", ""},
		{"x.com/path", ""},
		{"-a.com", ""},
		{"a-.com", ""},
		{"a..com", ""},
		{".a.com", ""},
		{"a.com..", ""},
		{label63 + "a.com", ""},
		{"exa mple.com", ""},
		{"ex_ample.com", ""},
		{"user@example.com", ""},
		{"*.example.com", ""},
		{"bücher.example", ""},
		{strings.Repeat("a.", 127) + "ab", ""}, // 256 characters
	}
	for _, tt := range tests {
		got, err := merchant.NormalizeDomain(tt.in)
		if tt.want == "" {
			if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != "invalid_domain" {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want Invalid invalid_domain", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestAddDomain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		app := f.createApp(t, "Web", pay.Sandbox)
		appID := app.Application.ID
		domains := func() []pay.Domain {
			t.Helper()
			ds, err := st.Domains(ctx, appID)
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		want := pay.Domain{ApplicationID: appID, Domain: "shop.example.com", CreatedAt: start}

		steps := []struct {
			input    string
			verified bool
			want     bool // stored (and returned) Verified
		}{
			{"Shop.Example.com.", false, false},
			{"shop.example.com", true, true},    // the operator vouches for it (the CLI)
			{" SHOP.example.com ", false, true}, // re-adding never un-verifies
		}
		for i, s := range steps {
			at := start.Add(time.Duration(i) * time.Minute)
			f.clock.Set(at)
			d, err := f.svc.AddDomain(ctx, appID, s.input, s.verified)
			if err != nil {
				t.Fatalf("AddDomain(%q, %t): %v", s.input, s.verified, err)
			}
			if i == 0 {
				if !tokenPattern.MatchString(d.VerificationToken) {
					t.Fatalf("verification token %q, want 32 base-62 characters", d.VerificationToken)
				}
				want.VerificationToken = d.VerificationToken
			}
			if s.want && want.VerifiedAt.IsZero() {
				want.VerifiedAt = at
			}
			want.Verified = s.want
			// The domain keeps the time it was first added and its token.
			if diff := cmp.Diff(want, d); diff != "" {
				t.Errorf("AddDomain(%q, %t) returned (-want +got):\n%s", s.input, s.verified, diff)
			}
			if diff := cmp.Diff([]pay.Domain{want}, domains()); diff != "" {
				t.Errorf("after AddDomain(%q, %t), stored (-want +got):\n%s", s.input, s.verified, diff)
			}
		}

		_, err := f.svc.AddDomain(ctx, "app_missing", "other.example.com", true)
		wantError(t, err, pay.NotFound, "")
		if ds, err := st.Domains(ctx, "app_missing"); err != nil || len(ds) != 0 {
			t.Errorf("domains of an unknown app: %v, %v; want none", ds, err)
		}
		_, err = f.svc.AddDomain(ctx, appID, "https://other.example.com", true)
		wantError(t, err, pay.Invalid, "invalid_domain")
		if diff := cmp.Diff([]pay.Domain{want}, domains()); diff != "" {
			t.Errorf("after a refused domain, stored (-want +got):\n%s", diff)
		}

		// Two domains never share a token.
		other, err := f.svc.AddDomain(ctx, appID, "other.example.com", false)
		if err != nil {
			t.Fatal(err)
		}
		if other.VerificationToken == want.VerificationToken || !tokenPattern.MatchString(other.VerificationToken) {
			t.Errorf("second domain's token %q (first %q)", other.VerificationToken, want.VerificationToken)
		}
	})
}

// zone is a DNS server on loopback answering for the names a test gives
// it: their TXT and A records, and NXDOMAIN for every other name.
type zone struct {
	addr string // host:port of the server
	mu   sync.Mutex
	txt  map[string][]string // by absolute lower-case name
	a    map[string]net.IP
}

func newZone(t *testing.T) *zone {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := &zone{addr: pc.LocalAddr().String(), txt: map[string][]string{}, a: map[string]net.IP{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { close(started) }}
	failed := make(chan error, 1)
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-failed:
		t.Fatalf("DNS server: %v", err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	return z
}

// resolver asks this zone's server only.
func (z *zone) resolver() *net.Resolver { return merchant.ResolverAt(z.addr) }

// setTXT replaces the TXT records of name.
func (z *zone) setTXT(name string, values ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[dns.Fqdn(name)] = values
}

// setA points name at ip.
func (z *zone) setA(name, ip string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.a[dns.Fqdn(name)] = net.ParseIP(ip)
}

func (z *zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, q := range req.Question {
		name := strings.ToLower(q.Name)
		txts, hasTXT := z.txt[name]
		ip, hasA := z.a[name]
		if !hasTXT && !hasA {
			m.Rcode = dns.RcodeNameError
			continue
		}
		hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET}
		switch {
		case q.Qtype == dns.TypeTXT:
			for _, v := range txts {
				// Each record split in two character-strings, as long
				// values are published: the check must see them joined.
				half := len(v) / 2
				m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{v[:half], v[half:]}})
			}
		case q.Qtype == dns.TypeA && hasA:
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: ip})
		}
	}
	w.WriteMsg(m)
}

// wantNotVerified checks that err is the failure VerifyDomain answers
// and that its message says each of finds.
func wantNotVerified(t *testing.T, err error, finds ...string) string {
	t.Helper()
	wantError(t, err, pay.Conflict, "domain_not_verified")
	msg := pay.MessageOf(err)
	for _, f := range finds {
		if !strings.Contains(msg, f) {
			t.Errorf("message %q does not say %q", msg, f)
		}
	}
	return msg
}

func TestVerifyDomainByDNS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		z := newZone(t)
		// The file check runs too; with no address for the domain it finds
		// that the name does not resolve.
		f.svc.SetDomainVerifier(merchant.DomainVerifier{Resolver: z.resolver()})
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID
		otherID := f.createApp(t, "Other", pay.Sandbox).Application.ID
		strangerID := f.createApp(t, "Stranger", pay.Sandbox).Application.ID

		d, err := f.svc.AddDomain(ctx, appID, "Shop.Sakk.Test", false)
		if err != nil {
			t.Fatal(err)
		}
		const challenge = "_sakk-challenge.shop.sakk.test"
		value := "sakk-domain-verification=" + d.VerificationToken
		wantInstructions := pay.DomainVerification{
			DNS:  pay.DNSRecord{Name: challenge, Type: "TXT", Value: value},
			HTTP: pay.ProofFile{URL: "https://shop.sakk.test/.well-known/sakk-domain-verification.txt", Body: value},
		}
		if diff := cmp.Diff(wantInstructions, d.Verification()); diff != "" {
			t.Errorf("instructions (-want +got):\n%s", diff)
		}
		// The same name on another application has a token of its own.
		otherDomain, err := f.svc.AddDomain(ctx, otherID, "shop.sakk.test", false)
		if err != nil {
			t.Fatal(err)
		}

		want := d
		for i, step := range []struct {
			records []string // published at the challenge name; nil: none
			finds   []string
		}{
			{nil, []string{"no TXT record at " + challenge, "shop.sakk.test does not resolve"}},
			{[]string{"v=spf1 -all", "sakk-domain-verification=wrong"}, []string{`"v=spf1 -all"`, `"sakk-domain-verification=wrong"`, value}},
			{[]string{otherDomain.ProofValue()}, []string{otherDomain.ProofValue()}},
		} {
			if step.records != nil {
				z.setTXT(challenge, step.records...)
			}
			at := start.Add(time.Duration(i+1) * time.Minute)
			f.clock.Set(at)
			_, err := f.svc.VerifyDomain(ctx, appID, "shop.sakk.test")
			msg := wantNotVerified(t, err, step.finds...)
			want.LastCheckedAt, want.LastError = at, msg
			got, err := f.svc.Domain(ctx, appID, "shop.sakk.test")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after failed check %d, stored (-want +got):\n%s", i, diff)
			}
		}

		z.setTXT(challenge, "v=spf1 -all", " "+value+" ")
		verifiedAt := start.Add(time.Hour)
		f.clock.Set(verifiedAt)
		got, err := f.svc.VerifyDomain(ctx, appID, "SHOP.sakk.test.")
		if err != nil {
			t.Fatalf("VerifyDomain with the record published: %v", err)
		}
		want.Verified, want.VerifiedAt, want.LastCheckedAt, want.LastError = true, verifiedAt, verifiedAt, ""
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("VerifyDomain returned (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]pay.Domain{want}, mustDomains(t, f.svc, appID)); diff != "" {
			t.Errorf("Domains after verification (-want +got):\n%s", diff)
		}
		// Taking the record down later does not un-verify the domain: it
		// is not checked again.
		z.setTXT(challenge)
		f.clock.Set(verifiedAt.Add(time.Hour))
		if got, err := f.svc.VerifyDomain(ctx, appID, "shop.sakk.test"); err != nil || !cmp.Equal(want, got) {
			t.Errorf("VerifyDomain of a verified domain = %+v, %v; want it unchanged", got, err)
		}
		// The other application's domain of the same name is not verified
		// by this one's proof.
		if got, err := f.svc.Domain(ctx, otherID, "shop.sakk.test"); err != nil || got.Verified {
			t.Errorf("other application's domain = %+v, %v; want it unverified", got, err)
		}

		// An application without the domain knows nothing of it.
		_, err = f.svc.Domain(ctx, strangerID, "shop.sakk.test")
		wantError(t, err, pay.NotFound, "domain_not_found")
		_, err = f.svc.VerifyDomain(ctx, strangerID, "shop.sakk.test")
		wantError(t, err, pay.NotFound, "domain_not_found")
		wantError(t, f.svc.RemoveDomain(ctx, strangerID, "shop.sakk.test"), pay.NotFound, "domain_not_found")
		if ds := mustDomains(t, f.svc, strangerID); len(ds) != 0 {
			t.Errorf("Domains of an application without any = %+v", ds)
		}
		_, err = f.svc.Domain(ctx, appID, "https://shop.sakk.test/")
		wantError(t, err, pay.NotFound, "domain_not_found")
		_, err = f.svc.Domains(ctx, "app_missing")
		wantError(t, err, pay.NotFound, "")

		if err := f.svc.RemoveDomain(ctx, appID, "Shop.Sakk.Test"); err != nil {
			t.Fatalf("RemoveDomain: %v", err)
		}
		_, err = f.svc.Domain(ctx, appID, "shop.sakk.test")
		wantError(t, err, pay.NotFound, "domain_not_found")
		wantError(t, f.svc.RemoveDomain(ctx, appID, "shop.sakk.test"), pay.NotFound, "domain_not_found")
		if ds := mustDomains(t, f.svc, appID); len(ds) != 0 {
			t.Errorf("Domains after removal = %+v", ds)
		}
		if _, err := f.svc.Domain(ctx, otherID, "shop.sakk.test"); err != nil {
			t.Errorf("the other application's domain after this one's removal: %v", err)
		}
	})
}

func mustDomains(t *testing.T, svc *merchant.Service, appID string) []pay.Domain {
	t.Helper()
	ds, err := svc.Domains(t.Context(), appID)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// proofSite serves each host's proof file as the test sets it, and counts
// the requests each host name received.
type proofSite struct {
	mu    sync.Mutex
	serve map[string]func(w http.ResponseWriter) // by host name, without port
	hits  map[string]int
}

func newProofSite() *proofSite {
	return &proofSite{serve: map[string]func(http.ResponseWriter){}, hits: map[string]int{}}
}

func (p *proofSite) set(host string, serve func(w http.ResponseWriter)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serve[host] = serve
}

func (p *proofSite) hitsOf(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[host]
}

func (p *proofSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	p.mu.Lock()
	p.hits[host]++
	serve := p.serve[host]
	p.mu.Unlock()
	if serve == nil || r.URL.Path != pay.DomainProofPath {
		http.NotFound(w, r)
		return
	}
	serve(w)
}

func body(s string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { fmt.Fprint(w, s) }
}

func TestVerifyDomainByFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		z := newZone(t)
		site := newProofSite()
		srv := httptest.NewServer(site)
		t.Cleanup(srv.Close)
		_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		z.setA("shop.sakk.test", "127.0.0.1")
		z.setA("guarded.sakk.test", "127.0.0.1")
		f.svc.SetDomainVerifier(merchant.DomainVerifier{Resolver: z.resolver(), Scheme: "http", Port: port, AllowPrivate: true})
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID

		d, err := f.svc.AddDomain(ctx, appID, "shop.sakk.test", false)
		if err != nil {
			t.Fatal(err)
		}
		fileURL := "http://shop.sakk.test:" + port + pay.DomainProofPath
		for _, step := range []struct {
			name  string
			serve func(http.ResponseWriter)
			finds []string
		}{
			{"no file", nil, []string{fileURL + " answered 404", "no TXT record"}},
			{"wrong value", body("sakk-domain-verification=nope\n"), []string{`holds "sakk-domain-verification=nope"`, d.ProofValue()}},
			{"too long", body(d.ProofValue() + strings.Repeat(" ", 5000)), []string{"too long"}},
			{"redirect elsewhere", func(w http.ResponseWriter) {
				w.Header().Set("Location", "http://elsewhere.sakk.test:"+port+pay.DomainProofPath)
				w.WriteHeader(http.StatusFound)
			}, []string{"redirects to another host"}},
		} {
			site.set("shop.sakk.test", step.serve)
			_, err := f.svc.VerifyDomain(ctx, appID, "shop.sakk.test")
			wantNotVerified(t, err, step.finds...)
		}
		if n := site.hitsOf("elsewhere.sakk.test"); n != 0 {
			t.Errorf("the redirect was followed to another host (%d requests)", n)
		}

		site.set("shop.sakk.test", body("\n"+d.ProofValue()+"\r\n"))
		got, err := f.svc.VerifyDomain(ctx, appID, "shop.sakk.test")
		if err != nil || !got.Verified || got.LastError != "" {
			t.Fatalf("VerifyDomain with the file served = %+v, %v; want verified", got, err)
		}

		// Without AllowPrivate, a domain resolving to loopback is refused
		// before any request is made, proof or not.
		guarded := merchant.New(st, f.box, f.clock.Now)
		guarded.SetDomainVerifier(merchant.DomainVerifier{Resolver: z.resolver(), Scheme: "http", Port: port})
		g, err := guarded.AddDomain(ctx, appID, "guarded.sakk.test", false)
		if err != nil {
			t.Fatal(err)
		}
		site.set("guarded.sakk.test", body(g.ProofValue()))
		_, err = guarded.VerifyDomain(ctx, appID, "guarded.sakk.test")
		wantNotVerified(t, err, "guarded.sakk.test resolves to 127.0.0.1")
		if n := site.hitsOf("guarded.sakk.test"); n != 0 {
			t.Errorf("the guarded verifier reached a loopback address (%d requests)", n)
		}
	})
}

func TestVerifyDomainOverTLS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		z := newZone(t)
		site := newProofSite()
		srv := httptest.NewTLSServer(site)
		t.Cleanup(srv.Close)
		_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// httptest's certificate names example.com (and no name under
		// sakk.test): both point at the test server.
		z.setA("example.com", "127.0.0.1")
		z.setA("shop.sakk.test", "127.0.0.1")
		// The test server's client trusts its certificate; it dials by the
		// names the zone resolves.
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Resolver: z.resolver()}).DialContext
		f.svc.SetDomainVerifier(merchant.DomainVerifier{
			Resolver: z.resolver(), HTTPClient: &http.Client{Transport: tr}, Port: port,
		})
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID

		for _, name := range []string{"example.com", "shop.sakk.test"} {
			d, err := f.svc.AddDomain(ctx, appID, name, false)
			if err != nil {
				t.Fatal(err)
			}
			site.set(name, body(d.ProofValue()))
		}
		got, err := f.svc.VerifyDomain(ctx, appID, "example.com")
		if err != nil || !got.Verified {
			t.Fatalf("VerifyDomain over https = %+v, %v; want verified", got, err)
		}
		_, err = f.svc.VerifyDomain(ctx, appID, "shop.sakk.test")
		wantNotVerified(t, err, "https://shop.sakk.test:"+port+pay.DomainProofPath, "TLS certificate is not valid for shop.sakk.test")
	})
}

// A domain stored before tokens existed is given one when first read, and
// keeps it.
func TestDomainWithoutToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID
		old := pay.Domain{ApplicationID: appID, Domain: "old.example.com", CreatedAt: start}
		if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.AddDomain(ctx, old) }); err != nil {
			t.Fatal(err)
		}
		listed := mustDomains(t, f.svc, appID)
		if len(listed) != 1 || !tokenPattern.MatchString(listed[0].VerificationToken) {
			t.Fatalf("Domains = %+v; want one domain with a token", listed)
		}
		read, err := f.svc.Domain(ctx, appID, "old.example.com")
		if err != nil || read.VerificationToken != listed[0].VerificationToken {
			t.Errorf("Domain = %+v, %v; want token %q", read, err, listed[0].VerificationToken)
		}
	})
}
