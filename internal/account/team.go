package account

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// How long mailed links work: an invite waits a week for someone to get
// to it; a password reset must be used soon after it is asked for.
const (
	InviteLifetime = 7 * 24 * time.Hour
	ResetLifetime  = time.Hour
)

const (
	purposeInvite = "invite"
	purposeReset  = "reset"
)

// Members lists a merchant's team, oldest first.
func (s *Service) Members(ctx context.Context, merchantID string) ([]pay.User, error) {
	us, err := s.store.Users(ctx, merchantID)
	if err != nil {
		return nil, fmt.Errorf("account: members: %w", err)
	}
	return us, nil
}

// Member reads one member of a merchant; a user of another merchant is
// as unknown as one that does not exist.
func (s *Service) Member(ctx context.Context, merchantID, userID string) (pay.User, error) {
	u, err := s.store.User(ctx, userID)
	if pay.KindOf(err) == pay.NotFound || err == nil && u.MerchantID != merchantID {
		return pay.User{}, memberNotFound(userID)
	}
	if err != nil {
		return pay.User{}, fmt.Errorf("account: member: %w", err)
	}
	return u, nil
}

func memberNotFound(id string) error {
	return pay.Errorf(pay.NotFound, "member_not_found", "no team member %q", id)
}

// mayManage says whether actor (a member with the team permission) may
// change target's membership, or give it role: only an owner touches
// owners, and the last owner may not go.
func mayManage(actor, target pay.User, role pay.Role) error {
	if (target.Role == pay.Owner || role == pay.Owner) && actor.Role != pay.Owner {
		return pay.Errorf(pay.Forbidden, "forbidden", "only an owner can change an owner's membership or make an owner")
	}
	return nil
}

func lastOwner(ctx context.Context, tx *store.Tx, target pay.User) error {
	if target.Role != pay.Owner {
		return nil
	}
	n, err := tx.CountOwners(ctx, target.MerchantID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return pay.Errorf(pay.Conflict, "last_owner", "a merchant keeps at least one owner: make someone else owner first")
	}
	return nil
}

// SetRole changes a member's role.
func (s *Service) SetRole(ctx context.Context, actor pay.User, userID string, role pay.Role, by Actor) (pay.User, error) {
	if !role.Valid() {
		return pay.User{}, pay.Errorf(pay.Invalid, "invalid_role", "role must be one of owner, admin, developer, support, viewer, not %q", role)
	}
	target, err := s.Member(ctx, actor.MerchantID, userID)
	if err != nil {
		return pay.User{}, err
	}
	if err := mayManage(actor, target, role); err != nil {
		return pay.User{}, err
	}
	if target.Role == role {
		return target, nil
	}
	now := s.now().UTC()
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if role != pay.Owner {
			if err := lastOwner(ctx, tx, target); err != nil {
				return err
			}
		}
		if err := tx.SetUserRole(ctx, target.ID, role, now); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: target.MerchantID, Action: "team.update", TargetType: "user", TargetID: target.ID,
			Changes: Changes{"role": {string(target.Role), string(role)}}}, now)
	})
	if err != nil {
		return pay.User{}, fmt.Errorf("account: set role: %w", err)
	}
	target.Role, target.UpdatedAt = role, now
	return target, nil
}

// RemoveMember removes a member and every credential of theirs.
func (s *Service) RemoveMember(ctx context.Context, actor pay.User, userID string, by Actor) error {
	target, err := s.Member(ctx, actor.MerchantID, userID)
	if err != nil {
		return err
	}
	if err := mayManage(actor, target, target.Role); err != nil {
		return err
	}
	now := s.now().UTC()
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := lastOwner(ctx, tx, target); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, target.ID); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: target.MerchantID, Action: "team.remove", TargetType: "user", TargetID: target.ID,
			Changes: Changes{"email": {target.Email, nil}, "role": {string(target.Role), nil}}}, now)
	})
	if err != nil {
		return fmt.Errorf("account: remove member: %w", err)
	}
	return nil
}

