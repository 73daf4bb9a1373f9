package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/config"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/webhook"
)

type command func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// adminCommands are the "sakk NOUN VERB" commands working on the store.
var adminCommands = map[string]map[string]command{
	"apps":     {"create": appsCreate, "set": appsSet},
	"users":    {"create": usersCreate},
	"tokens":   {"rotate": tokensRotate},
	"keys":     {"create": keysCreate, "rotate": keysRotate},
	"domains":  {"add": domainsAdd, "verify": domainsVerify},
	"products": {"add": productsAdd},
	"gateways": {"set": gatewaysSet, "list": gatewaysList, "remove": gatewaysRemove},
	"refunds":  {"create": refundsCreate},
	"webhooks": {
		"add": webhooksAdd, "list": webhooksList, "test": webhooksTest, "deliveries": webhooksDeliveries,
		"resend": webhooksResend, "rotate": webhooksRotate,
	},
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// admin parses an admin command's flags (its own plus the store's), opens
// the store, runs do, and prints its result: as JSON with --json, else as
// the text lines do returns.
func admin(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer,
	flags func(*config.Set), do func(*env) (any, []string, error)) error {
	var cfg config.Config
	var asJSON bool
	set := config.NewSet(name)
	set.Store(&cfg)
	set.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	flags(set)
	if err := parse(set, args, getenv, stderr); err != nil {
		return err
	}
	e, err := open(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	result, lines, err := do(e)
	if err != nil {
		return userError(err)
	}
	if err := e.auditCLI(ctx, name, set, result); err != nil {
		// The change is made; say that its record is missing.
		fmt.Fprintf(stderr, "sakk: warning: the change is made but its audit entry is not: %v\n", err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(result)
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// userError shows a domain error's message, meant for the person at the
// terminal, rather than the chain of operations behind it.
func userError(err error) error {
	if code := pay.CodeOf(err); code != "" && pay.KindOf(err) != pay.Internal {
		if msg := pay.MessageOf(err); msg != "" {
			return fmt.Errorf("%s (%s)", msg, code)
		}
	}
	return err
}

func required(flags map[string]string) error {
	for _, name := range sortedKeys(flags) {
		if flags[name] == "" {
			return usageError{"--" + name + " is required"}
		}
	}
	return nil
}

func appsCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name, merchantName, envName string
	return admin(ctx, "apps create", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&name, "name", "", "application name (required)")
		s.Flags().StringVar(&merchantName, "merchant", "", "merchant name; an existing merchant of that name is reused (default: the application name)")
		s.Flags().StringVar(&envName, "env", "sandbox", "environment of the keys to issue: sandbox or live")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"name": name}); err != nil {
			return nil, nil, err
		}
		created, err := e.merchant.CreateApplication(ctx, merchant.NewApplication{
			Name: name, MerchantName: merchantName, Environment: pay.Environment(envName),
		})
		if err != nil {
			return nil, nil, err
		}
		out := appKeysJSON(created.Application.ID, created.Merchant.ID, created.Environment, created.Keys)
		return out, append([]string{
			"Created application " + created.Application.ID + " of merchant " + created.Merchant.ID + ".",
		}, keyLines(out)...), nil
	})
}

// appKeys is the JSON shape of a fresh set of keys; `apps create`,
// `keys create` and the first start of `sakk serve` all print it.
type appKeys struct {
	ApplicationID string `json:"application_id"`
	MerchantID    string `json:"merchant_id"`
	Environment   string `json:"environment"`
	SecretKey     string `json:"secret_key"`
	PublicKey     string `json:"public_key"`
	ClientToken   string `json:"client_token"`
}

func appKeysJSON(appID, merchantID string, env pay.Environment, k merchant.Keys) appKeys {
	return appKeys{appID, merchantID, string(env), k.Secret, k.Public, k.ClientToken}
}

func keyLines(k appKeys) []string {
	return []string{
		"Keys of its " + k.Environment + " environment — shown only this once, store them now:",
		"  secret_key    " + k.SecretKey + "   (server side only)",
		"  public_key    " + k.PublicKey,
		"  client_token  " + k.ClientToken + "   (browser, on a verified domain)",
	}
}

func keysCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, envName string
	return admin(ctx, "keys create", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&envName, "env", "sandbox", "environment: sandbox or live")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID}); err != nil {
			return nil, nil, err
		}
		keys, err := e.merchant.IssueKeys(ctx, appID, pay.Environment(envName))
		if err != nil {
			return nil, nil, err
		}
		app, err := e.store.Application(ctx, appID)
		if err != nil {
			return nil, nil, err
		}
		out := appKeysJSON(appID, app.MerchantID, pay.Environment(envName), keys)
		return out, keyLines(out), nil
	})
}

func keysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, envName string
	var grace time.Duration
	return admin(ctx, "keys rotate", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&envName, "env", "sandbox", "environment: sandbox or live")
		s.Flags().DurationVar(&grace, "grace", merchant.DefaultRotationGrace, "how long the previous secret keys keep working")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID}); err != nil {
			return nil, nil, err
		}
		if grace <= 0 {
			return nil, nil, usageError{"--grace must be positive: to stop a key at once, revoke it"}
		}
		r, err := e.merchant.RotateSecretKey(ctx, appID, pay.Environment(envName), grace)
		if err != nil {
			return nil, nil, err
		}
		out := struct {
			ApplicationID     string   `json:"application_id"`
			Environment       string   `json:"environment"`
			SecretKey         string   `json:"secret_key"`
			PreviousKeys      []string `json:"previous_keys"`
			PreviousExpiresAt string   `json:"previous_expires_at"`
		}{appID, envName, r.Secret, r.OldKeyPrefixes, r.OldExpiresAt.Format(time.RFC3339)}
		if out.PreviousKeys == nil {
			out.PreviousKeys = []string{}
		}
		return out, []string{
			"New " + envName + " secret key — shown only this once: " + r.Secret,
			fmt.Sprintf("Previous secret keys %v keep working until %s.", r.OldKeyPrefixes, out.PreviousExpiresAt),
		}, nil
	})
}

func domainsAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, domain string
	var verified bool
	return admin(ctx, "domains add", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&domain, "domain", "", "bare host name, e.g. shop.example.com (required)")
		s.Flags().BoolVar(&verified, "verified", false, "mark the domain verified (the operator vouches for it)")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID, "domain": domain}); err != nil {
			return nil, nil, err
		}
		d, err := e.merchant.AddDomain(ctx, appID, domain, verified)
		if err != nil {
			return nil, nil, err
		}
		e.store.Invalidate(ctx, checkout.ApplicationTopic, appID)
		lines := []string{fmt.Sprintf("Added domain %s to %s (verified: %t).", d.Domain, appID, d.Verified)}
		if !d.Verified {
			v := d.Verification()
			lines = append(lines,
				"To verify it, publish either",
				fmt.Sprintf("  a DNS %s record %s with the value %s", v.DNS.Type, v.DNS.Name, v.DNS.Value),
				fmt.Sprintf("  or the file %s holding %s", v.HTTP.URL, v.HTTP.Body),
				fmt.Sprintf("then run: sakk domains verify --app %s --domain %s", appID, d.Domain))
		}
		return domainJSON(d), lines, nil
	})
}

func domainsVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, domain string
	var vcfg config.Config
	return admin(ctx, "domains verify", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&domain, "domain", "", "the domain to check now (required)")
		s.DomainVerification(&vcfg)
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID, "domain": domain}); err != nil {
			return nil, nil, err
		}
		if err := vcfg.CheckDomainVerification(); err != nil {
			return nil, nil, usageError{err.Error()}
		}
		if vcfg.DNSResolver != "" {
			e.merchant.SetDomainVerifier(merchant.DomainVerifier{Resolver: merchant.ResolverAt(vcfg.DNSResolver)})
		}
		d, err := e.merchant.VerifyDomain(ctx, appID, domain)
		if err != nil {
			return nil, nil, err
		}
		e.store.Invalidate(ctx, checkout.ApplicationTopic, appID)
		return domainJSON(d), []string{fmt.Sprintf("Domain %s of %s is verified.", d.Domain, appID)}, nil
	})
}

