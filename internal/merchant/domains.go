package merchant

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/sakkhq/sakk/internal/netguard"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// A domain is verified in one of two ways: an operator vouches for it
// (AddDomain with verified=true, from the CLI), or the merchant publishes
// the domain's token (pay.Domain.Verification) as a DNS TXT record or an
// HTTPS file and VerifyDomain finds it there.

// DomainCheckTimeout bounds one VerifyDomain check. The DNS lookup and the
// file fetch run side by side, both within it, so that a merchant's slow
// or silent server holds neither a request nor a goroutine for long.
const DomainCheckTimeout = 5 * time.Second

// maxProofBody is how much of the proof file is read. The value is about
// 60 bytes; a file much longer is not a proof, and reading no further
// bounds what a hostile server can make sakk hold.
const maxProofBody = 4 << 10

// DomainVerifier says how VerifyDomain looks for a domain's proof. The
// zero value is production's: the system resolver, HTTPS on port 443, and
// a client that refuses the addresses netguard forbids.
type DomainVerifier struct {
	// Resolver looks up the TXT record and, for the default client, the
	// address of the file's host. nil: the system's. See ResolverAt.
	Resolver *net.Resolver
	// HTTPClient fetches the proof file. nil: a client with short
	// timeouts, no proxy, no redirect to another host, and (unless
	// AllowPrivate) no connection to loopback or private addresses. A
	// client given here is used as it is; the body is still read bounded.
	HTTPClient *http.Client
	// Scheme and Port of the URL the file is fetched from: "https" and
	// the scheme's port when empty. Tests serve the file over http on a
	// port of their own; the instructions merchants see always say https.
	Scheme, Port string
	// AllowPrivate lets the default client reach loopback and private
	// addresses: for tests, and installations whose merchants' sites are
	// on their own network.
	AllowPrivate bool
}

// ResolverAt returns a resolver that asks the DNS server at addr
// (host:port), and no other.
func ResolverAt(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true, // the C library's resolver would ask the system's servers
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// SetDomainVerifier changes how VerifyDomain checks domains. Call it while
// wiring, before the service is in use.
func (s *Service) SetDomainVerifier(v DomainVerifier) { s.proof = newProver(v) }

// AddDomain adds a domain to an application. Only a verified domain may
// host the SDK and receive buyers back. verified=true is an operator
// vouching for it (the CLI); otherwise the merchant proves control with
// the token the answer carries, then calls VerifyDomain. Adding a domain
// again keeps its token, its verification and its first CreatedAt.
func (s *Service) AddDomain(ctx context.Context, appID, domain string, verified bool) (pay.Domain, error) {
	host, err := NormalizeDomain(domain)
	if err != nil {
		return pay.Domain{}, err
	}
	now := s.now().UTC()
	// A vouched-for domain gets a token too, so that every domain's
	// instructions are complete, whoever reads them.
	d := pay.Domain{ApplicationID: appID, Domain: host, Verified: verified, CreatedAt: now, VerificationToken: randomBase62(32)}
	if verified {
		d.VerifiedAt = now
	}
	var out pay.Domain
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Application(ctx, appID); err != nil {
			return err
		}
		if err := tx.AddDomain(ctx, d); err != nil {
			return err
		}
		// Answer with what the store holds, not with the request: it may
		// have kept an earlier token and verification.
		out, err = tx.Domain(ctx, appID, host)
		return err
	})
	if err != nil {
		return pay.Domain{}, fmt.Errorf("merchant: add domain: %w", err)
	}
	return out, nil
}

// Domains lists an application's domains, by name.
func (s *Service) Domains(ctx context.Context, appID string) ([]pay.Domain, error) {
	if _, err := s.store.Application(ctx, appID); err != nil {
		return nil, fmt.Errorf("merchant: domains: %w", err)
	}
	ds, err := s.store.Domains(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("merchant: domains: %w", err)
	}
	for i := range ds {
		if ds[i].VerificationToken == "" {
			if ds[i], err = s.giveToken(ctx, ds[i]); err != nil {
				return nil, fmt.Errorf("merchant: domains: %w", err)
			}
		}
	}
	if ds == nil {
		ds = []pay.Domain{} // a list, even when empty
	}
	return ds, nil
}

// Domain reads one domain of an application. Another application's
// domain is as unknown as one never added.
func (s *Service) Domain(ctx context.Context, appID, domain string) (pay.Domain, error) {
	host, err := NormalizeDomain(domain)
	if err != nil {
		// A name that cannot be a domain names none.
		return pay.Domain{}, domainNotFound(domain)
	}
	d, err := s.store.Domain(ctx, appID, host)
	if pay.KindOf(err) == pay.NotFound {
		return pay.Domain{}, domainNotFound(host)
	}
	if err == nil && d.VerificationToken == "" {
		d, err = s.giveToken(ctx, d)
	}
	if err != nil {
		return pay.Domain{}, fmt.Errorf("merchant: domain: %w", err)
	}
	return d, nil
}

