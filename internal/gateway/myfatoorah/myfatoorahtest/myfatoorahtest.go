// Package myfatoorahtest is a stand-in for MyFatoorah's v2 REST API,
// written from MyFatoorah's documentation: stateful, on loopback, for
// tests of the myfatoorah connector and of sakk's flows through it. It
// serves the endpoints InitiatePayment, ExecutePayment, GetPaymentStatus,
// MakeRefund and GetRefundStatus with their documented request fields
// (unknown fields are refused, so a misspelt field fails the test), the
// {IsSuccess, Message, ValidationErrors, Data} envelope, Bearer
// authentication, and the documented status spellings ("Pending", "Paid",
// "Canceled"; "InProgress", "Succss", "Failed", "Canceled"). Its payment
// page (/pay/{InvoiceId}) stands for the card network's page: the test
// posts the shopper's answer there (Pay, Complete), and the invoice's
// payment method decides what the "card" does, as MyFatoorah's test cards
// would. Webhook signs notifications as MyFatoorah does.
//
// It records every request (Requests), and it can be told to lose the
// answer of a request after acting on it (Fault), the worst case for a
// gateway without idempotency keys.
package myfatoorahtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/money"
)

// Server is a running stand-in for one MyFatoorah account.
type Server struct {
	// URL is the API's base URL (Config.BaseURL of the connector).
	URL string
	// Token is the account's API token, a fresh random one.
	Token string
	// Country is the account's country ("KWT", "SAU", …), which decides
	// its base currency.
	Country string

	t        testing.TB
	srv      *httptest.Server
	currency money.Currency

	mu         sync.Mutex
	behaviours map[string]gatewaytest.Behaviour // PaymentMethodId -> what its "card" does
	nextMethod int
	invoices   map[string]*sInvoice
	order      []string // invoice ids, oldest first
	nextID     int
	refunds    []*sRefund
	executed   int
	reqs       []Request
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
	status                  string // RefundStatus: "Pending" until SettleRefunds
	amount                  money.Amount
}

// Request is one API request as the stand-in received it: its path and
// its JSON body, numbers kept as sent (json.Number).
type Request struct {
	Path string
	Body map[string]any
}

// CountryOf is the MyFatoorah country whose base currency is cur.
var CountryOf = map[money.Currency]string{"KWD": "KWT", "SAR": "SAU", "AED": "ARE", "QAR": "QAT", "BHD": "BHR", "OMR": "OMN", "JOD": "JOR", "EGP": "EGY"}

// Start runs a stand-in for an account whose base currency is cur,
// closed when the test ends. Its payment methods "1" (KNET) and "2"
// (VISA/MASTER) approve; TokenFor adds others.
func Start(t testing.TB, cur money.Currency) *Server {
	t.Helper()
	country, ok := CountryOf[cur]
	if !ok {
		t.Fatalf("myfatoorahtest: no MyFatoorah country has the base currency %s", cur)
	}
	s := &Server{
		t:          t,
		Token:      "mf-test-" + randomHex(16),
		Country:    country,
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
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Fault makes the stand-in act on the next request to path and then lose
// its answer the way kind says: "timeout" (no answer until the client
// gives up), "500", "cut" (a body cut short), "garbage" (an HTML page).
func (s *Server) Fault(path, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], kind)
}

func (s *Server) takeFault(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults[path]
	if len(f) == 0 {
		return ""
	}
	s.faults[path] = f[1:]
	return f[0]
}

// Charges is how many invoices ExecutePayment created.
func (s *Server) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.executed
}

// Requests returns the recorded requests to path, or all of them, in the
// order received, when path is "".
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// InvoiceStatus is the invoice id's InvoiceStatus ("Pending", "Paid",
// "Canceled"), "" when there is none.
func (s *Server) InvoiceStatus(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv := s.invoices[id]; inv != nil {
		return inv.status
	}
	return ""
}

// SettleRefunds makes every pending refund "Refunded", as MyFatoorah
// does once the bank has processed it (MakeRefund only asks for one).
func (s *Server) SettleRefunds() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refunds {
		if r.status == "Pending" {
			r.status = "Refunded"
		}
	}
}

