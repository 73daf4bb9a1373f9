package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

func (a *api) listMembers(w http.ResponseWriter, r *http.Request, c *caller) {
	us, err := a.account.Members(r.Context(), c.user.MerchantID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]userOut, len(us))
	for i, u := range us {
		out[i] = memberOut(u)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

// updateMember is PATCH /team/members/{userId} {"role"}.
func (a *api) updateMember(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Role string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	u, err := a.account.SetRole(r.Context(), c.user, r.PathValue("userId"), pay.Role(in.Role), c.actor)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberOut(u))
}

func (a *api) removeMember(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := a.account.RemoveMember(r.Context(), c.user, r.PathValue("userId"), c.actor); err != nil {
		a.paymentError(w, r, err)
		return
	}
	noContent(w)
}

type inviteOut struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	CreatedAt string `json:"createdAt"`
	ExpiresAt string `json:"expiresAt"`
}

func invitationOut(t store.AccountToken) inviteOut {
	return inviteOut{ID: t.ID, Email: t.Email, Role: string(t.Role), CreatedAt: rfc3339(t.CreatedAt), ExpiresAt: rfc3339(t.ExpiresAt)}
}

// invite is POST /team/invites {"email","role"}: the link is mailed, never
// answered, so that only the mailbox's owner can accept.
func (a *api) invite(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Email, Role string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	t, err := a.account.Invite(r.Context(), c.user, in.Email, pay.Role(in.Role), c.actor)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, invitationOut(t))
}

func (a *api) listInvites(w http.ResponseWriter, r *http.Request, c *caller) {
	ts, err := a.account.Invites(r.Context(), c.user.MerchantID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]inviteOut, len(ts))
	for i, t := range ts {
		out[i] = invitationOut(t)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

type auditOut struct {
	ID    string `json:"id"`
	At    string `json:"at"`
	Actor struct {
		Type  string `json:"type"`
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"actor"`
	Action string `json:"action"`
	Target struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"target"`
	AppID   string          `json:"appId,omitempty"`
	IP      string          `json:"ip"`
	Changes json.RawMessage `json:"changes"`
}

// auditLogs is GET /audit-logs?appId&actor&action&cursor&limit, newest
// first. actor is a member's id or email (or a token's or key's id);
// action is exact ("apps.update") or a prefix ending in a dot ("apps.").
func (a *api) auditLogs(w http.ResponseWriter, r *http.Request, c *caller) {
	v := r.URL.Query()
	f := store.AuditFilter{MerchantID: c.user.MerchantID, ApplicationID: v.Get("appId"), Actor: v.Get("actor"), Action: v.Get("action"), Limit: 50}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			a.paymentError(w, r, invalid("invalid_limit", "limit must be from 1 to 100"))
			return
		}
		f.Limit = n
	}
	es, next, err := a.account.AuditPage(r.Context(), f, v.Get("cursor"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]auditOut, len(es))
	for i, e := range es {
		o := auditOut{ID: e.ID, At: rfc3339(e.At), Action: e.Action, AppID: e.ApplicationID, IP: e.IP, Changes: json.RawMessage(e.Changes)}
		o.Actor.Type, o.Actor.ID, o.Actor.Email = e.ActorType, e.ActorID, e.ActorEmail
		o.Target.Type, o.Target.ID = e.TargetType, e.TargetID
		out[i] = o
	}
	writeJSON(w, http.StatusOK, listOut(out, next))
}
