package otp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTPSMSConfig says where to POST text messages (the request's shape is
// in the package comment).
type HTTPSMSConfig struct {
	URL     string // http or https
	Token   string // sent as "Authorization: Bearer <Token>" when set
	Timeout time.Duration
	// Client makes the requests; nil is a client of its own with Timeout.
	// Redirects are never followed, whatever the client.
	Client *http.Client
}

// HTTPSMSSender sends codes by SMS through an HTTP endpoint.
type HTTPSMSSender struct {
	url    string
	token  string
	client *http.Client
}

// NewHTTPSMSSender checks cfg and returns a sender for it.
func NewHTTPSMSSender(cfg HTTPSMSConfig) (*HTTPSMSSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("otp: sms: URL %q: want an absolute http(s) URL", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	client := &http.Client{Timeout: cfg.Timeout}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	// A redirect would replay the body (and, to the same host, the token)
	// somewhere the operator did not configure; a 3xx is an error instead.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &HTTPSMSSender{url: cfg.URL, token: cfg.Token, client: client}, nil
}

// Send posts m to the endpoint. Errors name the status but never include
// the response body, which a provider might fill with the message it was
// sent (and so with the code).
func (s *HTTPSMSSender) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{m.To, m.Text})
	if err != nil {
		return fmt.Errorf("otp: sms: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("otp: sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error names the URL, which may carry credentials of its own
		// in its query; keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("otp: sms: POST: %w", err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("otp: sms: the provider answered %s", resp.Status)
	}
	return nil
}
