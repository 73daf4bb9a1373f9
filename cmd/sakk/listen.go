package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/webhook"
)

// listen is `sakk listen`, for a merchant's developer: it reads an
// application's events from a remote sakk over the merchant API's event
// stream and re-posts each, signed as sakk signs webhooks, to a local URL,
// printing each with the answer. It touches no store.
func listen(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	app := fs.String("app", "", "application whose events to receive (its secret key's)")
	forward := fs.String("forward-to", "", "local URL to POST each event to, e.g. http://localhost:3000/webhooks")
	remote := fs.String("url", "", "the sakk to listen to (env SAKK_URL; default http://localhost:8080)")
	format := fs.String("format", string(pay.WebhookPayment), "webhook format to render and sign events in: payment or checkout")
	secret := fs.String("secret", "", "signing secret of the forwarded requests (default: a new one, printed at start)")
	keyFile := fs.String("api-key-file", "", "file holding the application's secret key (else env SAKK_API_KEY or SAKK_API_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return usageError{"help requested"}
		}
		return usageError{fmt.Sprintf("listen: %v (see sakk listen -h)", err)}
	}
	if *app == "" || *forward == "" {
		return usageError{"listen: --app APP and --forward-to URL are required"}
	}
	if u, err := url.Parse(*forward); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Sprintf("listen: --forward-to %q: want an http(s) URL", *forward)}
	}
	f := pay.WebhookFormat(*format)
	if !f.Valid() {
		return usageError{fmt.Sprintf("listen: --format %q: want payment or checkout", *format)}
	}
	base := strings.TrimSuffix(cmpOr(*remote, getenv("SAKK_URL"), "http://localhost:8080"), "/")
	key, err := listenKey(*keyFile, getenv)
	if err != nil {
		return err
	}
	if *secret == "" {
		b := make([]byte, 24)
		rand.Read(b)
		*secret = "whsec_" + base64.RawURLEncoding.EncodeToString(b)
	}
	l := &listener{
		stream:  base + "/api/merchant/v1/events/stream?" + url.Values{"app": {*app}, "format": {*format}}.Encode(),
		key:     key,
		forward: *forward,
		format:  f,
		secret:  *secret,
		out:     stdout,
		client:  &http.Client{Timeout: 10 * time.Second},
	}
	fmt.Fprintf(stdout, "Forwarding the %s events of %s from %s to %s\nSigning secret: %s\n", f, *app, base, *forward, *secret)
	return l.run(ctx)
}

func cmpOr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// listenKey reads the secret key from a file or the environment, never
// the command line (where other users and the shell history see it).
func listenKey(file string, getenv func(string) string) (string, error) {
	if file == "" {
		file = getenv("SAKK_API_KEY_FILE")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("listen: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if k := getenv("SAKK_API_KEY"); k != "" {
		return k, nil
	}
	return "", usageError{"listen: give the application's secret key in SAKK_API_KEY, SAKK_API_KEY_FILE or --api-key-file"}
}

type listener struct {
	stream, key, forward, secret string
	format                       pay.WebhookFormat
	out                          io.Writer
	client                       *http.Client // forwards; the stream has no timeout
}

// run keeps a stream open, reconnecting after a second when it breaks,
// until ctx ends. A refusal that another try cannot change (a wrong key)
// ends it with the server's answer.
func (l *listener) run(ctx context.Context) error {
	for {
		err := l.once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var fatal refusal
		if errors.As(err, &fatal) {
			return fatal
		}
		fmt.Fprintf(l.out, "%s stream interrupted (%v); reconnecting\n", time.Now().Format(time.TimeOnly), err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// refusal is the server's 4xx other than 429.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }

func (l *listener) once(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.stream, nil)
	if err != nil {
		return refusal{err.Error()}
	}
	req.Header.Set("X-API-Key", l.key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		msg := fmt.Sprintf("listen: the event stream answered %d %s", resp.StatusCode, bytes.TrimSpace(body))
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return refusal{msg}
		}
		return errors.New(msg)
	}
	fmt.Fprintf(l.out, "%s ready: listening\n", time.Now().Format(time.TimeOnly))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				l.deliver(ctx, data.String())
				data.Reset()
			}
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
		// id:, event:, retry: and comments need nothing: data carries all.
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// deliver re-posts one event, signed, and prints how the receiver
// answered. It does not retry: the developer sees the answer and fixes
// the receiver (the server keeps delivering to real endpoints as usual).
func (l *listener) deliver(ctx context.Context, data string) {
	var ev struct{ ID, Type, Body string }
	body, err := []byte(nil), json.Unmarshal([]byte(data), &ev)
	if err == nil {
		body, err = base64.StdEncoding.DecodeString(ev.Body)
	}
	if err != nil {
		fmt.Fprintf(l.out, "%s unreadable event: %v\n", time.Now().Format(time.TimeOnly), err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.forward, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(l.out, "%s %s %s: %v\n", time.Now().Format(time.TimeOnly), ev.Type, ev.ID, err)
		return
	}
	req.Header.Set("User-Agent", "sakk-listen/1")
	webhook.Sign(req.Header, l.format, webhook.Rendered{Type: ev.Type, ID: ev.ID, Body: body}, l.secret, time.Now())
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		fmt.Fprintf(l.out, "%s %s %s → %v\n", start.Format(time.TimeOnly), ev.Type, ev.ID, err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	fmt.Fprintf(l.out, "%s %s %s → %d (%d ms)\n", start.Format(time.TimeOnly), ev.Type, ev.ID, resp.StatusCode, time.Since(start).Milliseconds())
}
