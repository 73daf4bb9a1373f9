package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sakkhq/sakk/internal/config"
)

// No container engine or systemd runs here, so the deployment files are
// checked by reading them: the essentials each must keep, and that every
// SAKK_* variable they set is one sakk reads.

// knownEnv is every environment variable the serve command reads (and
// the _FILE variants of its secrets), from the flags' own help texts.
func knownEnv(t *testing.T) map[string]bool {
	t.Helper()
	var cfg config.Config
	set := config.NewSet("serve")
	set.Store(&cfg)
	set.Serve(&cfg)
	env := map[string]bool{}
	re := regexp.MustCompile(`\(env (SAKK_[A-Z0-9_]+)\)`)
	set.Flags().VisitAll(func(f *flag.Flag) {
		if m := re.FindStringSubmatch(f.Usage); m != nil {
			env[m[1]] = true
			env[m[1]+"_FILE"] = true // checked loosely: config refuses _FILE on non-secrets at run time
		}
	})
	if len(env) < 20 {
		t.Fatalf("found only %d SAKK_ variables in the flags' help", len(env))
	}
	return env
}

func checkEnvNames(t *testing.T, file string, text []byte, known map[string]bool) {
	t.Helper()
	for _, name := range regexp.MustCompile(`SAKK_[A-Z0-9_]+`).FindAllString(string(text), -1) {
		if !known[name] {
			t.Errorf("%s sets %s, which sakk does not read", file, name)
		}
	}
}

type dockerInstruction struct {
	cmd, args string
	stage     int // index of the FROM it belongs to
}

// parseDockerfile reads instructions, joining continued lines and
// dropping comments.
func parseDockerfile(t *testing.T, text []byte) []dockerInstruction {
	t.Helper()
	var out []dockerInstruction
	stage := -1
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		full := cur.String()
		cur.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, dockerInstruction{cmd, strings.TrimSpace(args), stage})
	}
	return out
}

func TestDockerfile(t *testing.T) {
	text, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	checkEnvNames(t, "Dockerfile", text, knownEnv(t))
	ins := parseDockerfile(t, text)
	var froms []string
	final := map[string][]string{} // instructions of the last stage
	args := map[string]string{}
	last := 0
	for _, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in.args)
			last = in.stage
		}
	}
	for _, in := range ins {
		if in.cmd == "ARG" {
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		}
		if in.stage == last {
			final[in.cmd] = append(final[in.cmd], in.args)
		}
		if in.cmd == "ADD" {
			t.Errorf("ADD %s: use COPY (ADD fetches URLs and unpacks archives)", in.args)
		}
		if in.cmd == "RUN" && regexp.MustCompile(`(curl|wget)[^|]*\|\s*(ba)?sh`).MatchString(in.args) {
			t.Errorf("RUN pipes a download into a shell: %s", in.args)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM %v: want a multi-stage build (a build stage, then the runtime image)", froms)
	}
	for _, f := range froms {
		if strings.Contains(f, ":latest") || (!strings.Contains(f, ":") && !strings.HasPrefix(f, "scratch")) {
			t.Errorf("FROM %s: pin the image's tag", f)
		}
	}
	if base := froms[len(froms)-1]; base != "scratch" && !strings.HasPrefix(base, "gcr.io/distroless/static") {
		t.Errorf("final FROM %s: want scratch or distroless/static (a static binary needs nothing else)", base)
	}
	// The toolchain of the image is the module's.
	goMod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	if want == nil || args["GO_VERSION"] != string(want[1]) {
		t.Errorf("ARG GO_VERSION=%s; go.mod says go %s", args["GO_VERSION"], want[1])
	}
	build := ""
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/sakk"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step %q lacks %s", build, want)
		}
	}
	users := final["USER"]
	if len(users) == 0 {
		t.Fatal("the final stage has no USER: it would run as root")
	}
	user, _, _ := strings.Cut(users[len(users)-1], ":")
	if uid, err := parseUID(user); err != nil || uid == 0 {
		t.Errorf("USER %s: want a numeric, non-root uid (a name needs /etc/passwd; 0 is root)", users[len(users)-1])
	}
	entry := final["ENTRYPOINT"]
	var argv []string
	if len(entry) != 1 || json.Unmarshal([]byte(entry[0]), &argv) != nil || len(argv) == 0 || !strings.HasSuffix(argv[0], "/sakk") {
		t.Errorf("ENTRYPOINT %v: want the exec form naming the sakk binary (signals then reach sakk itself)", entry)
	}
	if !slices.ContainsFunc(final["EXPOSE"], func(s string) bool { return slices.Contains(strings.Fields(s), "8080") }) {
		t.Errorf("EXPOSE %v: want 8080", final["EXPOSE"])
	}
	// Read-only root: the data dir is a volume, owned by the user.
	if !slices.ContainsFunc(final["VOLUME"], func(s string) bool { return strings.Contains(s, "/var/lib/sakk") }) {
		t.Errorf("VOLUME %v: want the data dir /var/lib/sakk", final["VOLUME"])
	}
	if !slices.ContainsFunc(final["ENV"], func(s string) bool { return strings.Contains(s, "SAKK_DATA_DIR=/var/lib/sakk") }) {
		t.Error("ENV does not point SAKK_DATA_DIR at the volume")
	}
	if !slices.ContainsFunc(final["COPY"], func(s string) bool { return strings.Contains(s, "ca-certificates") }) {
		t.Error("no CA certificates copied: gateways, SMTP and webhooks are reached over TLS")
	}
}

