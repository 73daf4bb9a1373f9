// Package routing decides which connector charges an application
// environment through a named gateway: the merchant's own account at that
// gateway when it entered credentials (kept sealed in the store), else,
// in the sandbox only, the simulator, which answers under every name.
//
// Credentials are a flat JSON object of strings per gateway, whose names
// each gateway's Factory lists (Stripe: secretKey, publishableKey,
// webhookSecret). They are checked by building a connector before they
// are stored, never returned in full, and only the settings a Factory
// marks public (a publishable key) ever reach a browser.
package routing

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/memo"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// Names are the gateways a session may name, as the Public Payment API
// spells them.
var Names = []string{"moyasar", "myfatoorah", "paypal", "stripe"}

// CacheTTL is how long an application environment's credentials are
// remembered. A change through the Registry reaches every instance's
// cache at once (store.Invalidate); one whose invalidation was lost
// applies within this.
const CacheTTL = 10 * time.Second

// Factory builds one gateway's connector from a merchant's settings.
type Factory struct {
	Settings []string // every setting name the gateway takes
	Required []string // those it cannot work without
	Public   []string // those a browser may see
	New      func(settings map[string]string) (gateway.Connector, error)
}

// Sealer encrypts the stored settings (vault.Box).
type Sealer interface {
	Seal(plaintext string) string
	Open(sealed string) (string, error)
}

// Registry finds connectors. It is safe for concurrent use.
type Registry struct {
	store     *store.Store
	sealer    Sealer
	sandbox   *sandbox.Simulator
	factories map[string]Factory
	now       func() time.Time
	creds     *memo.Cache[string, []store.GatewayCredential]

	mu    sync.Mutex
	built map[[32]byte]gateway.Connector // by gateway and sealed settings: one connector (and its token cache) per account
}

// New returns a Registry. sim may be nil (no sandbox gateways).
func New(st *store.Store, sealer Sealer, sim *sandbox.Simulator, factories map[string]Factory, now func() time.Time) *Registry {
	r := &Registry{
		store: st, sealer: sealer, sandbox: sim, factories: factories, now: now,
		creds: memo.New[string, []store.GatewayCredential](CacheTTL, 10_000, now),
		built: map[[32]byte]gateway.Connector{},
	}
	st.OnInvalidate(credsTopic, func(key string) {
		if key == "" {
			r.creds.Clear()
			return
		}
		r.creds.Forget(key)
	})
	return r
}

// credsTopic is the store invalidation topic of the credentials cache;
// its keys are credsKey's.
const credsTopic = "gateway_credentials"

func credsKey(appID string, env pay.Environment) string { return appID + "/" + string(env) }

// forgetCreds drops an application environment's credentials from the
// cache of every instance, after the write that changed them.
func (r *Registry) forgetCreds(ctx context.Context, appID string, env pay.Environment) {
	key := credsKey(appID, env)
	r.creds.Forget(key)
	r.store.Invalidate(ctx, credsTopic, key)
}

// Sandbox is the simulator, or nil.
func (r *Registry) Sandbox() *sandbox.Simulator { return r.sandbox }

func unknownGateway(name string) error {
	return pay.Errorf(pay.Invalid, "invalid_gateway", "gateway must be one of %s, not %q", strings.Join(Names, ", "), name)
}

// Connector returns the connector that charges appID's env through name.
// An Invalid "gateway_unavailable" error says the gateway is not set up
// there.
func (r *Registry) Connector(ctx context.Context, appID string, env pay.Environment, name string) (gateway.Connector, error) {
	if !slices.Contains(Names, name) {
		return nil, unknownGateway(name)
	}
	creds, err := r.credentials(ctx, appID, env)
	if err != nil {
		return nil, err
	}
	for _, c := range creds {
		if c.Gateway == name {
			return r.build(c)
		}
	}
	if env == pay.Sandbox && r.sandbox != nil {
		return r.sandbox.Connector(name), nil
	}
	return nil, pay.Errorf(pay.Invalid, "gateway_unavailable", "%s is not set up for this application's %s environment", name, env)
}

