package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

type teamData struct {
	Members []pay.User
	Invites []store.AccountToken
	Roles   []pay.Role
}

// teamPage lists the team and, for those who manage it, the forms to
// invite, change roles and remove; the account service applies its own
// rules (only an owner touches owners, the last owner stays).
func (h *Handler) teamPage(w http.ResponseWriter, r *http.Request, p *page) {
	h.showTeam(w, r, p, http.StatusOK)
}

func (h *Handler) showTeam(w http.ResponseWriter, r *http.Request, p *page, status int) {
	ms, err := h.d.Account.Members(r.Context(), p.User.MerchantID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := teamData{Members: ms, Roles: pay.Roles}
	if p.User.Role.Can(pay.ManageTeam) {
		if d.Invites, err = h.d.Account.Invites(r.Context(), p.User.MerchantID); err != nil {
			h.fail(w, r, p, err)
			return
		}
	}
	p.Title, p.Nav, p.Data = p.T("nav_team"), "team", d
	h.render(w, r, status, "team", p)
}

// teamWrite runs one team change from a form and shows the team again,
// with the change's notice or the rule it broke.
func (h *Handler) teamWrite(w http.ResponseWriter, r *http.Request, p *page, notice string, change func() error) {
	if err := change(); err != nil {
		switch pay.KindOf(err) {
		case pay.Invalid, pay.Conflict, pay.Forbidden, pay.NotFound, pay.Unavailable:
			p.Error = pay.MessageOf(err)
			h.showTeam(w, r, p, statusOf(err))
		default:
			h.fail(w, r, p, err)
		}
		return
	}
	p.Notice = notice
	h.showTeam(w, r, p, http.StatusOK)
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email, role := formValue(r, "email"), pay.Role(formValue(r, "role"))
	h.teamWrite(w, r, p, p.T("invite_sent", "email", email), func() error {
		_, err := h.d.Account.Invite(r.Context(), p.User, email, role, actor(r, p.User))
		return err
	})
}

func (h *Handler) setRole(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	h.teamWrite(w, r, p, p.T("role_changed"), func() error {
		_, err := h.d.Account.SetRole(r.Context(), p.User, r.PathValue("userId"), pay.Role(formValue(r, "role")), actor(r, p.User))
		return err
	})
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, p *page) {
	h.teamWrite(w, r, p, p.T("member_removed"), func() error {
		return h.d.Account.RemoveMember(r.Context(), p.User, r.PathValue("userId"), actor(r, p.User))
	})
}

type auditData struct {
	Query   url.Values
	Entries []auditRow
	NextURL string
}

type auditRow struct {
	store.AuditEntry
	Changes []change
}

type change struct{ Field, Old, New string }

// auditPage lists the merchant's audit log newest first, filtered by
// action (exact, or a prefix ending in ".") and actor, 50 a page.
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, p *page) {
	v := r.URL.Query()
	f := store.AuditFilter{MerchantID: p.User.MerchantID, Action: strings.TrimSpace(v.Get("action")), Actor: strings.TrimSpace(v.Get("actor")), Limit: 50}
	es, next, err := h.d.Account.AuditPage(r.Context(), f, v.Get("cursor"))
	if pay.KindOf(err) == pay.Invalid {
		p.Error, err = pay.MessageOf(err), nil
	}
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := auditData{Query: v}
	if next != "" {
		more := url.Values{}
		for k, vs := range v {
			more[k] = vs
		}
		more.Set("cursor", next)
		d.NextURL = Prefix + "/audit?" + more.Encode()
	}
	for _, e := range es {
		row := auditRow{AuditEntry: e}
		var ch map[string][2]any
		if json.Unmarshal([]byte(e.Changes), &ch) == nil {
			for k, v := range ch {
				row.Changes = append(row.Changes, change{Field: k, Old: shown(v[0]), New: shown(v[1])})
			}
		}
		d.Entries = append(d.Entries, row)
	}
	p.Title, p.Nav, p.Data = p.T("nav_audit"), "audit", d
	h.render(w, r, http.StatusOK, "audit", p)
}

// shown is a changed value as text; nil is a dash.
func shown(v any) string {
	if v == nil {
		return "—"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

type tokenData struct {
	Token string
	Email string
}

// invitePage is the mailed invite's link: the invited person chooses a
// name and password; accepting signs them in.
func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Data = p.T("invite_h"), tokenData{Token: r.URL.Query().Get("token")}
	h.render(w, r, http.StatusOK, "invite", p)
}

func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token, password := formValue(r, "token"), r.PostFormValue("password")
	u, err := h.d.Account.AcceptInvite(r.Context(), token, formValue(r, "name"), password)
	if err != nil {
		if k := pay.KindOf(err); k == pay.Invalid || k == pay.Conflict {
			p.Title, p.Error, p.Data = p.T("invite_h"), pay.MessageOf(err), tokenData{Token: token}
			h.render(w, r, statusOf(err), "invite", p)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	h.signIn(w, r, p, u.Email, password)
}

// signIn opens a session for someone who just chose their password.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, p *page, email, password string) {
	s, err := h.d.Account.Login(r.Context(), account.LoginRequest{Email: email, Password: password, IP: clientIP(r), UserAgent: r.UserAgent()}, "")
	if err != nil {
		http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.Cookie, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// resetPage is the mailed password reset's link.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Data = p.T("reset_h"), tokenData{Token: r.URL.Query().Get("token")}
	h.render(w, r, http.StatusOK, "reset", p)
}

func (h *Handler) resetSubmit(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := formValue(r, "token")
	if err := h.d.Account.ResetPassword(r.Context(), token, r.PostFormValue("password")); err != nil {
		if pay.KindOf(err) == pay.Invalid {
			p.Title, p.Error, p.Data = p.T("reset_h"), pay.MessageOf(err), tokenData{Token: token}
			h.render(w, r, http.StatusBadRequest, "reset", p)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, Prefix+"/login?reset=1", http.StatusSeeOther)
}

// forgotPage asks for an email and always answers the same, whether or
// not it has an account.
func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title = p.T("forgot_h")
	h.render(w, r, http.StatusOK, "forgot", p)
}

func (h *Handler) forgotSubmit(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := h.d.Account.ForgotPassword(r.Context(), formValue(r, "email")); err != nil {
		h.d.Logger.ErrorContext(r.Context(), "dashboard password reset mail", "err", err)
	}
	p.Title, p.Notice = p.T("forgot_h"), p.T("forgot_sent")
	h.render(w, r, http.StatusOK, "forgot", p)
}
