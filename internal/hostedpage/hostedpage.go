// Package hostedpage serves what a shopper's browser loads from sakk: the
// hosted checkout page at /checkout/{sessionToken}, its script and style
// sheet under /assets/v1/, and the merchant-facing browser SDK at
// /sdk/v1/sakk.js (SURFACES.md §1 "Browser SDK and its callbacks").
//
// The page is rendered on the server with html/template, so everything a
// merchant or shopper supplied is escaped. It carries what its script needs
// as JSON data: the session token, a frontend SDK token minted for sakk's
// own origin (the public URL; sakk's page needs no verified merchant
// domain), and, for a customer the merchant locked, a payment verification
// token, so that such a shopper goes straight to payment. No inline script
// runs: the Content-Security-Policy allows scripts from sakk's origin only,
// and the page loads nothing from anywhere else except product and brand
// images. Any origin may frame the page (frame-ancestors *): the SDK shows
// it in an overlay on the merchant's page.
//
// Card numbers never reach sakk. The card step tokenizes with the
// tokenizer of the session's card gateway: the sandbox simulator's
// (POST /api/v1/sandbox/tokens) for simulated gateways, and, where the
// merchant entered an account with a publishable key, the gateway's own:
// Stripe.js and its card Element for Stripe, Moyasar's tokens API for
// Moyasar. Only such a page's Content-Security-Policy names that
// gateway's origins (see TokenizerURLs); payments/process receives the
// token alone.
package hostedpage

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/token"
)

// Paths this package serves. The version in each is part of the contract
// with merchants' pages (the SDK) and with cached pages (the assets): a
// change that breaks either gets a new version, served next to the old.
const (
	PagePrefix = "/checkout/"      // + session token
	AssetsPath = "/assets/v1/"     // + file name
	SDKPath    = "/sdk/v1/sakk.js" // the browser SDK
	assetsDir  = "assets/v1"       // in the embedded FS
	sdkFile    = "assets/sdk/sakk.js"
	maxPageTTL = time.Hour       // the longest an SDK token minted for a page lives
	minPageTTL = 2 * time.Minute // and the shortest, for a session about to expire
	pageLocale = "en"            // when nothing else decides
)

// backendOnly are permissions an SDK token minted for a browser never
// carries, whatever the application grants (as POST /api/v1/tokenize).
var backendOnly = []string{"product:create", "customer:create", "customer:select"}

//go:embed assets templates
var files embed.FS

// Deps is what the page needs.
type Deps struct {
	Logger   *slog.Logger
	Checkout *checkout.Service
	Tokens   *token.Ring
	// Now is the clock sessions expire by; nil is time.Now.
	Now func() time.Time
	// TokenizerURLs locate the gateways' browser tokenizers; the zero
	// value is the gateways themselves. Only tests set it.
	TokenizerURLs TokenizerURLs
}

// TokenizerURLs are where the gateways' own card tokenizers live. An
// empty field is the gateway's real address; tests point them at
// stand-ins on loopback.
type TokenizerURLs struct {
	StripeJS   string // Stripe.js v3, loaded by the page: https://js.stripe.com/v3/
	StripeAPI  string // the API Stripe.js calls: https://api.stripe.com
	MoyasarAPI string // Moyasar's API, whose POST /v1/tokens the page calls: https://api.moyasar.com
}

// The gateways' real tokenizer addresses.
const (
	stripeJSURL   = "https://js.stripe.com/v3/"
	stripeAPIURL  = "https://api.stripe.com"
	moyasarAPIURL = "https://api.moyasar.com"
)

// Tokenizers, as the page's data names them.
const (
	tokenizerSandbox = "sandbox" // the simulator's, at sakk
	tokenizerStripe  = "stripe"  // Stripe.js
	tokenizerMoyasar = "moyasar" // Moyasar's tokens API
)

// tokenizers are the resolved addresses: the script to load, and the
// origins each gateway's page must be allowed to reach.
type tokenizers struct {
	stripeJS, stripeJSOrigin, stripeAPIOrigin string
	moyasarAPI, moyasarAPIOrigin              string
}

