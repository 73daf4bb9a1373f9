// Package storetest gives tests a fresh, migrated store on every engine
// sakk supports: SQLite always, PostgreSQL when SAKK_TEST_POSTGRES_URL
// names a server where the test user may create databases. Each call makes
// a new database and drops it when the test ends, so tests never share
// state and may run in parallel.
package storetest

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop test databases

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// PostgresURLEnv names the variable holding the PostgreSQL test server.
const PostgresURLEnv = "SAKK_TEST_POSTGRES_URL"

// RequirePeersEnv, set to 1 (as CI does), turns "skip: no PostgreSQL"
// into a failure, so a CI machine missing a peer cannot pass by skipping.
const RequirePeersEnv = "SAKK_TEST_REQUIRE_PEERS"

// Engines lists the engines to run store tests on here.
func Engines(t testing.TB) []store.Engine {
	t.Helper()
	engines := []store.Engine{store.SQLite}
	if os.Getenv(PostgresURLEnv) != "" {
		engines = append(engines, store.Postgres)
	} else if os.Getenv(RequirePeersEnv) == "1" {
		t.Fatalf("%s is not set but %s=1: PostgreSQL tests must run here", PostgresURLEnv, RequirePeersEnv)
	}
	return engines
}

// Each runs f as a subtest per engine, each with its own fresh store.
func Each(t *testing.T, f func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, engine := range Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			f(t, Open(t, engine))
		})
	}
}

// Open returns a fresh, migrated store on engine, closed and removed when
// the test ends.
func Open(t testing.TB, engine store.Engine) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), Options(t, engine))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// Instances opens n stores on one new, migrated database on engine, as n
// sakk instances would, closed when the test ends.
func Instances(t testing.TB, engine store.Engine, n int) []*store.Store {
	t.Helper()
	opts := Options(t, engine)
	sts := make([]*store.Store, n)
	for i := range sts {
		st, err := store.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		sts[i] = st
	}
	return sts
}

// Options returns the options of a new, empty database on engine, without
// opening it: for tests that open it themselves, from several places.
func Options(t testing.TB, engine store.Engine) store.Options {
	t.Helper()
	if engine == store.SQLite {
		return store.Options{DataDir: t.TempDir()}
	}
	return store.Options{Database: NewPostgresDatabase(t)}
}

// NewPostgresDatabase creates an empty database on the test server, drops
// it when the test ends, and returns its URL.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresURLEnv)
	if admin == "" {
		if os.Getenv(RequirePeersEnv) == "1" {
			t.Fatalf("%s is not set but %s=1", PostgresURLEnv, RequirePeersEnv)
		}
		t.Skipf("PostgreSQL: %s is not set", PostgresURLEnv)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := "sakk_test_" + strings.TrimPrefix(pay.NewID("db"), "db_")
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		// WITH (FORCE) ends connections a test left open, such as those of
		// a child process killed on purpose.
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return replaceDatabase(admin, name)
}

// replaceDatabase swaps the database name in a postgres:// URL.
func replaceDatabase(url, name string) string {
	query := ""
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url, query = url[:i], url[i:]
	}
	scheme := strings.Index(url, "://") + 3
	if slash := strings.IndexByte(url[scheme:], '/'); slash >= 0 {
		url = url[:scheme+slash]
	}
	return url + "/" + name + query
}
