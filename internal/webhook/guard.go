package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Timeout is how long an attempt may take, connection to last byte of the
// excerpt: a receiver must answer 2xx within it.
const Timeout = 10 * time.Second

// ForbiddenAddressError reports a live endpoint resolving to an address a
// webhook may not reach (see forbidden).
type ForbiddenAddressError struct{ Addr netip.Addr }

func (e *ForbiddenAddressError) Error() string {
	return fmt.Sprintf("webhook: refusing to connect to %s: live endpoints may not reach loopback, private, link-local, multicast or metadata addresses", e.Addr)
}

// blocked are ranges that IsPrivate and friends do not cover but that
// lead inside an installation all the same.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT, also used inside clouds
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: embeds an IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata (link-local too, listed for clarity)
}

// forbidden reports whether a live webhook may not connect to a.
func forbidden(a netip.Addr) bool {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// guardControl refuses, at connect time, every address forbidden reports.
// Checking the resolved address the socket is about to connect to (not
// the host name, not an earlier lookup) is what defeats DNS rebinding: a
// name that resolved to a public address when the endpoint was added and
// to 127.0.0.1 now is refused now.
func guardControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: cannot check address %q: %w", address, err)
	}
	if forbidden(ap.Addr()) {
		return &ForbiddenAddressError{Addr: ap.Addr().Unmap()}
	}
	return nil
}

// newClient returns the HTTP client of one environment. Live endpoints
// get the guarded dialer; sandbox endpoints may reach localhost, so that a
// developer can receive events on their own machine. Neither follows
// redirects (a 3xx is a failed attempt: following it would let an
// endpoint point sakk anywhere) nor uses a proxy from the environment.
func newClient(guarded bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if guarded {
		dialer.Control = guardControl
	}
	return &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: Timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
