package otp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// testCert makes a self-signed certificate for 127.0.0.1 and localhost,
// and a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sakk test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// peerOptions configure the SMTP server a test talks to.
type peerOptions struct {
	startTLS     *tls.Config // offer STARTTLS with this
	implicitTLS  *tls.Config // speak TLS from the first byte
	user, pass   string      // require AUTH PLAIN with these; "" offers no AUTH
	insecureAuth bool        // allow AUTH without TLS
	refuseRcpt   bool
}

// received is one message the peer accepted.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
}

// smtpPeer is a real SMTP server (github.com/emersion/go-smtp) on
// loopback that records what it accepts and every byte clients send it.
type smtpPeer struct {
	opts peerOptions
	host string
	port int

	mu       sync.Mutex
	mails    []received
	commands []string // the session calls seen: AUTH, MAIL, RCPT, DATA
	raw      bytes.Buffer
}

func startPeer(t *testing.T, opts peerOptions) *smtpPeer {
	t.Helper()
	p := &smtpPeer{opts: opts}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &peerSession{peer: p, tls: isTLS, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = opts.startTLS
	srv.AllowInsecureAuth = opts.insecureAuth
	srv.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener = recordingListener{Listener: ln, peer: p}
	if opts.implicitTLS != nil {
		l = tls.NewListener(l, opts.implicitTLS)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().(*net.TCPAddr)
	p.host, p.port = addr.IP.String(), addr.Port
	return p
}

func (p *smtpPeer) record(cmd string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.commands = append(p.commands, cmd)
}

func (p *smtpPeer) received() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.mails...)
}

func (p *smtpPeer) seen() ([]string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.commands...), p.raw.String()
}

type recordingListener struct {
	net.Listener
	peer *smtpPeer
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recordingConn{Conn: c, peer: l.peer}, nil
}

type recordingConn struct {
	net.Conn
	peer *smtpPeer
}

func (c recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.peer.mu.Lock()
	c.peer.raw.Write(b[:n])
	c.peer.mu.Unlock()
	return n, err
}

type peerSession struct {
	peer   *smtpPeer
	conn   *gosmtp.Conn
	tls    bool
	authed bool
	cur    received
}

