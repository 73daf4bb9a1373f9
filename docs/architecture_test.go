package docs_test

import (
	"bufio"
	"bytes"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the repository, seen from this package's directory.
const root = ".."

// TestArchitectureNamesEveryPackage keeps docs/ARCHITECTURE.md true: every
// package of the tree is named on it, every path it names exists, and no
// package imports from a layer above its own or a test-support package.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	page, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllSubmatch(page, -1) {
		named[string(m[1])] = true
	}

	pkgs := packages(t)
	for _, p := range pkgs {
		if !named[p] {
			t.Errorf("docs/ARCHITECTURE.md does not name the package `%s`: add it to its layer (or to the test support)", p)
		}
	}
	for name := range named {
		if !strings.HasPrefix(name, "internal/") && !strings.HasPrefix(name, "cmd/") || strings.Contains(name, "<") {
			continue // not a path, or a pattern such as internal/gateway/<name>
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Errorf("docs/ARCHITECTURE.md names `%s`, which is not in the tree", name)
		}
	}

	layer := layers(t, page)
	if len(layer) == 0 {
		t.Fatal("no packages found in the Layers table")
	}
	module := modulePath(t)
	for _, p := range pkgs {
		l, ok := layer[p]
		if !ok {
			continue // test support: it may import what its tests need
		}
		bp, err := build.ImportDir(filepath.Join(root, filepath.FromSlash(p)), 0)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, imp := range bp.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			switch dl, layered := layer[dep]; {
			case !layered:
				t.Errorf("%s imports %s, which is in no layer of the page (test support, or missing)", p, dep)
			case dl < l:
				t.Errorf("%s (layer %d) imports %s from a layer above (%d): move the code or the page", p, l, dep, dl)
			}
		}
	}
}

// packages lists the tree's Go packages (directories with a non-test Go
// file), by their path from the repository's root.
func packages(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); !slices.Contains(out, rel) {
				out = append(out, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out, "internal/pay") || !slices.Contains(out, "cmd/sakk") {
		t.Fatalf("the walk from %s found %v: not the repository", root, out)
	}
	return out
}

// layers reads the first table under "## Layers": each package named in
// its second column, by row, 0 the outermost.
func layers(t *testing.T, page []byte) map[string]int {
	t.Helper()
	out := map[string]int{}
	in, row := false, 0
	cell := regexp.MustCompile("`([^`]+)`")
	sc := bufio.NewScanner(bytes.NewReader(page))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Layers"
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if row > 0 {
				break // the table has ended
			}
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "layer" {
			continue
		}
		for _, m := range cell.FindAllStringSubmatch(cells[2], -1) {
			out[m[1]] = row
		}
		row++
	}
	return out
}

func modulePath(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod names no module")
	return ""
}
