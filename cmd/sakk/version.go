package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// version is the release this binary was built as, set at build time:
// go build -ldflags "-X main.version=1.4.0" ./cmd/sakk (deploy/Dockerfile
// does). A build without it is "dev".
var version = "dev"

// buildInfo is what `sakk version` prints and sakk_build_info exports.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`         // the VCS commit, when built from a checkout
	Time      string `json:"revision_time"`    // its commit time
	Modified  bool   `json:"modified"`         // built with uncommitted changes
	GoVersion string `json:"go_version"`       // the toolchain
	Platform  string `json:"platform"`         // GOOS/GOARCH
	CGO       bool   `json:"cgo"`              // false: a static binary
	Module    string `json:"module,omitempty"` // the main module's version, when installed with go install
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.Module = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "CGO_ENABLED":
			b.CGO = s.Value == "1"
		}
	}
	return b
}

func versionCmd(args []string, stdout io.Writer) error {
	b := readBuildInfo()
	switch {
	case len(args) == 1 && args[0] == "--json":
		return json.NewEncoder(stdout).Encode(b)
	case len(args) > 0:
		return usageError{"version: the only flag is --json"}
	}
	rev := b.Revision
	if rev == "" {
		rev = "unknown"
	}
	if b.Modified {
		rev += " (modified)"
	}
	lines := []string{
		"sakk " + b.Version,
		"revision " + rev,
		"built with " + b.GoVersion + " for " + b.Platform + fmt.Sprintf(", cgo %v", b.CGO),
	}
	if b.Time != "" {
		lines[1] += " of " + b.Time
	}
	_, err := fmt.Fprintln(stdout, strings.Join(lines, "\n"))
	return err
}

// buildInfoCollector exports sakk_build_info{version,revision,go_version} 1,
// so that dashboards can tell which release each instance runs.
func buildInfoCollector() prometheus.Collector {
	b := readBuildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sakk_build_info", Help: "The release, commit and toolchain this instance was built from; always 1.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "go_version": b.GoVersion},
	})
	g.Set(1)
	return g
}
