package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// profileRoutes are a member's own: every role has them, since each
// concerns only the person signed in.
func (h *Handler) profileRoutes() []route {
	me := Prefix + "/profile"
	return []route{
		{"GET " + me, pay.ReadMoney, false, h.profilePage},
		{"POST " + me, pay.ReadMoney, false, h.rename},
		{"POST " + me + "/password", pay.ReadMoney, false, h.changePassword},
		{"POST " + me + "/2fa/setup", pay.ReadMoney, false, h.setupTwoFactor},
		{"POST " + me + "/2fa/enable", pay.ReadMoney, false, h.enableTwoFactor},
		{"POST " + me + "/2fa/disable", pay.ReadMoney, false, h.disableTwoFactor},
		{"POST " + me + "/tokens", pay.ReadMoney, false, h.createToken},
		{"POST " + me + "/tokens/{tokenId}/revoke", pay.ReadMoney, false, h.revokeToken},
	}
}

type profileData struct {
	Tokens    []tokenRow
	Lifetimes []int
	Setup     *twoFactorSetup // two-factor being set up: scan, then confirm
	Secrets   []oneTime       // a new token or backup codes, shown this once
}

type tokenRow struct {
	store.AccessToken
	Active bool
}

type twoFactorSetup struct {
	Secret string
	QR     *qrCode
}

// tokenLifetimes are the expiries the token form offers, in days; 0 is
// never.
var tokenLifetimes = []int{30, 90, 365, 0}

func (h *Handler) profilePage(w http.ResponseWriter, r *http.Request, p *page) {
	h.showProfile(w, r, p, http.StatusOK, profileData{})
}

func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request, p *page, status int, d profileData) {
	ts, err := h.d.Account.Tokens(r.Context(), p.User)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := h.d.Now()
	d.Lifetimes = tokenLifetimes
	for _, t := range ts {
		d.Tokens = append(d.Tokens, tokenRow{AccessToken: t, Active: t.ActiveAt(now)})
	}
	p.Title, p.Nav, p.Data = p.T("nav_profile"), "profile", d
	h.render(w, r, status, "profile", p)
}

// profileWrite runs one change of the member's own and shows the profile
// again, with its notice or the rule it broke.
func (h *Handler) profileWrite(w http.ResponseWriter, r *http.Request, p *page, notice string, change func(*profileData) error) {
	var d profileData
	if err := change(&d); err != nil {
		switch pay.KindOf(err) {
		case pay.Invalid, pay.Conflict:
			p.Error = pay.MessageOf(err)
			h.showProfile(w, r, p, statusOf(err), profileData{})
		default:
			h.fail(w, r, p, err)
		}
		return
	}
	p.Notice = notice
	h.showProfile(w, r, p, http.StatusOK, d)
}

func (h *Handler) rename(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	h.profileWrite(w, r, p, p.T("profile_saved"), func(*profileData) (err error) {
		p.User, err = h.d.Account.Rename(r.Context(), p.User, formValue(r, "name"), actor(r, p.User))
		return err
	})
}

// changePassword ends every session of the member, this one too, as a
// reset does: the browser signs in again with the new password.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	err := h.d.Account.ChangePassword(r.Context(), p.User, formValue(r, "current"), formValue(r, "password"))
	if err != nil {
		h.profileWrite(w, r, p, "", func(*profileData) error { return err })
		return
	}
	h.forgetSession(w)
	http.Redirect(w, r, Prefix+"/login?changed=1", http.StatusSeeOther)
}

// setupTwoFactor shows a new authenticator secret as a QR code and as
// text, to be confirmed with a code before it takes effect.
func (h *Handler) setupTwoFactor(w http.ResponseWriter, r *http.Request, p *page) {
	h.profileWrite(w, r, p, "", func(d *profileData) error {
		s, err := h.d.Account.SetupTwoFactor(r.Context(), p.User)
		if err != nil {
			return err
		}
		qr, err := newQRCode(s.OTPAuthURL, p.T("two_factor_qr"))
		if err != nil {
			return err
		}
		d.Setup = &twoFactorSetup{Secret: s.Secret, QR: qr}
		return nil
	})
}

func (h *Handler) enableTwoFactor(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	h.profileWrite(w, r, p, p.T("two_factor_on"), func(d *profileData) error {
		codes, err := h.d.Account.EnableTwoFactor(r.Context(), p.User, formValue(r, "code"), actor(r, p.User))
		if err != nil {
			return err
		}
		p.User.TOTPEnabled = true
		for _, c := range codes {
			d.Secrets = append(d.Secrets, oneTime{Label: p.T("backup_code"), Value: c})
		}
		return nil
	})
}

func (h *Handler) disableTwoFactor(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	h.profileWrite(w, r, p, p.T("two_factor_off"), func(*profileData) error {
		if err := h.d.Account.DisableTwoFactor(r.Context(), p.User, formValue(r, "code"), actor(r, p.User)); err != nil {
			return err
		}
		p.User.TOTPEnabled = false
		return nil
	})
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	days, err := strconv.Atoi(formValue(r, "days"))
	if err != nil || days < 0 || days > 3650 {
		days = tokenLifetimes[0]
	}
	h.profileWrite(w, r, p, p.T("token_created"), func(d *profileData) error {
		t, err := h.d.Account.CreateToken(r.Context(), p.User, formValue(r, "name"), time.Duration(days)*24*time.Hour, actor(r, p.User))
		if err != nil {
			return err
		}
		d.Secrets = []oneTime{{Label: t.Token.Name, Value: t.Text}}
		return nil
	})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, p *page) {
	h.profileWrite(w, r, p, p.T("token_revoked"), func(*profileData) error {
		return h.d.Account.RevokeToken(r.Context(), p.User, r.PathValue("tokenId"), actor(r, p.User))
	})
}

// forgetSession clears the session cookie in the browser.
func (h *Handler) forgetSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure})
}
