package otp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StartTLSMode says whether a plain SMTP connection is upgraded to TLS.
type StartTLSMode string

const (
	// StartTLSRequire (the default) upgrades, and refuses to go on with a
	// server that does not offer STARTTLS: nothing is sent in clear.
	StartTLSRequire StartTLSMode = "require"
	// StartTLSOpportunistic upgrades when the server offers it and
	// otherwise goes on in clear (credentials still only over TLS or to
	// loopback).
	StartTLSOpportunistic StartTLSMode = "opportunistic"
	// StartTLSOff never upgrades: for a relay on the same machine.
	StartTLSOff StartTLSMode = "off"
)

// SMTPConfig says how to reach the mail server that sends codes.
type SMTPConfig struct {
	Host string
	Port int // default 465 with TLS, else 587
	// Username and Password, when Username is set, log in with AUTH PLAIN,
	// which is only ever done over TLS or to a server on loopback.
	Username string
	Password string
	From     string       // the From header, e.g. "Shop <no-reply@shop.example>"
	StartTLS StartTLSMode // "" is StartTLSRequire; ignored with TLS
	// TLS speaks TLS from the first byte (SMTPS, usually port 465) instead
	// of upgrading with STARTTLS.
	TLS bool
	// Timeout bounds one whole message: connect, conversation, upload.
	// Default 30s.
	Timeout time.Duration
	// TLSConfig is the base of the TLS settings: nil trusts the system's
	// roots. Set RootCAs for a private CA (and in tests). ServerName
	// defaults to Host.
	TLSConfig *tls.Config
	// LocalName is the name sent in EHLO; default this machine's host name.
	LocalName string
}

// SMTPSender sends codes by email through one SMTP server, a new
// connection per message.
type SMTPSender struct {
	cfg       SMTPConfig
	addr      string
	from      *mail.Address
	loopback  bool
	localName string
}

// NewSMTPSender checks cfg and returns a sender for it.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if cfg.Host == "" {
		return nil, errors.New("otp: smtp: no host")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("otp: smtp: bad port %d", cfg.Port)
	}
	switch cfg.StartTLS {
	case "":
		cfg.StartTLS = StartTLSRequire
	case StartTLSRequire, StartTLSOpportunistic, StartTLSOff:
	default:
		return nil, fmt.Errorf("otp: smtp: STARTTLS mode %q: want require, opportunistic or off", cfg.StartTLS)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("otp: smtp: a password without a username")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("otp: smtp: From %q: %w", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	localName := cfg.LocalName
	if localName == "" {
		if localName, err = os.Hostname(); err != nil || localName == "" {
			localName = "localhost"
		}
	}
	ip := net.ParseIP(cfg.Host)
	return &SMTPSender{
		cfg:       cfg,
		addr:      net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		from:      from,
		loopback:  cfg.Host == "localhost" || ip != nil && ip.IsLoopback(),
		localName: localName,
	}, nil
}

// Send delivers m to m.To in one SMTP conversation. It returns once the
// server has accepted the message, or the first error; ctx and the
// configured Timeout both cut it short.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	if err := s.send(ctx, m); err != nil {
		return fmt.Errorf("otp: smtp %s: %w", s.addr, err)
	}
	return nil
}

func (s *SMTPSender) send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	// net/smtp takes no context: the deadline bounds every read and write,
	// and a cancelled ctx moves it to now, which fails the one in progress.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	defer context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })()

	if s.cfg.TLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.localName); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if !s.cfg.TLS && s.cfg.StartTLS != StartTLSOff {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		} else if s.cfg.StartTLS == StartTLSRequire {
			return errors.New("the server does not offer STARTTLS, which is required (set the STARTTLS mode to opportunistic or off to send in clear)")
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("credentials are configured but the server offers no AUTH")
		}
		if err := c.Auth(plainAuth{username: s.cfg.Username, password: s.cfg.Password, loopback: s.loopback}); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(s.compose(m, time.Now())); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// Close ends DATA and returns the server's verdict on the message.
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted; a failed QUIT changes nothing about it.
	_ = c.Quit()
	return nil
}

func (s *SMTPSender) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if s.cfg.TLSConfig != nil {
		cfg = s.cfg.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.cfg.Host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// compose writes m as an RFC 5322 message: UTF-8 text, quoted-printable
// (French stays readable in the raw source, and every line stays short),
// the subject in RFC 2047 encoded words, CRLF line ends. Dot-stuffing is
// the DATA writer's.
func (s *SMTPSender) compose(m Message, now time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	_, domain, _ := strings.Cut(s.from.Address, "@")
	var id [16]byte
	rand.Read(id[:])
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	header("From", s.from.String())
	header("To", (&mail.Address{Address: m.To}).String())
	header("Subject", encodeHeader(m.Subject))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	if m.Locale != "" {
		header("Content-Language", m.Locale)
	}
	// RFC 3834: an automatic message; out-of-office replies stay away.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(m.Text)) // writes to a bytes.Buffer do not fail
	qp.Close()
	return b.Bytes()
}

// encodeHeader encodes a header value as RFC 2047 words where it holds
// anything but printable ASCII (control characters included, so no value
// can start a header of its own) or is too long for one line. Each word
// carries at most maxWordBytes of UTF-8, cut between characters, and the
// words are folded one per line, so every line stays within 78 characters
// (readers drop the space between two encoded words).
func encodeHeader(v string) string {
	const maxWordBytes = 39 // 12 + 4*ceil(39/3) = 64 characters a word, after "Subject: "
	if len(v) <= maxWordBytes && mime.BEncoding.Encode("utf-8", v) == v {
		return v
	}
	var words []string
	for len(v) > 0 {
		n := 0
		for n < len(v) {
			_, size := utf8.DecodeRuneInString(v[n:])
			if n+size > maxWordBytes {
				break
			}
			n += size
		}
		// Every word encoded, ASCII ones too: spaces between encoded words
		// vanish when decoded, spaces next to plain text would not.
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(v[:n]))+"?=")
		v = v[n:]
	}
	return strings.Join(words, "\r\n ")
}

// plainAuth is AUTH PLAIN (RFC 4616) that sends credentials only over TLS
// or to a server on loopback. (net/smtp's PlainAuth has the same rule but
// knows loopback only as three spellings.)
type plainAuth struct {
	username, password string
	loopback           bool
}

func (a plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.loopback {
		return "", nil, errors.New("refusing to send credentials over an unencrypted connection")
	}
	ok := false
	for _, mech := range server.Auth {
		ok = ok || strings.EqualFold(mech, "PLAIN")
	}
	if !ok {
		return "", nil, fmt.Errorf("the server offers AUTH %s, not PLAIN", strings.Join(server.Auth, " "))
	}
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}