func (s *peerSession) AuthMechanisms() []string {
	if s.peer.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *peerSession) Auth(string) (sasl.Server, error) {
	s.peer.record("AUTH")
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.peer.opts.user || password != s.peer.opts.pass {
			return gosmtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *peerSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.peer.record("MAIL")
	if s.peer.opts.user != "" && !s.authed {
		return gosmtp.ErrAuthRequired
	}
	_, s.tls = s.conn.TLSConnectionState()
	s.cur = received{from: from, tls: s.tls}
	return nil
}

func (s *peerSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.peer.record("RCPT")
	if s.peer.opts.refuseRcpt {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	s.peer.record("DATA")
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.peer.mu.Lock()
	s.peer.mails = append(s.peer.mails, s.cur)
	s.peer.mu.Unlock()
	return nil
}

func (s *peerSession) Reset()        { s.cur = received{} }
func (s *peerSession) Logout() error { return nil }

// parsedMail is a received message read back as a mail client would.
type parsedMail struct {
	header  mail.Header
	subject string
	body    string
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d %q: a bare CR or LF", i+1, line)
		}
		if len(line) > 78 {
			t.Errorf("line %d is %d characters long, want at most 78: %q", i+1, len(line), line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a valid message: %v\n%s", err, raw)
	}
	h := msg.Header
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") {
		t.Errorf("Message-ID %q is not <local@domain>", id)
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version %q", h.Get("MIME-Version"))
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if cte := h.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q", cte)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Errorf("Subject %q: %v", h.Get("Subject"), err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return parsedMail{header: h, subject: subject, body: string(body)}
}

func newTestSMTPSender(t *testing.T, p *smtpPeer, cfg SMTPConfig) *SMTPSender {
	t.Helper()
	cfg.Host, cfg.Port = p.host, p.port
	if cfg.From == "" {
		cfg.From = "Boutique Café <no-reply@shop.test>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	s, err := NewSMTPSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSMTPSendsEachLocale(t *testing.T) {
	cert, pool := testCert(t)
	p := startPeer(t, peerOptions{
		startTLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		user:     "mailer", pass: "s3cret",
	})
	s := newTestSMTPSender(t, p, SMTPConfig{
		Username: "mailer", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: pool},
	})
	for i, locale := range []string{"en", "fr", "ar"} {
		code := []string{"482910", "007316", "650042"}[i]
		brand := map[string]string{"en": "Acme Shop", "fr": "Boutique Élégance", "ar": "متجر الأناقة"}[locale]
		if err := s.Send(t.Context(), message(Email, "buyer@shop.test", locale, brand, code)); err != nil {
			t.Fatalf("%s: %v", locale, err)
		}
		mails := p.received()
		if len(mails) != i+1 {
			t.Fatalf("%s: the server holds %d messages, want %d", locale, len(mails), i+1)
		}
		got := mails[i]
		if !got.tls {
			t.Errorf("%s: the message went over a plain connection", locale)
		}
		if got.from != "no-reply@shop.test" || len(got.to) != 1 || got.to[0] != "buyer@shop.test" {
			t.Errorf("%s: envelope from %q to %q", locale, got.from, got.to)
		}
		m := parseMail(t, got.data)
		from, err := m.header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Address != "no-reply@shop.test" || from[0].Name != "Boutique Café" {
			t.Errorf("%s: From %q (%v)", locale, m.header.Get("From"), err)
		}
		to, err := m.header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != "buyer@shop.test" {
			t.Errorf("%s: To %q (%v)", locale, m.header.Get("To"), err)
		}
		for what, text := range map[string]string{"subject": m.subject, "body": m.body} {
			if !strings.Contains(text, code) || !strings.Contains(text, brand) {
				t.Errorf("%s: the %s %q lacks the code %s or the brand %q", locale, what, text, code, brand)
			}
		}
		if !strings.Contains(m.body, "10") {
			t.Errorf("%s: the body does not say how long the code lasts: %q", locale, m.body)
		}
		if m.header.Get("Content-Language") != locale {
			t.Errorf("%s: Content-Language %q", locale, m.header.Get("Content-Language"))
		}
		if locale != "en" && !strings.Contains(m.header.Get("Subject"), "=?utf-8?") {
			t.Errorf("%s: the raw subject %q is not RFC 2047-encoded", locale, m.header.Get("Subject"))
		}
	}
	_, raw := p.seen()
	if strings.Contains(raw, "s3cret") || strings.Contains(raw, "AUTH") {
		t.Errorf("credentials or AUTH crossed the wire in clear:\n%s", raw)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	cert, pool := testCert(t)
	p := startPeer(t, peerOptions{implicitTLS: &tls.Config{Certificates: []tls.Certificate{cert}}, user: "u", pass: "p"})
	s := newTestSMTPSender(t, p, SMTPConfig{TLS: true, Username: "u", Password: "p", TLSConfig: &tls.Config{RootCAs: pool}})
	if err := s.Send(t.Context(), message(Email, "buyer@shop.test", "en", "Acme", "123456")); err != nil {
		t.Fatal(err)
	}
	if mails := p.received(); len(mails) != 1 || !mails[0].tls {
		t.Errorf("received %+v, want one message over TLS", mails)
	}
	if _, raw := p.seen(); strings.Contains(raw, "EHLO") {
		t.Error("the conversation was not encrypted from the first byte")
	}
}

func TestSMTPFailures(t *testing.T) {
	cert, pool := testCert(t)
	tlsServer := &tls.Config{Certificates: []tls.Certificate{cert}}
	trust := &tls.Config{RootCAs: pool}
	for _, c := range []struct {
		name      string
		peer      peerOptions
		cfg       SMTPConfig
		wantInErr string
		// commands the server may have seen; anything else is a failure
		allowed []string
	}{
		{
			name:      "recipient refused",
			peer:      peerOptions{startTLS: tlsServer, refuseRcpt: true},
			cfg:       SMTPConfig{TLSConfig: trust},
			wantInErr: "550",
			allowed:   []string{"MAIL", "RCPT"},
		},
		{
			name:      "wrong password",
			peer:      peerOptions{startTLS: tlsServer, user: "mailer", pass: "right"},
			cfg:       SMTPConfig{Username: "mailer", Password: "wrong", TLSConfig: trust},
			wantInErr: "AUTH",
			allowed:   []string{"AUTH"},
		},
		{
			name:      "STARTTLS required but not offered",
			peer:      peerOptions{user: "mailer", pass: "right", insecureAuth: true},
			cfg:       SMTPConfig{StartTLS: StartTLSRequire, Username: "mailer", Password: "right"},
			wantInErr: "STARTTLS",
		},
		{
			name:      "untrusted certificate",
			peer:      peerOptions{startTLS: tlsServer},
			cfg:       SMTPConfig{},
			wantInErr: "certificate",
		},
		{
			name:      "credentials but no AUTH offered",
			peer:      peerOptions{startTLS: tlsServer},
			cfg:       SMTPConfig{Username: "mailer", Password: "x", TLSConfig: trust},
			wantInErr: "AUTH",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startPeer(t, c.peer)
			s := newTestSMTPSender(t, p, c.cfg)
			err := s.Send(t.Context(), message(Email, "buyer@shop.test", "en", "Acme", "918273"))
			if err == nil || !strings.Contains(err.Error(), c.wantInErr) {
				t.Fatalf("error %v, want one mentioning %q", err, c.wantInErr)
			}
			if strings.Contains(err.Error(), "918273") {
				t.Errorf("the error %q holds the code", err)
			}
			if mails := p.received(); len(mails) != 0 {
				t.Errorf("the server accepted %d messages", len(mails))
			}
			commands, raw := p.seen()
			for _, cmd := range commands {
				if !strings.Contains(strings.Join(c.allowed, " "), cmd) {
					t.Errorf("the server saw %s (all: %v)", cmd, commands)
				}
			}
			if c.peer.startTLS == nil && c.peer.implicitTLS == nil {
				// Nothing but the greeting exchange went in clear.
				for _, line := range strings.Split(strings.TrimSpace(raw), "\r\n") {
					if verb, _, _ := strings.Cut(line, " "); verb != "EHLO" && verb != "QUIT" {
						t.Errorf("sent in clear: %q", line)
					}
				}
			}
		})
	}
}

// TestSMTPLoopbackWithoutTLS: to a relay on loopback, STARTTLS off and AUTH
// over the plain connection are allowed.
func TestSMTPLoopbackWithoutTLS(t *testing.T) {
	p := startPeer(t, peerOptions{user: "u", pass: "p", insecureAuth: true})
	s := newTestSMTPSender(t, p, SMTPConfig{StartTLS: StartTLSOff, Username: "u", Password: "p"})
	if err := s.Send(t.Context(), message(Email, "buyer@shop.test", "fr", "Acme", "123456")); err != nil {
		t.Fatal(err)
	}
	if mails := p.received(); len(mails) != 1 || mails[0].tls {
		t.Errorf("received %+v, want one message in clear", mails)
	}

	// Opportunistic goes on in clear to a server without STARTTLS.
	p = startPeer(t, peerOptions{})
	s = newTestSMTPSender(t, p, SMTPConfig{StartTLS: StartTLSOpportunistic})
	if err := s.Send(t.Context(), message(Email, "buyer@shop.test", "fr", "Acme", "123456")); err != nil {
		t.Fatal(err)
	}
	if mails := p.received(); len(mails) != 1 {
		t.Errorf("received %d messages, want 1", len(mails))
	}
}

// TestPlainAuthOnlyOverTLS: to anything but loopback, credentials need TLS.
func TestPlainAuthOnlyOverTLS(t *testing.T) {
	for _, c := range []struct {
		tls, loopback, ok bool
	}{
		{tls: false, loopback: false, ok: false},
		{tls: false, loopback: true, ok: true},
		{tls: true, loopback: false, ok: true},
	} {
		a := plainAuth{username: "u", password: "p", loopback: c.loopback}
		_, resp, err := a.Start(&smtp.ServerInfo{Name: "mail.example.net", TLS: c.tls, Auth: []string{"LOGIN", "PLAIN"}})
		if (err == nil) != c.ok {
			t.Errorf("TLS %v, loopback %v: error %v, want ok %v", c.tls, c.loopback, err, c.ok)
		}
		if err == nil && string(resp) != "\x00u\x00p" {
			t.Errorf("initial response %q", resp)
		}
	}
	if _, _, err := (plainAuth{username: "u"}).Start(&smtp.ServerInfo{TLS: true, Auth: []string{"LOGIN"}}); err == nil {
		t.Error("PLAIN used with a server that does not offer it")
	}
}

// TestSMTPTimeout: a server that accepts the connection and never greets
// does not hold a Send past its timeout, nor past its context.
func TestSMTPTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, silent
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	addr := ln.Addr().(*net.TCPAddr)
	s, err := NewSMTPSender(SMTPConfig{Host: "127.0.0.1", Port: addr.Port, From: "a@shop.test", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Send(t.Context(), message(Email, "b@shop.test", "en", "", "123456"))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("Send to a silent server: %v after %v", err, time.Since(start))
	}

	s, _ = NewSMTPSender(SMTPConfig{Host: "127.0.0.1", Port: addr.Port, From: "a@shop.test", Timeout: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	err = s.Send(ctx, message(Email, "b@shop.test", "en", "", "123456"))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("Send with a cancelled context: %v after %v", err, time.Since(start))
	}
}

func TestNewSMTPSenderChecksConfig(t *testing.T) {
	for _, c := range []SMTPConfig{
		{From: "a@shop.test"},                              // no host
		{Host: "mail.test", From: "not an address"},        // bad From
		{Host: "mail.test", From: "a@shop.test", Port: -1}, // bad port
		{Host: "mail.test", From: "a@shop.test", StartTLS: "sometimes"},
		{Host: "mail.test", From: "a@shop.test", Password: "p"}, // password without user
	} {
		if _, err := NewSMTPSender(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	s, err := NewSMTPSender(SMTPConfig{Host: "mail.test", From: "a@shop.test", TLS: true})
	if err != nil || s.addr != "mail.test:465" || s.cfg.StartTLS != StartTLSRequire {
		t.Errorf("defaults: %+v, %v", s, err)
	}
}

// TestEncodeHeaderNoInjection: a subject can never start a header of its
// own.
func TestEncodeHeaderNoInjection(t *testing.T) {
	for _, v := range []string{"a\r\nBcc: x@y.z", "a\nb", "plain", strings.Repeat("long subject ", 10), "رمز التحقق الخاص بك لدى متجر الأناقة هو 123456"} {
		got := encodeHeader(v)
		for _, line := range strings.Split(got, "\r\n")[1:] {
			if !strings.HasPrefix(line, " ") {
				t.Errorf("encodeHeader(%q) = %q: a line that is not a continuation", v, got)
			}
		}
		if strings.ContainsAny(strings.ReplaceAll(got, "\r\n ", ""), "\r\n") {
			t.Errorf("encodeHeader(%q) = %q holds a line break", v, got)
		}
		if dec, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(got, "\r\n", "")); err != nil || dec != v {
			t.Errorf("encodeHeader(%q) decodes to %q, %v", v, dec, err)
		}
	}
}
