package main

import (
	"context"
	"flag"
	"slices"
	"strings"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/config"
)

// readOnlyCommands change nothing, so they leave no audit entry.
var readOnlyCommands = []string{"gateways list", "webhooks list", "webhooks deliveries"}

// storeFlags say where the data is, not what changed.
var storeFlags = []string{"data-dir", "database", "encryption-key", "log-level", "log-format", "json", "dns-resolver"}

// auditCLI records an admin command that changed something, as the
// management API records its writes: actor "cli", the command as the
// action ("keys rotate" is keys.rotate), the application it touched as
// target, and the flags given (their values, but never a file's content:
// --settings-file and --password-file name files, and secrets stay in
// them). Installation-wide commands (tokens rotate) have no merchant to
// record under; users create is recorded by the account service.
func (e *env) auditCLI(ctx context.Context, name string, set *config.Set, result any) error {
	if slices.Contains(readOnlyCommands, name) || name == "tokens rotate" || name == "users create" {
		return nil
	}
	flags := set.Flags()
	value := func(n string) string {
		if f := flags.Lookup(n); f != nil {
			return f.Value.String()
		}
		return ""
	}
	appID := value("app")
	switch {
	case name == "apps create":
		if k, ok := result.(appKeys); ok {
			appID = k.ApplicationID
		}
	case value("payment") != "":
		id, _, err := e.store.PaymentOwner(ctx, value("payment"))
		if err != nil {
			return err
		}
		appID = id
	case value("id") != "":
		t, err := e.store.WebhookEndpoint(ctx, value("id"))
		if err != nil {
			return err
		}
		appID = t.Endpoint.ApplicationID
	case value("delivery") != "":
		d, err := e.store.WebhookDelivery(ctx, value("delivery"))
		if err != nil {
			return err
		}
		appID = d.ApplicationID
	}
	if appID == "" {
		return nil
	}
	app, err := e.store.Application(ctx, appID)
	if err != nil {
		return err
	}
	changes := account.Changes{}
	flags.Visit(func(f *flag.Flag) {
		if !slices.Contains(storeFlags, f.Name) {
			changes[f.Name] = [2]any{nil, f.Value.String()}
		}
	})
	return e.account.RecordNow(ctx, account.CLI, account.Entry{MerchantID: app.MerchantID, ApplicationID: app.ID,
		Action: strings.ReplaceAll(name, " ", "."), TargetType: "application", TargetID: app.ID, Changes: changes})
}