// Available lists the gateways that can charge appID's env in currency:
// the one routed for the currency first, then the default, then the
// others by name. An empty currency skips the routing by currency.
func (r *Registry) Available(ctx context.Context, appID string, env pay.Environment, currency money.Currency) ([]string, error) {
	creds, err := r.credentials(ctx, appID, env)
	if err != nil {
		return nil, err
	}
	var names []string
	if env == pay.Sandbox && r.sandbox != nil {
		names = slices.Clone(Names)
	}
	for _, c := range creds {
		if !slices.Contains(names, c.Gateway) {
			names = append(names, c.Gateway)
		}
	}
	sort.Strings(names)
	first := func(gw string) {
		i := slices.Index(names, gw)
		names = append([]string{gw}, slices.Delete(names, i, i+1)...)
	}
	// The default goes first, then the routed gateway before it.
	for _, c := range creds {
		if c.IsDefault {
			first(c.Gateway)
		}
	}
	for _, c := range creds {
		if currency != "" && slices.Contains(c.Currencies, string(currency)) {
			first(c.Gateway)
		}
	}
	return names, nil
}

// Public returns the settings of appID's env at name that a browser may
// see (a publishable key); empty for the simulator.
func (r *Registry) Public(ctx context.Context, appID string, env pay.Environment, name string) (map[string]string, error) {
	creds, err := r.credentials(ctx, appID, env)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range creds {
		if c.Gateway == name {
			if err := json.Unmarshal([]byte(c.PublicConfig), &out); err != nil {
				return nil, fmt.Errorf("routing: public settings of %s: %w", name, err)
			}
		}
	}
	return out, nil
}

func (r *Registry) credentials(ctx context.Context, appID string, env pay.Environment) ([]store.GatewayCredential, error) {
	key := credsKey(appID, env)
	if cs, ok := r.creds.Get(key); ok {
		return cs, nil
	}
	cs, err := r.store.GatewayCredentials(ctx, appID, env)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	r.creds.Put(key, cs, time.Time{})
	return cs, nil
}

