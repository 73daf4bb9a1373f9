// Package dashboard is the merchant's dashboard at /dashboard: pages
// rendered on the server with html/template from embedded files, over the
// same services and the same permission table as the management API, so a
// page can do nothing the API would refuse. Forms post back to the page;
// the few scripts (copy buttons, confirmations) only add to pages that
// work without them. Every page is served with a strict
// Content-Security-Policy (no inline script, no framing).
package dashboard

import (
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/webhook"
)

//go:embed templates assets
var files embed.FS

// Prefix is where the dashboard lives.
const Prefix = "/dashboard"

// sessionCookie is the management API's: one sign-in serves both.
const sessionCookie = "sakk_session"

// langCookie remembers a chosen language.
const langCookie = "sakk_lang"

// Deps is what the pages need.
type Deps struct {
	Logger    *slog.Logger
	Account   *account.Service
	Merchant  *merchant.Service
	Checkout  *checkout.Service
	Store     *store.Store        // reports
	Webhooks  *webhook.Dispatcher // test sends and re-sends
	Gateways  *routing.Registry   // the merchant's gateway accounts
	PublicURL string
	Now       func() time.Time // nil: time.Now
}

// Handler serves the dashboard.
type Handler struct {
	d      Deps
	pages  map[string]*template.Template
	assets map[string]asset
	cop    *http.CrossOriginProtection
	secure bool
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// New parses the templates and loads the assets.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{d: d, pages: map[string]*template.Template{}, assets: map[string]asset{}, cop: http.NewCrossOriginProtection(),
		secure: strings.HasPrefix(d.PublicURL, "https://")}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("dashboard: %w", err)
		}
		h.pages[strings.TrimSuffix(base, ".html")] = t
	}
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, "assets/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("dashboard: %w", err)
		}
		sum := sha256.Sum256(b)
		ct := "text/css; charset=utf-8"
		if path.Ext(e.Name()) == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		h.assets[e.Name()] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return h, nil
}

// Register adds the dashboard's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	// Every page meets the text rule first (text.go).
	handle := func(pattern string, f http.HandlerFunc) { mux.HandleFunc(pattern, h.checkText(f)) }
	handle("GET "+Prefix, h.home)
	handle("GET "+Prefix+"/{$}", h.home)
	handle("GET "+Prefix+"/assets/{file}", h.asset)
	handle("GET "+Prefix+"/login", h.public(h.loginPage))
	handle("POST "+Prefix+"/login", h.public(h.loginSubmit))
	handle("POST "+Prefix+"/logout", h.member(h.logout))
	handle("GET "+Prefix+"/invite", h.public(h.invitePage))
	handle("POST "+Prefix+"/invite", h.public(h.acceptInvite))
	handle("GET "+Prefix+"/reset", h.public(h.resetPage))
	handle("POST "+Prefix+"/reset", h.public(h.resetSubmit))
	handle("GET "+Prefix+"/forgot", h.public(h.forgotPage))
	handle("POST "+Prefix+"/forgot", h.public(h.forgotSubmit))
	for _, rt := range h.routes() {
		handle(rt.pattern, h.guard(rt))
	}
}

// route is one signed-in page: its pattern, the permission it needs, and
// whether it is inside an application (/dashboard/apps/{appId}/…).
type route struct {
	pattern string
	need    pay.Permission
	inApp   bool
	serve   func(http.ResponseWriter, *http.Request, *page)
}

