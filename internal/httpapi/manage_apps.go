package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

type brandingOut struct {
	DisplayName  string `json:"displayName"`
	LogoURL      string `json:"logoUrl"`
	PrimaryColor string `json:"primaryColor"`
}

type appOut struct {
	ID          string      `json:"id"`
	MerchantID  string      `json:"merchantId"`
	Name        string      `json:"name"`
	Currencies  []string    `json:"currencies"`
	Permissions []string    `json:"permissions"`
	Modules     []string    `json:"modules"`
	RateLimit   int         `json:"rateLimit"`
	Branding    brandingOut `json:"branding"`
	CreatedAt   string      `json:"createdAt"`
	Keys        *keySetOut  `json:"keys,omitempty"` // POST /apps only: shown once
}

func applicationOut(app pay.Application) appOut {
	codes := []string{string(pay.DefaultCurrency)}
	for _, c := range app.Currencies {
		codes = append(codes, string(c))
	}
	return appOut{ID: app.ID, MerchantID: app.MerchantID, Name: app.Name, Currencies: codes,
		Permissions: nonNilStrings(app.Permissions), Modules: nonNilStrings(app.Modules), RateLimit: app.RateLimit,
		Branding:  brandingOut{DisplayName: app.DisplayName, LogoURL: app.BrandLogo, PrimaryColor: app.PrimaryColor},
		CreatedAt: rfc3339(app.CreatedAt)}
}

func nonNilStrings(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// keySetOut is a fresh set of keys, shown in this answer only.
type keySetOut struct {
	Environment string `json:"environment"`
	SecretKey   string `json:"secretKey"`
	PublicKey   string `json:"publicKey"`
	ClientToken string `json:"clientToken"`
}

func (a *api) listApps(w http.ResponseWriter, r *http.Request, c *caller) {
	apps, err := a.merchant.Applications(r.Context(), c.user.MerchantID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]appOut, len(apps))
	for i, app := range apps {
		out[i] = applicationOut(app)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

// appIn is the body of POST /apps and PATCH /apps/{appId}. Branding may
// come nested ("branding":{…}) or flat, as the answer's fields are named.
type appIn struct {
	Name         *string   `json:"name"`
	Environment  string    `json:"environment"` // POST: whose keys to issue
	Currencies   *[]string `json:"currencies"`
	Permissions  *[]string `json:"permissions"`
	Modules      *[]string `json:"modules"`
	RateLimit    *int      `json:"rateLimit"`
	Branding     *brandIn  `json:"branding"`
	DisplayName  *string   `json:"displayName"`
	LogoURL      *string   `json:"logoUrl"`
	PrimaryColor *string   `json:"primaryColor"`
}

type brandIn struct {
	DisplayName  *string `json:"displayName"`
	LogoURL      *string `json:"logoUrl"`
	PrimaryColor *string `json:"primaryColor"`
}

func (in appIn) patch() merchant.ApplicationPatch {
	p := merchant.ApplicationPatch{Name: in.Name, Permissions: in.Permissions, Modules: in.Modules, RateLimit: in.RateLimit,
		DisplayName: in.DisplayName, LogoURL: in.LogoURL, PrimaryColor: in.PrimaryColor}
	if b := in.Branding; b != nil {
		p.DisplayName, p.LogoURL, p.PrimaryColor = cmpOr(b.DisplayName, p.DisplayName), cmpOr(b.LogoURL, p.LogoURL), cmpOr(b.PrimaryColor, p.PrimaryColor)
	}
	if in.Currencies != nil {
		cs := make([]money.Currency, len(*in.Currencies))
		for i, c := range *in.Currencies {
			cs[i] = money.Currency(c)
		}
		p.Currencies = &cs
	}
	return p
}

func cmpOr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// createApp is POST /apps {"name","environment"?,…settings}: 201 with the
// application and its keys of that environment (sandbox by default), the
// secret shown this once.
func (a *api) createApp(w http.ResponseWriter, r *http.Request, c *caller) {
	var in appIn
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	env := pay.Environment(in.Environment)
	if env == "" {
		env = pay.Sandbox
	}
	name := ""
	if in.Name != nil {
		name = *in.Name
	}
	// Check the settings before anything is created.
	if _, err := in.patch().Check(pay.Application{Name: name}); err != nil {
		a.paymentError(w, r, err)
		return
	}
	created, err := a.merchant.CreateApplication(r.Context(), merchant.NewApplication{Name: name, MerchantID: c.user.MerchantID, Environment: env})
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	app := created.Application
	p := in.patch()
	p.Name = nil
	if _, app, err = a.merchant.UpdateApplication(r.Context(), app.ID, p); err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: app.MerchantID, ApplicationID: app.ID, Action: "apps.create", TargetType: "application",
		TargetID: app.ID, Changes: account.Changes{"name": {nil, app.Name}}})
	out := applicationOut(app)
	k := created.Keys
	out.Keys = &keySetOut{Environment: string(env), SecretKey: k.Secret, PublicKey: k.Public, ClientToken: k.ClientToken}
	writeJSON(w, http.StatusCreated, out)
}

// audit records a management write that its service committed by itself.
// A failure to record is logged: the write happened, and its answer must
// say so.
func (a *api) audit(r *http.Request, c *caller, e account.Entry) {
	if err := a.account.RecordNow(r.Context(), c.actor, e); err != nil {
		a.log.ErrorContext(r.Context(), "audit", "action", e.Action, "err", err)
	}
}

func (a *api) getApp(w http.ResponseWriter, r *http.Request, c *caller) {
	writeJSON(w, http.StatusOK, applicationOut(c.app))
}

