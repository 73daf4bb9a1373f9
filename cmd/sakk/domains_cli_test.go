package main

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/sakkhq/sakk/internal/store"
)

// txtServer is a DNS server on loopback answering every TXT question with
// the records set, or NXDOMAIN while there are none.
type txtServer struct {
	mu      sync.Mutex
	records []string
}

func (s *txtServer) set(records ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = records
}

func (s *txtServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.records) == 0 {
		m.Rcode = dns.RcodeNameError
	}
	for _, q := range req.Question {
		if q.Qtype != dns.TypeTXT {
			continue
		}
		for _, r := range s.records {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{r}})
		}
	}
	w.WriteMsg(m)
}

func startTXTServer(t *testing.T) (*txtServer, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &txtServer{}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	failed := make(chan error, 1)
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-failed:
		t.Fatalf("DNS server: %v", err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	return h, pc.LocalAddr().String()
}

// sakk domains add prints what to publish; sakk domains verify checks it
// through the resolver it is given.
func TestDomainsAddAndVerifyCommands(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	dnsServer, resolver := startTXTServer(t)
	var app appKeys
	tg.cliJSON(t, &app, "apps", "create", "--name", "Atlas Shop")

	var added domainOut
	tg.cliJSON(t, &added, "domains", "add", "--app", app.ApplicationID, "--domain", "shop.sakk.test")
	v := added.Verification
	if added.Verified || v.DNS.Name != "_sakk-challenge.shop.sakk.test" || v.DNS.Type != "TXT" ||
		!strings.HasPrefix(v.DNS.Value, "sakk-domain-verification=") || v.HTTP.Body != v.DNS.Value ||
		v.HTTP.URL != "https://shop.sakk.test/.well-known/sakk-domain-verification.txt" {
		t.Fatalf("domains add printed %+v", added)
	}
	text, err := tg.cli(t, "domains", "add", "--app", app.ApplicationID, "--domain", "shop.sakk.test")
	if err != nil || !strings.Contains(text, v.DNS.Value) || !strings.Contains(text, "sakk domains verify") {
		t.Errorf("domains add (again, as text) printed %q, %v; want the record to publish", text, err)
	}

	verify := []string{"domains", "verify", "--app", app.ApplicationID, "--domain", "shop.sakk.test", "--dns-resolver", resolver}
	_, err = tg.cli(t, verify...)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "no TXT record at _sakk-challenge.shop.sakk.test") ||
		!strings.Contains(err.Error(), "domain_not_verified") {
		t.Errorf("domains verify before the record exists: %v (exit %d)", err, exitCode(err))
	}
	dnsServer.set(v.DNS.Value)
	var verified domainOut
	tg.cliJSON(t, &verified, verify...)
	if !verified.Verified || verified.Verification != added.Verification {
		t.Errorf("domains verify printed %+v", verified)
	}

	if _, err := tg.cli(t, "domains", "verify", "--app", app.ApplicationID, "--domain", "shop.sakk.test", "--dns-resolver", "127.0.0.1"); exitCode(err) != 2 {
		t.Errorf("domains verify with a resolver without a port: %v (exit %d), want a usage error", err, exitCode(err))
	}
}
