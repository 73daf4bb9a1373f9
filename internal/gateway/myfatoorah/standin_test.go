package myfatoorah_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/myfatoorah"
	"github.com/sakkhq/sakk/internal/money"
)

// standIn is an httptest MyFatoorah v2 gateway written from MyFatoorah's
// documentation: the endpoints InitiatePayment, ExecutePayment,
// GetPaymentStatus, MakeRefund and GetRefundStatus with their documented
// request fields (unknown fields are refused, so a misspelt field fails
// the test), the {IsSuccess, Message, ValidationErrors, Data} envelope,
// Bearer authentication, and the documented status spellings ("Pending",
// "Paid", "Canceled"; "InProgress", "Succss", "Failed", "Canceled"). Its
// payment page (/pay/{InvoiceId}) stands for the card network's page: the
// test posts the shopper's answer there, and the invoice's payment method
// decides what the "card" does, as MyFatoorah's test cards would.
//
// It is stateful (invoices, transactions, refunds) and records every
// request, and it can be told to lose the answer of a request after
// acting on it (fault), the worst case for a gateway without idempotency
// keys.
type standIn struct {
	t        *testing.T
	srv      *httptest.Server
	token    string
	currency money.Currency

	mu         sync.Mutex
	behaviours map[string]gatewaytest.Behaviour // PaymentMethodId -> what its "card" does
	nextMethod int
	invoices   map[string]*sInvoice
	order      []string // invoice ids, oldest first
	nextID     int
	refunds    []*sRefund
	executed   int
	reqs       []recorded
	faults     map[string][]string // path -> faults to apply, in order
}

type sInvoice struct {
	id, ref, udf, callback, errorURL string
	value                            money.Amount
	behaviour                        gatewaytest.Behaviour
	status                           string
	txs                              []map[string]any
}

type sRefund struct {
	id, invoiceID, external string
	amount                  money.Amount
}

// recorded is one request as the stand-in received it.
type recorded struct {
	Path string
	Body map[string]any
}

func newStandIn(t *testing.T, cur money.Currency) *standIn {
	t.Helper()
	s := &standIn{
		t:          t,
		token:      "mf-test-" + randomHex(16),
		currency:   cur,
		behaviours: map[string]gatewaytest.Behaviour{"1": gatewaytest.Approve, "2": gatewaytest.Approve},
		nextMethod: 100,
		invoices:   map[string]*sInvoice{},
		nextID:     5000000,
		faults:     map[string][]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/InitiatePayment", s.api(s.initiate))
	mux.HandleFunc("POST /v2/ExecutePayment", s.api(s.execute))
	mux.HandleFunc("POST /v2/GetPaymentStatus", s.api(s.paymentStatus))
	mux.HandleFunc("POST /v2/MakeRefund", s.api(s.makeRefund))
	mux.HandleFunc("POST /v2/GetRefundStatus", s.api(s.refundStatus))
	mux.HandleFunc("POST /pay/{id}", s.pay)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

var countryOf = map[money.Currency]string{"KWD": "KWT", "SAR": "SAU", "AED": "ARE", "QAR": "QAT", "BHD": "BHR", "OMR": "OMN", "JOD": "JOR", "EGP": "EGY"}

// connector returns a connector for the stand-in's account.
func (s *standIn) connector(t *testing.T, secret string, client *http.Client) *myfatoorah.Connector {
	t.Helper()
	c, err := myfatoorah.New(myfatoorah.Config{Token: s.token, Country: countryOf[s.currency], WebhookSecret: secret, BaseURL: s.srv.URL, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	myfatoorah.SetBackoff(c, time.Millisecond)
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fault makes the stand-in act on the next request to path and then lose
// its answer the way kind says: "timeout" (no answer until the client
// gives up), "500", "cut" (a body cut short), "garbage" (an HTML page).
func (s *standIn) fault(path, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], kind)
}

func (s *standIn) takeFault(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults[path]
	if len(f) == 0 {
		return ""
	}
	s.faults[path] = f[1:]
	return f[0]
}

// charges is how many invoices ExecutePayment created.
func (s *standIn) charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.executed
}

// requests returns the recorded requests to path.
func (s *standIn) requests(path string) []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []recorded
	for _, r := range s.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// token registers a fresh payment method whose "card" behaves as b, as a
// shopper picking a test card on the payment page would.
func (s *standIn) tokenFor(b gatewaytest.Behaviour) (string, bool) {
	if b == gatewaytest.ThreeDSecure {
		return "", false // 3-D Secure happens on MyFatoorah's page, inside the off-site step
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextMethod++
	id := strconv.Itoa(s.nextMethod)
	s.behaviours[id] = b
	return id, true
}

type envelope struct {
	IsSuccess        bool             `json:"IsSuccess"`
	Message          string           `json:"Message"`
	ValidationErrors []map[string]any `json:"ValidationErrors"`
	Data             any              `json:"Data"`
}

// apiError is a MyFatoorah refusal.
type apiError struct {
	status int
	msg    string
	fields map[string]string
}

func refuse(msg string, fields ...string) *apiError {
	e := &apiError{status: http.StatusBadRequest, msg: msg, fields: map[string]string{}}
	for i := 0; i+1 < len(fields); i += 2 {
		e.fields[fields[i]] = fields[i+1]
	}
	return e
}

// api wraps an endpoint: Bearer check, strict decoding into the
// endpoint's documented request, the envelope, recording and faults.
func (s *standIn) api(h func(dec *json.Decoder) (any, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"Message": "Authorization has been denied for this request."})
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			writeJSON(w, http.StatusUnsupportedMediaType, envelope{Message: "Content-Type must be application/json"})
			return
		}
		var raw bytes.Buffer
		raw.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20))
		var rec map[string]any // numbers kept as sent (json.Number)
		rd := json.NewDecoder(bytes.NewReader(raw.Bytes()))
		rd.UseNumber()
		rd.Decode(&rec)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{Path: r.URL.Path, Body: rec})
		s.mu.Unlock()

		dec := json.NewDecoder(bytes.NewReader(raw.Bytes()))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		data, apiErr := h(dec)
		status, env := http.StatusOK, envelope{IsSuccess: true, Data: data}
		if apiErr != nil {
			status, env = apiErr.status, envelope{Message: apiErr.msg}
			for k, v := range apiErr.fields {
				env.ValidationErrors = append(env.ValidationErrors, map[string]any{"Name": k, "Error": v})
			}
		}
		switch s.takeFault(r.URL.Path) {
		case "":
			writeJSON(w, status, env)
		case "timeout":
			<-r.Context().Done() // the client gave up
		case "500":
			writeJSON(w, http.StatusInternalServerError, envelope{Message: "An error has occurred."})
		case "garbage":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		case "cut":
			b, _ := json.Marshal(env)
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				s.t.Errorf("hijack: %v", err)
				return
			}
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(b))
			buf.Write(b[:len(b)/2])
			buf.Flush()
			conn.(*net.TCPConn).CloseWrite()
			conn.Close()
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads the request into v, refusing unknown fields.
func decode(dec *json.Decoder, v any) *apiError {
	if err := dec.Decode(v); err != nil {
		return refuse("Invalid data", "request", err.Error())
	}
	return nil
}

