package dashboard

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
)

// The configuration pages: settings (name, currencies, branding, keys,
// domains), gateways and webhooks. They call the services the management
// API calls, so a write here is one the API would allow, audited under the
// API's action name. A secret made by a write (a key, a signing secret) is
// rendered on the answer to that form and nowhere else: the store keeps
// only hashes or sealed texts.

// configRoutes are appended to routes(): reads need ReadMoney, writes
// Configure, as on the API.
func (h *Handler) configRoutes() []route {
	app := Prefix + "/apps/{appId}"
	return []route{
		{"GET " + app + "/settings", pay.ReadMoney, true, h.settingsPage},
		{"POST " + app + "/settings", pay.Configure, true, h.saveSettings},
		{"POST " + app + "/keys", pay.Configure, true, h.issueKeys},
		{"POST " + app + "/keys/rotate", pay.Configure, true, h.rotateKey},
		{"POST " + app + "/keys/{keyId}/revoke", pay.Configure, true, h.revokeKey},
		{"POST " + app + "/domains", pay.Configure, true, h.addDomain},
		{"POST " + app + "/domains/{domain}/verify", pay.Configure, true, h.verifyDomain},
		{"POST " + app + "/domains/{domain}/delete", pay.Configure, true, h.removeDomain},
		{"GET " + app + "/gateways", pay.ReadMoney, true, h.gatewaysPage},
		{"POST " + app + "/gateways/{gateway}", pay.Configure, true, h.setGateway},
		{"POST " + app + "/gateways/{gateway}/delete", pay.Configure, true, h.removeGateway},
		{"POST " + app + "/gateways/{gateway}/check", pay.Configure, true, h.checkGateway},
		{"GET " + app + "/webhooks", pay.ReadMoney, true, h.webhooksPage},
		{"POST " + app + "/webhooks", pay.Configure, true, h.addWebhook},
		{"POST " + app + "/webhooks/{endpointId}/test", pay.Configure, true, h.testWebhook},
		{"POST " + app + "/webhooks/{endpointId}/rotate", pay.Configure, true, h.rotateWebhook},
		{"POST " + app + "/webhooks/deliveries/{deliveryId}/resend", pay.Configure, true, h.resendDelivery},
	}
}

// oneTime is a secret to show on this answer only.
type oneTime struct {
	Label string
	Value string
	Note  string
}

type settingsData struct {
	Currencies string // comma-separated, as typed
	Keys       []keyRow
	Domains    []domainRow
	Secrets    []oneTime
}

type keyRow struct {
	Key    pay.APIKey
	Active bool
}

type domainRow struct {
	Domain pay.Domain
	Proof  pay.DomainVerification
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, p *page) {
	h.showSettings(w, r, p, http.StatusOK, nil)
}