func parseUID(s string) (int, error) { return strconv.Atoi(s) }

func TestComposeFile(t *testing.T) {
	text, err := os.ReadFile("../../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkEnvNames(t, "compose.yaml", text, knownEnv(t))
	var doc struct {
		Services map[string]composeService
		Secrets  map[string]struct{ File string }
	}
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	var sakks []string
	for name, s := range doc.Services {
		if s.Build.Dockerfile == "deploy/Dockerfile" {
			sakks = append(sakks, name)
		}
	}
	slices.Sort(sakks)
	if len(sakks) < 2 {
		t.Fatalf("sakk services %v: want two instances", sakks)
	}
	pg, ok := doc.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") || len(pg.Healthcheck.Test) == 0 {
		t.Errorf("postgres service %+v: want a postgres image with a healthcheck", pg)
	}
	var keys []string
	for _, name := range sakks {
		s := doc.Services[name]
		if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") {
			t.Errorf("%s: want read_only with a tmpfs on /tmp", name)
		}
		if !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: want cap_drop ALL and no-new-privileges", name)
		}
		if uid, _, _ := strings.Cut(s.User, ":"); uid == "" || uid == "0" || uid == "root" {
			t.Errorf("%s: user %q: want a non-root uid", name, s.User)
		}
		if len(s.Ports) > 0 {
			t.Errorf("%s publishes %v: only the proxy is published (the admin port must stay internal)", name, s.Ports)
		}
		if s.Environment["SAKK_DATABASE_FILE"] == "" || s.Environment["SAKK_ENCRYPTION_KEY_FILE"] == "" {
			t.Errorf("%s: want the database URL and the encryption key from secrets (_FILE)", name)
		}
		for _, secret := range s.Secrets {
			if doc.Secrets[secret].File == "" {
				t.Errorf("%s uses secret %s, which is not declared", name, secret)
			}
		}
		keys = append(keys, s.Environment["SAKK_ENCRYPTION_KEY_FILE"]+" "+s.Environment["SAKK_DATABASE_FILE"])
		if s.DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("%s: want depends_on postgres service_healthy", name)
		}
	}
	if len(slices.Compact(keys)) != 1 {
		t.Errorf("the instances do not share one database and key: %v", keys)
	}
	var proxy string
	for name, s := range doc.Services {
		if len(s.Ports) > 0 {
			proxy = name
		}
	}
	if proxy == "" {
		t.Fatal("no service publishes a port: want the reverse proxy")
	}
	caddy, err := os.ReadFile("../../deploy/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sakks {
		if !strings.Contains(string(caddy), name+":8080") {
			t.Errorf("the Caddyfile does not proxy to %s:8080", name)
		}
	}
	if !strings.Contains(string(caddy), "health_uri /readyz") {
		t.Error("the Caddyfile does not check /readyz: an instance without its database would still get requests")
	}
}