func resolveTokenizers(u TokenizerURLs) (tokenizers, error) {
	var t tokenizers
	origin := func(raw string) (string, error) {
		p, err := url.Parse(raw)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return "", fmt.Errorf("hostedpage: tokenizer URL %q is not an absolute http(s) URL", raw)
		}
		return strings.ToLower(p.Scheme + "://" + p.Host), nil
	}
	t.stripeJS = cmp.Or(u.StripeJS, stripeJSURL)
	t.moyasarAPI = strings.TrimSuffix(cmp.Or(u.MoyasarAPI, moyasarAPIURL), "/")
	var e1, e2, e3 error
	t.stripeJSOrigin, e1 = origin(t.stripeJS)
	t.stripeAPIOrigin, e2 = origin(cmp.Or(u.StripeAPI, stripeAPIURL))
	t.moyasarAPIOrigin, e3 = origin(t.moyasarAPI)
	return t, errors.Join(e1, e2, e3)
}

// Handler serves the hosted page, its assets and the SDK.
type Handler struct {
	log      *slog.Logger
	checkout *checkout.Service
	tokens   *token.Ring
	now      func() time.Time
	origin   string // sakk's own origin, from the public URL
	tok      tokenizers
	page     *template.Template
	assets   map[string]asset // by request path
}

// asset is one embedded static file, with its validator.
type asset struct {
	body        []byte
	contentType string
	etag        string
	cache       string
}

// New returns the Handler. sakk's public URL, whose origin the page's SDK
// token is bound to, is the base of checkout.Service.CheckoutURL.
func New(d Deps) (*Handler, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	base := strings.TrimSuffix(d.Checkout.CheckoutURL(""), PagePrefix)
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("hostedpage: public URL %q is not an absolute URL", base)
	}
	tok, err := resolveTokenizers(d.TokenizerURLs)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		log: d.Logger, checkout: d.Checkout, tokens: d.Tokens, now: d.Now,
		origin: strings.ToLower(u.Scheme + "://" + u.Host),
		tok:    tok,
		assets: map[string]asset{},
	}
	h.page, err = template.New("checkout.html").Funcs(template.FuncMap{
		"has": func(list []string, s string) bool { return slices.Contains(list, s) },
	}).ParseFS(files, "templates/checkout.html")
	if err != nil {
		return nil, fmt.Errorf("hostedpage: %w", err)
	}
	add := func(reqPath, file, cache string) error {
		b, err := fs.ReadFile(files, file)
		if err != nil {
			return fmt.Errorf("hostedpage: %w", err)
		}
		sum := sha256.Sum256(b)
		ct := "text/javascript; charset=utf-8"
		if path.Ext(file) == ".css" {
			ct = "text/css; charset=utf-8"
		}
		h.assets[reqPath] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, cache: cache}
		return nil
	}
	entries, err := fs.ReadDir(files, assetsDir)
	if err != nil {
		return nil, fmt.Errorf("hostedpage: %w", err)
	}
	for _, e := range entries {
		// Short caching with a validator: a fix inside v1 reaches every
		// browser within minutes, and a revalidation costs a 304.
		if err := add(AssetsPath+e.Name(), assetsDir+"/"+e.Name(), "public, max-age=300"); err != nil {
			return nil, err
		}
	}
	if err := add(SDKPath, sdkFile, "public, max-age=300"); err != nil {
		return nil, err
	}
	return h, nil
}

// Register adds the page, assets and SDK routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PagePrefix+"{sessionToken}", h.servePage)
	mux.HandleFunc("GET "+AssetsPath+"{file}", h.serveAsset)
	mux.HandleFunc("GET "+SDKPath, h.serveAsset)
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", a.cache)
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	// The SDK is loaded by merchants' pages, from their origins.
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}

// contentSecurityPolicy is the page's: scripts and styles from sakk only,
// API calls to sakk only, images also from https (merchants' product
// photos and logos), any framer (the SDK's overlay). A card step with a
// gateway's tokenizer adds exactly that tokenizer's origins: Stripe.js's
// script and frames, and the API it calls; Moyasar's API.
func (h *Handler) contentSecurityPolicy(tokenizer string) string {
	var script, frame, connect string
	switch tokenizer {
	case tokenizerStripe:
		script, frame, connect = " "+h.tok.stripeJSOrigin, h.tok.stripeJSOrigin, " "+h.tok.stripeAPIOrigin
	case tokenizerMoyasar:
		connect = " " + h.tok.moyasarAPIOrigin
	}
	p := "default-src 'none'; script-src 'self'" + script + "; style-src 'self'; img-src 'self' https: data:; connect-src 'self'" + connect
	if frame != "" {
		p += "; frame-src " + frame
	}
	return p + "; form-action 'self'; base-uri 'none'; frame-ancestors *"
}

