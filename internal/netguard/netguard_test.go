package netguard_test

import (
	"net/netip"
	"testing"

	"github.com/sakkhq/sakk/internal/netguard"
)

func TestForbidden(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true,
		"192.168.1.1": true, "169.254.169.254": true, "169.254.1.1": true, "fd00:ec2::254": true,
		"fe80::1": true, "0.0.0.0": true, "::": true, "224.0.0.1": true, "ff02::1": true,
		"::ffff:10.0.0.1": true, "::ffff:127.0.0.1": true, "100.100.100.200": true, "255.255.255.255": true,
		"64:ff9b::a00:1": true, "2002:a00:1::1": true,
		"93.184.216.34": false, "2606:2800:220:1:248:1893:25c8:1946": false, "8.8.8.8": false,
	} {
		if got := netguard.Forbidden(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Forbidden(%s) = %v, want %v", addr, got, want)
		}
	}
	if !netguard.Forbidden(netip.Addr{}) {
		t.Error("Forbidden(invalid address) = false, want true")
	}
}
