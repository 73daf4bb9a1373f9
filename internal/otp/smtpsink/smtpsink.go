// Package smtpsink is a real SMTP server on loopback that keeps the
// messages it accepts (github.com/emersion/go-smtp), and reads the
// one-time codes sakk sends in them: for tests of code delivery, which
// talk to a mail server as production does rather than to a fake sender.
package smtpsink

import (
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Sink is the server. It is safe for concurrent use.
type Sink struct {
	Port int // on 127.0.0.1

	mu    sync.Mutex
	mails [][]byte
}

// Start runs a sink until the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	s := &Sink{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return session{s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.Port = ln.Addr().(*net.TCPAddr).Port
	return s
}

type session struct{ sink *Sink }

func (session) Reset()                                 {}
func (session) Logout() error                          { return nil }
func (session) Mail(string, *gosmtp.MailOptions) error { return nil }
func (session) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.mails = append(s.sink.mails, b)
	return nil
}

// Count is how many messages arrived.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mails)
}

// wait bounds how long Code waits for a message that is on its way.
const wait = 10 * time.Second

var codeLine = regexp.MustCompile(`(?m)^(\d{6})\r?$`)

// Message waits for message n (from 1) and returns its recipient and its
// decoded text. It fails the test when the message does not come.
func (s *Sink) Message(t testing.TB, n int) (to, text string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for s.Count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	var raw []byte
	if len(s.mails) >= n {
		raw = s.mails[n-1]
	}
	s.mu.Unlock()
	if raw == nil {
		t.Fatalf("message %d did not arrive", n)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header.Get("To"), string(body)
}

// Code waits for message n (from 1) and returns the one-time code in it,
// its recipient and its language. It fails the test when the message does
// not come, when more than n arrived (a code sent twice), or when it holds
// no code.
func (s *Sink) Code(t testing.TB, n int) (code, to, lang string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for s.Count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	got := len(s.mails)
	var raw []byte
	if got == n {
		raw = s.mails[n-1]
	}
	s.mu.Unlock()
	if got != n {
		t.Fatalf("%d messages received, want %d", got, n)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	m := codeLine.FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("no code in the message:\n%s", body)
	}
	return m[1], msg.Header.Get("To"), msg.Header.Get("Content-Language")
}