func (a *api) updateApp(w http.ResponseWriter, r *http.Request, c *caller) {
	var in appIn
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if in.Environment != "" {
		a.paymentError(w, r, invalid("invalid_request", `unknown field "environment"`))
		return
	}
	before, after, err := a.merchant.UpdateApplication(r.Context(), c.app.ID, in.patch())
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.checkout.ForgetApplication(r.Context(), c.app.ID)
	a.audit(r, c, account.Entry{MerchantID: after.MerchantID, ApplicationID: after.ID, Action: "apps.update", TargetType: "application",
		TargetID: after.ID, Changes: appChanges(before, after)})
	writeJSON(w, http.StatusOK, applicationOut(after))
}

// appChanges lists the fields an update changed, as the API names them.
func appChanges(before, after pay.Application) account.Changes {
	b, _ := json.Marshal(applicationOut(before))
	n, _ := json.Marshal(applicationOut(after))
	var bm, nm map[string]any
	json.Unmarshal(b, &bm)
	json.Unmarshal(n, &nm)
	ch := account.Changes{}
	for k, v := range nm {
		if bj, nj := jsonText(bm[k]), jsonText(v); bj != nj {
			ch[k] = [2]any{bm[k], v}
		}
	}
	return ch
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (a *api) deleteApp(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := a.merchant.DeleteApplication(r.Context(), c.app.ID); err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.checkout.ForgetApplication(r.Context(), c.app.ID)
	a.audit(r, c, account.Entry{MerchantID: c.app.MerchantID, ApplicationID: c.app.ID, Action: "apps.delete", TargetType: "application",
		TargetID: c.app.ID, Changes: account.Changes{"name": {c.app.Name, nil}}})
	noContent(w)
}

type keyOut struct {
	ID          string  `json:"id"`
	Kind        string  `json:"kind"`
	Environment string  `json:"environment"`
	Prefix      string  `json:"prefix"`
	Active      bool    `json:"active"`
	CreatedAt   string  `json:"createdAt"`
	ExpiresAt   *string `json:"expiresAt"`
	RevokedAt   *string `json:"revokedAt"`
}

func (a *api) apiKeyOut(k pay.APIKey) keyOut {
	return keyOut{ID: k.ID, Kind: string(k.Kind), Environment: string(k.Environment), Prefix: k.Prefix,
		Active: k.ActiveAt(a.now()), CreatedAt: rfc3339(k.CreatedAt), ExpiresAt: timeOut(k.ExpiresAt), RevokedAt: timeOut(k.RevokedAt)}
}

// listKeys is GET /apps/{appId}/keys?environment: every key of the
// environment, newest first, by prefix only.
func (a *api) listKeys(w http.ResponseWriter, r *http.Request, c *caller) {
	ks, err := a.merchant.APIKeys(r.Context(), c.app.ID, c.env)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]keyOut, len(ks))
	for i, k := range ks {
		out[i] = a.apiKeyOut(k)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

// envIn reads a write's environment from its body, else ?environment=.
func envIn(body string, c *caller) (pay.Environment, error) {
	env := pay.Environment(body)
	if env == "" {
		return c.env, nil
	}
	if !env.Valid() {
		return "", invalid("invalid_environment", "environment must be sandbox or live, not %q", env)
	}
	return env, nil
}

// issueKeys is POST /apps/{appId}/keys {"environment"}: a full new set of
// keys (for instance the live ones, when going live); earlier keys keep
// working.
func (a *api) issueKeys(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Environment string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	env, err := envIn(in.Environment, c)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	k, err := a.merchant.IssueKeys(r.Context(), c.app.ID, env)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.app.MerchantID, ApplicationID: c.app.ID, Action: "keys.create", TargetType: "application",
		TargetID: c.app.ID, Changes: account.Changes{"environment": {nil, string(env)}}})
	writeJSON(w, http.StatusCreated, keySetOut{Environment: string(env), SecretKey: k.Secret, PublicKey: k.Public, ClientToken: k.ClientToken})
}

// rotateKeys is POST /apps/{appId}/keys/rotate {"environment","grace"?}:
// a new secret key, shown once; the previous ones work until the grace
// (seconds, or "24h"; default 24 h; 0 … is not allowed: revoke instead)
// ends.
func (a *api) rotateKeys(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct {
		Environment string          `json:"environment"`
		Grace       json.RawMessage `json:"grace"`
	}
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	env, err := envIn(in.Environment, c)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	grace, err := durationIn("grace", in.Grace)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	rot, err := a.merchant.RotateSecretKey(r.Context(), c.app.ID, env, grace)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.app.MerchantID, ApplicationID: c.app.ID, Action: "keys.rotate", TargetType: "application",
		TargetID: c.app.ID, Changes: account.Changes{"environment": {nil, string(env)}, "secretKey": {"[hidden]", "[rotated]"}}})
	writeJSON(w, http.StatusOK, map[string]any{
		"environment": string(env), "secretKey": rot.Secret,
		"previousKeysExpireAt": rfc3339(rot.OldExpiresAt), "previousKeyPrefixes": nonNilStrings(rot.OldKeyPrefixes),
	})
}

// revokeKey is POST /apps/{appId}/keys/{keyId}/revoke: the key stops at
// once on this instance, within the key cache's 10 s on others.
func (a *api) revokeKey(w http.ResponseWriter, r *http.Request, c *caller) {
	k, err := a.merchant.RevokeKey(r.Context(), c.app.ID, r.PathValue("keyId"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.app.MerchantID, ApplicationID: c.app.ID, Action: "keys.revoke", TargetType: "key",
		TargetID: k.ID, Changes: account.Changes{"revoked": {false, true}}})
	writeJSON(w, http.StatusOK, a.apiKeyOut(k))
}
