package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/partner"
	"github.com/sakkhq/sakk/internal/pay"
)

// The AlyaPay partner surface (docs/compat.md): what the vendor's API
// Integration documents and its shop plugins call beyond the seed —
// partner transactions, the partner configuration and instalment
// schedules. Authenticated with the secret key in X-Api-Key, like the
// rest of the Checkout API, and answering its error body.

// partnerKey authenticates a partner call and, for writes, applies the
// key's allowance in a bucket of its own ("partner:"), so that neither a
// reconcile cron's reads nor the partner writes eat into the sessions'
// allowance; reads are not limited, as status reads are not. false means
// the answer is written.
func (a *api) partnerKey(w http.ResponseWriter, r *http.Request) (pay.APIKey, bool) {
	if a.partner == nil {
		a.checkoutError(w, r, &pay.Error{Kind: pay.Unavailable, Code: "partner_unavailable", Message: "the partner API is not available"})
		return pay.APIKey{}, false
	}
	key, err := a.secretKey(r)
	if err != nil {
		a.checkoutError(w, r, err)
		return key, false
	}
	if r.Method == http.MethodGet {
		return key, true
	}
	return key, a.allowIn(w, r, key, "partner:")
}

// partnerIn is the body of POST /api/v1/public/partner/transactions.
// Fields stay raw until each is checked for its own type.
type partnerIn struct {
	CustomerPhone   json.RawMessage `json:"customerPhone"`
	Total           json.RawMessage `json:"total"`
	Currency        json.RawMessage `json:"currency"`
	Items           json.RawMessage `json:"items"`
	VendorReference json.RawMessage `json:"vendorReference"`
}

type partnerItemIn struct {
	Name       json.RawMessage `json:"name"`
	Reference  json.RawMessage `json:"reference"`
	Quantity   json.RawMessage `json:"quantity"`
	UnitPrice  json.RawMessage `json:"unitPrice"`
	CategoryID json.RawMessage `json:"categoryId"`
}

// absent reports a field left out or sent as null.
func absent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func parsePartner(in partnerIn) (partner.NewTransaction, error) {
	var req partner.NewTransaction
	phone, ok := jsonString(in.CustomerPhone)
	if !ok {
		return req, invalid(partner.CodeInvalidPhone, "customerPhone is required, as a string of digits such as \"212612345678\"")
	}
	code, ok := jsonString(in.Currency)
	if !ok || code == "" {
		return req, invalid(partner.CodeInvalidCurrency, "currency is required: MAD")
	}
	cur := money.Currency(code)
	if _, known := money.Lookup(code); !known {
		return req, invalid(partner.CodeInvalidCurrency, "%q is not a supported currency code", code)
	}
	totalText, ok := jsonDecimal(in.Total)
	if !ok {
		return req, invalid(partner.CodeInvalidAmount, "total is required, as a decimal such as 1799.00")
	}
	total, err := money.Parse(totalText, cur)
	if err != nil {
		return req, invalid(partner.CodeInvalidAmount, "total: %v", strings.TrimPrefix(err.Error(), "money: "))
	}
	var ref string
	if !absent(in.VendorReference) {
		if ref, ok = jsonString(in.VendorReference); !ok {
			return req, invalid(partner.CodeInvalidVendorRef, "vendorReference must be a string")
		}
	}
	raw := bytes.TrimSpace(in.Items)
	var list []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return req, invalid(partner.CodeInvalidItems, "items is required: an array of {name, quantity, unitPrice, reference?, categoryId?}")
	}
	if len(list) > partner.MaxItems {
		return req, invalid(partner.CodeInvalidItems, "items may hold at most %d items", partner.MaxItems)
	}
	items := make([]pay.PartnerItem, len(list))
	for i, el := range list {
		bad := func(format string, args ...any) error {
			return invalid(partner.CodeInvalidItems, "items[%d]: %s", i, fmt.Sprintf(format, args...))
		}
		var it partnerItemIn
		if el = bytes.TrimSpace(el); len(el) == 0 || el[0] != '{' || json.Unmarshal(el, &it) != nil {
			return req, bad("must be an object {name, quantity, unitPrice}")
		}
		name, ok := jsonString(it.Name)
		if !ok {
			return req, bad("name is required, as a string")
		}
		var reference string
		if !absent(it.Reference) {
			if reference, ok = jsonString(it.Reference); !ok {
				return req, bad("reference must be a string")
			}
		}
		qtyText, ok := jsonNumber(it.Quantity)
		qty, err := strconv.ParseInt(qtyText, 10, 64)
		if !ok || err != nil {
			return req, bad("quantity is required, as a whole number")
		}
		priceText, ok := jsonDecimal(it.UnitPrice)
		if !ok {
			return req, bad("unitPrice is required, as a decimal such as 12.50")
		}
		unit, err := money.Parse(priceText, cur)
		if err != nil {
			return req, bad("unitPrice: %s", strings.TrimPrefix(err.Error(), "money: "))
		}
		items[i] = pay.PartnerItem{Name: name, Reference: reference, Quantity: qty, UnitPrice: unit}
		if !absent(it.CategoryID) {
			catText, ok := jsonNumber(it.CategoryID)
			cat, err := strconv.ParseInt(catText, 10, 64)
			if !ok || err != nil {
				return req, bad("categoryId must be a whole number")
			}
			items[i].CategoryID = &cat
		}
	}
	return partner.NewTransaction{CustomerPhone: phone, Total: total, Items: items, VendorReference: ref}, nil
}