// showSettings renders the settings page; status and secrets are those of
// the write it answers, if any.
func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request, p *page, status int, secrets []oneTime) {
	ctx := r.Context()
	keys, err := h.d.Merchant.APIKeys(ctx, p.App.ID, p.Env)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	domains, err := h.d.Merchant.Domains(ctx, p.App.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := settingsData{Secrets: secrets}
	var cs []string
	for _, c := range p.App.Currencies {
		cs = append(cs, string(c))
	}
	d.Currencies = strings.Join(cs, ", ")
	now := h.d.Now()
	for _, k := range keys {
		d.Keys = append(d.Keys, keyRow{Key: k, Active: k.ActiveAt(now)})
	}
	for _, dm := range domains {
		d.Domains = append(d.Domains, domainRow{Domain: dm, Proof: dm.Verification()})
	}
	p.Title, p.Nav, p.Data = p.T("nav_settings"), "settings", d
	h.render(w, r, status, "settings", p)
}

// settingsError re-renders the settings page with what the service found
// wrong with the form, or fails the request for anything else.
func (h *Handler) settingsError(w http.ResponseWriter, r *http.Request, p *page, err error) {
	if k := pay.KindOf(err); k == pay.Invalid || k == pay.Conflict || k == pay.NotFound && r.PathValue("keyId")+r.PathValue("domain") != "" {
		p.Error = pay.MessageOf(err)
		h.showSettings(w, r, p, http.StatusBadRequest, nil)
		return
	}
	h.fail(w, r, p, err)
}

func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name, display := formValue(r, "name"), formValue(r, "display_name")
	logo, color := strings.TrimSpace(formValue(r, "logo_url")), strings.TrimSpace(formValue(r, "primary_color"))
	var cs []money.Currency
	for c := range strings.FieldsFuncSeq(formValue(r, "currencies"), func(r rune) bool { return r == ',' || r == ' ' }) {
		cs = append(cs, money.Currency(strings.ToUpper(c)))
	}
	before, after, err := h.d.Merchant.UpdateApplication(r.Context(), p.App.ID, merchant.ApplicationPatch{
		Name: &name, Currencies: &cs, DisplayName: &display, LogoURL: &logo, PrimaryColor: &color})
	if err != nil {
		h.settingsError(w, r, p, err)
		return
	}
	// The hosted page reads applications through a cache: drop this one so
	// the new branding shows on the next page load.
	h.d.Checkout.ForgetApplication(r.Context(), p.App.ID)
	changes := account.Changes{}
	for _, f := range []struct {
		name string
		a, b any
	}{{"name", before.Name, after.Name}, {"currencies", before.Currencies, after.Currencies},
		{"displayName", before.DisplayName, after.DisplayName}, {"logoUrl", before.BrandLogo, after.BrandLogo},
		{"primaryColor", before.PrimaryColor, after.PrimaryColor}} {
		if !jsonEqual(f.a, f.b) {
			changes[f.name] = [2]any{f.a, f.b}
		}
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "apps.update",
		TargetType: "application", TargetID: p.App.ID, Changes: changes})
	p.App = after
	for i := range p.Apps {
		if p.Apps[i].ID == after.ID {
			p.Apps[i] = after
		}
	}
	p.Notice = p.T("settings_saved")
	h.showSettings(w, r, p, http.StatusOK, nil)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, p *page) {
	rot, err := h.d.Merchant.RotateSecretKey(r.Context(), p.App.ID, p.Env, 0)
	if err != nil {
		h.settingsError(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "keys.rotate", TargetType: "application",
		TargetID: p.App.ID, Changes: account.Changes{"environment": {nil, string(p.Env)}, "oldKeysExpireAt": {nil, rot.OldExpiresAt}}})
	p.Notice = p.T("key_rotated", "when", isolate(rot.OldExpiresAt.UTC().Format("2006-01-02 15:04 UTC")))
	h.showSettings(w, r, p, http.StatusOK, []oneTime{{Label: p.T("secret_key"), Value: rot.Secret}})
}

func (h *Handler) issueKeys(w http.ResponseWriter, r *http.Request, p *page) {
	keys, err := h.d.Merchant.IssueKeys(r.Context(), p.App.ID, p.Env)
	if err != nil {
		h.settingsError(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "keys.create", TargetType: "application",
		TargetID: p.App.ID, Changes: account.Changes{"environment": {nil, string(p.Env)}}})
	p.Notice = p.T("keys_issued")
	h.showSettings(w, r, p, http.StatusCreated, []oneTime{
		{Label: p.T("secret_key"), Value: keys.Secret}, {Label: p.T("public_key"), Value: keys.Public},
		{Label: p.T("client_token"), Value: keys.ClientToken}})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p *page) {
	k, err := h.d.Merchant.RevokeKey(r.Context(), p.App.ID, r.PathValue("keyId"))
	if err != nil {
		h.settingsError(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "keys.revoke", TargetType: "api_key",
		TargetID: k.ID, Changes: account.Changes{"prefix": {nil, k.Prefix}}})
	p.Notice = p.T("key_revoked", "prefix", isolate(k.Prefix))
	h.showSettings(w, r, p, http.StatusOK, nil)
}