// States of the page, as its script and data-state name them.
const (
	statePay       = "pay"       // open: verify the customer (unless locked) and pay
	statePending   = "pending"   // an attempt awaits the gateway
	statePaid      = "paid"      // completed (or since refunded)
	stateFailed    = "failed"    // the latest attempt failed; the shopper may retry
	stateCancelled = "cancelled" // closed by the shopper or the merchant
	stateExpired   = "expired"   // past its expiry, or marked expired
	stateInvalid   = "invalid"   // the link names no session
)

// view is what the template renders.
type view struct {
	Lang, Dir   string
	T           map[string]string
	State       string
	Brand       string
	BrandLogo   string
	Initial     string
	Items       []itemView
	Total       string
	PayLabel    string
	Sandbox     bool
	Methods     []string
	CanClose    bool // the header's close button: cancelUrl set (the script also shows it when embedded)
	Data        pageData
	AssetsPath  string
	HasSession  bool
	ResultTitle string
	ResultText  string
	Tokenizer   string // of the card step: tokenizerSandbox, tokenizerStripe, tokenizerMoyasar, or "" (no card step)
	TokenizerJS string // the tokenizer's script, loaded before the page's own
}

type itemView struct {
	Title, Image, Initial, Quantity, UnitPrice, LineTotal string
}

// pageData is the JSON the page's script reads.
type pageData struct {
	SessionToken      string            `json:"sessionToken,omitempty"`
	SessionID         string            `json:"sessionId,omitempty"`
	SDKToken          string            `json:"sdkToken,omitempty"`
	VerificationToken string            `json:"verificationToken,omitempty"`
	Locked            bool              `json:"locked"`
	Customer          string            `json:"customer,omitempty"` // a locked customer's identifier, shown on the payment step
	State             string            `json:"state"`
	Locale            string            `json:"locale"`
	Sandbox           bool              `json:"sandbox"`
	Channels          []string          `json:"channels"`
	Methods           []string          `json:"methods"`
	Gateways          map[string]string `json:"gateways"`
	Card              *cardData         `json:"card,omitempty"` // how cards are tokenized, when the page can pay by card
	ReturnURL         string            `json:"returnUrl,omitempty"`
	CancelURL         string            `json:"cancelUrl,omitempty"`
	PaymentID         string            `json:"paymentId,omitempty"`
	Error             *pageError        `json:"error,omitempty"`
	Texts             map[string]string `json:"texts"`
}

// cardData tells the page's script how to tokenize a card: which
// gateway charges it, with which tokenizer, and what of the merchant's
// account that tokenizer needs (what a browser may see).
type cardData struct {
	Gateway        string `json:"gateway"`
	Tokenizer      string `json:"tokenizer"`                // "sandbox", "stripe" or "moyasar"
	PublishableKey string `json:"publishableKey,omitempty"` // the account's, for the gateway's tokenizer
	URL            string `json:"url,omitempty"`            // Moyasar: the API base its tokens are made at
}

type pageError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// servePage is GET /checkout/{sessionToken}.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query().Get("locale")
	accept := r.Header.Get("Accept-Language")
	tok := r.PathValue("sessionToken")
	c, err := h.tokens.Verify(ctx, tok, token.TypeSession)
	if pay.KindOf(err) == pay.Unauthenticated {
		// The wording only: an expired token says "expired", anything
		// else "not valid". Nothing the token claims is trusted further.
		state := stateInvalid
		if h.expiredSessionToken(tok) {
			state = stateExpired
		}
		h.render(w, r, http.StatusNotFound, h.closedView(chooseLocale(q, "", accept), state))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.checkout.SessionDetails(ctx, c.ApplicationID, c.Environment, c.SessionID)
	if pay.KindOf(err) == pay.NotFound {
		h.render(w, r, http.StatusNotFound, h.closedView(chooseLocale(q, "", accept), stateInvalid))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The hosted redirect flow: the shop appended redirect_url to
	// checkout_url. A session without a return URL takes it when it is
	// the shop's (checkout.AdoptRedirect); anything else is ignored.
	if raw := r.URL.Query().Get("redirect_url"); raw != "" && d.Session.ReturnURL == "" {
		took, err := h.checkout.AdoptRedirect(ctx, c.ApplicationID, c.Environment, c.SessionID, raw)
		if err != nil && pay.KindOf(err) != pay.Invalid {
			h.fail(w, r, err)
			return
		}
		if took {
			d.Session.ReturnURL = raw
			if d.Session.CancelURL == "" {
				d.Session.CancelURL = raw
			}
		}
	}
	v, err := h.sessionView(ctx, tok, d, chooseLocale(q, d.Session.Locale, accept))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, v)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "hosted page", "err", err)
	h.render(w, r, http.StatusInternalServerError, h.closedView(chooseLocale(r.URL.Query().Get("locale"), "", r.Header.Get("Accept-Language")), "error"))
}