type composeService struct {
	Image string
	Build struct{ Context, Dockerfile string }
	User  string
	// Environment as a map (the file uses the map form).
	Environment map[string]string
	ReadOnly    bool `yaml:"read_only"`
	Tmpfs       []string
	CapDrop     []string `yaml:"cap_drop"`
	SecurityOpt []string `yaml:"security_opt"`
	Ports       []string
	Secrets     []string
	DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
	Healthcheck struct{ Test []string }
}

func TestSystemdUnit(t *testing.T) {
	text, err := os.ReadFile("../../deploy/sakk.service")
	if err != nil {
		t.Fatal(err)
	}
	checkEnvNames(t, "sakk.service", text, knownEnv(t))
	unit := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			unit[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("not a unit file line: %q", line)
			}
			unit[section][k] = append(unit[section][k], v)
		}
	}
	svc := unit["Service"]
	one := func(k string) string {
		if v := svc[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return "<unset>"
	}
	if f := strings.Fields(one("ExecStart")); len(f) < 2 || !strings.HasSuffix(f[0], "/sakk") || f[1] != "serve" {
		t.Errorf("ExecStart=%s: want sakk serve", one("ExecStart"))
	}
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "CapabilityBoundingSet": "", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
		"ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
		"SystemCallArchitectures": "native", "DynamicUser": "yes", "StateDirectory": "sakk", "KillSignal": "SIGTERM",
	} {
		if got := one(k); got != want {
			t.Errorf("%s=%s; want %q", k, got, want)
		}
	}
	if !strings.Contains(one("RestrictAddressFamilies"), "AF_INET") {
		t.Errorf("RestrictAddressFamilies=%s", one("RestrictAddressFamilies"))
	}
	// SIGTERM gives requests in flight shutdownGrace; systemd must wait longer.
	stop, err := time.ParseDuration(one("TimeoutStopSec"))
	if err != nil || stop <= shutdownGrace {
		t.Errorf("TimeoutStopSec=%s: want more than serve's %v grace", one("TimeoutStopSec"), shutdownGrace)
	}
	env := strings.Join(svc["Environment"], " ")
	for _, want := range []string{"SAKK_DATA_DIR=%S/sakk", "SAKK_ADMIN_ADDR=127.0.0.1:", "SAKK_ENCRYPTION_KEY_FILE=%d/"} {
		if !strings.Contains(env, want) {
			t.Errorf("Environment lacks %s (data in the state dir, admin on loopback, key as a credential)", want)
		}
	}
	if len(svc["LoadCredential"]) == 0 {
		t.Error("no LoadCredential: the key would have to sit in the environment")
	}
	if unit["Install"]["WantedBy"] == nil {
		t.Error("no [Install] WantedBy")
	}
}

func TestVersionCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version", "--json"}, noEnv, &out, &out); err != nil {
		t.Fatal(err)
	}
	var b buildInfo
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("%s: %v", out.Bytes(), err)
	}
	if b.Version != version || b.GoVersion != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version --json = %+v", b)
	}
	out.Reset()
	if err := run(t.Context(), []string{"version"}, noEnv, &out, &out); err != nil || !strings.HasPrefix(out.String(), "sakk "+version+"\n") {
		t.Errorf("version = %q, %v", out.String(), err)
	}
}
