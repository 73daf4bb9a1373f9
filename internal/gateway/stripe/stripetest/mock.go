package stripetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint says how to get stripe-mock.
const InstallHint = "install it with: go install github.com/stripe/stripe-mock@v0.203.0"

// One stripe-mock serves a whole test binary: it takes about two seconds
// to load Stripe's OpenAPI document, too long to start one per test, and
// being stateless it can be shared. It is started on first use; Main stops
// it when the tests end, and on Linux it also dies with the test binary
// (see dieWithParent) in packages without a TestMain.
var shared struct {
	once    sync.Once
	url     string
	err     error
	missing bool // the binary was not found: a skip, unless peers are required
	stop    func()
}

// Main runs the tests of a package that uses the stand-in and stops the
// shared stripe-mock afterwards. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared.stop != nil {
		shared.stop()
	}
	os.Exit(code)
}

// MockURL returns the HTTP base URL of the shared stripe-mock, starting it
// on first use. Without the binary the test is skipped, or fails when
// SAKK_TEST_REQUIRE_PEERS=1.
func MockURL(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		shared.url, shared.stop, shared.err = startMock()
	})
	switch {
	case shared.err == nil:
		return shared.url
	case shared.missing && os.Getenv("SAKK_TEST_REQUIRE_PEERS") != "1":
		t.Skipf("stripe-mock: %v; %s", shared.err, InstallHint)
	}
	t.Fatalf("stripe-mock: %v; %s", shared.err, InstallHint)
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
func startMock() (base string, stop func(), err error) {
	bin, err := findMock()
	if err != nil {
		shared.missing = true
		return "", nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:", "-strict-version-check")
	dieWithParent(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw

	// The child is started from a goroutine that keeps its OS thread for as
	// long as the child runs: on Linux the parent-death signal follows the
	// thread that started the child, not the process.
	started := make(chan error, 1)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		started <- cmd.Start()
		<-release
	}()
	if err := <-started; err != nil {
		close(release)
		return "", nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		pw.Close()
		close(release)
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
		base = "http://" + a
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, errors.New("stripe-mock printed no HTTP address within 30 s")
	}
	// Wait until it answers a real request.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/payment_intents/pi_ready", nil)
		req.Header.Set("Authorization", "Bearer sk_test_ready")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, stop, nil
			}
		}
		select {
		case <-ctx.Done():
			stop()
			return "", nil, fmt.Errorf("stripe-mock at %s did not answer within 30 s (last: %v)", base, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