// expiredSessionToken reports whether tok, unverified, claims to be a
// session token past its expiry.
func (h *Handler) expiredSessionToken(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(tok) > 8<<10 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c struct {
		Type string `json:"typ"`
		Exp  int64  `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil {
		return false
	}
	return c.Type == string(token.TypeSession) && c.Exp > 0 && h.now().Unix() >= c.Exp
}

// stateOf is the page's state for a session.
func (h *Handler) stateOf(s pay.Session) string {
	switch s.Status {
	case pay.SessionCompleted, pay.SessionRefunded:
		return statePaid
	case pay.SessionCancelled:
		return stateCancelled
	case pay.SessionExpired:
		return stateExpired
	}
	if !h.now().Before(s.ExpiresAt) {
		return stateExpired
	}
	switch s.Status {
	case pay.SessionPending:
		return statePending
	case pay.SessionFailed:
		return stateFailed
	}
	return statePay
}

func (h *Handler) sessionView(ctx context.Context, sessionToken string, d checkout.Details, lang string) (view, error) {
	s := d.Session
	t := texts[lang]
	v := h.baseView(lang)
	v.HasSession = true
	v.State = h.stateOf(s)
	// The application's display name (its branding) is what shoppers
	// know the shop as; else the merchant's name, else the application's.
	v.Brand = cmp.Or(d.DisplayName, d.MerchantName, d.ApplicationName)
	v.BrandLogo = d.BrandLogo
	v.Initial = initial(v.Brand)
	v.Sandbox = s.Environment == pay.Sandbox
	for _, it := range s.Items {
		line, err := it.UnitPrice.Mul(it.Quantity)
		if err != nil {
			return view{}, fmt.Errorf("hostedpage: %w", err)
		}
		v.Items = append(v.Items, itemView{
			Title: it.Name, Image: it.ImageURL, Initial: initial(it.Name),
			Quantity: strings.ReplaceAll(t["qty"], "{n}", fmt.Sprint(it.Quantity)), UnitPrice: formatAmount(it.UnitPrice, lang), LineTotal: formatAmount(line, lang),
		})
	}
	v.Total = formatAmount(s.Amount, lang)
	// The amount is isolated left-to-right (LRI … PDI), so that in Arabic
	// "1,899.00 MAD" keeps its order inside the sentence.
	v.PayLabel = strings.ReplaceAll(t["pay_amount"], "{amount}", "\u2066"+v.Total+"\u2069")
	methods, gateways := paymentMethods(s.Gateway, d.Gateways)
	channels := []string{}
	for _, ch := range h.checkout.VerificationMethods(s.Environment) {
		channels = append(channels, string(ch))
	}
	data := pageData{
		SessionToken: sessionToken, SessionID: s.ID, State: v.State, Locale: lang, Sandbox: v.Sandbox,
		Channels: channels, Gateways: gateways, ReturnURL: s.ReturnURL, CancelURL: s.CancelURL,
		Locked: s.Customer.Locked, Texts: t,
	}
	if p := d.Payment; p != nil {
		data.PaymentID = p.ID
		if p.Status == pay.PaymentFailed {
			data.Error = &pageError{Code: p.ErrorCode, Message: p.ErrorMessage}
		}
	}
	v.CanClose = s.CancelURL != "" && v.State != statePaid
	// Tokens are minted only for a page that still calls the API.
	if v.State == statePay || v.State == stateFailed || v.State == statePending {
		sdk, err := h.sdkToken(ctx, s)
		if err != nil {
			return view{}, err
		}
		data.SDKToken = sdk
		if g := gateways["card"]; g != "" {
			card, err := h.cardTokenizer(ctx, s, g)
			if err != nil {
				return view{}, err
			}
			if card == nil {
				// A live card gateway without a browser tokenizer: the
				// page cannot take a card for it.
				methods = slices.DeleteFunc(methods, func(m string) bool { return m == "card" })
				delete(gateways, "card")
			} else {
				data.Card = card
				v.Tokenizer = card.Tokenizer
				if card.Tokenizer == tokenizerStripe {
					v.TokenizerJS = h.tok.stripeJS
				}
			}
		}
		if s.Customer.Locked {
			vt, id, err := h.lockedVerification(ctx, s)
			if err != nil {
				return view{}, err
			}
			data.VerificationToken, data.Customer = vt, id
		}
	}
	v.Methods, data.Methods = methods, methods
	v.setResult(v.State)
	v.Data = data
	return v, nil
}

// cardTokenizer decides how the page tokenizes cards for gateway g: with
// the gateway's own tokenizer when s's application environment has an
// account there with a publishable key, with the simulator's in the
// sandbox otherwise; nil when there is none (a live gateway whose
// tokenizer sakk does not know).
func (h *Handler) cardTokenizer(ctx context.Context, s pay.Session, g string) (*cardData, error) {
	public, err := h.checkout.GatewayPublic(ctx, s.ApplicationID, s.Environment, g)
	if err != nil {
		return nil, fmt.Errorf("hostedpage: %w", err)
	}
	pk := public["publishableKey"]
	switch {
	case pk != "" && g == "stripe":
		return &cardData{Gateway: g, Tokenizer: tokenizerStripe, PublishableKey: pk}, nil
	case pk != "" && g == "moyasar":
		return &cardData{Gateway: g, Tokenizer: tokenizerMoyasar, PublishableKey: pk, URL: h.tok.moyasarAPI}, nil
	case s.Environment == pay.Sandbox:
		return &cardData{Gateway: g, Tokenizer: tokenizerSandbox}, nil
	}
	return nil, nil
}

// sdkToken mints the page's frontend SDK token: bound to sakk's own
// origin, with the application's browser permissions, living no longer
// than the session (within [minPageTTL, maxPageTTL]).
func (h *Handler) sdkToken(ctx context.Context, s pay.Session) (string, error) {
	app, err := h.checkout.Application(ctx, s.ApplicationID)
	if err != nil {
		return "", fmt.Errorf("hostedpage: %w", err)
	}
	perms := []string{}
	for _, p := range app.Permissions {
		if !slices.Contains(backendOnly, p) {
			perms = append(perms, p)
		}
	}
	ttl := min(max(s.ExpiresAt.Sub(h.now()), minPageTTL), maxPageTTL)
	tok, _, err := h.tokens.Issue(ctx, token.Claims{
		Type: token.TypeSDK, ApplicationID: s.ApplicationID, Environment: s.Environment,
		IntegrationType: "frontend", Permissions: perms, Modules: slices.Clone(app.Modules), Origin: h.origin,
	}, ttl)
	if err != nil {
		return "", fmt.Errorf("hostedpage: sdk token: %w", err)
	}
	return tok, nil
}

// lockedVerification mints the payment verification token of a customer
// the merchant's backend locked (and so verified): bound to the session,
// its identifier and channel, as OTP verify would issue it.
func (h *Handler) lockedVerification(ctx context.Context, s pay.Session) (string, string, error) {
	c := s.Customer
	ch, id := otp.Channel(c.VerifiedChannel), c.VerifiedIdentifier
	if id == "" {
		ch, id = otp.Email, c.Email
		if id == "" {
			ch, id = otp.Phone, c.Phone
		}
	}
	n, err := otp.NormalizeIdentifier(ch, id)
	if err != nil {
		return "", "", fmt.Errorf("hostedpage: locked customer of %s: %w", s.ID, err)
	}
	tok, _, err := h.tokens.Issue(ctx, token.Claims{
		Type: token.TypeVerification, ApplicationID: s.ApplicationID, Environment: s.Environment,
		SessionID: s.ID, Identifier: n, Channel: string(ch),
	}, checkout.VerificationTTL)
	if err != nil {
		return "", "", fmt.Errorf("hostedpage: verification token: %w", err)
	}
	return tok, n, nil
}

func (h *Handler) baseView(lang string) view {
	dir := "ltr"
	if lang == "ar" {
		dir = "rtl"
	}
	return view{Lang: lang, Dir: dir, T: texts[lang], AssetsPath: AssetsPath}
}

// closedView is the page of a link that leads to no payable session.
func (h *Handler) closedView(lang, state string) view {
	v := h.baseView(lang)
	v.State = state
	v.setResult(state)
	v.Data = pageData{State: state, Locale: lang, Texts: v.T, Channels: []string{}, Methods: []string{}, Gateways: map[string]string{}}
	return v
}

// setResult fills the result screen's words for state.
func (v *view) setResult(state string) {
	switch state {
	case statePay:
		return
	case "error":
		v.ResultTitle, v.ResultText = v.T["error_title"], v.T["err_generic"]
		return
	}
	v.ResultTitle, v.ResultText = v.T[state+"_title"], v.T[state]
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, v view) {
	var buf bytes.Buffer
	if err := h.page.Execute(&buf, v); err != nil {
		h.log.ErrorContext(r.Context(), "hosted page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", h.contentSecurityPolicy(v.Tokenizer))
	// The URL carries the session token: no cache keeps the page, and no
	// Referer takes the token to an image host.
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Vary", "Accept-Language")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// paymentMethods lists the methods a session can be paid with and the
// gateway of each (as GET /api/v1/checkout/session/{token} does): cards
// through the session's gateway, or the first card gateway available;
// off-site gateways under their own names.
func paymentMethods(fixed string, available []string) ([]string, map[string]string) {
	methods, m := []string{}, map[string]string{}
	for _, g := range available {
		if fixed != "" && g != fixed {
			continue
		}
		switch {
		case g == "paypal" || g == "myfatoorah":
			methods, m[g] = append(methods, g), g
		case m["card"] == "":
			methods, m["card"] = append(methods, "card"), g
		}
	}
	return methods, m
}

// initial is the letter shown where a logo or product image is missing.
func initial(s string) string {
	for _, r := range strings.TrimSpace(s) {
		return strings.ToUpper(string(r))
	}
	return "•"
}

// chooseLocale picks en, fr or ar: ?locale=, else the session's locale,
// else the first supported language the browser accepts, else en.
func chooseLocale(query, session, acceptLanguage string) string {
	for _, l := range append([]string{query, session}, strings.Split(acceptLanguage, ",")...) {
		l = strings.ToLower(strings.TrimSpace(l))
		if i := strings.IndexAny(l, "-_;"); i >= 0 {
			l = l[:i]
		}
		if _, ok := texts[l]; ok {
			return l
		}
	}
	return pageLocale
}

// formatAmount writes a for display in lang: grouped thousands and the
// currency's own decimals ("1,799.00 MAD", "1 799,00 MAD"), exact (from
// money.Format, never through a float).
func formatAmount(a money.Amount, lang string) string {
	s := money.Format(a)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	group, point := ",", "."
	if lang == "fr" {
		group, point = "\u202f", ","
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString(point)
		b.WriteString(frac)
	}
	return b.String() + "\u00a0" + string(a.Currency)
}

// LinkState says why a payment link (/pay/{linkId}) opened no session;
// each has its own words in every locale.
type LinkState string

const (
	LinkUnknown   LinkState = stateInvalid     // no such link
	LinkInactive  LinkState = "link_inactive"  // switched off by the merchant
	LinkExpired   LinkState = "link_expired"   // past its expiry
	LinkExhausted LinkState = "link_exhausted" // its paid payments reached its limit
	LinkBusy      LinkState = "link_busy"      // too many links followed from one address
	LinkError     LinkState = "error"          // sakk failed; logged by the caller
)

// ServeLink writes, with status, the page a payment link shows when it
// opens no session: the checkout page's result screen saying why, under
// the link's brand (the zero Brand when unknown), in the locale of
// ?locale= or the browser, right to left in Arabic, under the page's own
// Content-Security-Policy.
func (h *Handler) ServeLink(w http.ResponseWriter, r *http.Request, status int, state LinkState, brand checkout.Brand) {
	lang := chooseLocale(r.URL.Query().Get("locale"), "", r.Header.Get("Accept-Language"))
	v := h.closedView(lang, string(state))
	if brand.Name != "" {
		v.Brand, v.BrandLogo, v.Initial = brand.Name, brand.Logo, initial(brand.Name)
	}
	h.render(w, r, status, v)
}