// giveToken gives a domain added before tokens existed its token, and
// returns it as stored (another instance may have been first).
func (s *Service) giveToken(ctx context.Context, d pay.Domain) (pay.Domain, error) {
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetDomainToken(ctx, d.ApplicationID, d.Domain, randomBase62(32)); err != nil {
			return err
		}
		var err error
		d, err = tx.Domain(ctx, d.ApplicationID, d.Domain)
		return err
	})
	return d, err
}

// VerifyDomain looks for the domain's proof now, by DNS and by HTTPS at
// once, within DomainCheckTimeout. Found either way, the domain is
// verified from then on. Otherwise what was found is recorded on the
// domain (LastError) and returned as a Conflict "domain_not_verified"
// whose message says it. A domain already verified is answered as it is,
// without a check: a proof taken down later does not un-verify it.
func (s *Service) VerifyDomain(ctx context.Context, appID, domain string) (pay.Domain, error) {
	d, err := s.Domain(ctx, appID, domain)
	if err != nil || d.Verified {
		return d, err
	}
	found := s.proof.check(ctx, d)
	at := s.now().UTC()
	if found != nil {
		msg := fmt.Sprintf("no proof of control of %s was found: %v", d.Domain, found)
		err := s.store.WithTx(ctx, func(tx *store.Tx) error {
			return tx.RecordDomainCheckFailure(ctx, appID, d.Domain, at, msg)
		})
		if err != nil {
			return pay.Domain{}, fmt.Errorf("merchant: verify domain: %w", err)
		}
		return pay.Domain{}, pay.Errorf(pay.Conflict, "domain_not_verified", "%s", msg)
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.MarkDomainVerified(ctx, appID, d.Domain, at); err != nil {
			return err
		}
		d, err = tx.Domain(ctx, appID, d.Domain)
		return err
	})
	if pay.KindOf(err) == pay.NotFound { // removed while it was checked
		return pay.Domain{}, domainNotFound(d.Domain)
	}
	if err != nil {
		return pay.Domain{}, fmt.Errorf("merchant: verify domain: %w", err)
	}
	return d, nil
}

// RemoveDomain removes a domain from an application: the SDK stops
// working there and buyers are no longer sent back to it.
func (s *Service) RemoveDomain(ctx context.Context, appID, domain string) error {
	host, err := NormalizeDomain(domain)
	if err != nil {
		return domainNotFound(domain)
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.RemoveDomain(ctx, appID, host) })
	if pay.KindOf(err) == pay.NotFound {
		return domainNotFound(host)
	}
	if err != nil {
		return fmt.Errorf("merchant: remove domain: %w", err)
	}
	return nil
}

func domainNotFound(domain string) error {
	return pay.Errorf(pay.NotFound, "domain_not_found", "the application has no domain %q", domain)
}

// NormalizeDomain checks that s is a bare host name (no scheme, port or
// path) and returns it in lower case without a trailing dot.
func NormalizeDomain(s string) (string, error) {
	host := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	bad := pay.Errorf(pay.Invalid, "invalid_domain", "%q is not a domain name: give a bare host such as shop.example.com", s)
	if host == "" || len(host) > 253 {
		return "", bad
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", bad
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", bad
			}
		}
	}
	return host, nil
}

// prover finds domains' proofs, as a DomainVerifier configured it.
type prover struct {
	resolver     *net.Resolver
	client       *http.Client
	scheme, port string
}

func newProver(v DomainVerifier) *prover {
	p := &prover{resolver: v.Resolver, client: v.HTTPClient, scheme: v.Scheme, port: v.Port}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.scheme == "" {
		p.scheme = "https"
	}
	if p.client == nil {
		p.client = proofClient(v.Resolver, v.AllowPrivate)
	}
	return p
}

// proofClient is the default client fetching proof files from hosts the
// merchant names.
func proofClient(resolver *net.Resolver, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: DomainCheckTimeout, Resolver: resolver}
	if !allowPrivate {
		dialer.Control = refuseForbidden
	}
	return &http.Client{
		Timeout: DomainCheckTimeout,
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would connect on sakk's behalf, past the guard
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    DomainCheckTimeout,
			ResponseHeaderTimeout:  DomainCheckTimeout,
			MaxResponseHeaderBytes: 16 << 10,
			DisableKeepAlives:      true, // one request per check, to a host seldom asked again
		},
		CheckRedirect: sameOrigin,
	}
}

var (
	// errOtherHost stops a redirect off the domain: the proof must come
	// from the domain itself, and following would let its server point
	// sakk at any address.
	errOtherHost        = errors.New("redirect to another host")
	errTooManyRedirects = errors.New("too many redirects")
)

// maxProofRedirects is how many redirects within the domain are followed.
const maxProofRedirects = 3

// sameOrigin allows the redirects a site makes within itself (a path
// moved, a trailing slash) and no others.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) > maxProofRedirects {
		return errTooManyRedirects
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		return errOtherHost
	}
	return nil
}

// refusedAddrError reports a proof host resolving to an address
// netguard forbids.
type refusedAddrError struct{ addr netip.Addr }