func (h *Handler) addDomain(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	d, err := h.d.Merchant.AddDomain(r.Context(), p.App.ID, strings.TrimSpace(formValue(r, "domain")), false)
	if err != nil {
		h.settingsError(w, r, p, err)
		return
	}
	h.d.Checkout.ForgetApplication(r.Context(), p.App.ID)
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "domains.create", TargetType: "domain",
		TargetID: d.Domain, Changes: account.Changes{"domain": {nil, d.Domain}}})
	p.Notice = p.T("domain_added", "domain", d.Domain)
	h.showSettings(w, r, p, http.StatusCreated, nil)
}

func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request, p *page) {
	d, err := h.d.Merchant.VerifyDomain(r.Context(), p.App.ID, r.PathValue("domain"))
	if err != nil {
		h.settingsError(w, r, p, err)
		return
	}
	h.d.Checkout.ForgetApplication(r.Context(), p.App.ID)
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "domains.verify", TargetType: "domain",
		TargetID: d.Domain, Changes: account.Changes{"verified": {false, d.Verified}}})
	p.Notice = p.T("domain_verified", "domain", d.Domain)
	h.showSettings(w, r, p, http.StatusOK, nil)
}

func (h *Handler) removeDomain(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("domain")
	if err := h.d.Merchant.RemoveDomain(r.Context(), p.App.ID, name); err != nil {
		h.settingsError(w, r, p, err)
		return
	}
	h.d.Checkout.ForgetApplication(r.Context(), p.App.ID)
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "domains.delete", TargetType: "domain",
		TargetID: name, Changes: account.Changes{"domain": {name, nil}}})
	p.Notice = p.T("domain_removed", "domain", name)
	h.showSettings(w, r, p, http.StatusOK, nil)
}

// gatewayForm is one gateway's form: its settings by the Factory's list.
// Only public settings carry their stored value; every other one is
// write-only and shows whether it must be (and so is) set.
type gatewayForm struct {
	Name       string
	Configured bool
	Default    bool
	UpdatedAt  time.Time
	Fields     []gatewayField
}

type gatewayField struct {
	Name     string
	Public   bool
	Required bool
	Secret   bool   // a credential: typed into a password field
	Value    string // public settings only
	Set      bool   // a required secret of a configured gateway: it cannot be missing
}

type gatewaysData struct {
	Forms []gatewayForm
}

func (h *Handler) gatewaysPage(w http.ResponseWriter, r *http.Request, p *page) {
	h.showGateways(w, r, p, http.StatusOK)
}

func (h *Handler) showGateways(w http.ResponseWriter, r *http.Request, p *page, status int) {
	creds, err := h.d.Store.GatewayCredentials(r.Context(), p.App.ID, p.Env)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	// The settings lists are the built-in factories'; the registry in Deps
	// is built from the same ones.
	factories := routing.Builtin(nil)
	var d gatewaysData
	for _, name := range routing.Names {
		f, ok := factories[name]
		if !ok {
			continue
		}
		g := gatewayForm{Name: name}
		public := map[string]string{}
		for _, c := range creds {
			if c.Gateway == name {
				g.Configured, g.Default, g.UpdatedAt = true, c.IsDefault, c.UpdatedAt
				_ = json.Unmarshal([]byte(c.PublicConfig), &public) // a bad record shows empty public fields
			}
		}
		for _, s := range f.Settings {
			fl := gatewayField{Name: s, Public: slices.Contains(f.Public, s), Required: slices.Contains(f.Required, s)}
			// The factories do not mark credentials, only what is public;
			// options such as a country are not secret but, like every
			// non-public setting, only exist sealed and so are not shown.
			low := strings.ToLower(s)
			fl.Secret = !fl.Public && (strings.Contains(low, "secret") || strings.Contains(low, "key") || strings.Contains(low, "token"))
			if fl.Public {
				fl.Value = public[s]
			} else {
				fl.Set = g.Configured && fl.Required
			}
			g.Fields = append(g.Fields, fl)
		}
		d.Forms = append(d.Forms, g)
	}
	p.Title, p.Nav, p.Data = p.T("nav_gateways"), "gateways", d
	h.render(w, r, status, "gateways", p)
}