// Invite mails email a link to join actor's merchant with role.
func (s *Service) Invite(ctx context.Context, actor pay.User, email string, role pay.Role, by Actor) (store.AccountToken, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return store.AccountToken{}, err
	}
	if !role.Valid() {
		return store.AccountToken{}, pay.Errorf(pay.Invalid, "invalid_role", "role must be one of owner, admin, developer, support, viewer, not %q", role)
	}
	if role == pay.Owner && actor.Role != pay.Owner {
		return store.AccountToken{}, pay.Errorf(pay.Forbidden, "forbidden", "only an owner can invite an owner")
	}
	if s.opts.Mailer == nil {
		return store.AccountToken{}, pay.Errorf(pay.Unavailable, "mail_unavailable", "invites go by mail, and this installation sends none: configure --smtp-host")
	}
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return store.AccountToken{}, pay.Errorf(pay.Conflict, "email_taken", "%s has a sakk account already", email)
	} else if pay.KindOf(err) != pay.NotFound {
		return store.AccountToken{}, fmt.Errorf("account: invite: %w", err)
	}
	m, err := s.store.Merchant(ctx, actor.MerchantID)
	if err != nil {
		return store.AccountToken{}, fmt.Errorf("account: invite: %w", err)
	}
	text := randomText(32)
	now := s.now().UTC()
	t := store.AccountToken{Hash: hashToken(text), ID: pay.NewID(pay.PrefixInvite), Purpose: purposeInvite, MerchantID: actor.MerchantID,
		Email: email, Role: role, CreatedBy: actor.ID, CreatedAt: now, ExpiresAt: now.Add(InviteLifetime)}
	link := s.opts.PublicURL + "/dashboard/invite?token=" + url.QueryEscape(text)
	// The mail goes first: an invite nobody received must not be stored
	// as sent. A mail sent whose invite then fails to store is a dead link.
	msg := otp.Message{To: email, Locale: "en",
		Subject: fmt.Sprintf("%s invites you to manage payments on sakk", m.Name),
		Text: fmt.Sprintf("%s (%s) invites you to join %s on sakk as %s.\n\nAccept within 7 days:\n%s\n\n"+
			"If you did not expect this, ignore this message.\n", actor.Name, actor.Email, m.Name, role, link)}
	if err := s.opts.Mailer.Send(ctx, msg); err != nil {
		return store.AccountToken{}, pay.Errorf(pay.Unavailable, "mail_failed", "the invite could not be mailed; try again")
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccountToken(ctx, t); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: actor.MerchantID, Action: "team.invite", TargetType: "invite", TargetID: t.ID,
			Changes: Changes{"email": {nil, email}, "role": {nil, string(role)}}}, now)
	})
	if err != nil {
		return store.AccountToken{}, fmt.Errorf("account: invite: %w", err)
	}
	return t, nil
}

// Invites lists a merchant's pending invites.
func (s *Service) Invites(ctx context.Context, merchantID string) ([]store.AccountToken, error) {
	ts, err := s.store.PendingInvites(ctx, merchantID, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("account: invites: %w", err)
	}
	return ts, nil
}

var errBadLink = pay.Errorf(pay.Invalid, "invalid_token", "the link is invalid, expired or was used already: ask for a new one")

// AcceptInvite creates the invited user, with the name and password they
// choose; the invite works once.
func (s *Service) AcceptInvite(ctx context.Context, token, name, password string) (pay.User, error) {
	name, err := checkName(name)
	if err != nil {
		return pay.User{}, err
	}
	if len(password) > maxPassword {
		return pay.User{}, checkNewPassword(password, "")
	}
	now := s.now().UTC()
	var u pay.User
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		t, err := useLink(ctx, tx, token, purposeInvite, password, now)
		if err != nil {
			return err
		}
		u = pay.User{ID: pay.NewID(pay.PrefixUser), MerchantID: t.MerchantID, Email: t.Email, Name: name, Role: t.Role,
			PasswordHash: s.opts.Hashing.hashPassword(password), CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return record(ctx, tx, Actor{Type: "user", ID: u.ID, Email: u.Email}, Entry{MerchantID: u.MerchantID, Action: "team.join",
			TargetType: "user", TargetID: u.ID, Changes: Changes{"role": {nil, string(u.Role)}}}, now)
	})
	if pay.KindOf(err) == pay.Conflict {
		return pay.User{}, pay.Errorf(pay.Conflict, "email_taken", "this email has a sakk account already")
	}
	if err != nil {
		return pay.User{}, fmt.Errorf("account: accept invite: %w", err)
	}
	return u, nil
}