// amountOf reads a documented decimal amount in the account's currency:
// more decimals than the currency has are refused.
func (s *standIn) amountOf(n json.Number, field string) (money.Amount, *apiError) {
	a, err := money.Parse(string(n), s.currency)
	if err != nil || a.Minor <= 0 {
		return money.Amount{}, refuse("Invalid data", field, "invalid amount "+string(n))
	}
	return a, nil
}

// number writes an amount as MyFatoorah's JSON doubles come back: the
// shortest decimal, so 17.990 KWD is 17.99.
func number(a money.Amount) json.Number {
	s := money.Format(a)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return json.Number(s)
}

func (s *standIn) initiate(dec *json.Decoder) (any, *apiError) {
	var req struct {
		InvoiceAmount json.Number `json:"InvoiceAmount"`
		CurrencyIso   string      `json:"CurrencyIso"`
	}
	if e := decode(dec, &req); e != nil {
		return nil, e
	}
	if req.CurrencyIso != string(s.currency) {
		return nil, refuse("Invalid data", "CurrencyIso", "unsupported currency")
	}
	amount, e := s.amountOf(req.InvoiceAmount, "InvoiceAmount")
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var methods []map[string]any
	add := func(id, name, code string) {
		methods = append(methods, map[string]any{
			"PaymentMethodId": json.Number(id), "PaymentMethodAr": name, "PaymentMethodEn": name, "PaymentMethodCode": code,
			"IsDirectPayment": false, "ServiceCharge": 0, "TotalAmount": number(amount), "CurrencyIso": req.CurrencyIso, "ImageUrl": s.srv.URL + "/img/" + code + ".png",
		})
	}
	add("1", "KNET", "kn")
	add("2", "VISA/MASTER", "vm")
	for id := range s.behaviours {
		if id != "1" && id != "2" {
			add(id, "VISA/MASTER (test card)", "vm")
		}
	}
	return map[string]any{"PaymentMethods": methods}, nil
}