// TokenFor registers a fresh payment method whose "card" behaves as b, as
// a shopper picking a test card on the payment page would, and returns
// its PaymentMethodId. ok is false for ThreeDSecure: 3-D Secure happens
// on MyFatoorah's page, inside the off-site step.
func (s *Server) TokenFor(b gatewaytest.Behaviour) (string, bool) {
	if b == gatewaytest.ThreeDSecure {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextMethod++
	id := strconv.Itoa(s.nextMethod)
	s.behaviours[id] = b
	return id, true
}

// envelope is every MyFatoorah answer.
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
func (s *Server) api(h func(dec *json.Decoder) (any, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.Token {
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
		s.reqs = append(s.reqs, Request{Path: r.URL.Path, Body: rec})
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
func (s *Server) amountOf(n json.Number, field string) (money.Amount, *apiError) {
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

func (s *Server) initiate(dec *json.Decoder) (any, *apiError) {
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
			"IsDirectPayment": false, "ServiceCharge": 0, "TotalAmount": number(amount), "CurrencyIso": req.CurrencyIso, "ImageUrl": s.URL + "/img/" + code + ".png",
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

func (s *Server) execute(dec *json.Decoder) (any, *apiError) {
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
	return map[string]any{"InvoiceId": json.Number(inv.id), "IsDirectPayment": false, "PaymentURL": s.URL + "/pay/" + inv.id,
		"CustomerReference": req.CustomerReference, "UserDefinedField": req.UserDefinedField, "RecurringId": ""}, nil
}

// pay is the payment page: result=pass pays with the invoice's card,
// anything else is the shopper giving up. It redirects as MyFatoorah does,
// to CallBackUrl or ErrorUrl with paymentId.
func (s *Server) pay(w http.ResponseWriter, r *http.Request) {
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

func (s *Server) find(keyType, key string) *sInvoice {
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

func (s *Server) paymentStatus(dec *json.Decoder) (any, *apiError) {
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

func (s *Server) makeRefund(dec *json.Decoder) (any, *apiError) {
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
	r := &sRefund{id: strconv.Itoa(90000 + len(s.refunds)), invoiceID: inv.id, external: req.ExternalIdentifier, status: "Pending", amount: amount}
	s.refunds = append(s.refunds, r)
	return map[string]any{"Key": req.Key, "RefundId": json.Number(r.id), "RefundReference": "2026" + r.id, "Amount": number(amount), "Comment": req.Comment}, nil
}

func (s *Server) refundStatus(dec *json.Decoder) (any, *apiError) {
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
			list = append(list, map[string]any{"RefundId": json.Number(r.id), "RefundStatus": r.status, "InvoiceId": json.Number(r.invoiceID),
				"Amount": number(r.amount), "RefundReference": "2026" + r.id, "ExternalIdentifier": r.external, "RRN": "", "RefundAmount": number(r.amount), "BaseCurrency": string(s.currency)})
		}
	}
	return map[string]any{"RefundStatusResult": list}, nil
}

// noRedirects is a browser that shows redirects instead of following them.
var noRedirects = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Pay answers the payment page at paymentURL (ExecutePayment's
// PaymentURL) as the shopper's browser would: pays with the invoice's
// "card" (pass) or gives up, and returns where MyFatoorah sends the
// browser back: CallBackUrl or ErrorUrl with paymentId.
func (s *Server) Pay(t testing.TB, paymentURL string, pass bool) *url.URL {
	t.Helper()
	result := "fail"
	if pass {
		result = "pass"
	}
	resp, err := noRedirects.PostForm(paymentURL, url.Values{"result": {result}})
	if err != nil {
		t.Fatalf("payment page: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("payment page answered %d, want a redirect back", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// Complete answers the payment page as the shopper's browser would and
// checks where MyFatoorah sends the browser back: to the return URL with
// outcome=success when the invoice is paid, outcome=cancel otherwise, and
// a paymentId.
func (s *Server) Complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	t.Helper()
	back := s.Pay(t, res.RedirectURL, pass)
	want := "cancel"
	if s.InvoiceStatus(res.Reference) == "Paid" {
		want = "success"
	}
	if got := back.Query().Get("outcome"); got != want || back.Query().Get("paymentId") == "" {
		t.Errorf("the shopper came back to %s, want outcome=%s and a paymentId", back, want)
	}
}

// Webhook returns the notification MyFatoorah sends when the status of
// the invoice id's latest transaction changes, signed with secret (the
// account's webhook secret key, or another to forge one) by the rule of
// version ("v1": TransactionsStatusChanged, every Data property sorted by
// name without regard to case; "v2": PAYMENT_STATUS_CHANGED, the
// documented fields in order). The signature is
// base64(HMAC-SHA256(secret, "key=value,…")) in MyFatoorah-Signature.
func (s *Server) Webhook(t testing.TB, secret, id, version string) gateway.Webhook {
	t.Helper()
	s.mu.Lock()
	inv := s.invoices[id]
	if inv == nil {
		s.mu.Unlock()
		t.Fatalf("myfatoorahtest: no invoice %s to notify about", id)
	}
	txStatus, paymentID := "", ""
	if n := len(inv.txs); n > 0 {
		// Notifications spell the statuses in capitals, and "Succss"
		// correctly.
		txStatus = strings.ToUpper(inv.txs[n-1]["TransactionStatus"].(string))
		if txStatus == "SUCCSS" {
			txStatus = "SUCCESS"
		}
		paymentID = inv.txs[n-1]["PaymentId"].(string)
	}
	ref, udf, status, value := inv.ref, inv.udf, inv.status, money.Format(inv.value)
	s.mu.Unlock()
	cur := string(s.currency)

	var body []byte
	var text string
	switch version {
	case "v1":
		data := map[string]any{
			"InvoiceId": json.Number(id), "InvoiceReference": "2026" + id, "CreatedDate": "01012026101000", "CustomerReference": ref,
			"CustomerName": "Shopper", "CustomerMobile": "96512345678", "CustomerEmail": nil, "TransactionStatus": txStatus,
			"PaymentMethod": "VISA/MASTER", "UserDefinedField": udf, "ReferenceId": "1", "TrackId": "2", "PaymentId": paymentID,
			"AuthorizationId": "4", "InvoiceValueInBaseCurrency": value, "BaseCurrency": cur, "InvoiceValueInDisplayCurreny": value,
			"DisplayCurrency": cur, "InvoiceValueInPayCurrency": value, "PayCurrency": cur,
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return strings.ToLower(keys[i]) < strings.ToLower(keys[j]) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			v := ""
			if data[k] != nil {
				v = fmt.Sprint(data[k])
			}
			parts[i] = k + "=" + v
		}
		text = strings.Join(parts, ",")
		body, _ = json.Marshal(map[string]any{"EventType": 1, "Event": "TransactionsStatusChanged",
			"DateTime": time.Now().UTC().Format("02012006150405"), "CountryIsoCode": s.Country, "Data": data})
	case "v2":
		invStatus := strings.ToUpper(status)
		body, _ = json.Marshal(map[string]any{
			"Event": map[string]any{"Code": 1, "Name": "PAYMENT_STATUS_CHANGED", "CountryIsoCode": s.Country,
				"CreationDate": time.Now().UTC().Format(time.RFC3339), "Reference": "WH-" + randomHex(6)},
			"Data": map[string]any{
				"Invoice":     map[string]any{"Id": id, "Status": invStatus, "Reference": "2026" + id, "ExternalIdentifier": ref, "UserDefinedField": udf},
				"Transaction": map[string]any{"Id": randomHex(4), "Status": txStatus, "PaymentMethod": "VISA/MASTER", "PaymentId": paymentID},
				"Customer":    map[string]any{"Reference": ref, "Name": "Shopper"},
				"Amount":      map[string]any{"ValueInBaseCurrency": value},
			},
		})
		text = "Invoice.Id=" + id + ",Invoice.Status=" + invStatus + ",Transaction.Status=" + txStatus +
			",Transaction.PaymentId=" + paymentID + ",Invoice.ExternalIdentifier=" + ref
	default:
		t.Fatalf("myfatoorahtest: webhook version %q, want v1 or v2", version)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(text))
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("MyFatoorah-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return gateway.Webhook{Header: h, Body: body}
}