// build returns the connector of one stored credential, made once per
// distinct settings.
func (r *Registry) build(c store.GatewayCredential) (gateway.Connector, error) {
	id := sha256.Sum256([]byte(c.Gateway + "\x00" + c.SealedConfig))
	r.mu.Lock()
	conn := r.built[id]
	r.mu.Unlock()
	if conn != nil {
		return conn, nil
	}
	plain, err := r.sealer.Open(c.SealedConfig)
	if err != nil {
		return nil, fmt.Errorf("routing: open %s settings: %w", c.Gateway, err)
	}
	var settings map[string]string
	if err := json.Unmarshal([]byte(plain), &settings); err != nil {
		return nil, fmt.Errorf("routing: %s settings: %w", c.Gateway, err)
	}
	f, ok := r.factories[c.Gateway]
	if !ok {
		return nil, pay.Errorf(pay.Invalid, "gateway_unavailable", "sakk was built without the %s connector", c.Gateway)
	}
	if conn, err = f.New(settings); err != nil {
		return nil, fmt.Errorf("routing: %s: %w", c.Gateway, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.built) > 10_000 {
		clear(r.built) // a bound, not a policy: rebuilt on next use
	}
	r.built[id] = conn
	return conn, nil
}

// Set checks settings by building a connector from them and stores them
// sealed as appID's env credentials at name, replacing earlier ones. It
// returns the public part. Unknown setting names and missing required
// ones are Invalid, naming them (never echoing a value).
func (r *Registry) Set(ctx context.Context, appID string, env pay.Environment, name string, settings map[string]string, isDefault bool) (map[string]string, error) {
	return r.Configure(ctx, appID, env, name, Config{Settings: settings, Default: isDefault})
}

// Config is how an application environment uses a gateway.
type Config struct {
	// Settings are the gateway's settings; nil keeps the stored ones
	// (changing only the routing).
	Settings map[string]string
	Default  bool
	// Currencies are routed to the gateway, taken from any other gateway
	// of the environment that had them.
	Currencies []money.Currency
}

// Configure is Set with the routing: the settings (checked the same
// way), the default mark and the currencies routed to the gateway, in
// one transaction.
func (r *Registry) Configure(ctx context.Context, appID string, env pay.Environment, name string, cfg Config) (map[string]string, error) {
	settings := cfg.Settings
	if settings == nil {
		stored, err := r.storedSettings(ctx, appID, env, name)
		if err != nil {
			return nil, err
		}
		settings = stored
	}
	currencies := make([]string, 0, len(cfg.Currencies))
	for _, c := range cfg.Currencies {
		if _, ok := money.Lookup(string(c)); !ok {
			return nil, pay.Errorf(pay.Invalid, "invalid_currency", "%q is not a currency sakk handles", string(c))
		}
		if !slices.Contains(currencies, string(c)) {
			currencies = append(currencies, string(c))
		}
	}
	sort.Strings(currencies)
	f, ok := r.factories[name]
	if !ok {
		if !slices.Contains(Names, name) {
			return nil, unknownGateway(name)
		}
		return nil, pay.Errorf(pay.Invalid, "gateway_unavailable", "sakk was built without the %s connector", name)
	}
	if !env.Valid() {
		return nil, pay.Errorf(pay.Invalid, "invalid_environment", "environment must be sandbox or live")
	}
	for k := range settings {
		if !slices.Contains(f.Settings, k) {
			return nil, pay.Errorf(pay.Invalid, "invalid_settings", "%s takes the settings %s, not %q", name, strings.Join(f.Settings, ", "), k)
		}
	}
	for _, k := range f.Required {
		if settings[k] == "" {
			return nil, pay.Errorf(pay.Invalid, "invalid_settings", "%s needs the setting %q", name, k)
		}
	}
	if _, err := f.New(settings); err != nil {
		return nil, pay.Errorf(pay.Invalid, "invalid_settings", "%s refused these settings: %s", name, pay.MessageOf(err))
	}
	public := map[string]string{}
	for _, k := range f.Public {
		if v := settings[k]; v != "" {
			public[k] = v
		}
	}
	sealed, err := json.Marshal(settings)
	if err != nil {
		return nil, err
	}
	pub, err := json.Marshal(public)
	if err != nil {
		return nil, err
	}
	now := r.now().UTC()
	err = r.store.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Application(ctx, appID); err != nil {
			return err
		}
		return tx.PutGatewayCredential(ctx, store.GatewayCredential{
			ApplicationID: appID, Environment: env, Gateway: name, SealedConfig: r.sealer.Seal(string(sealed)),
			PublicConfig: string(pub), IsDefault: cfg.Default, Currencies: currencies, CreatedAt: now, UpdatedAt: now,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("routing: set %s: %w", name, err)
	}
	r.forgetCreds(ctx, appID, env)
	return public, nil
}

// storedSettings opens appID's env settings at name; NotFound when the
// gateway is not set up there.
func (r *Registry) storedSettings(ctx context.Context, appID string, env pay.Environment, name string) (map[string]string, error) {
	cs, err := r.store.GatewayCredentials(ctx, appID, env)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	for _, c := range cs {
		if c.Gateway == name {
			return r.open(c)
		}
	}
	return nil, pay.Errorf(pay.Invalid, "invalid_settings", "%s is not set up here yet: send its settings", name)
}

func (r *Registry) open(c store.GatewayCredential) (map[string]string, error) {
	plain, err := r.sealer.Open(c.SealedConfig)
	if err != nil {
		return nil, fmt.Errorf("routing: open %s settings: %w", c.Gateway, err)
	}
	var settings map[string]string
	if err := json.Unmarshal([]byte(plain), &settings); err != nil {
		return nil, fmt.Errorf("routing: %s settings: %w", c.Gateway, err)
	}
	return settings, nil
}

// Setup is an application environment's account at a gateway as a
// dashboard shows it: which settings are set, never a secret's value.
type Setup struct {
	Gateway     string
	Environment pay.Environment
	// Settings maps each setting that is set to what may be shown of
	// it: a public one in full, a secret one masked ("sk_…4242") or
	// "set" when too short to mask.
	Settings   map[string]string
	IsDefault  bool
	Currencies []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Setups lists appID's env accounts at gateways, by gateway name.
func (r *Registry) Setups(ctx context.Context, appID string, env pay.Environment) ([]Setup, error) {
	cs, err := r.store.GatewayCredentials(ctx, appID, env)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	out := make([]Setup, 0, len(cs))
	for _, c := range cs {
		settings, err := r.open(c)
		if err != nil {
			return nil, err
		}
		shown := map[string]string{}
		for k, v := range settings {
			switch {
			case v == "":
			case slices.Contains(r.factories[c.Gateway].Public, k):
				shown[k] = v
			default:
				shown[k] = Mask(v)
			}
		}
		out = append(out, Setup{Gateway: c.Gateway, Environment: c.Environment, Settings: shown, IsDefault: c.IsDefault,
			Currencies: c.Currencies, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	return out, nil
}

// Mask shows of a secret what tells two apart and nothing that helps
// guess it: its kind prefix (up to the first "_", at most 8 characters)
// and its last 4 characters, from 16 characters on; "set" below that.
func Mask(secret string) string {
	if len(secret) < 16 {
		return "set"
	}
	prefix := ""
	if i := strings.IndexByte(secret, '_'); i > 0 && i < 8 {
		prefix = secret[:i+1]
	}
	return prefix + "…" + secret[len(secret)-4:]
}

// Gateway is a gateway this build can charge through, with the settings
// its form asks for.
type Gateway struct {
	Name     string
	Settings []Setting
}

// Setting is one setting a gateway takes.
type Setting struct {
	Name     string
	Required bool
	Secret   bool // never shown back, only masked
}

// Catalog lists the gateways this build has connectors for, by name.
func (r *Registry) Catalog() []Gateway {
	var out []Gateway
	for _, name := range Names {
		f, ok := r.factories[name]
		if !ok {
			continue
		}
		g := Gateway{Name: name}
		for _, k := range f.Settings {
			g.Settings = append(g.Settings, Setting{Name: k, Required: slices.Contains(f.Required, k), Secret: !slices.Contains(f.Public, k)})
		}
		out = append(out, g)
	}
	return out
}

// Remove deletes appID's env credentials at name.
func (r *Registry) Remove(ctx context.Context, appID string, env pay.Environment, name string) error {
	err := r.store.WithTx(ctx, func(tx *store.Tx) error { return tx.DeleteGatewayCredential(ctx, appID, env, name) })
	r.forgetCreds(ctx, appID, env)
	return err
}

// Account is one application environment's account at a gateway, with
// its connector: a candidate for an inbound notification.
type Account struct {
	ApplicationID string
	Environment   pay.Environment
	Connector     gateway.Connector
}

// Accounts lists the accounts at gateway name, those of appID only when it
// is set: the connectors an inbound notification may be verified by.
func (r *Registry) Accounts(ctx context.Context, name, appID string) ([]Account, error) {
	if !slices.Contains(Names, name) {
		return nil, unknownGateway(name)
	}
	cs, err := r.store.GatewayCredentialsAt(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	var out []Account
	for _, c := range cs {
		if appID != "" && c.ApplicationID != appID {
			continue
		}
		conn, err := r.build(c)
		if err != nil {
			return nil, err
		}
		out = append(out, Account{ApplicationID: c.ApplicationID, Environment: c.Environment, Connector: conn})
	}
	return out, nil
}