func (h *Handler) setGateway(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	name := r.PathValue("gateway")
	f, ok := routing.Builtin(nil)[name]
	if !ok {
		h.fail(w, r, p, pay.Errorf(pay.NotFound, "gateway_not_found", "no gateway %q", name))
		return
	}
	settings := map[string]string{}
	for _, s := range f.Settings {
		if v := strings.TrimSpace(formValue(r, "s_"+s)); v != "" {
			settings[s] = v
		}
	}
	isDefault := formValue(r, "default") == "on"
	if _, err := h.d.Gateways.Set(r.Context(), p.App.ID, p.Env, name, settings, isDefault); err != nil {
		if pay.KindOf(err) == pay.Invalid {
			p.Error = pay.MessageOf(err)
			h.showGateways(w, r, p, http.StatusBadRequest)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	// Only the names of the settings are recorded, never their values.
	var names []string
	for k := range settings {
		names = append(names, k)
	}
	slices.Sort(names)
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "gateways.set", TargetType: "gateway",
		TargetID: name, Changes: account.Changes{"environment": {nil, string(p.Env)}, "settings": {nil, names}, "default": {nil, isDefault}}})
	p.Notice = p.T("gateway_saved", "gateway", p.T("gw_"+name))
	h.showGateways(w, r, p, http.StatusOK)
}

func (h *Handler) removeGateway(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("gateway")
	if err := h.d.Gateways.Remove(r.Context(), p.App.ID, p.Env, name); err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "gateways.remove", TargetType: "gateway",
		TargetID: name, Changes: account.Changes{"environment": {string(p.Env), nil}}})
	p.Notice = p.T("gateway_removed", "gateway", p.T("gw_"+name))
	h.showGateways(w, r, p, http.StatusOK)
}

// checkGateway makes the connection check of the management API's
// POST /gateways/{gateway}/check and shows the gateway's answer.
func (h *Handler) checkGateway(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("gateway")
	ch, err := h.d.Gateways.CheckConnection(r.Context(), p.App.ID, p.Env, name)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	label := p.T("gw_" + name)
	if ch.OK {
		p.Notice = p.T("gw_check_ok", "gateway", label, "ms", strconv.FormatInt(ch.Took.Milliseconds(), 10))
	} else {
		p.Error = p.T("gw_check_failed", "gateway", label, "reason", ch.Message)
	}
	h.showGateways(w, r, p, http.StatusOK)
}

type webhooksData struct {
	Endpoints  []pay.WebhookEndpoint
	Deliveries []deliveryRow
	Secrets    []oneTime // made by this write, shown this once
}

// deliveryRow is a delivery with its last attempt, and the start of what
// was sent.
type deliveryRow struct {
	D        store.WebhookDelivery
	Last     *store.WebhookAttempt
	Request  string
	Endpoint string
}

// requestExcerpt bounds what a delivery row shows of the body sent.
const requestExcerpt = 400

func (h *Handler) webhooksPage(w http.ResponseWriter, r *http.Request, p *page) {
	h.showWebhooks(w, r, p, http.StatusOK, nil)
}

func (h *Handler) showWebhooks(w http.ResponseWriter, r *http.Request, p *page, status int, secrets []oneTime) {
	ctx := r.Context()
	eps, err := h.d.Merchant.WebhookEndpoints(ctx, p.App.ID, p.Env)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	ds, err := h.d.Merchant.WebhookDeliveries(ctx, p.App.ID, p.Env, 20)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	urls := map[string]string{}
	for _, e := range eps {
		urls[e.ID] = e.URL
	}
	d := webhooksData{Endpoints: eps, Secrets: secrets}
	for _, del := range ds {
		row := deliveryRow{D: del, Endpoint: urls[del.EndpointID], Request: string(del.Body)}
		if len(row.Request) > requestExcerpt {
			row.Request = strings.ToValidUTF8(row.Request[:requestExcerpt], "") + "…"
		}
		as, err := h.d.Store.WebhookAttempts(ctx, del.ID)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		if len(as) > 0 {
			last := as[0]
			for _, a := range as {
				if a.StartedAt.After(last.StartedAt) {
					last = a
				}
			}
			row.Last = &last
		}
		d.Deliveries = append(d.Deliveries, row)
	}
	p.Title, p.Nav, p.Data = p.T("nav_webhooks"), "webhooks", d
	h.render(w, r, status, "webhooks", p)
}

