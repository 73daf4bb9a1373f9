// Package demo is the demo shop at /demo on a sandbox sakk: a small store
// that integrates sakk exactly as a merchant would. Its server side holds
// its own sandbox secret key and talks to sakk over HTTP (the Checkout
// API): it opens a session for the basket, and before it shows "order
// confirmed" it reads the transaction's status itself, never trusting the
// browser. Its page opens the checkout with the browser SDK
// (/sdk/v1/sakk.js). It receives sakk's signed webhooks at
// /demo/webhooks, verifies them, and lists them.
//
// The shop's keys are created with the demo data on a fresh
// installation (see Seed) and kept sealed in the store's settings.
package demo

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

// Setting names the store setting holding the shop's sealed Keys.
const Setting = "demo_shop"

// Keys are what the shop's server side holds, like any merchant's.
type Keys struct {
	ApplicationID string `json:"application_id"`
	SecretKey     string `json:"secret_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// Product is one article of the shop.
type Product struct {
	Code  string
	Title string
	Price money.Amount
}

// Products are what the shop sells (also in its sakk catalog).
var Products = []Product{
	{"DEMO-HEADPHONES", "Wireless Headphones", money.New(179900, "MAD")},
	{"DEMO-MUG", "Ceramic Mug", money.New(8950, "MAD")},
}

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/*.html"))

// Shop serves the demo shop.
type Shop struct {
	keys   Keys
	api    string // base URL the server side calls sakk at
	client *http.Client
	log    *slog.Logger

	mu     sync.Mutex
	events []Received // newest first, at most maxEvents
}

const maxEvents = 50

// Received is a webhook the shop got and verified.
type Received struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Summary    string    `json:"summary"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// New returns the shop. api is the base URL its server side reaches sakk
// at (on the same machine: the listener's address).
func New(keys Keys, api string, log *slog.Logger) *Shop {
	return &Shop{keys: keys, api: strings.TrimSuffix(api, "/"), client: &http.Client{Timeout: 15 * time.Second}, log: log}
}

// Register adds the shop's routes to mux.
func (s *Shop) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo", s.home)
	mux.HandleFunc("GET /demo/{$}", s.home)
	mux.HandleFunc("POST /demo/orders", s.order)
	mux.HandleFunc("GET /demo/orders/{transactionId}", s.confirmation)
	mux.HandleFunc("POST /demo/webhooks", s.webhook)
	mux.HandleFunc("GET /demo/events", s.listEvents)
	mux.Handle("GET /demo/assets/", http.StripPrefix("/demo/", http.FileServerFS(assets)))
}

func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func (s *Shop) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := page.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("demo page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	secure(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type productView struct {
	Code, Title, Price, Currency string
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	var ps []productView
	for _, p := range Products {
		ps = append(ps, productView{p.Code, p.Title, money.Format(p.Price), string(p.Price.Currency)})
	}
	s.render(w, http.StatusOK, "shop.html", map[string]any{"Products": ps, "Events": s.snapshot()})
}

// order is the shop's own backend: it prices the basket from its own
// catalog (the browser only names products) and opens a sakk session.
func (s *Shop) order(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Product  string `json:"product"`
		Quantity int64  `json:"quantity"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&in); err != nil {
		http.Error(w, "bad order", http.StatusBadRequest)
		return
	}
	var p *Product
	for i := range Products {
		if Products[i].Code == in.Product {
			p = &Products[i]
		}
	}
	if p == nil || in.Quantity < 0 || in.Quantity > 10 {
		http.Error(w, "unknown product or quantity", http.StatusBadRequest)
		return
	}
	if in.Quantity == 0 {
		in.Quantity = 1
	}
	total, err := p.Price.Mul(in.Quantity)
	if err != nil {
		http.Error(w, "bad quantity", http.StatusBadRequest)
		return
	}
	body, _ := json.Marshal(map[string]any{
		"total":    money.Format(total),
		"currency": string(total.Currency),
		"items": []map[string]any{{
			"id": p.Code, "name": p.Title, "price": json.RawMessage(money.Format(p.Price)), "quantity": in.Quantity,
		}},
		"vendor_reference": "DEMO-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	})
	var out struct {
		SessionToken string `json:"session_token"`
	}
	if err := s.call(r.Context(), http.MethodPost, "/api/v1/public/sessions", body, &out); err != nil {
		s.log.Warn("demo: open session", "err", err)
		http.Error(w, "the payment service is not available", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"session_token": out.SessionToken})
}

// confirmation shows "order confirmed" only when sakk itself, asked by
// the shop's server with its secret key, says APPROVED.
func (s *Shop) confirmation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("transactionId")
	var st struct {
		Status   string          `json:"status"`
		Amount   json.RawMessage `json:"amount"`
		Currency string          `json:"currency"`
	}
	err := s.call(r.Context(), http.MethodGet, "/api/v1/public/transactions/"+url.PathEscape(id)+"/status", nil, &st)
	data := map[string]any{"ID": id, "Status": st.Status, "Amount": string(st.Amount), "Currency": st.Currency,
		"Confirmed": err == nil && st.Status == "APPROVED", "Events": s.snapshot()}
	if err != nil {
		data["Status"] = "UNKNOWN"
	}
	s.render(w, http.StatusOK, "order.html", data)
}

// call sends one request to sakk with the shop's secret key and decodes
// a 200 answer into out.
func (s *Shop) call(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.api+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", s.keys.SecretKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// webhook receives sakk's events (the Public Payment API's format),
// verifying Sakk-Signature: t=…,v1=… over t + "." + body before reading.
func (s *Shop) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<10))
	if err != nil || !s.verify(r.Header.Get("Sakk-Signature"), body, time.Now()) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var e struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			PaymentID string          `json:"paymentId"`
			Amount    json.RawMessage `json:"amount"`
			Currency  string          `json:"currency"`
			Status    string          `json:"status"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	summary := strings.TrimSpace(fmt.Sprintf("%s %s %s %s", e.Data.PaymentID, e.Data.Status, e.Data.Amount, e.Data.Currency))
	s.mu.Lock()
	s.events = append([]Received{{ID: e.ID, Type: e.Type, Summary: summary, ReceivedAt: time.Now().UTC()}}, s.events...)
	if len(s.events) > maxEvents {
		s.events = s.events[:maxEvents]
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// verify checks a Sakk-Signature header against the shop's secret, with
// five minutes' tolerance; during a secret rotation any v1 may match.
func (s *Shop) verify(header string, body []byte, now time.Time) bool {
	var t string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	ts, err := strconv.ParseInt(t, 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(s.keys.WebhookSecret))
	m.Write([]byte(t + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, sig := range sigs {
		if got, err := hex.DecodeString(sig); err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func (s *Shop) snapshot() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.events...)
}

func (s *Shop) listEvents(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"events": s.snapshot()})
}

// ErrNoKeys says the installation has no demo shop keys (its demo data
// predates the shop, or it has none).
var ErrNoKeys = errors.New("demo: no demo shop keys in this installation")
