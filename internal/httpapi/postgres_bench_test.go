package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// BenchmarkPostgres measures session creation on PostgreSQL against its
// reference, "POST + one insert" with synchronous_commit on, in the same
// run, and then three instances sharing the database against one:
//
//	SAKK_TEST_POSTGRES_URL=… go test -run '^$' -bench Postgres -benchtime 1x ./internal/httpapi
//
// scripts/bench starts a server for it. SAKK_BENCH_SECONDS and
// SAKK_BENCH_CONNS as for BenchmarkCheckoutAPI. The instances and the
// load share this process and its two cores, as the references do; so
// three instances can only be faster than one where one is held up by
// waiting (its 16 database connections), not by CPU.
func BenchmarkPostgres(b *testing.B) {
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		b.Skipf("%s is not set", storetest.PostgresURLEnv)
	}
	phase, conns := benchPhase()
	opts := storetest.Options(b, store.Postgres)
	one := newServer(b, store.Postgres, serverOptions{RateLimit: 1 << 30, Store: opts})
	app := one.NewApp("Bench Shop", pay.Sandbox)
	others := []*server{
		newServer(b, store.Postgres, serverOptions{RateLimit: 1 << 30, Store: opts}),
		newServer(b, store.Postgres, serverOptions{RateLimit: 1 << 30, Store: opts}),
	}

	// The reference on the same database, through the same pool of 16.
	ref := httptest.NewServer(referencePOST(one.Store))
	defer ref.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	post := func(urls ...string) func() *http.Request {
		var next atomic.Int64
		return func() *http.Request {
			req, _ := http.NewRequest("POST", urls[int(next.Add(1))%len(urls)]+"/api/v1/public/sessions", bytes.NewReader(benchBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-Key", app.Keys.Secret)
			return req
		}
	}
	b.ResetTimer()
	for range b.N {
		refPost, create := &meter{name: "pg reference POST + insert"}, &meter{name: "pg session creation"}
		three := &meter{name: "pg creation, 3 instances"}
		round := phase / benchRounds
		for range benchRounds {
			refPost.run(b, client, conns, round, post(ref.URL))
			create.run(b, client, conns, round, post(one.URL))
			three.run(b, client, conns, round, post(one.URL, others[0].URL, others[1].URL))
		}
		for _, m := range []*meter{refPost, create, three} {
			m.log(b)
		}
		ratio, scaling := create.perSec()/refPost.perSec(), three.perSec()/create.perSec()
		b.Logf("pg creation / reference POST+insert: %.2f  (target >= 0.70)", ratio)
		b.Logf("pg 3 instances / 1 instance:         %.2f  (target > 1)", scaling)
		b.ReportMetric(ratio, "create/ref-post")
		b.ReportMetric(scaling, "3-instances/1")
		b.ReportMetric(create.perSec(), "create/s")
	}
}