// useLink spends a mailed token of the purpose and checks the password
// chosen with it. A refused password rolls the transaction back, so a typo
// does not burn the link.
func useLink(ctx context.Context, tx *store.Tx, token, purpose, password string, now time.Time) (store.AccountToken, error) {
	t, err := tx.UseAccountToken(ctx, hashToken(token), purpose, now)
	if pay.KindOf(err) == pay.NotFound {
		return t, errBadLink
	}
	if err != nil {
		return t, err
	}
	return t, checkNewPassword(password, t.Email)
}

// ForgotPassword mails a reset link when email has an account. It says
// nothing either way, so nobody learns which emails have accounts.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	email, err := NormalizeEmail(email)
	if err != nil || s.opts.Mailer == nil {
		return nil
	}
	u, err := s.store.UserByEmail(ctx, email)
	if pay.KindOf(err) == pay.NotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: forgot password: %w", err)
	}
	text := randomText(32)
	now := s.now().UTC()
	t := store.AccountToken{Hash: hashToken(text), ID: pay.NewID(pay.PrefixInvite), Purpose: purposeReset, MerchantID: u.MerchantID,
		UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(ResetLifetime)}
	if err := s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateAccountToken(ctx, t) }); err != nil {
		return fmt.Errorf("account: forgot password: %w", err)
	}
	link := s.opts.PublicURL + "/dashboard/reset?token=" + url.QueryEscape(text)
	msg := otp.Message{To: u.Email, Locale: "en", Subject: "Reset your sakk password",
		Text: "Someone asked to reset the password of your sakk account.\n\nChoose a new one within an hour:\n" + link +
			"\n\nIf it was not you, ignore this message: your password stays as it is.\n"}
	if err := s.opts.Mailer.Send(ctx, msg); err != nil {
		return fmt.Errorf("account: forgot password: mail: %w", err)
	}
	return nil
}

// ResetPassword sets a new password with a mailed reset token, and ends
// every session of the user: whoever knew the old password is out.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	if len(password) > maxPassword {
		return checkNewPassword(password, "")
	}
	now := s.now().UTC()
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		t, err := useLink(ctx, tx, token, purposeReset, password, now)
		if err != nil {
			return err
		}
		return s.setPassword(ctx, tx, t.UserID, t.MerchantID, t.Email, password, now)
	})
	if err != nil {
		return fmt.Errorf("account: reset password: %w", err)
	}
	return nil
}

// ChangePassword replaces u's password, given the current one.
func (s *Service) ChangePassword(ctx context.Context, u pay.User, current, password string) error {
	if len(current) > maxPassword || !checkPassword(u.PasswordHash, current) {
		return pay.Errorf(pay.Invalid, "invalid_credentials", "the current password is wrong")
	}
	if err := checkNewPassword(password, u.Email); err != nil {
		return err
	}
	now := s.now().UTC()
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		return s.setPassword(ctx, tx, u.ID, u.MerchantID, u.Email, password, now)
	})
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	return nil
}

func (s *Service) setPassword(ctx context.Context, tx *store.Tx, userID, merchantID, email, password string, now time.Time) error {
	if err := tx.SetUserPassword(ctx, userID, s.opts.Hashing.hashPassword(password), now); err != nil {
		return err
	}
	if err := tx.RevokeUserSessions(ctx, userID, now); err != nil {
		return err
	}
	return record(ctx, tx, Actor{Type: "user", ID: userID, Email: email}, Entry{MerchantID: merchantID, Action: "users.password",
		TargetType: "user", TargetID: userID, Changes: Changes{"password": {"[hidden]", "[changed]"}}}, now)
}

// Rename changes u's own name.
func (s *Service) Rename(ctx context.Context, u pay.User, name string, by Actor) (pay.User, error) {
	name, err := checkName(name)
	if err != nil {
		return pay.User{}, err
	}
	now := s.now().UTC()
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserName(ctx, u.ID, name, now); err != nil {
			return err
		}
		return record(ctx, tx, by, Entry{MerchantID: u.MerchantID, Action: "users.update", TargetType: "user", TargetID: u.ID,
			Changes: Changes{"name": {u.Name, name}}}, now)
	})
	if err != nil {
		return pay.User{}, fmt.Errorf("account: rename: %w", err)
	}
	u.Name, u.UpdatedAt = name, now
	return u, nil
}