// partnerOut is the transaction object of the partner API. Its amounts
// are JSON numbers with the currency's decimals; updatedAt is null until
// the transaction first changes.
type partnerOut struct {
	ID              string           `json:"id"`
	OrderReference  string           `json:"orderReference"`
	VendorReference *string          `json:"vendorReference"`
	Status          string           `json:"status"`
	TotalAmount     json.RawMessage  `json:"totalAmount"`
	Currency        string           `json:"currency"`
	CustomerPhone   string           `json:"customerPhone"`
	MerchantName    string           `json:"merchantName"`
	StoreName       string           `json:"storeName"`
	Items           []partnerItemOut `json:"items"`
	CreatedAt       string           `json:"createdAt"`
	UpdatedAt       *string          `json:"updatedAt"`
}

type partnerItemOut struct {
	Name       string          `json:"name"`
	Reference  *string         `json:"reference"`
	Quantity   int64           `json:"quantity"`
	UnitPrice  json.RawMessage `json:"unitPrice"`
	TotalPrice json.RawMessage `json:"totalPrice"`
	CategoryID *int64          `json:"categoryId"`
}

// partnerTime is ISO 8601 in UTC with a Z, as the vendor writes it.
const partnerTime = "2006-01-02T15:04:05.000Z"

func partnerJSON(v partner.View) partnerOut {
	out := partnerOut{ID: v.ID, OrderReference: v.OrderReference, Status: string(v.Status),
		TotalAmount: json.RawMessage(money.Format(v.Total)), Currency: string(v.Total.Currency), CustomerPhone: v.CustomerPhone,
		MerchantName: v.MerchantName, StoreName: v.StoreName, Items: []partnerItemOut{}, CreatedAt: v.CreatedAt.UTC().Format(partnerTime)}
	if v.VendorReference != "" {
		out.VendorReference = &v.VendorReference
	}
	if !v.UpdatedAt.IsZero() {
		u := v.UpdatedAt.UTC().Format(partnerTime)
		out.UpdatedAt = &u
	}
	for _, it := range v.Items {
		line, _ := it.UnitPrice.Mul(it.Quantity) // validated on the way in: cannot overflow
		o := partnerItemOut{Name: it.Name, Quantity: it.Quantity, UnitPrice: json.RawMessage(money.Format(it.UnitPrice)),
			TotalPrice: json.RawMessage(money.Format(line)), CategoryID: it.CategoryID}
		if it.Reference != "" {
			o.Reference = &it.Reference
		}
		out.Items = append(out.Items, o)
	}
	return out
}

