package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sakkhq/sakk/internal/config"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
)

// The gateways commands enter a merchant's own gateway accounts. Settings
// are read from a JSON file (or stdin with "-"), never from the command
// line, where they would land in the shell's history; they are stored
// sealed and only their public part is ever printed.

func (e *env) gateways() *routing.Registry {
	return routing.New(e.store, e.vault, nil, routing.Builtin(nil), time.Now)
}

func gatewaysSet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, envName, name, file string
	var isDefault bool
	return admin(ctx, "gateways set", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&envName, "env", "live", "environment: sandbox or live")
		s.Flags().StringVar(&name, "gateway", "", "stripe, paypal, moyasar or myfatoorah (required)")
		s.Flags().StringVar(&file, "settings-file", "", `JSON object of the gateway's settings, e.g. {"secretKey":"sk_live_…","publishableKey":"pk_live_…"}; "-" reads stdin (required)`)
		s.Flags().BoolVar(&isDefault, "default", false, "route sessions that name no gateway here")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID, "gateway": name, "settings-file": file}); err != nil {
			return nil, nil, err
		}
		settings, err := readSettings(file)
		if err != nil {
			return nil, nil, err
		}
		public, err := e.gateways().Set(ctx, appID, pay.Environment(envName), name, settings, isDefault)
		if err != nil {
			return nil, nil, err
		}
		out := map[string]any{"application_id": appID, "environment": envName, "gateway": name, "default": isDefault, "public": public}
		return out, []string{fmt.Sprintf("Set %s for %s (%s); public settings: %v.", name, appID, envName, public)}, nil
	})
}

func readSettings(file string) (map[string]string, error) {
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, usageError{fmt.Sprintf("--settings-file: %v", err)}
		}
		defer f.Close()
		r = f
	}
	var settings map[string]string
	if err := json.NewDecoder(io.LimitReader(r, 64<<10)).Decode(&settings); err != nil {
		return nil, usageError{"--settings-file: want a JSON object of strings: " + err.Error()}
	}
	return settings, nil
}

func gatewaysList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, envName string
	return admin(ctx, "gateways list", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&envName, "env", "live", "environment: sandbox or live")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID}); err != nil {
			return nil, nil, err
		}
		creds, err := e.store.GatewayCredentials(ctx, appID, pay.Environment(envName))
		if err != nil {
			return nil, nil, err
		}
		type account struct {
			Gateway   string          `json:"gateway"`
			Default   bool            `json:"default"`
			Public    json.RawMessage `json:"public"`
			UpdatedAt string          `json:"updated_at"`
		}
		out := []account{}
		var lines []string
		for _, c := range creds {
			out = append(out, account{c.Gateway, c.IsDefault, json.RawMessage(c.PublicConfig), c.UpdatedAt.Format("2006-01-02T15:04:05Z")})
			lines = append(lines, fmt.Sprintf("%-11s default=%-5t public=%s", c.Gateway, c.IsDefault, c.PublicConfig))
		}
		if len(lines) == 0 {
			lines = []string{"No gateway accounts: the sandbox simulates every gateway; live can charge through none."}
		}
		return out, lines, nil
	})
}

func gatewaysRemove(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var appID, envName, name string
	return admin(ctx, "gateways remove", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&appID, "app", "", "application id (required)")
		s.Flags().StringVar(&envName, "env", "live", "environment: sandbox or live")
		s.Flags().StringVar(&name, "gateway", "", "the gateway (required)")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"app": appID, "gateway": name}); err != nil {
			return nil, nil, err
		}
		if err := e.gateways().Remove(ctx, appID, pay.Environment(envName), name); err != nil {
			return nil, nil, err
		}
		return map[string]string{"removed": name}, []string{"Removed " + name + "."}, nil
	})
}
