// Package netguard says which network addresses sakk may not connect to
// when it fetches a URL a merchant chose (a live webhook endpoint, a
// domain's proof file): loopback, private, link-local, multicast and cloud
// metadata addresses, which lead inside the installation rather than to
// the merchant. Callers check at connect time (net.Dialer.Control), on the
// address the socket is about to reach, which is what defeats DNS
// rebinding.
package netguard

import "net/netip"

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

// Forbidden reports whether a fetch of a merchant-chosen URL may not
// connect to a.
func Forbidden(a netip.Addr) bool {
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
