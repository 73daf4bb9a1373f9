package httpapi

import (
	"net/http"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/pay"
)

// An application's domains (MANAGEMENT.md): the hosts its SDK may run on
// and buyers may be sent back to, each verified by a DNS TXT record or an
// HTTPS file the merchant publishes. merchant.Service decides; these
// handlers only translate.

type domainOut struct {
	Domain       string                `json:"domain"`
	Verified     bool                  `json:"verified"`
	Verification domainVerificationOut `json:"verification"`
	CreatedAt    string                `json:"createdAt"`
	VerifiedAt   *string               `json:"verifiedAt"`
	// LastCheckedAt and LastError tell what the last failed check found,
	// so a merchant can fix the record without trying again blind.
	LastCheckedAt *string `json:"lastCheckedAt"`
	LastError     string  `json:"lastError"`
}

type domainVerificationOut struct {
	DNS struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"dns"`
	HTTP struct {
		URL  string `json:"url"`
		Body string `json:"body"`
	} `json:"http"`
}

func manageDomainOut(d pay.Domain) domainOut {
	out := domainOut{Domain: d.Domain, Verified: d.Verified, CreatedAt: rfc3339(d.CreatedAt),
		VerifiedAt: timeOut(d.VerifiedAt), LastCheckedAt: timeOut(d.LastCheckedAt), LastError: d.LastError}
	v := d.Verification()
	out.Verification.DNS.Name, out.Verification.DNS.Type, out.Verification.DNS.Value = v.DNS.Name, v.DNS.Type, v.DNS.Value
	out.Verification.HTTP.URL, out.Verification.HTTP.Body = v.HTTP.URL, v.HTTP.Body
	return out
}

// listDomains is GET /apps/{appId}/domains: every domain, by name.
func (a *api) listDomains(w http.ResponseWriter, r *http.Request, c *caller) {
	ds, err := a.merchant.Domains(r.Context(), c.app.ID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]domainOut, len(ds))
	for i, d := range ds {
		out[i] = manageDomainOut(d)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

// addDomain is POST /apps/{appId}/domains {"domain"}: 201 with the
// record and the file that prove control. A domain the application has
// already is answered 200 as it stands (same token, same verification),
// so that repeating the request changes nothing.
func (a *api) addDomain(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct {
		Domain string `json:"domain"`
	}
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if d, err := a.merchant.Domain(r.Context(), c.app.ID, in.Domain); err == nil {
		writeJSON(w, http.StatusOK, manageDomainOut(d))
		return
	} else if pay.KindOf(err) != pay.NotFound {
		a.paymentError(w, r, err)
		return
	}
	// Never verified=true here: only an operator (the CLI) may vouch for
	// a domain; a merchant proves it.
	d, err := a.merchant.AddDomain(r.Context(), c.app.ID, in.Domain, false)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "domains.create", TargetType: "domain",
		TargetID: d.Domain, Changes: account.Changes{"domain": {nil, d.Domain}}})
	writeJSON(w, http.StatusCreated, manageDomainOut(d))
}

// verifyDomain is POST /apps/{appId}/domains/{domain}/verify: looks for
// the proof now. Found, 200 with the domain verified; not found, 409
// domain_not_verified saying what was found instead.
func (a *api) verifyDomain(w http.ResponseWriter, r *http.Request, c *caller) {
	before, err := a.merchant.Domain(r.Context(), c.app.ID, r.PathValue("domain"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	d, err := a.merchant.VerifyDomain(r.Context(), c.app.ID, before.Domain)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	// A domain verified already is answered without a check: nothing
	// changed, so nothing is recorded.
	if !before.Verified {
		a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "domains.verify", TargetType: "domain",
			TargetID: d.Domain, Changes: account.Changes{"verified": {false, true}}})
	}
	writeJSON(w, http.StatusOK, manageDomainOut(d))
}

// removeDomain is DELETE /apps/{appId}/domains/{domain}: 204.
func (a *api) removeDomain(w http.ResponseWriter, r *http.Request, c *caller) {
	d, err := a.merchant.Domain(r.Context(), c.app.ID, r.PathValue("domain"))
	if err == nil {
		err = a.merchant.RemoveDomain(r.Context(), c.app.ID, d.Domain)
	}
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "domains.delete", TargetType: "domain",
		TargetID: d.Domain, Changes: account.Changes{"domain": {d.Domain, nil}, "verified": {d.Verified, nil}}})
	noContent(w)
}
