package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/config"
	"github.com/sakkhq/sakk/internal/httpapi"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/vault"
)

const usage = `sakk — a self-hosted payment checkout platform

Usage:
  sakk serve     [--addr :8080] [--public-url URL] [store flags]
  sakk migrate   [store flags]
  sakk apps create    --name NAME [--merchant NAME] [--env sandbox|live] [--json]
  sakk keys create    --app ID [--env sandbox|live] [--json]
  sakk keys rotate    --app ID [--env sandbox|live] [--grace 24h] [--json]
  sakk domains add    --app ID --domain DOMAIN [--verified] [--json]
  sakk domains verify --app ID --domain DOMAIN [--dns-resolver HOST:PORT] [--json]
  sakk products add   --app ID --store-code CODE --title TITLE --price DECIMAL --currency CODE [--image-url URL] [--json]
  sakk webhooks add   --app ID --url URL [--env sandbox|live] [--format checkout|payment] [--json]
  sakk webhooks list  --app ID [--env sandbox|live] [--json]
  sakk webhooks test  --id ENDPOINT [--json]
  sakk webhooks rotate --id ENDPOINT [--overlap 24h] [--json]
  sakk webhooks deliveries --app ID [--limit N] [--json]
  sakk webhooks resend --delivery ID [--json]
  sakk gateways set   --app ID --gateway NAME --settings-file FILE [--env sandbox|live] [--default] [--json]
  sakk gateways list  --app ID [--env sandbox|live] [--json]
  sakk gateways remove --app ID --gateway NAME [--env sandbox|live] [--json]
  sakk apps set       --app ID [--currencies MAD,USD] [--rate-limit N] [--permissions P,…] [--modules M,…] [--json]
  sakk refunds create --payment ID [--amount DECIMAL] [--json]
  sakk tokens rotate  [--now] [--json]
  sakk users create   --email EMAIL --password-file FILE (--merchant NAME | --merchant-id ID) [--role owner] [--name NAME] [--json]

Store flags (every command): --data-dir DIR, --database URL, --encryption-key KEY,
--log-level LEVEL, --log-format text|json. Each also reads SAKK_<NAME> from the
environment (SAKK_DATA_DIR …); secrets also SAKK_<NAME>_FILE.
Run "sakk COMMAND -h" for a command's flags.
`

// usageError is a mistake on the command line: exit status 2, like flag.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// run is the whole program, with its outside world passed in so tests
// can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	if admin, ok := adminCommands[cmd]; ok {
		if len(rest) == 0 || admin[rest[0]] == nil {
			return usageError{fmt.Sprintf("%s: want one of: %s", cmd, strings.Join(sortedKeys(admin), ", "))}
		}
		return admin[rest[0]](ctx, rest[1:], getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// parse reads a command's flags and environment; a mistake is a usage
// error that names the flag.
func parse(set *config.Set, args []string, getenv func(string) string, stderr io.Writer) error {
	// The flag package would print every flag after a mistake; one line
	// naming the mistake is clearer, and -h still lists them all.
	set.Flags().SetOutput(io.Discard)
	err := set.Parse(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		set.Flags().SetOutput(stderr)
		set.Flags().PrintDefaults()
		return usageError{"help requested"}
	}
	if err != nil {
		return usageError{fmt.Sprintf("%s: %v (see sakk %s -h)", set.Flags().Name(), err, set.Flags().Name())}
	}
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", cfg.LogLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch cfg.LogFormat {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", cfg.LogFormat)}
	}
	return slog.New(httpapi.LogHandler(h)), nil
}

// env is what every command works with once its flags are read.
type env struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *store.Store
	vault    *vault.Box
	merchant *merchant.Service
	account  *account.Service // without a mailer: serve makes its own
	tokens   *token.Ring
}

func (e *env) Close() error { return e.store.Close() }

// open connects to the store, brings its schema up to date and loads the
// encryption key.
func open(ctx context.Context, cfg *config.Config, stderr io.Writer) (*env, error) {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Options{Database: cfg.Database, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	box, err := openVault(ctx, cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	ms := merchant.New(st, box, time.Now)
	if cfg.DNSResolver != "" { // only serve has the flag; commands without it keep the system's
		ms.SetDomainVerifier(merchant.DomainVerifier{Resolver: merchant.ResolverAt(cfg.DNSResolver)})
	}
	return &env{
		cfg: cfg, log: log, store: st, vault: box,
		merchant: ms,
		account:  account.New(st, box, time.Now, account.Options{PublicURL: cfg.PublicURL}),
		tokens:   token.NewRing(st, box, time.Now, token.Options{}),
	}, nil
}

// vaultCheckSetting holds a value sealed under the installation's key when
// it first started, so that a later start with another key stops at once
// instead of failing on every secret it reads.
const vaultCheckSetting = "vault_check"

func openVault(ctx context.Context, cfg *config.Config, st *store.Store) (*vault.Box, error) {
	key := cfg.EncryptionKey
	if key == "" {
		if st.Engine() != store.SQLite {
			return nil, errors.New("set --encryption-key (or SAKK_ENCRYPTION_KEY / SAKK_ENCRYPTION_KEY_FILE): every instance sharing a PostgreSQL database must use the same key; make one with `openssl rand -base64 32`")
		}
		var err error
		if key, err = vault.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "encryption.key")); err != nil {
			return nil, err
		}
	}
	box, err := vault.New(key)
	if err != nil {
		return nil, err
	}
	check, err := st.InitSetting(ctx, vaultCheckSetting, box.Seal(vaultCheckSetting))
	if err != nil {
		return nil, err
	}
	if got, err := box.Open(check); err != nil || got != vaultCheckSetting {
		return nil, errors.New("the encryption key is not the one this database was set up with")
	}
	return box, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg config.Config
	set := config.NewSet("migrate")
	set.Store(&cfg)
	if err := parse(set, args, getenv, stderr); err != nil {
		return err
	}
	e, err := open(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	e.log.InfoContext(ctx, "schema up to date")
	return nil
}