func (h *Handler) webhookError(w http.ResponseWriter, r *http.Request, p *page, err error) {
	if k := pay.KindOf(err); k == pay.Invalid || k == pay.Conflict || k == pay.NotFound {
		p.Error = pay.MessageOf(err)
		h.showWebhooks(w, r, p, http.StatusBadRequest, nil)
		return
	}
	h.fail(w, r, p, err)
}

func (h *Handler) addWebhook(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	e, secret, err := h.d.Merchant.AddWebhook(r.Context(), merchant.NewWebhook{ApplicationID: p.App.ID, Environment: p.Env,
		URL: strings.TrimSpace(formValue(r, "url")), Format: pay.WebhookFormat(formValue(r, "format"))})
	if err != nil {
		h.webhookError(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "webhook_endpoints.create",
		TargetType: "webhook_endpoint", TargetID: e.ID, Changes: account.Changes{"url": {nil, e.URL}, "format": {nil, string(e.Format)}}})
	p.Notice = p.T("endpoint_added")
	h.showWebhooks(w, r, p, http.StatusCreated, []oneTime{{Label: p.T("signing_secret"), Value: secret, Note: e.URL}})
}

// endpoint is the request's endpoint, checked to be this application
// environment's before anything acts on it by id.
func (h *Handler) endpoint(r *http.Request, p *page) (pay.WebhookEndpoint, error) {
	return h.d.Merchant.WebhookEndpoint(r.Context(), p.App.ID, p.Env, r.PathValue("endpointId"))
}

func (h *Handler) testWebhook(w http.ResponseWriter, r *http.Request, p *page) {
	e, err := h.endpoint(r, p)
	if err != nil {
		h.webhookError(w, r, p, err)
		return
	}
	a, err := h.d.Webhooks.Test(r.Context(), e.ID)
	if err != nil {
		h.webhookError(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "webhook_endpoints.test",
		TargetType: "webhook_endpoint", TargetID: e.ID, Changes: account.Changes{"statusCode": {nil, a.StatusCode}}})
	p.Notice = attemptNotice(p, a.StatusCode, a.Error)
	h.showWebhooks(w, r, p, http.StatusOK, nil)
}

func attemptNotice(p *page, code int, msg string) string {
	if code == 0 {
		return p.T("attempt_none", "error", msg)
	}
	return p.T("attempt_answered", "code", code)
}

func (h *Handler) rotateWebhook(w http.ResponseWriter, r *http.Request, p *page) {
	e, err := h.endpoint(r, p)
	if err != nil {
		h.webhookError(w, r, p, err)
		return
	}
	secret, until, err := h.d.Merchant.RotateWebhookSecret(r.Context(), e.ID, merchant.DefaultWebhookOverlap)
	if err != nil {
		h.webhookError(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "webhook_endpoints.rotate_secret",
		TargetType: "webhook_endpoint", TargetID: e.ID, Changes: account.Changes{"previousSecretUntil": {nil, until}}})
	p.Notice = p.T("secret_rotated", "when", isolate(until.UTC().Format("2006-01-02 15:04 UTC")))
	h.showWebhooks(w, r, p, http.StatusOK, []oneTime{{Label: p.T("signing_secret"), Value: secret, Note: e.URL}})
}

func (h *Handler) resendDelivery(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("deliveryId")
	if _, err := h.d.Merchant.WebhookDelivery(r.Context(), p.App.ID, p.Env, id); err != nil {
		h.webhookError(w, r, p, err)
		return
	}
	a, err := h.d.Webhooks.Resend(r.Context(), id)
	if err != nil {
		h.webhookError(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "webhook_deliveries.resend",
		TargetType: "webhook_delivery", TargetID: id, Changes: account.Changes{"statusCode": {nil, a.StatusCode}}})
	p.Notice = attemptNotice(p, a.StatusCode, a.Error)
	h.showWebhooks(w, r, p, http.StatusOK, nil)
}