// createPartnerTransaction is POST /api/v1/public/partner/transactions:
// 201 with the PENDING transaction; the customer gets an SMS code.
func (a *api) createPartnerTransaction(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	var in partnerIn
	if _, err := readJSON(w, r, &in); err != nil {
		a.checkoutError(w, r, err)
		return
	}
	req, err := parsePartner(in)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	req.ApplicationID, req.Environment = key.ApplicationID, key.Environment
	v, err := a.partner.Create(r.Context(), req)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, partnerJSON(v))
}

// partnerTransaction is GET /api/v1/public/partner/transactions/{transactionId}.
func (a *api) partnerTransaction(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	v, err := a.partner.Transaction(r.Context(), key.ApplicationID, key.Environment, r.PathValue("transactionId"))
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, partnerJSON(v))
}

// partnerByVendor is GET /api/v1/public/partner/transactions/vendor/{vendorReference}:
// the newest transaction opened with the merchant's order id, partner or
// hosted checkout (what the plugins' reconciliation cron reads).
func (a *api) partnerByVendor(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	v, err := a.partner.ByVendorReference(r.Context(), key.ApplicationID, key.Environment, r.PathValue("vendorReference"))
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, partnerJSON(v))
}

// cancelPartner is PUT /api/v1/public/partner/transactions/vendor/{vendorReference}/cancel.
func (a *api) cancelPartner(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	v, err := a.partner.Cancel(r.Context(), key.ApplicationID, key.Environment, r.PathValue("vendorReference"))
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, partnerJSON(v))
}

// confirmPartner is POST /api/v1/public/partner/transactions/{transactionId}/confirm
// with {"code": "123456"}: sakk's way for the customer's SMS code to
// approve the transaction (relayed by the merchant's backend).
func (a *api) confirmPartner(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	var in struct {
		Code json.RawMessage `json:"code"`
	}
	if _, err := readJSON(w, r, &in); err != nil {
		a.checkoutError(w, r, err)
		return
	}
	code, ok := jsonString(in.Code)
	if !ok {
		a.checkoutError(w, r, invalid("invalid_code", "code is required, as a string of 6 digits"))
		return
	}
	v, err := a.partner.Confirm(r.Context(), key.ApplicationID, key.Environment, r.PathValue("transactionId"), code)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, partnerJSON(v))
}

// configOut is the partner configuration. webhookSecret appears only on
// the write that made it, this once.
type configOut struct {
	WebhookURL              *string `json:"webhookUrl"`
	WebhookEnabled          bool    `json:"webhookEnabled"`
	TransactionExpiry       int     `json:"transactionExpiry"`
	Installments            int     `json:"installments"`
	InstallmentIntervalDays int     `json:"installmentIntervalDays"`
	WebhookSecret           string  `json:"webhookSecret,omitempty"`
}

func configJSON(c partner.Config, secret string) configOut {
	out := configOut{WebhookEnabled: c.WebhookEnabled, TransactionExpiry: c.TransactionExpiry, Installments: c.Installments,
		InstallmentIntervalDays: c.IntervalDays, WebhookSecret: secret}
	if c.WebhookURL != "" {
		out.WebhookURL = &c.WebhookURL
	}
	return out
}

// partnerConfig is GET /api/v1/public/partner/config.
func (a *api) partnerConfig(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	c, err := a.partner.Config(r.Context(), key.ApplicationID, key.Environment)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, configJSON(c, ""))
}

