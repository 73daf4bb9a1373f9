// Package config reads sakk's configuration, once, from command-line flags
// and SAKK_* environment variables. A flag given on the command line wins
// over the environment; secrets may also come from a file named by the
// variable with a _FILE suffix (SAKK_DATABASE_FILE), as container secret
// stores provide them.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultAdminAddr is where serve's admin listener (/metrics,
// /debug/pprof) listens unless told otherwise: loopback only.
const DefaultAdminAddr = "127.0.0.1:9464"

// Config is every setting of sakk. Commands use the parts they need.
type Config struct {
	Addr          string // address serve listens on
	DataDir       string // embedded database and key file
	Database      string // empty: embedded SQLite; postgres://…: PostgreSQL
	PublicURL     string // base URL of links and redirects
	EncryptionKey string // base64 AES-256 key sealing stored secrets
	LogLevel      string // debug, info, warn, error
	LogFormat     string // text or json
	Demo          bool   // create the demo merchant on an empty store
	RateLimit     int    // requests per RateWindow for each API key, unless its application says otherwise
	RateWindow    time.Duration
	SMTP          SMTP   // how emailed one-time codes leave; Host "" sends none
	SMS           SMS    // how texted one-time codes leave; URL "" sends none
	DNSResolver   string // host:port of the DNS server domain verification asks; "" the system's
	AdminAddr     string // address of the admin listener (/metrics, /debug/pprof); "off" (or "") none
	OTLPEndpoint  string // OTLP/HTTP traces endpoint URL; "" exports no traces
}

// SMTP is the mail server one-time codes are sent through.
type SMTP struct {
	Host, Username, Password, From string
	Port                           int
	StartTLS                       string // require (default), opportunistic or off
	TLS                            bool   // TLS from the first byte (port 465)
}

// SMS is the HTTP endpoint one-time codes are texted through: a JSON POST
// of {"to","text"} with an optional bearer token (see internal/otp).
type SMS struct {
	URL, Token string
}

// setting binds one flag to its environment variable.
type setting struct {
	flag, env string
	secret    bool // may come from <env>_FILE
	str       *string
	boolean   *bool
	integer   *int
	duration  *time.Duration
}

// Set is the flags of one command and where their values go.
type Set struct {
	fs       *flag.FlagSet
	settings []setting
}

// NewSet starts the flags of the named command.
func NewSet(name string) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &Set{fs: fs}
}

// Flags is the underlying flag set, for a command's own flags.
func (s *Set) Flags() *flag.FlagSet { return s.fs }

func (s *Set) str(dst *string, name, env, def, usage string, secret bool) {
	s.fs.StringVar(dst, name, def, usage+" (env "+env+")")
	s.settings = append(s.settings, setting{flag: name, env: env, secret: secret, str: dst})
}

// Store adds the flags saying where the data lives.
func (s *Set) Store(c *Config) {
	s.str(&c.DataDir, "data-dir", "SAKK_DATA_DIR", "./sakk-data", "directory of the embedded database and key file", false)
	s.str(&c.Database, "database", "SAKK_DATABASE", "", "empty for the embedded SQLite store, or a postgres:// URL", true)
	s.str(&c.EncryptionKey, "encryption-key", "SAKK_ENCRYPTION_KEY", "", "base64 of 32 random bytes sealing stored secrets; default: a key file in the data dir (embedded store only)", true)
	s.str(&c.LogLevel, "log-level", "SAKK_LOG_LEVEL", "info", "debug, info, warn or error", false)
	s.str(&c.LogFormat, "log-format", "SAKK_LOG_FORMAT", "text", "text or json", false)
}