func (h *Handler) routes() []route {
	return append([]route{
		{"GET " + Prefix + "/apps", pay.ReadMoney, false, h.appsPage},
		{"POST " + Prefix + "/apps", pay.Configure, false, h.createApp},
		{"GET " + Prefix + "/team", pay.ReadMoney, false, h.teamPage},
		{"POST " + Prefix + "/team/invites", pay.ManageTeam, false, h.invite},
		{"POST " + Prefix + "/team/members/{userId}", pay.ManageTeam, false, h.setRole},
		{"POST " + Prefix + "/team/members/{userId}/remove", pay.ManageTeam, false, h.removeMember},
		{"GET " + Prefix + "/audit", pay.ReadAudit, false, h.auditPage},
		{"GET " + Prefix + "/apps/{appId}", pay.ReadMoney, true, h.overview},
		{"GET " + Prefix + "/apps/{appId}/overview", pay.ReadMoney, true, h.overview},
		{"GET " + Prefix + "/apps/{appId}/payments", pay.ReadMoney, true, h.paymentsPage},
		{"GET " + Prefix + "/apps/{appId}/payments/{paymentId}", pay.ReadMoney, true, h.paymentPage},
		{"GET " + Prefix + "/apps/{appId}/sessions", pay.ReadMoney, true, h.sessionsPage},
		{"GET " + Prefix + "/apps/{appId}/customers", pay.ReadMoney, true, h.customersPage},
		{"POST " + Prefix + "/apps/{appId}/payments/{paymentId}/refunds", pay.MoveMoney, true, h.refund},
		{"GET " + Prefix + "/apps/{appId}/products", pay.ReadMoney, true, h.productsPage},
		{"POST " + Prefix + "/apps/{appId}/products", pay.Configure, true, h.createProduct},
		{"GET " + Prefix + "/apps/{appId}/products/{storeCode}", pay.ReadMoney, true, h.productPage},
		{"POST " + Prefix + "/apps/{appId}/products/{storeCode}", pay.Configure, true, h.updateProduct},
		{"POST " + Prefix + "/apps/{appId}/products/{storeCode}/delete", pay.Configure, true, h.deleteProduct},
		{"GET " + Prefix + "/apps/{appId}/links", pay.ReadMoney, true, h.linksPage},
		{"POST " + Prefix + "/apps/{appId}/links", pay.Configure, true, h.createLink},
		{"POST " + Prefix + "/apps/{appId}/links/{linkId}/active", pay.Configure, true, h.setLinkActive},
	}, append(h.configRoutes(), h.profileRoutes()...)...)
}

// page is what every signed-in page renders with.
type page struct {
	User     pay.User
	Merchant pay.Merchant
	Apps     []pay.Application
	App      pay.Application // inside an application
	Env      pay.Environment
	Lang     string
	Dir      string // ltr or rtl
	Path     string // the request's path, for the language and environment switches
	Title    string
	Nav      string // the navigation entry that is current
	Notice   string // a message after a write
	Error    string // what went wrong with the request
	Data     any    // the page's own
	texts    map[string]string
}

// T is the page's text for key, with {name} filled in from args (name,
// value pairs).
func (p *page) T(key string, args ...any) string {
	s, ok := p.texts[key]
	if !ok {
		s = texts["en"][key]
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return s
}

// Can reports whether the member's role grants p.
func (p *page) Can(perm string) bool { return p.User.Role.Can(pay.Permission(perm)) }

// AppURL is a link inside the current application and environment.
func (p *page) AppURL(rest string) string {
	u := Prefix + "/apps/" + url.PathEscape(p.App.ID) + rest
	if p.Env == pay.Live {
		if strings.Contains(u, "?") {
			return u + "&env=live"
		}
		return u + "?env=live"
	}
	return u
}

// PaymentsOf is the payments list searched for a customer.
func (p *page) PaymentsOf(customer string) string {
	q := url.Values{"q": {customer}}
	if p.Env == pay.Live {
		q.Set("env", "live")
	}
	return Prefix + "/apps/" + url.PathEscape(p.App.ID) + "/payments?" + q.Encode()
}

// EnvURL is this page in the other environment.
func (p *page) EnvURL(env string) string {
	if env == string(pay.Live) {
		return p.Path + "?env=live"
	}
	return p.Path
}

// LangURL is this page in another language.
func (p *page) LangURL(lang string) string {
	q := "?lang=" + lang
	if p.Env == pay.Live {
		q += "&env=live"
	}
	return p.Path + q
}

func (p *page) Sandbox() bool { return p.Env != pay.Live }

// BrandName is what an application is called for shoppers.
func BrandName(a pay.Application) string { return cmp.Or(a.DisplayName, a.Name) }

var funcs = template.FuncMap{
	"money": func(a money.Amount) string { return money.Format(a) + " " + string(a.Currency) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"brand": BrandName,
	"list":  func(s ...string) []string { return s },
	// isolate keeps a left-to-right value (a date, a key) in order inside
	// right-to-left text: U+2066 LEFT-TO-RIGHT ISOLATE … U+2069.
	"isolate": isolate,
	// ms is a latency in milliseconds with one decimal: a loopback answer
	// takes well under one, and "0 ms" would read as not measured.
	"ms": func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) },
	// pathEscape puts a merchant's identifier (a store code) in one path
	// segment of a link.
	"pathEscape": url.PathEscape,
}

func isolate(s string) string { return "\u2066" + s + "\u2069" }

// render writes a page with the layout, and the security headers every
// page carries.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := h.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		h.d.Logger.ErrorContext(r.Context(), "dashboard render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if strings.Contains(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}