func (e *refusedAddrError) Error() string { return "refusing to connect to " + e.addr.String() }

// refuseForbidden refuses, at connect time, the addresses netguard
// forbids: checked on the address the socket is about to reach, so that
// a name resolving to a public address once and to 127.0.0.1 now is
// refused now.
func refuseForbidden(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("cannot check address %q: %w", address, err)
	}
	if netguard.Forbidden(ap.Addr()) {
		return &refusedAddrError{addr: ap.Addr().Unmap()}
	}
	return nil
}

// check looks for d's proof both ways at once. It returns nil when either
// is in place, otherwise what it found instead, in words for the merchant.
func (p *prover) check(ctx context.Context, d pay.Domain) error {
	ctx, cancel := context.WithTimeout(ctx, DomainCheckTimeout)
	defer cancel() // stops the other check once one succeeds
	type result struct {
		dns bool
		err error
	}
	results := make(chan result, 2) // buffered: the check still running may finish after check returns
	go func() { results <- result{true, p.checkDNS(ctx, d)} }()
	go func() { results <- result{false, p.checkFile(ctx, d)} }()
	var dnsErr, fileErr error
	for range 2 {
		r := <-results
		if r.err == nil {
			return nil
		}
		if r.dns {
			dnsErr = r.err
		} else {
			fileErr = r.err
		}
	}
	return fmt.Errorf("DNS: %v; file: %v", dnsErr, fileErr)
}

// checkDNS looks for the TXT record.
func (p *prover) checkDNS(ctx context.Context, d pay.Domain) error {
	rec := d.Verification().DNS
	// The trailing dot makes the name absolute, so that no search domain
	// of the resolver's is tried.
	txts, err := p.resolver.LookupTXT(ctx, rec.Name+".")
	var dnsErr *net.DNSError
	switch {
	case err == nil && len(txts) == 0, errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Errorf("no TXT record at %s", rec.Name)
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout, err != nil && ctx.Err() != nil:
		return fmt.Errorf("the lookup of %s did not finish within %s", rec.Name, DomainCheckTimeout)
	case errors.As(err, &dnsErr):
		// Only the reason: the whole error names the resolver's address,
		// which is the installation's business.
		return fmt.Errorf("the lookup of %s failed: %s", rec.Name, dnsErr.Err)
	case err != nil:
		return fmt.Errorf("the lookup of %s failed", rec.Name)
	}
	for _, txt := range txts {
		// The resolver has joined each record's strings into one.
		if strings.TrimSpace(txt) == rec.Value {
			return nil
		}
	}
	return fmt.Errorf("the TXT records at %s are %s; none is %q", rec.Name, quoteSome(txts), rec.Value)
}

// checkFile fetches the well-known file.
func (p *prover) checkFile(ctx context.Context, d pay.Domain) error {
	want := d.Verification().HTTP.Body
	host := d.Domain
	if p.port != "" {
		host = net.JoinHostPort(host, p.port)
	}
	u := p.scheme + "://" + host + pay.DomainProofPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("cannot fetch %s", u)
	}
	req.Header.Set("User-Agent", "sakk-domain-verification")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching %s: %s", u, fetchFailure(err, d.Domain))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d, not 200", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProofBody+1))
	if err != nil {
		return fmt.Errorf("reading %s: %s", u, fetchFailure(err, d.Domain))
	}
	if len(body) > maxProofBody {
		return fmt.Errorf("%s is longer than %d bytes, too long to be the proof", u, maxProofBody)
	}
	if got := strings.TrimSpace(string(body)); got != want {
		return fmt.Errorf("%s holds %s, not %q", u, quoteSome([]string{got}), want)
	}
	return nil
}

// fetchFailure says in words why a fetch from host failed, without the
// raw error (which may name the resolver's address).
func fetchFailure(err error, host string) string {
	var refused *refusedAddrError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case errors.As(err, &refused):
		return fmt.Sprintf("%s resolves to %s, a loopback, private or reserved address, which sakk does not fetch from", host, refused.addr)
	case errors.Is(err, errOtherHost):
		return "it redirects to another host; serve the file on the domain itself"
	case errors.Is(err, errTooManyRedirects):
		return "it redirects too many times"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("%s does not resolve", host)
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", DomainCheckTimeout)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the lookup of %s failed: %s", host, dnsErr.Err)
	case errors.As(err, &certErr):
		return fmt.Sprintf("its TLS certificate is not valid for %s (%v)", host, certErr.Err)
	}
	return fmt.Sprintf("could not connect to %s", host)
}

// quoteSome quotes the first few texts, each cut short: what a merchant
// needs to recognise what they published, and no more.
func quoteSome(texts []string) string {
	const most, long = 3, 80
	var b strings.Builder
	for i, t := range texts {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(texts)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if r := []rune(t); len(r) > long {
			t = string(r[:long]) + "…"
		}
		fmt.Fprintf(&b, "%q", t)
	}
	return b.String()
}