func (s *standIn) execute(dec *json.Decoder) (any, *apiError) {
	var req struct {
		PaymentMethodID    json.Number `json:"PaymentMethodId"`
		InvoiceValue       json.Number `json:"InvoiceValue"`
		DisplayCurrencyIso string      `json:"DisplayCurrencyIso"`
		CallBackURL        string      `json:"CallBackUrl"`
		ErrorURL           string      `json:"ErrorUrl"`
		CustomerReference  string      `json:"CustomerReference"`
		UserDefinedField   string      `json:"UserDefinedField"`
		CustomerEmail      string      `json:"CustomerEmail"`
		Language           string      `json:"Language"`
	}
	if e := decode(dec, &req); e != nil {
		return nil, e
	}
	value, e := s.amountOf(req.InvoiceValue, "InvoiceValue")
	if e != nil {
		return nil, e
	}
	if req.DisplayCurrencyIso != string(s.currency) {
		return nil, refuse("Invalid data", "DisplayCurrencyIso", "the stand-in account shows its base currency only")
	}
	for _, u := range []string{req.CallBackURL, req.ErrorURL} {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || len(u) > 254 {
			return nil, refuse("Invalid data", "CallBackUrl", "invalid URL")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.behaviours[req.PaymentMethodID.String()]
	if !ok {
		return nil, refuse("Invalid data", "PaymentMethodId", "invalid payment method")
	}
	s.nextID++
	s.executed++
	inv := &sInvoice{id: strconv.Itoa(s.nextID), ref: req.CustomerReference, udf: req.UserDefinedField, callback: req.CallBackURL, errorURL: req.ErrorURL,
		value: value, behaviour: b, status: "Pending"}
	s.invoices[inv.id] = inv
	s.order = append(s.order, inv.id)
	return map[string]any{"InvoiceId": json.Number(inv.id), "IsDirectPayment": false, "PaymentURL": s.srv.URL + "/pay/" + inv.id,
		"CustomerReference": req.CustomerReference, "UserDefinedField": req.UserDefinedField, "RecurringId": ""}, nil
}

// pay is the payment page: result=pass pays with the invoice's card,
// anything else is the shopper giving up. It redirects as MyFatoorah does,
// to CallBackUrl or ErrorUrl with paymentId.
func (s *standIn) pay(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inv := s.invoices[r.PathValue("id")]
	if inv == nil || inv.status != "Pending" {
		s.mu.Unlock()
		http.Error(w, "no such invoice to pay", http.StatusNotFound)
		return
	}
	paymentID := fmt.Sprintf("0707%s%04d", inv.id, len(inv.txs))
	tx := map[string]any{
		"TransactionDate": time.Now().UTC().Format("2006-01-02T15:04:05.0000000"), "PaymentGateway": "VISA/MASTER",
		"ReferenceId": randomHex(6), "TrackId": randomHex(6), "TransactionId": randomHex(8), "PaymentId": paymentID, "AuthorizationId": randomHex(3),
		"TransationValue": money.Format(inv.value), "CustomerServiceCharge": "0", "DueValue": money.Format(inv.value),
		"PaidCurrency": string(s.currency), "PaidCurrencyValue": money.Format(inv.value), "Currency": string(s.currency),
		"Error": nil, "ErrorCode": "", "CardNumber": "450875xxxxxx1019",
	}
	target := inv.errorURL
	switch {
	case r.FormValue("result") != "pass":
		tx["TransactionStatus"], tx["Error"] = "Canceled", "Canceled by the customer"
	case inv.behaviour == gatewaytest.Approve:
		tx["TransactionStatus"] = "Succss"
		inv.status = "Paid"
		target = inv.callback
	case inv.behaviour == gatewaytest.Decline:
		tx["TransactionStatus"], tx["Error"], tx["ErrorCode"] = "Failed", "Declined by the issuer", "MF002"
	case inv.behaviour == gatewaytest.InsufficientFunds:
		tx["TransactionStatus"], tx["Error"], tx["ErrorCode"] = "Failed", "Insufficient funds", "MF004"
	case inv.behaviour == gatewaytest.ProcessingError:
		tx["TransactionStatus"], tx["Error"], tx["ErrorCode"] = "Failed", "Issuer not responding", "MF008"
	}
	inv.txs = append(inv.txs, tx)
	s.mu.Unlock()
	u, _ := url.Parse(target)
	q := u.Query()
	q.Set("paymentId", paymentID)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *standIn) find(keyType, key string) *sInvoice {
	switch strings.ToLower(keyType) {
	case "invoiceid":
		return s.invoices[key]
	case "customerreference":
		for i := len(s.order) - 1; i >= 0; i-- {
			if inv := s.invoices[s.order[i]]; inv.ref == key {
				return inv
			}
		}
	case "paymentid":
		for _, inv := range s.invoices {
			for _, tx := range inv.txs {
				if tx["PaymentId"] == key {
					return inv
				}
			}
		}
	}
	return nil
}

func (s *standIn) paymentStatus(dec *json.Decoder) (any, *apiError) {
	var req struct {
		Key     string `json:"Key"`
		KeyType string `json:"KeyType"`
	}
	if e := decode(dec, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.find(req.KeyType, req.Key)
	if inv == nil {
		return nil, refuse("Invalid key: no invoice matches the key value")
	}
	txs := append([]map[string]any{}, inv.txs...)
	if txs == nil {
		txs = []map[string]any{}
	}
	return map[string]any{
		"InvoiceId": json.Number(inv.id), "InvoiceStatus": inv.status, "InvoiceReference": "2026" + inv.id, "CustomerReference": inv.ref,
		"CreatedDate": "2026-01-01T00:00:00", "ExpiryDate": "January 4, 2026", "ExpiryTime": "00:00:00.000",
		"InvoiceValue": number(inv.value), "Comments": nil, "CustomerName": "", "CustomerMobile": "", "CustomerEmail": nil,
		"UserDefinedField": inv.udf, "InvoiceDisplayValue": money.Format(inv.value) + " " + string(s.currency), "DueDeposit": 0,
		"DepositStatus": "Not Deposited", "InvoiceItems": []any{}, "InvoiceTransactions": txs, "Suppliers": []any{},
	}, nil
}

func (s *standIn) makeRefund(dec *json.Decoder) (any, *apiError) {
	var req struct {
		KeyType                 string      `json:"KeyType"`
		Key                     string      `json:"Key"`
		RefundChargeOnCustomer  *bool       `json:"RefundChargeOnCustomer"`
		ServiceChargeOnCustomer *bool       `json:"ServiceChargeOnCustomer"`
		Amount                  json.Number `json:"Amount"`
		Comment                 string      `json:"Comment"`
		ExternalIdentifier      string      `json:"ExternalIdentifier"`
	}
	if e := decode(dec, &req); e != nil {
		return nil, e
	}
	if req.ServiceChargeOnCustomer == nil {
		return nil, refuse("Invalid data", "ServiceChargeOnCustomer", "required")
	}
	amount, e := s.amountOf(req.Amount, "Amount")
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := strings.ToLower(req.KeyType); k != "invoiceid" && k != "paymentid" {
		return nil, refuse("Invalid data", "KeyType", "must be InvoiceId or PaymentId")
	}
	inv := s.find(req.KeyType, req.Key)
	if inv == nil || inv.status != "Paid" {
		return nil, refuse("Invalid key: the invoice is not paid")
	}
	var sum int64
	for _, r := range s.refunds {
		if r.invoiceID == inv.id {
			sum += r.amount.Minor
		}
	}
	if sum+amount.Minor > inv.value.Minor {
		return nil, refuse("Refund amount is greater than the amount left to refund")
	}
	r := &sRefund{id: strconv.Itoa(90000 + len(s.refunds)), invoiceID: inv.id, external: req.ExternalIdentifier, amount: amount}
	s.refunds = append(s.refunds, r)
	return map[string]any{"Key": req.Key, "RefundId": json.Number(r.id), "RefundReference": "2026" + r.id, "Amount": number(amount), "Comment": req.Comment}, nil
}

func (s *standIn) refundStatus(dec *json.Decoder) (any, *apiError) {
	var req struct {
		KeyType string `json:"KeyType"`
		Key     string `json:"Key"`
	}
	if e := decode(dec, &req); e != nil {
		return nil, e
	}
	if !strings.EqualFold(req.KeyType, "InvoiceId") {
		return nil, refuse("Invalid data", "KeyType", "this stand-in lists refunds by InvoiceId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for _, r := range s.refunds {
		if r.invoiceID == req.Key {
			list = append(list, map[string]any{"RefundId": json.Number(r.id), "RefundStatus": "Pending", "InvoiceId": json.Number(r.invoiceID),
				"Amount": number(r.amount), "RefundReference": "2026" + r.id, "ExternalIdentifier": r.external, "RRN": "", "RefundAmount": number(r.amount), "BaseCurrency": string(s.currency)})
		}
	}
	return map[string]any{"RefundStatusResult": list}, nil
}

// complete answers the payment page as the shopper's browser would and
// checks where MyFatoorah sends the browser back.
func (s *standIn) complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	t.Helper()
	result := "fail"
	if pass {
		result = "pass"
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(res.RedirectURL, url.Values{"result": {result}})
	if err != nil {
		t.Fatalf("payment page: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("payment page answered %d, want a redirect back", resp.StatusCode)
	}
	back, _ := url.Parse(resp.Header.Get("Location"))
	want := "cancel"
	s.mu.Lock()
	paid := s.invoices[res.Reference] != nil && s.invoices[res.Reference].status == "Paid"
	s.mu.Unlock()
	if paid {
		want = "success"
	}
	if got := back.Query().Get("outcome"); got != want || back.Query().Get("paymentId") == "" {
		t.Errorf("the shopper came back to %s, want outcome=%s and a paymentId", back, want)
	}
}