// language picks the page's language: ?lang= (remembered in a cookie),
// else the cookie, else the browser's first supported language.
func (h *Handler) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); texts[l] != nil {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: Prefix, MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: h.secure})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && texts[c.Value] != nil {
		return c.Value
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if texts[base] != nil {
			return base
		}
	}
	return "en"
}

func (h *Handler) newPage(w http.ResponseWriter, r *http.Request) *page {
	lang := h.language(w, r)
	dir := "ltr"
	if lang == "ar" {
		dir = "rtl"
	}
	env := pay.Sandbox
	if r.URL.Query().Get("env") == string(pay.Live) {
		env = pay.Live
	}
	return &page{Lang: lang, Dir: dir, Env: env, Path: r.URL.Path, texts: texts[lang]}
}

// public wraps a page anyone may see; its form posts must be same-origin.
func (h *Handler) public(serve func(http.ResponseWriter, *http.Request, *page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.cop.Check(r); err != nil {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		serve(w, r, h.newPage(w, r))
	}
}

// signedIn finds the member of the request's session; nil sends the
// browser to sign in.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*page, bool) {
	if err := h.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return nil, false
	}
	p := h.newPage(w, r)
	c, err := r.Cookie(sessionCookie)
	if err == nil {
		p.User, err = h.d.Account.SessionUser(r.Context(), c.Value)
	}
	if err != nil {
		if pay.KindOf(err) != pay.Unauthenticated && !errors.Is(err, http.ErrNoCookie) {
			h.fail(w, r, p, err)
			return nil, false
		}
		next := r.URL.Path
		if r.Method != http.MethodGet {
			next = Prefix
		}
		http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return nil, false
	}
	ctx := r.Context()
	if p.Merchant, err = h.d.Merchant.Merchant(ctx, p.User.MerchantID); err == nil {
		p.Apps, err = h.d.Merchant.Applications(ctx, p.User.MerchantID)
	}
	if err != nil {
		h.fail(w, r, p, err)
		return nil, false
	}
	return p, true
}

func (h *Handler) member(serve func(http.ResponseWriter, *http.Request, *page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p, ok := h.signedIn(w, r); ok {
			serve(w, r, p)
		}
	}
}

// guard is the one check of every signed-in page: the session, the
// application's tenancy (another merchant's is 404, as on the API), then
// the role.
func (h *Handler) guard(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.signedIn(w, r)
		if !ok {
			return
		}
		if rt.inApp {
			id := r.PathValue("appId")
			found := false
			for _, a := range p.Apps {
				if a.ID == id {
					p.App, found = a, true
				}
			}
			if !found {
				h.fail(w, r, p, pay.Errorf(pay.NotFound, "application_not_found", "no application %q", id))
				return
			}
		} else if len(p.Apps) > 0 {
			// An account-wide page (team, audit log, applications) keeps
			// the navigation to the first application's pages.
			p.App = p.Apps[0]
		}
		if !p.User.Role.Can(rt.need) {
			h.fail(w, r, p, pay.Errorf(pay.Forbidden, "forbidden", "the %s role may not do this", p.User.Role))
			return
		}
		rt.serve(w, r, p)
	}
}

// fail renders an error page with the status the API would answer.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	status := statusOf(err)
	msg := pay.MessageOf(err)
	if status == http.StatusInternalServerError || msg == "" {
		h.d.Logger.ErrorContext(r.Context(), "dashboard", "path", r.URL.Path, "err", err)
		msg = p.T("err_internal")
	}
	p.Title, p.Error = p.T("err_title"), msg
	h.render(w, r, status, "error", p)
}

// statusOf is the status a page answers for err, as the API would.
func statusOf(err error) int {
	switch pay.KindOf(err) {
	case pay.Invalid:
		return http.StatusBadRequest
	case pay.Forbidden:
		return http.StatusForbidden
	case pay.NotFound:
		return http.StatusNotFound
	case pay.Conflict:
		return http.StatusConflict
	case pay.RateLimited:
		return http.StatusTooManyRequests
	case pay.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// home sends a member to their first application, or to the list.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if len(p.Apps) > 0 {
		http.Redirect(w, r, Prefix+"/apps/"+p.Apps[0].ID+"/overview", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"/apps", http.StatusSeeOther)
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = strings.Trim(host[:i], "[]")
	}
	return host
}

func actor(r *http.Request, u pay.User) account.Actor {
	return account.Actor{Type: "user", ID: u.ID, Email: u.Email, IP: clientIP(r)}
}

// bounded keeps a form's reading cheap: no field is longer than this.
func formValue(r *http.Request, name string) string {
	v := r.PostFormValue(name)
	if len(v) > 2048 {
		return v[:2048]
	}
	return v
}
