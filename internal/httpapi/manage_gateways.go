package httpapi

import (
	"net/http"
	"slices"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
)

// An application environment's gateway accounts in the management API
// (internal/routing owns them): settings are write-only — a read says
// which are set, a secret masked — and routing is the default mark plus
// the currencies routed to each gateway. Members only: an application's
// secret key must not be able to redirect its own payments.

type gatewaySetupOut struct {
	Gateway     string            `json:"gateway"`
	Environment string            `json:"environment"`
	Settings    map[string]string `json:"settings"`
	IsDefault   bool              `json:"isDefault"`
	Currencies  []string          `json:"currencies"`
	CreatedAt   string            `json:"createdAt"`
	UpdatedAt   string            `json:"updatedAt"`
}

func setupOut(s routing.Setup) gatewaySetupOut {
	return gatewaySetupOut{Gateway: s.Gateway, Environment: string(s.Environment), Settings: s.Settings, IsDefault: s.IsDefault,
		Currencies: nonNilStrings(s.Currencies), CreatedAt: rfc3339(s.CreatedAt), UpdatedAt: rfc3339(s.UpdatedAt)}
}

type gatewaySettingOut struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Secret   bool   `json:"secret"`
}

// gatewayListOut is the configured accounts, and what can be configured
// so that a dashboard renders each gateway's form.
type gatewayListOut struct {
	merchantList[gatewaySetupOut]
	Available []gatewayFormOut `json:"available"`
}

type gatewayFormOut struct {
	Gateway  string              `json:"gateway"`
	Settings []gatewaySettingOut `json:"settings"`
}

func (a *api) gatewaySetups(r *http.Request, c *caller, env pay.Environment) ([]routing.Setup, error) {
	return a.accounts.Setups(r.Context(), c.app.ID, env)
}

// listGateways is GET /apps/{appId}/gateways?environment.
func (a *api) listGateways(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := a.gatewaysAvailable(); err != nil {
		a.paymentError(w, r, err)
		return
	}
	ss, err := a.gatewaySetups(r, c, c.env)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := gatewayListOut{merchantList: listOut(make([]gatewaySetupOut, len(ss)), ""), Available: []gatewayFormOut{}}
	for i, s := range ss {
		out.Data[i] = setupOut(s)
	}
	for _, g := range a.accounts.Catalog() {
		f := gatewayFormOut{Gateway: g.Name, Settings: make([]gatewaySettingOut, len(g.Settings))}
		for i, s := range g.Settings {
			f.Settings[i] = gatewaySettingOut{Name: s.Name, Required: s.Required, Secret: s.Secret}
		}
		out.Available = append(out.Available, f)
	}
	writeJSON(w, http.StatusOK, out)
}

// putGateway is PUT /apps/{appId}/gateways/{gateway} {"environment"?,
// "settings"?,"default"?,"currencies"?}: settings replace the stored ones
// (omitted: kept, to change only the routing); an omitted default or
// currencies keeps the current routing.
func (a *api) putGateway(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := a.gatewaysAvailable(); err != nil {
		a.paymentError(w, r, err)
		return
	}
	var in struct {
		Environment string            `json:"environment"`
		Settings    map[string]string `json:"settings"`
		Default     *bool             `json:"default"`
		Currencies  *[]string         `json:"currencies"`
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
	name := r.PathValue("gateway")
	before, _, err := a.gatewaySetup(r, c, env, name)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	cfg := routing.Config{Settings: in.Settings, Default: before.IsDefault}
	for _, cur := range before.Currencies {
		cfg.Currencies = append(cfg.Currencies, money.Currency(cur))
	}
	if in.Default != nil {
		cfg.Default = *in.Default
	}
	if in.Currencies != nil {
		cfg.Currencies = cfg.Currencies[:0]
		for _, cur := range *in.Currencies {
			cfg.Currencies = append(cfg.Currencies, money.Currency(cur))
		}
	}
	if _, err := a.accounts.Configure(r.Context(), c.app.ID, env, name, cfg); err != nil {
		a.paymentError(w, r, err)
		return
	}
	after, _, err := a.gatewaySetup(r, c, env, name)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	// Settings are recorded as changed, never by value.
	ch := account.Changes{"environment": {nil, string(env)}}
	if in.Settings != nil {
		old := any(nil)
		if before.Gateway != "" {
			old = "[hidden]"
		}
		ch["settings"] = [2]any{old, "[set]"}
	}
	if before.IsDefault != after.IsDefault {
		ch["default"] = [2]any{before.IsDefault, after.IsDefault}
	}
	if !slices.Equal(before.Currencies, after.Currencies) {
		ch["currencies"] = [2]any{nonNilStrings(before.Currencies), nonNilStrings(after.Currencies)}
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "gateways.set",
		TargetType: "gateway", TargetID: name, Changes: ch})
	writeJSON(w, http.StatusOK, setupOut(after))
}

// gatewaySetup finds the application environment's account at name;
// ok is false (and the Setup zero) when there is none.
func (a *api) gatewaySetup(r *http.Request, c *caller, env pay.Environment, name string) (routing.Setup, bool, error) {
	ss, err := a.gatewaySetups(r, c, env)
	if err != nil {
		return routing.Setup{}, false, err
	}
	for _, s := range ss {
		if s.Gateway == name {
			return s, true, nil
		}
	}
	return routing.Setup{}, false, nil
}

// deleteGateway is DELETE /apps/{appId}/gateways/{gateway}?environment:
// the account and its routes go; in the sandbox the simulator answers
// for the gateway again.
func (a *api) deleteGateway(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := a.gatewaysAvailable(); err != nil {
		a.paymentError(w, r, err)
		return
	}
	name := r.PathValue("gateway")
	_, ok, err := a.gatewaySetup(r, c, c.env, name)
	if err == nil && !ok {
		err = pay.Errorf(pay.NotFound, "gateway_not_found", "%s is not set up for this application's %s environment", name, c.env)
	}
	if err == nil {
		err = a.accounts.Remove(r.Context(), c.app.ID, c.env, name)
	}
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "gateways.remove",
		TargetType: "gateway", TargetID: name, Changes: account.Changes{"environment": {string(c.env), nil}, "settings": {"[hidden]", nil}}})
	noContent(w)
}

type gatewayCheckOut struct {
	OK        bool    `json:"ok"`
	Code      string  `json:"code,omitempty"`
	Message   string  `json:"message,omitempty"`
	LatencyMs float64 `json:"latencyMs"`
}

// checkGateway is POST /apps/{appId}/gateways/{gateway}/check?environment:
// one harmless call with the account's credentials (a read of a charge
// that does not exist), answered 200 whatever the gateway said.
func (a *api) checkGateway(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := a.gatewaysAvailable(); err != nil {
		a.paymentError(w, r, err)
		return
	}
	ch, err := a.accounts.CheckConnection(r.Context(), c.app.ID, c.env, r.PathValue("gateway"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gatewayCheckOut{OK: ch.OK, Code: ch.Code, Message: ch.Message, LatencyMs: float64(ch.Took.Microseconds()) / 1000})
}

// gatewaysAvailable refuses when this server was built without gateway
// accounts.
func (a *api) gatewaysAvailable() error {
	if a.accounts == nil {
		return pay.Errorf(pay.Unavailable, "gateways_unavailable", "this server keeps no gateway accounts")
	}
	return nil
}
