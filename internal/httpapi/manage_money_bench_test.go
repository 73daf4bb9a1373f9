package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// BenchmarkReportsSummaryHTTP times GET /apps/{appId}/reports/summary of
// a 31-day period holding 100 000 payments of one application on the
// embedded store, end to end: authentication by access token, the
// guard's tenancy check, the summary's queries and the JSON answer, over
// loopback.
//
//	go test -run '^$' -bench ReportsSummaryHTTP -benchtime 20x ./internal/httpapi/
func BenchmarkReportsSummaryHTTP(b *testing.B) {
	s := newServer(b, store.SQLite, serverOptions{})
	owner := s.member(b, "owner@bench.example", pay.Owner, "")
	token := s.pat(b, "owner@bench.example", testPassword)
	app, err := s.Merchant.CreateApplication(b.Context(), merchant.NewApplication{Name: "Bench Shop", MerchantID: owner.MerchantID, Environment: pay.Sandbox})
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	storetest.SeedPayments(b, s.Store, app.Application.ID, from, 30*24*time.Hour, 100_000)
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.AddDate(0, 0, 31).Format(time.RFC3339)}, "interval": {"day"}}
	path := "/api/merchant/v1/apps/" + app.Application.ID + "/reports/summary?" + q.Encode()

	// Once through the contract-checking client, and the figures checked:
	// a benchmark of a wrong answer measures nothing.
	sum := s.Do("GET", path, token, "", true)
	var out struct {
		Currencies []struct {
			Currency string
			Paid     struct{ Count int64 }
			Series   []json.RawMessage
		}
	}
	if err := json.Unmarshal(sum.Body, &out); sum.Status != 200 || err != nil || len(out.Currencies) != 2 ||
		out.Currencies[0].Paid.Count+out.Currencies[1].Paid.Count != 60_000 || len(out.Currencies[0].Series) != 31 {
		b.Fatalf("summary: %d %v %.500s", sum.Status, err, sum.Body)
	}

	// Then timed through a plain client: the contract check is the
	// test's cost, not the server's.
	client := &http.Client{}
	req, err := http.NewRequestWithContext(b.Context(), "GET", s.URL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", token["Authorization"])
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != int64(len(sum.Body)) {
			b.Fatalf("summary: %d, %d bytes", resp.StatusCode, n)
		}
	}
}
