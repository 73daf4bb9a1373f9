package stripe_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests run against stripe-mock, Stripe's own mock server: it answers
// with fixture-shaped objects and validates every request against
// Stripe's OpenAPI document. TestMain starts one for the package.

const installHint = "install it with: go install github.com/stripe/stripe-mock@v0.203.0"

var (
	mockURL string // stripe-mock's HTTP base URL, when it runs
	mockErr error  // why it does not
	// mockMissing is true when the binary was not found (a skip, unless
	// peers are required); any other mockErr is a failure.
	mockMissing bool
)

func TestMain(m *testing.M) {
	stop, err := startMock()
	if err != nil {
		mockErr = err
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// needMock returns stripe-mock's URL, or skips the test when the binary is
// not installed (fails instead when SAKK_TEST_REQUIRE_PEERS=1).
func needMock(t *testing.T) string {
	t.Helper()
	switch {
	case mockErr == nil:
		return mockURL
	case mockMissing && os.Getenv("SAKK_TEST_REQUIRE_PEERS") != "1":
		t.Skipf("stripe-mock: %v; %s", mockErr, installHint)
	}
	t.Fatalf("stripe-mock: %v; %s", mockErr, installHint)
	return ""
}

// findMock looks for the stripe-mock binary in PATH, then in the bin
// directory of GOPATH, where go install puts it.
func findMock() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var gopath string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		gopath = strings.TrimSpace(string(out))
	}
	for dir := range strings.SplitSeq(gopath, string(os.PathListSeparator)) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "bin", "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("stripe-mock is not in PATH nor in $(go env GOPATH)/bin")
}

// startMock starts stripe-mock on loopback, on ports the system picks
// (both -http-addr and -https-addr are given, as stripe-mock needs; an
// empty port makes it take a free one, which it then prints), and waits
// until it answers. stop kills it.
func startMock() (stop func(), err error) {
	bin, err := findMock()
	if err != nil {
		mockMissing = true
		return nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:", "-strict-version-check")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		pw.Close()
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				select {
				case addr <- strings.TrimSpace(a):
				default:
				}
			}
		}
		io.Copy(io.Discard, pr) // keep draining its log until it exits
	}()
	select {
	case a := <-addr:
		mockURL = "http://" + a
	case <-time.After(30 * time.Second):
		stop()
		return nil, errors.New("stripe-mock printed no HTTP address within 30 s")
	}
	// Wait until it answers a real request.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, mockURL+"/v1/payment_intents/pi_ready", nil)
		req.Header.Set("Authorization", "Bearer sk_test_ready")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		select {
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("stripe-mock at %s did not answer within 30 s (last: %v)", mockURL, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// randomHex returns n random bytes in hex: test keys and ids.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