// Serve adds the flags of the HTTP server.
func (s *Set) Serve(c *Config) {
	s.str(&c.Addr, "addr", "SAKK_ADDR", ":8080", "address to listen on", false)
	s.str(&c.PublicURL, "public-url", "SAKK_PUBLIC_URL", "", "base URL buyers and merchants reach sakk at (default http://localhost:PORT)", false)
	s.str(&c.OTLPEndpoint, "otlp-endpoint", "SAKK_OTLP_ENDPOINT", "", "OpenTelemetry collector's OTLP/HTTP URL to send traces to, e.g. http://otel-collector:4318 (none: no tracing)", false)
	s.str(&c.AdminAddr, "admin-addr", "SAKK_ADMIN_ADDR", DefaultAdminAddr, "address of the admin listener serving /metrics and /debug/pprof, never public; off for none", false)
	s.fs.BoolVar(&c.Demo, "demo", true, "on an empty store, create a demo merchant and sandbox application (env SAKK_DEMO)")
	s.settings = append(s.settings, setting{flag: "demo", env: "SAKK_DEMO", boolean: &c.Demo})
	s.fs.IntVar(&c.RateLimit, "rate-limit", 100, "requests each API key may make per window (env SAKK_RATE_LIMIT)")
	s.settings = append(s.settings, setting{flag: "rate-limit", env: "SAKK_RATE_LIMIT", integer: &c.RateLimit})
	s.fs.DurationVar(&c.RateWindow, "rate-limit-window", 15*time.Minute, "the rate limit's window (env SAKK_RATE_LIMIT_WINDOW)")
	s.settings = append(s.settings, setting{flag: "rate-limit-window", env: "SAKK_RATE_LIMIT_WINDOW", duration: &c.RateWindow})

	s.str(&c.SMTP.Host, "smtp-host", "SAKK_SMTP_HOST", "", "mail server that sends one-time codes by email (none: emails are not sent)", false)
	s.fs.IntVar(&c.SMTP.Port, "smtp-port", 0, "mail server port; default 587, or 465 with --smtp-tls (env SAKK_SMTP_PORT)")
	s.settings = append(s.settings, setting{flag: "smtp-port", env: "SAKK_SMTP_PORT", integer: &c.SMTP.Port})
	s.str(&c.SMTP.Username, "smtp-username", "SAKK_SMTP_USERNAME", "", "mail server login (AUTH PLAIN, over TLS only)", false)
	s.str(&c.SMTP.Password, "smtp-password", "SAKK_SMTP_PASSWORD", "", "mail server password", true)
	s.str(&c.SMTP.From, "smtp-from", "SAKK_SMTP_FROM", "", `From header of code emails, e.g. "Shop <no-reply@shop.example>"`, false)
	s.str(&c.SMTP.StartTLS, "smtp-starttls", "SAKK_SMTP_STARTTLS", "require", "require, opportunistic or off", false)
	s.fs.BoolVar(&c.SMTP.TLS, "smtp-tls", false, "speak TLS from the first byte (SMTPS) (env SAKK_SMTP_TLS)")
	s.settings = append(s.settings, setting{flag: "smtp-tls", env: "SAKK_SMTP_TLS", boolean: &c.SMTP.TLS})
	s.str(&c.SMS.URL, "sms-url", "SAKK_SMS_URL", "", `HTTP endpoint that texts one-time codes: POST {"to","text"} (none: texts are not sent)`, false)
	s.str(&c.SMS.Token, "sms-token", "SAKK_SMS_TOKEN", "", "bearer token for --sms-url", true)
	s.DomainVerification(c)
}

// DomainVerification adds the flags of domain verification: serve's, and
// the CLI's domains verify.
func (s *Set) DomainVerification(c *Config) {
	s.str(&c.DNSResolver, "dns-resolver", "SAKK_DNS_RESOLVER", "", "host:port of the DNS server that domain verification asks (default: the system's)", false)
}

// Parse reads the command line, then fills every setting not given there
// from the environment.
func (s *Set) Parse(args []string, getenv func(string) string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", s.fs.Arg(0))
	}
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	for _, st := range s.settings {
		if given[st.flag] {
			continue
		}
		v, ok, err := lookup(getenv, st.env, st.secret)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		if err := st.set(v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// set stores an environment value in the setting's type.
func (st setting) set(v string) error {
	var err error
	switch {
	case st.boolean != nil:
		if *st.boolean, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%s=%q: want true or false", st.env, v)
		}
	case st.integer != nil:
		if *st.integer, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("%s=%q: want a whole number", st.env, v)
		}
	case st.duration != nil:
		if *st.duration, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("%s=%q: want a duration such as 15m", st.env, v)
		}
	default:
		*st.str = v
	}
	return nil
}

// lookup reads NAME, or the file named by NAME_FILE for secrets. Setting
// both is an error: which one wins would be a guess.
func lookup(getenv func(string) string, name string, secret bool) (string, bool, error) {
	v := getenv(name)
	if !secret {
		return v, v != "", nil
	}
	file := getenv(name + "_FILE")
	switch {
	case file == "":
		return v, v != "", nil
	case v != "":
		return "", false, fmt.Errorf("both %s and %s_FILE are set: choose one", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false, fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), true, nil
}

// CheckServe validates the server settings and fills PublicURL's default.
func (c *Config) CheckServe() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want host:port or :port", c.Addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--addr %q: bad port", c.Addr)
	}
	if c.AdminAddr != "off" && c.AdminAddr != "" {
		_, adminPort, err := net.SplitHostPort(c.AdminAddr)
		if err != nil || adminPort == "" {
			return fmt.Errorf("--admin-addr %q: want host:port, or off", c.AdminAddr)
		}
		if c.AdminAddr == c.Addr && adminPort != "0" {
			return fmt.Errorf("--admin-addr %q: must differ from --addr: metrics and profiles stay off the public port", c.AdminAddr)
		}
	}
	if c.PublicURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url %q: want an absolute http(s) URL such as https://pay.example.com", c.PublicURL)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.RateLimit < 1 || c.RateWindow < time.Second {
		return fmt.Errorf("--rate-limit must be at least 1 and --rate-limit-window at least 1s")
	}
	return c.CheckDomainVerification()
}

// CheckDomainVerification validates the domain verification settings.
func (c *Config) CheckDomainVerification() error {
	if c.DNSResolver == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.DNSResolver)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return fmt.Errorf("--dns-resolver %q: want host:port such as 127.0.0.1:53", c.DNSResolver)
	}
	return nil
}