// domainOut is how the CLI prints a domain: the record or file that
// verifies it beside it, in the shape the management API uses.
type domainOut struct {
	ApplicationID string `json:"application_id"`
	Domain        string `json:"domain"`
	Verified      bool   `json:"verified"`
	Verification  struct {
		DNS struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"dns"`
		HTTP struct {
			URL  string `json:"url"`
			Body string `json:"body"`
		} `json:"http"`
	} `json:"verification"`
}

func domainJSON(d pay.Domain) domainOut {
	out := domainOut{ApplicationID: d.ApplicationID, Domain: d.Domain, Verified: d.Verified}
	v := d.Verification()
	out.Verification.DNS.Name, out.Verification.DNS.Type, out.Verification.DNS.Value = v.DNS.Name, v.DNS.Type, v.DNS.Value
	out.Verification.HTTP.URL, out.Verification.HTTP.Body = v.HTTP.URL, v.HTTP.Body
	return out
}

func productsAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, code, title, price, currency, image string
	return admin(ctx, "products add", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&code, "store-code", "", "the merchant's code for the product, unique in the application (required)")
		s.Flags().StringVar(&title, "title", "", "product title (required)")
		s.Flags().StringVar(&price, "price", "", "unit price as a decimal, e.g. 1799.00 (required)")
		s.Flags().StringVar(&currency, "currency", "", "ISO 4217 currency code, e.g. MAD (required)")
		s.Flags().StringVar(&image, "image-url", "", "image URL")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID, "store-code": code, "title": title, "price": price, "currency": currency}); err != nil {
			return nil, nil, err
		}
		amount, err := money.Parse(price, money.Currency(currency))
		if err != nil {
			return nil, nil, usageError{"--price: " + err.Error()}
		}
		p, err := e.merchant.AddProduct(ctx, merchant.NewProduct{
			ApplicationID: appID, StoreCode: code, Title: title, Price: amount, ImageURL: image,
		})
		if err != nil {
			return nil, nil, err
		}
		out := struct {
			ID            string `json:"id"`
			ApplicationID string `json:"application_id"`
			StoreCode     string `json:"store_code"`
			Title         string `json:"title"`
			Price         string `json:"price"`
			Currency      string `json:"currency"`
			ImageURL      string `json:"image_url"`
		}{p.ID, p.ApplicationID, p.StoreCode, p.Title, money.Format(p.Price), string(p.Price.Currency), p.ImageURL}
		return out, []string{fmt.Sprintf("Added product %s (%s, %s) as %s.", p.StoreCode, p.Title, p.Price, p.ID)}, nil
	})
}

func webhooksAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, url, envName, format string
	return admin(ctx, "webhooks add", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&url, "url", "", "endpoint URL (required; https in live)")
		s.Flags().StringVar(&envName, "env", "sandbox", "environment whose events it receives: sandbox or live")
		s.Flags().StringVar(&format, "format", "checkout", "event names and signature: checkout (X-Alya-*) or payment (Sakk-Signature)")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID, "url": url}); err != nil {
			return nil, nil, err
		}
		w, secret, err := e.merchant.AddWebhook(ctx, merchant.NewWebhook{
			ApplicationID: appID, Environment: pay.Environment(envName), URL: url, Format: pay.WebhookFormat(format),
		})
		if err != nil {
			return nil, nil, err
		}
		out := struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		}{w.ID, secret}
		return out, []string{
			"Added webhook endpoint " + w.ID + " for " + url + ".",
			"Signing secret — shown only this once: " + secret,
		}, nil
	})
}

// webhooksList lists endpoints with their state: how an operator learns
// that sakk disabled one, and why.
func webhooksList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, envName string
	return admin(ctx, "webhooks list", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&envName, "env", "", "only this environment's endpoints: sandbox or live (default: both)")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID}); err != nil {
			return nil, nil, err
		}
		envs := []pay.Environment{pay.Sandbox, pay.Live}
		if envName != "" {
			if !pay.Environment(envName).Valid() {
				return nil, nil, usageError{fmt.Sprintf("--env %q: want sandbox or live", envName)}
			}
			envs = []pay.Environment{pay.Environment(envName)}
		}
		if _, err := e.store.Application(ctx, appID); err != nil {
			return nil, nil, err
		}
		type endpoint struct {
			ID             string `json:"id"`
			Environment    string `json:"environment"`
			URL            string `json:"url"`
			Format         string `json:"format"`
			Enabled        bool   `json:"enabled"`
			DisabledReason string `json:"disabled_reason"`
			CreatedAt      string `json:"created_at"`
		}
		out := []endpoint{}
		var lines []string
		for _, env := range envs {
			ws, err := e.merchant.WebhookEndpoints(ctx, appID, env)
			if err != nil {
				return nil, nil, err
			}
			for _, w := range ws {
				out = append(out, endpoint{w.ID, string(w.Environment), w.URL, string(w.Format), w.Enabled,
					w.DisabledReason, w.CreatedAt.Format(time.RFC3339)})
				state := "enabled"
				if !w.Enabled {
					state = "DISABLED: " + w.DisabledReason
				}
				lines = append(lines, fmt.Sprintf("%s  %-7s %-8s %s  %s", w.ID, w.Environment, w.Format, w.URL, state))
			}
		}
		if len(lines) == 0 {
			lines = append(lines, "No webhook endpoints for "+appID+".")
		}
		return out, lines, nil
	})
}

// webhooksRotate gives an endpoint a new signing secret; the old one
// keeps signing beside it for --overlap.
func webhooksRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var id string
	var overlap time.Duration
	return admin(ctx, "webhooks rotate", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&id, "id", "", "webhook endpoint id (required)")
		s.Flags().DurationVar(&overlap, "overlap", merchant.DefaultWebhookOverlap,
			"how long the previous secret keeps signing beside the new one; 0 stops it at once")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"id": id}); err != nil {
			return nil, nil, err
		}
		secret, until, err := e.merchant.RotateWebhookSecret(ctx, id, overlap)
		if err != nil {
			return nil, nil, err
		}
		out := struct {
			ID                 string `json:"id"`
			Secret             string `json:"secret"`
			PreviousValidUntil string `json:"previous_valid_until"`
		}{id, secret, until.Format(time.RFC3339)}
		return out, []string{
			"New signing secret of " + id + " — shown only this once: " + secret,
			"The previous secret keeps signing beside it until " + out.PreviousValidUntil + ".",
		}, nil
	})
}

// attemptJSON is the JSON shape of one webhook attempt.
type attemptJSON struct {
	DeliveryID      string `json:"delivery_id"`
	Delivered       bool   `json:"delivered"`
	StatusCode      int    `json:"status_code"`
	LatencyMS       int64  `json:"latency_ms"`
	ResponseExcerpt string `json:"response_excerpt"`
	Error           string `json:"error,omitempty"`
}

func attemptOut(a webhook.Attempt) (attemptJSON, []string) {
	out := attemptJSON{a.DeliveryID, a.Delivered, a.StatusCode, a.Latency.Milliseconds(), a.ResponseExcerpt, a.Error}
	line := fmt.Sprintf("Delivered (HTTP %d in %d ms) as %s.", a.StatusCode, out.LatencyMS, a.DeliveryID)
	if !a.Delivered {
		line = fmt.Sprintf("Not delivered (%s after %d ms); recorded as %s.", a.Error, out.LatencyMS, a.DeliveryID)
	}
	return out, []string{line}
}

// dispatcher is a webhook dispatcher for one-off commands: it sends what
// it is asked to and nothing else (it does not Run).
func (e *env) dispatcher() *webhook.Dispatcher {
	return webhook.New(e.store, e.vault, webhook.Options{Logger: e.log})
}

func webhooksTest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var id string
	return admin(ctx, "webhooks test", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&id, "id", "", "webhook endpoint id (required)")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"id": id}); err != nil {
			return nil, nil, err
		}
		a, err := e.dispatcher().Test(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		out, lines := attemptOut(a)
		return out, lines, nil
	})
}

func webhooksResend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var id string
	return admin(ctx, "webhooks resend", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&id, "delivery", "", "delivery id, as listed by `sakk webhooks deliveries` (required)")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"delivery": id}); err != nil {
			return nil, nil, err
		}
		a, err := e.dispatcher().Resend(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		out, lines := attemptOut(a)
		return out, lines, nil
	})
}

func webhooksDeliveries(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID string
	var limit int
	return admin(ctx, "webhooks deliveries", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().IntVar(&limit, "limit", 50, "how many of the most recent deliveries to list")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID}); err != nil {
			return nil, nil, err
		}
		if limit <= 0 || limit > 1000 {
			return nil, nil, usageError{"--limit must be between 1 and 1000"}
		}
		if _, err := e.store.Application(ctx, appID); err != nil {
			return nil, nil, err
		}
		ds, err := e.store.WebhookDeliveries(ctx, appID, limit)
		if err != nil {
			return nil, nil, err
		}
		type attempt struct {
			At              string `json:"at"`
			StatusCode      int    `json:"status_code"`
			LatencyMS       int64  `json:"latency_ms"`
			ResponseExcerpt string `json:"response_excerpt"`
			Error           string `json:"error,omitempty"`
			Manual          bool   `json:"manual,omitempty"`
		}
		type delivery struct {
			ID            string    `json:"id"`
			EndpointID    string    `json:"endpoint_id"`
			Environment   string    `json:"environment"`
			Event         string    `json:"event"`
			EventID       string    `json:"event_id"`
			SubjectID     string    `json:"subject_id"`
			Status        string    `json:"status"`
			NextAttemptAt string    `json:"next_attempt_at,omitempty"`
			CreatedAt     string    `json:"created_at"`
			Attempts      []attempt `json:"attempts"`
		}
		out := []delivery{}
		lines := []string{}
		for _, d := range ds {
			as, err := e.store.WebhookAttempts(ctx, d.ID)
			if err != nil {
				return nil, nil, err
			}
			dj := delivery{ID: d.ID, EndpointID: d.EndpointID, Environment: string(d.Environment), Event: d.EventType,
				EventID: d.MessageID, SubjectID: d.SubjectID, Status: string(d.Status),
				CreatedAt: d.CreatedAt.Format(time.RFC3339), Attempts: []attempt{}}
			if d.Status == store.DeliveryPending {
				dj.NextAttemptAt = d.NextAttemptAt.Format(time.RFC3339)
			}
			lines = append(lines, fmt.Sprintf("%s  %s  %-22s %-9s %s  %s", d.ID, d.CreatedAt.Format(time.RFC3339), d.EventType, d.Status, d.EndpointID, d.Environment))
			for _, a := range as {
				dj.Attempts = append(dj.Attempts, attempt{a.StartedAt.Format(time.RFC3339), a.StatusCode,
					a.Latency.Milliseconds(), a.ResponseExcerpt, a.Error, a.Manual})
				result := fmt.Sprintf("HTTP %d", a.StatusCode)
				if a.Error != "" {
					result = a.Error
				}
				lines = append(lines, fmt.Sprintf("    %s  %s  %d ms", a.StartedAt.Format(time.RFC3339), result, a.Latency.Milliseconds()))
			}
			if dj.NextAttemptAt != "" {
				lines = append(lines, "    next attempt "+dj.NextAttemptAt)
			}
			out = append(out, dj)
		}
		if len(lines) == 0 {
			lines = append(lines, "No webhook deliveries for "+appID+".")
		}
		return out, lines, nil
	})
}

func appsSet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, currencies, permissions, modules string
	rateLimit := -1
	return admin(ctx, "apps set", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&permissions, "permissions", "", "comma-separated SDK token permissions, replacing the current ones (\"-\" for none): "+strings.Join(merchant.Permissions, ", "))
		s.Flags().StringVar(&modules, "modules", "", "comma-separated SDK modules (\"-\" for none): "+strings.Join(merchant.Modules, ", "))
		s.Flags().StringVar(&currencies, "currencies", "", "comma-separated ISO 4217 codes accepted besides MAD (\"-\" for none)")
		s.Flags().IntVar(&rateLimit, "rate-limit", -1, "requests per window for each of its keys; 0 for the installation default")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID}); err != nil {
			return nil, nil, err
		}
		app, err := e.store.Application(ctx, appID)
		if err != nil {
			return nil, nil, err
		}
		if currencies == "-" {
			app.Currencies = nil
		} else if currencies != "" {
			app.Currencies = nil
			for code := range strings.SplitSeq(currencies, ",") {
				code = strings.TrimSpace(code)
				if _, ok := money.Lookup(code); !ok {
					return nil, nil, usageError{fmt.Sprintf("--currencies: %q is not an ISO 4217 code", code)}
				}
				app.Currencies = append(app.Currencies, money.Currency(code))
			}
		}
		if rateLimit >= 0 {
			app.RateLimit = rateLimit
		}
		if app.Permissions, err = listFlag("permissions", permissions, app.Permissions, merchant.Permissions); err != nil {
			return nil, nil, err
		}
		if app.Modules, err = listFlag("modules", modules, app.Modules, merchant.Modules); err != nil {
			return nil, nil, err
		}
		err = e.store.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.SetApplicationAccess(ctx, appID, app.Permissions, app.Modules); err != nil {
				return err
			}
			return tx.SetApplicationLimits(ctx, appID, app.Currencies, app.RateLimit)
		})
		if err != nil {
			return nil, nil, err
		}
		e.store.Invalidate(ctx, checkout.ApplicationTopic, appID) // running instances read it again now
		codes := []string{string(pay.DefaultCurrency)}
		for _, c := range app.Currencies {
			codes = append(codes, string(c))
		}
		out := struct {
			ApplicationID string   `json:"application_id"`
			Currencies    []string `json:"currencies"`
			RateLimit     int      `json:"rate_limit"`
			Permissions   []string `json:"permissions"`
			Modules       []string `json:"modules"`
		}{appID, codes, app.RateLimit, nonNil(app.Permissions), nonNil(app.Modules)}
		return out, []string{
			fmt.Sprintf("Application %s accepts %s; rate limit %d (0: the default).", appID, strings.Join(codes, ", "), app.RateLimit),
			fmt.Sprintf("Permissions: %s; modules: %s.", strings.Join(app.Permissions, ", "), strings.Join(app.Modules, ", ")),
		}, nil
	})
}

// listFlag reads a comma-separated flag of names from known: "" keeps
// current, "-" empties it.
func listFlag(name, value string, current, known []string) ([]string, error) {
	switch value {
	case "":
		return current, nil
	case "-":
		return nil, nil
	}
	var out []string
	for v := range strings.SplitSeq(value, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(known, v) {
			return nil, usageError{fmt.Sprintf("--%s: %q is not one of %s", name, v, strings.Join(known, ", "))}
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func tokensRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var now bool
	return admin(ctx, "tokens rotate", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().BoolVar(&now, "now", false, "sign with the new key at once (no other instance running, or the current key compromised)")
	}, func(e *env) (any, []string, error) {
		rotate, when := e.tokens.Rotate, "in about 70 seconds, once every instance has read it; until then the current key signs"
		if now {
			rotate, when = e.tokens.RotateNow, "from now"
		}
		kid, err := rotate(ctx)
		if err != nil {
			return nil, nil, err
		}
		out := struct {
			KID string `json:"kid"`
		}{kid}
		return out, []string{"Key " + kid + " signs tokens " + when + "; earlier keys verify the tokens they signed until those expire."}, nil
	})
}

// refundsCreate refunds a completed payment, in full or (--amount) in
// part, through the gateway that charged it: what the merchant API's
// POST /api/merchant/v1/payments/{paymentId}/refunds does, for an
// operator who knows only the payment id.
func refundsCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var paymentID, amountText string
	return admin(ctx, "refunds create", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&paymentID, "payment", "", "payment id, pay_… (required)")
		s.Flags().StringVar(&amountText, "amount", "", "amount to refund, a decimal in the payment's currency (default: everything not yet refunded)")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"payment": paymentID}); err != nil {
			return nil, nil, err
		}
		appID, envName, err := e.store.PaymentOwner(ctx, paymentID)
		if err != nil {
			return nil, nil, err
		}
		// A refund makes no links to sakk, but the simulator wants a
		// well-formed base for the ones it could make.
		cfg := *e.cfg
		if cfg.PublicURL == "" {
			cfg.PublicURL = "http://localhost"
		}
		co, _, err := newCheckout(e, &cfg, nil)
		if err != nil {
			return nil, nil, err
		}
		var amount *money.Amount
		if amountText != "" {
			p, err := co.Payment(ctx, appID, envName, paymentID)
			if err != nil {
				return nil, nil, err
			}
			a, err := money.Parse(amountText, p.Amount.Currency)
			if err != nil {
				return nil, nil, usageError{"--amount: " + strings.TrimPrefix(err.Error(), "money: ")}
			}
			amount = &a
		}
		r, err := co.Refund(ctx, appID, envName, paymentID, amount, nil)
		if err != nil {
			return nil, nil, err
		}
		out := map[string]string{
			"id": r.ID, "payment_id": r.PaymentID, "session_id": r.SessionID, "status": r.Status,
			"amount": money.Format(r.Amount), "currency": string(r.Amount.Currency),
			"gateway_reference": r.GatewayReference, "failure_code": r.FailureCode, "failure_message": r.FailureMessage,
		}
		line := fmt.Sprintf("Refund %s of %s %s on %s: %s.", r.ID, money.Format(r.Amount), r.Amount.Currency, r.PaymentID, r.Status)
		if r.FailureCode != "" {
			line += " " + r.FailureMessage + " (" + r.FailureCode + ")"
		}
		return out, []string{line}, nil
	})
}