// putPartnerConfig is PUT /api/v1/public/partner/config with any of
// {webhookUrl, webhookEnabled, transactionExpiry, generateNewSecret,
// installments, installmentIntervalDays}; the fields left out stay.
func (a *api) putPartnerConfig(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	var in struct {
		WebhookURL        json.RawMessage `json:"webhookUrl"`
		WebhookEnabled    json.RawMessage `json:"webhookEnabled"`
		TransactionExpiry json.RawMessage `json:"transactionExpiry"`
		GenerateNewSecret json.RawMessage `json:"generateNewSecret"`
		Installments      json.RawMessage `json:"installments"`
		IntervalDays      json.RawMessage `json:"installmentIntervalDays"`
	}
	if _, err := readJSON(w, r, &in); err != nil {
		a.checkoutError(w, r, err)
		return
	}
	var p partner.ConfigPatch
	bad := func(format string, args ...any) {
		a.checkoutError(w, r, invalid(partner.CodeInvalidConfig, format, args...))
	}
	if !absent(in.WebhookURL) {
		u, ok := jsonString(in.WebhookURL)
		if !ok {
			bad("webhookUrl must be a string")
			return
		}
		u = strings.TrimSpace(u)
		p.WebhookURL = &u
	}
	for _, f := range []struct {
		raw  json.RawMessage
		name string
		dst  **bool
	}{{in.WebhookEnabled, "webhookEnabled", &p.WebhookEnabled}} {
		if absent(f.raw) {
			continue
		}
		var b bool
		if json.Unmarshal(f.raw, &b) != nil {
			bad("%s must be true or false", f.name)
			return
		}
		*f.dst = &b
	}
	if !absent(in.GenerateNewSecret) && json.Unmarshal(in.GenerateNewSecret, &p.GenerateNewSecret) != nil {
		bad("generateNewSecret must be true or false")
		return
	}
	for _, f := range []struct {
		raw  json.RawMessage
		name string
		dst  **int
	}{
		{in.TransactionExpiry, "transactionExpiry", &p.TransactionExpiry},
		{in.Installments, "installments", &p.Installments},
		{in.IntervalDays, "installmentIntervalDays", &p.IntervalDays},
	} {
		if absent(f.raw) {
			continue
		}
		text, ok := jsonNumber(f.raw)
		n, err := strconv.Atoi(text)
		if !ok || err != nil {
			bad("%s must be a whole number", f.name)
			return
		}
		*f.dst = &n
	}
	c, secret, err := a.partner.PutConfig(r.Context(), key.ApplicationID, key.Environment, p)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, configJSON(c, secret))
}

// scheduleOut is a transaction's instalment plan.
type scheduleOut struct {
	TransactionID   string          `json:"transactionId"`
	VendorReference *string         `json:"vendorReference"`
	ClientPhone     string          `json:"clientPhone"`
	Total           json.RawMessage `json:"total"`
	Currency        string          `json:"currency"`
	Installments    []instalmentOut `json:"installments"`
}

type instalmentOut struct {
	Number  int             `json:"number"`
	DueDate string          `json:"dueDate"` // yyyy-MM-dd
	Amount  json.RawMessage `json:"amount"`
	Status  string          `json:"status"`
}

// transactionSchedules is GET /api/v1/public/transactions/{transaction_id}/schedules:
// the instalment plan of a partner or hosted checkout transaction.
func (a *api) transactionSchedules(w http.ResponseWriter, r *http.Request) {
	key, ok := a.partnerKey(w, r)
	if !ok {
		return
	}
	s, err := a.partner.Schedule(r.Context(), key.ApplicationID, key.Environment, r.PathValue("transaction_id"))
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	out := scheduleOut{TransactionID: s.TransactionID, ClientPhone: s.CustomerPhone, Total: json.RawMessage(money.Format(s.Total)),
		Currency: string(s.Total.Currency), Installments: make([]instalmentOut, len(s.Installments))}
	if s.VendorReference != "" {
		out.VendorReference = &s.VendorReference
	}
	for i, in := range s.Installments {
		out.Installments[i] = instalmentOut{Number: in.Number, DueDate: in.Due.Format(time.DateOnly),
			Amount: json.RawMessage(money.Format(in.Amount)), Status: string(in.Status)}
	}
	writeJSON(w, http.StatusOK, out)
}

// businessCodes are the AlyaPay plugins' numeric business codes
// (VENDOR-RESEARCH.md A.7) for the errors that have one. The Magento and
// PrestaShop clients read {key, code} to pick their message; the others
// fall back to the HTTP status.
var businessCodes = map[string]int{
	checkout.CodeInvalidAmount:     4235,
	checkout.CodeInvalidItems:      4235,
	checkout.CodeAmountMismatch:    4235,
	checkout.CodeInvalidCurrency:   4235,
	partner.CodeInvalidPhone:       4235,
	partner.CodeInvalidVendorRef:   4235,
	partner.CodeAmountBelowMinimum: 4239,
	partner.CodeAmountAboveMaximum: 4242,
	partner.CodeNotFound:           4042,
}

