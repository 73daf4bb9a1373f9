package store

import (
	"context"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

// GatewayCredential is what sakk keeps of a merchant's account at one
// gateway, for one application environment.
type GatewayCredential struct {
	ApplicationID string
	Environment   pay.Environment
	Gateway       string
	SealedConfig  string // the settings, secrets included, sealed
	PublicConfig  string // JSON object of what a browser may see
	IsDefault     bool
	// Currencies are routed to this gateway (migration 00016): a session
	// in one of them is charged here, before the default. Sorted.
	Currencies []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PutGatewayCredential stores c, replacing the application environment's
// earlier credentials at the same gateway. A default credential takes the
// mark from any other gateway of the environment, in the same
// transaction.
func (tx *Tx) PutGatewayCredential(ctx context.Context, c GatewayCredential) error {
	if c.IsDefault {
		if _, err := tx.q.ExecContext(ctx,
			`UPDATE gateway_credentials SET is_default = FALSE WHERE application_id = $1 AND environment = $2`,
			c.ApplicationID, string(c.Environment)); err != nil {
			return wrap("put gateway credential", err)
		}
	}
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO gateway_credentials (application_id, environment, gateway, sealed_config, public_config, is_default, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		 ON CONFLICT (application_id, environment, gateway) DO UPDATE
		   SET sealed_config = excluded.sealed_config, public_config = excluded.public_config,
		       is_default = excluded.is_default, updated_at = excluded.updated_at`,
		c.ApplicationID, string(c.Environment), c.Gateway, c.SealedConfig, c.PublicConfig, c.IsDefault,
		toDB(c.CreatedAt), toDB(c.UpdatedAt))
	if err != nil {
		return wrap("put gateway credential", err)
	}
	return tx.routeCurrencies(ctx, c.ApplicationID, c.Environment, c.Gateway, c.Currencies)
}

// routeCurrencies makes currencies the gateway's routes: its earlier ones
// go, and each currency leaves whichever gateway had it.
func (tx *Tx) routeCurrencies(ctx context.Context, appID string, env pay.Environment, gateway string, currencies []string) error {
	if _, err := tx.q.ExecContext(ctx,
		`DELETE FROM gateway_routes WHERE application_id = $1 AND environment = $2 AND gateway = $3`,
		appID, string(env), gateway); err != nil {
		return wrap("route currencies", err)
	}
	for _, cur := range currencies {
		if _, err := tx.q.ExecContext(ctx,
			`INSERT INTO gateway_routes (application_id, environment, currency, gateway) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (application_id, environment, currency) DO UPDATE SET gateway = excluded.gateway`,
			appID, string(env), cur, gateway); err != nil {
			return wrap("route currencies", err)
		}
	}
	return nil
}

// DeleteGatewayCredential removes an application environment's
// credentials at a gateway; removing none is NotFound.
func (tx *Tx) DeleteGatewayCredential(ctx context.Context, appID string, env pay.Environment, gateway string) error {
	if err := tx.routeCurrencies(ctx, appID, env, gateway, nil); err != nil {
		return err
	}
	res, err := tx.q.ExecContext(ctx,
		`DELETE FROM gateway_credentials WHERE application_id = $1 AND environment = $2 AND gateway = $3`,
		appID, string(env), gateway)
	ok, err := affected("delete gateway credential", res, err)
	if err == nil && !ok {
		return notFound("gateway credential")
	}
	return err
}

// GatewayCredentials lists an application environment's credentials, by
// gateway name, with the currencies routed to each.
func (s *Store) GatewayCredentials(ctx context.Context, appID string, env pay.Environment) ([]GatewayCredential, error) {
	cs, err := s.gatewayCredentials(ctx, `WHERE application_id = $1 AND environment = $2 ORDER BY gateway`, appID, string(env))
	if err != nil || len(cs) == 0 {
		return cs, err
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT gateway, currency FROM gateway_routes WHERE application_id = $1 AND environment = $2 ORDER BY currency`,
		appID, string(env))
	if err != nil {
		return nil, wrap("gateway routes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gw, cur string
		if err := rows.Scan(&gw, &cur); err != nil {
			return nil, wrap("gateway routes", err)
		}
		for i := range cs {
			if cs[i].Gateway == gw {
				cs[i].Currencies = append(cs[i].Currencies, cur)
			}
		}
	}
	return cs, wrap("gateway routes", rows.Err())
}

// GatewayCredentialsAt lists every application environment's credentials
// at one gateway: the candidates an unaddressed inbound notification may
// be for.
func (s *Store) GatewayCredentialsAt(ctx context.Context, gateway string) ([]GatewayCredential, error) {
	return s.gatewayCredentials(ctx, `WHERE gateway = $1 ORDER BY application_id, environment`, gateway)
}

func (s *Store) gatewayCredentials(ctx context.Context, where string, args ...any) ([]GatewayCredential, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT application_id, environment, gateway, sealed_config, public_config, is_default, created_at, updated_at
		 FROM gateway_credentials `+where, args...)
	if err != nil {
		return nil, wrap("gateway credentials", err)
	}
	defer rows.Close()
	var cs []GatewayCredential
	for rows.Next() {
		var c GatewayCredential
		var env string
		var created, updated int64
		if err := rows.Scan(&c.ApplicationID, &env, &c.Gateway, &c.SealedConfig, &c.PublicConfig, &c.IsDefault, &created, &updated); err != nil {
			return nil, wrap("gateway credentials", err)
		}
		c.Environment, c.CreatedAt, c.UpdatedAt = pay.Environment(env), fromDB(created), fromDB(updated)
		cs = append(cs, c)
	}
	return cs, wrap("gateway credentials", rows.Err())
}

// PaymentByReference finds the attempt a gateway knows by reference.
func (s *Store) PaymentByReference(ctx context.Context, gateway, reference string) (pay.Payment, error) {
	return scanPayment(s.r.QueryRowContext(ctx,
		`SELECT `+paymentColumns+` FROM payments WHERE gateway = $1 AND gateway_reference = $2
		 ORDER BY attempt DESC LIMIT 1`, gateway, reference))
}
