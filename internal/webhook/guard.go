package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/sakkhq/sakk/internal/netguard"
)

// Timeout is how long an attempt may take, connection to last byte of the
// excerpt: a receiver must answer 2xx within it.
const Timeout = 10 * time.Second

// ForbiddenAddressError reports a live endpoint resolving to an address a
// webhook may not reach (see netguard.Forbidden).
type ForbiddenAddressError struct{ Addr netip.Addr }

func (e *ForbiddenAddressError) Error() string {
	return fmt.Sprintf("webhook: refusing to connect to %s: live endpoints may not reach loopback, private, link-local, multicast or metadata addresses", e.Addr)
}

// guardControl refuses, at connect time, every address netguard.Forbidden
// reports.
// Checking the resolved address the socket is about to connect to (not
// the host name, not an earlier lookup) is what defeats DNS rebinding: a
// name that resolved to a public address when the endpoint was added and
// to 127.0.0.1 now is refused now.
func guardControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: cannot check address %q: %w", address, err)
	}
	if netguard.Forbidden(ap.Addr()) {
		return &ForbiddenAddressError{Addr: ap.Addr().Unmap()}
	}
	return nil
}

// newClient returns the HTTP client of one environment. Live endpoints
// get the guarded dialer; sandbox endpoints may reach localhost, so that a
// developer can receive events on their own machine. Neither follows
// redirects (a 3xx is a failed attempt: following it would let an
// endpoint point sakk anywhere) nor uses a proxy from the environment.
// Each endpoint keeps up to idlePerHost connections open between requests.
func newClient(guarded bool, idlePerHost int) *http.Client {
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
			MaxIdleConnsPerHost:   idlePerHost,
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
