package config_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/config"
)

// getenv reads a fixed environment, so tests never touch the process's.
func getenv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

// parse reads args and env with the flags of the serve command (the store
// and server settings together).
func parse(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	var c config.Config
	set := config.NewSet("serve")
	set.Store(&c)
	set.Serve(&c)
	set.Flags().SetOutput(io.Discard)
	err := set.Parse(args, getenv(env))
	return c, err
}

// writeFile writes content to a new file in a temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var defaults = config.Config{
	Addr:      ":8080",
	DataDir:   "./sakk-data",
	LogLevel:  "info",
	LogFormat: "text",
	Demo:      true,
	RateLimit: 100, RateWindow: 15 * time.Minute,
	SMTP:      config.SMTP{StartTLS: "require"},
	AdminAddr: "127.0.0.1:9464",
}

func TestParse(t *testing.T) {
	dbFile := writeFile(t, "database", "  postgres://sakk:s3cret@db.internal/sakk?sslmode=require \n")
	keyFile := writeFile(t, "key", "a2V5LWZyb20tZmlsZQ==\n")
	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*config.Config)
	}{
		{"defaults", nil, nil, func(*config.Config) {}},
		{
			"env fills every setting",
			nil,
			map[string]string{
				"SAKK_ADDR": "127.0.0.1:9000", "SAKK_DATA_DIR": "/var/lib/sakk", "SAKK_DATABASE": "postgres://db/sakk",
				"SAKK_PUBLIC_URL": "https://pay.example.com", "SAKK_ENCRYPTION_KEY": "k", "SAKK_LOG_LEVEL": "debug",
				"SAKK_LOG_FORMAT": "json", "SAKK_DEMO": "false", "SAKK_DNS_RESOLVER": "10.0.0.53:53",
				"SAKK_ADMIN_ADDR": ":9464",
			},
			func(c *config.Config) {
				*c = config.Config{
					Addr: "127.0.0.1:9000", DataDir: "/var/lib/sakk", Database: "postgres://db/sakk",
					PublicURL: "https://pay.example.com", EncryptionKey: "k", LogLevel: "debug", LogFormat: "json", RateLimit: 100, RateWindow: 15 * time.Minute,
					SMTP: config.SMTP{StartTLS: "require"}, DNSResolver: "10.0.0.53:53", AdminAddr: ":9464",
				}
			},
		},
		{
			"flag beats env",
			[]string{"-addr", ":9000", "--log-level=warn"},
			map[string]string{"SAKK_ADDR": ":7000", "SAKK_LOG_LEVEL": "debug"},
			func(c *config.Config) { c.Addr, c.LogLevel = ":9000", "warn" },
		},
		{
			"env fills what flags did not set",
			[]string{"-log-format", "json"},
			map[string]string{"SAKK_ADDR": ":7000", "SAKK_LOG_FORMAT": "text", "SAKK_LOG_LEVEL": "error"},
			func(c *config.Config) { c.Addr, c.LogFormat, c.LogLevel = ":7000", "json", "error" },
		},
		{
			"a flag set to its default still beats env",
			[]string{"-log-level", "info"},
			map[string]string{"SAKK_LOG_LEVEL": "debug"},
			func(*config.Config) {},
		},
		{
			"a flag set empty still beats env",
			[]string{"-database="},
			map[string]string{"SAKK_DATABASE": "postgres://db/sakk"},
			func(*config.Config) {},
		},
		{
			"empty env is unset",
			nil,
			map[string]string{"SAKK_ADDR": "", "SAKK_DATA_DIR": ""},
			func(*config.Config) {},
		},
		{
			"secrets from _FILE, trimmed",
			nil,
			map[string]string{"SAKK_DATABASE_FILE": dbFile, "SAKK_ENCRYPTION_KEY_FILE": keyFile},
			func(c *config.Config) {
				c.Database, c.EncryptionKey = "postgres://sakk:s3cret@db.internal/sakk?sslmode=require", "a2V5LWZyb20tZmlsZQ=="
			},
		},
		{
			"flag beats _FILE, which is then not read",
			[]string{"-database", "postgres://flag/sakk"},
			map[string]string{"SAKK_DATABASE_FILE": missing, "SAKK_DATABASE": "postgres://env/sakk"},
			func(c *config.Config) { c.Database = "postgres://flag/sakk" },
		},
		{
			"only secrets have a _FILE variant",
			nil,
			map[string]string{"SAKK_ADDR_FILE": missing, "SAKK_LOG_LEVEL_FILE": missing},
			func(*config.Config) {},
		},
		{"SAKK_DEMO=false", nil, map[string]string{"SAKK_DEMO": "false"}, func(c *config.Config) { c.Demo = false }},
		{"SAKK_DEMO=0", nil, map[string]string{"SAKK_DEMO": "0"}, func(c *config.Config) { c.Demo = false }},
		{"SAKK_DEMO=true", nil, map[string]string{"SAKK_DEMO": "true"}, func(*config.Config) {}},
		{"-demo=false", []string{"-demo=false"}, nil, func(c *config.Config) { c.Demo = false }},
		{"-demo beats SAKK_DEMO", []string{"-demo"}, map[string]string{"SAKK_DEMO": "false"}, func(*config.Config) {}},
		{"-demo=false beats SAKK_DEMO", []string{"-demo=false"}, map[string]string{"SAKK_DEMO": "true"}, func(c *config.Config) { c.Demo = false }},
		{"-demo beats a bad SAKK_DEMO", []string{"-demo=true"}, map[string]string{"SAKK_DEMO": "maybe"}, func(*config.Config) {}},
		{
			"--dns-resolver beats SAKK_DNS_RESOLVER",
			[]string{"--dns-resolver", "127.0.0.1:5353"},
			map[string]string{"SAKK_DNS_RESOLVER": "10.0.0.53:53"},
			func(c *config.Config) { c.DNSResolver = "127.0.0.1:5353" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(t, tt.args, tt.env)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			want := defaults
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	dbFile := writeFile(t, "database", "postgres://db/sakk\n")
	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		contains []string
		is       error // when not nil, errors.Is(err, is) must hold
	}{
		{
			name:     "both a secret and its _FILE",
			env:      map[string]string{"SAKK_DATABASE": "postgres://env/sakk", "SAKK_DATABASE_FILE": dbFile},
			contains: []string{"both SAKK_DATABASE and SAKK_DATABASE_FILE"},
		},
		{
			name:     "missing _FILE",
			env:      map[string]string{"SAKK_ENCRYPTION_KEY_FILE": missing},
			contains: []string{"SAKK_ENCRYPTION_KEY_FILE", missing},
			is:       fs.ErrNotExist,
		},
		{
			name:     "bad SAKK_DEMO",
			env:      map[string]string{"SAKK_DEMO": "maybe"},
			contains: []string{`SAKK_DEMO="maybe"`, "true or false"},
		},
		{
			name:     "every mistake at once",
			env:      map[string]string{"SAKK_DEMO": "yes please", "SAKK_DATABASE_FILE": missing},
			contains: []string{"SAKK_DEMO", "SAKK_DATABASE_FILE"},
		},
		{
			name:     "unexpected positional argument",
			args:     []string{"extra"},
			contains: []string{`unexpected argument "extra"`},
		},
		{
			name:     "positional argument after flags",
			args:     []string{"-addr", ":9000", "serve", "more"},
			contains: []string{`unexpected argument "serve"`},
		},
		{
			name:     "unknown flag",
			args:     []string{"-port", "80"},
			contains: []string{"-port"},
		},
		{
			name:     "bad -demo",
			args:     []string{"-demo=maybe"},
			contains: []string{"-demo"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.args, tt.env)
			if err == nil {
				t.Fatalf("Parse(%q) with env %v: no error", tt.args, tt.env)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestParseLeavesOtherCommandsSettings(t *testing.T) {
	// A command with only the store flags (migrate, the admin commands)
	// neither reads nor fills the server settings.
	var c config.Config
	set := config.NewSet("migrate")
	set.Store(&c)
	env := map[string]string{"SAKK_ADDR": ":7000", "SAKK_PUBLIC_URL": "https://pay.example.com", "SAKK_DEMO": "maybe", "SAKK_DATA_DIR": "/data"}
	if err := set.Parse(nil, getenv(env)); err != nil {
		t.Fatal(err)
	}
	want := config.Config{DataDir: "/data", LogLevel: "info", LogFormat: "text"}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("store-only Parse (-want +got):\n%s", diff)
	}
}

func TestCheckServe(t *testing.T) {
	tests := []struct {
		addr, publicURL string
		dnsResolver     string
		adminAddr       string
		want            string // the public URL after the check; empty: refused
		errContains     string
	}{
		{addr: ":8080", want: "http://localhost:8080"},
		{addr: "127.0.0.1:9000", want: "http://127.0.0.1:9000"},
		{addr: "0.0.0.0:80", want: "http://localhost:80"},
		{addr: "[::]:8080", want: "http://localhost:8080"},
		{addr: "[::1]:8080", want: "http://[::1]:8080"},
		{addr: "pay.internal:443", want: "http://pay.internal:443"},
		{addr: ":8080", publicURL: "https://pay.example.com", want: "https://pay.example.com"},
		{addr: ":8080", publicURL: "https://pay.example.com/", want: "https://pay.example.com"},
		{addr: ":8080", publicURL: "https://example.com/pay/", want: "https://example.com/pay"},
		{addr: ":8080", publicURL: "http://localhost:8080", want: "http://localhost:8080"},
		{addr: ":8080", dnsResolver: "127.0.0.1:5353", want: "http://localhost:8080"},
		{addr: ":8080", dnsResolver: "[::1]:53", want: "http://localhost:8080"},
		{addr: ":8080", dnsResolver: "dns.internal:53", want: "http://localhost:8080"},

		{addr: "8080", errContains: "--addr"},
		{addr: "", errContains: "--addr"},
		{addr: "localhost", errContains: "--addr"},
		{addr: "x:99999", errContains: "bad port"},
		{addr: "x:65536", errContains: "bad port"},
		{addr: "x:-1", errContains: "bad port"},
		{addr: "x:http", errContains: "bad port"},
		{addr: "x:", errContains: "bad port"},
		{addr: ":8080", publicURL: "ftp://x", errContains: "--public-url"},
		{addr: ":8080", publicURL: "localhost:8080", errContains: "--public-url"},
		{addr: ":8080", publicURL: "pay.example.com", errContains: "--public-url"},
		{addr: ":8080", publicURL: "//pay.example.com", errContains: "--public-url"},
		{addr: ":8080", publicURL: "https://", errContains: "--public-url"},
		{addr: ":8080", publicURL: "https://pay.example.com/?next=x", errContains: "--public-url"},
		{addr: ":8080", publicURL: "https://pay.example.com/#top", errContains: "--public-url"},
		{addr: ":8080", publicURL: "https://pay example.com", errContains: "--public-url"},
		{addr: ":8080", dnsResolver: "127.0.0.1", errContains: "--dns-resolver"},
		{addr: ":8080", dnsResolver: ":53", errContains: "--dns-resolver"},
		{addr: ":8080", dnsResolver: "127.0.0.1:0", errContains: "--dns-resolver"},
		{addr: ":8080", dnsResolver: "127.0.0.1:domain", errContains: "--dns-resolver"},
		{addr: ":8080", adminAddr: "9464", errContains: "--admin-addr"},
		{addr: ":8080", adminAddr: ":8080", errContains: "--admin-addr"}, // metrics on the public port
		{addr: ":8080", adminAddr: "127.0.0.1:9464", want: "http://localhost:8080"},
		{addr: ":8080", adminAddr: "off", want: "http://localhost:8080"},
		{addr: "127.0.0.1:0", adminAddr: "127.0.0.1:0", want: "http://127.0.0.1:0"}, // two free ports
	}
	for _, tt := range tests {
		c := config.Config{Addr: tt.addr, PublicURL: tt.publicURL, DNSResolver: tt.dnsResolver, AdminAddr: tt.adminAddr, RateLimit: 100, RateWindow: time.Minute}
		err := c.CheckServe()
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), tt.errContains) {
				t.Errorf("CheckServe(addr %q, public URL %q, DNS resolver %q) = %v (public URL %q); want an error mentioning %q",
					tt.addr, tt.publicURL, tt.dnsResolver, err, c.PublicURL, tt.errContains)
			}
			continue
		}
		if err != nil || c.PublicURL != tt.want {
			t.Errorf("CheckServe(addr %q, public URL %q): public URL %q, err %v; want %q",
				tt.addr, tt.publicURL, c.PublicURL, err, tt.want)
		}
		if c.Addr != tt.addr {
			t.Errorf("CheckServe changed the address %q to %q", tt.addr, c.Addr)
		}
	}
}