// intentRules are session-intents' own, for the AlyaPay plugins that call
// it (docs/compat.md): amounts the plugins compute in PHP floats come as
// JSON numbers such as 10.100000000000001 (shipping plus its tax), which
// are rounded half up to the currency's decimals, exactly, on their
// decimal text; in MAD the vendor's amount window applies (500.00 to
// 15,000.00: 400 with business code 4239 or 4242, which the plugins show
// the customer); and an application that wrote its partner configuration
// has its sessions expire after its transactionExpiry (within the
// session's hour), as the plugins' reconciliation expects. Amounts sent as
// strings are taken as they are.
func (a *api) intentRules(r *http.Request, in *sessionIn) func(*checkout.NewSession) error {
	cur, _ := jsonString(in.Currency)
	exp := money.Currency(cur).Exponent()
	if exp >= 0 {
		in.Total = roundNumber(in.Total, exp)
		if raw := bytes.TrimSpace(in.Items); len(raw) > 0 && raw[0] == '[' {
			var list []map[string]json.RawMessage
			if json.Unmarshal(raw, &list) == nil {
				for _, it := range list {
					if p, ok := it["price"]; ok {
						it["price"] = roundNumber(p, exp)
					}
				}
				if b, err := json.Marshal(list); err == nil {
					in.Items = b
				}
			}
		}
	}
	return func(req *checkout.NewSession) error {
		if err := partner.CheckWindow(req.Total); err != nil {
			return err
		}
		if a.partner != nil {
			ttl, err := a.partner.SessionTTL(r.Context(), req.ApplicationID, req.Environment)
			if err != nil {
				return err
			}
			req.TTL = ttl
		}
		return nil
	}
}

// roundNumber rounds a JSON number with more than exp decimals half up
// (away from zero) to exp decimals, on its decimal digits; anything else
// (strings, exponents, numbers already short enough) is left as it is.
func roundNumber(raw json.RawMessage, exp int) json.RawMessage {
	text, ok := jsonNumber(raw)
	if !ok || strings.ContainsAny(text, "eE") {
		return raw
	}
	whole, frac, dot := strings.Cut(text, ".")
	if !dot || len(frac) <= exp {
		return raw
	}
	neg := strings.HasPrefix(whole, "-")
	digits := new(big.Int)
	if _, ok := digits.SetString(strings.TrimPrefix(whole, "-")+frac[:exp], 10); !ok {
		return raw
	}
	if frac[exp] >= '5' {
		digits.Add(digits, big.NewInt(1))
	}
	s := digits.String()
	if len(s) < exp+1 {
		s = strings.Repeat("0", exp+1-len(s)) + s
	}
	out := s[:len(s)-exp]
	if exp > 0 {
		out += "." + s[len(s)-exp:]
	}
	if neg {
		out = "-" + out
	}
	return json.RawMessage(out)
}

// partnerStatus is a partner transaction as the status call shows one:
// the seed's three statuses (EXPIRED reads CANCELED there, as an expired
// session does; COMPLETED reads APPROVED: paid), the order reference as
// payment_intent_id.
func partnerStatus(v partner.View) statusOut {
	status := string(v.Status)
	switch v.Status {
	case pay.PartnerExpired:
		status = string(pay.PartnerCanceled)
	case pay.PartnerCompleted:
		status = string(pay.PartnerApproved)
	}
	updated := v.UpdatedAt
	if updated.IsZero() {
		updated = v.CreatedAt
	}
	return statusOut{
		Amount: json.RawMessage(money.Format(v.Total)), CreatedAt: v.CreatedAt.UTC().Format(checkoutTimeLayout),
		Currency: string(v.Total.Currency), CustomerPhone: v.CustomerPhone, MerchantName: v.MerchantName,
		PaymentIntentID: v.OrderReference, Status: status, StoreName: v.StoreName, TransactionID: v.ID,
		UpdatedAt: updated.UTC().Format(checkoutTimeLayout),
	}
}
