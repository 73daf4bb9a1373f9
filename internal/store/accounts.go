package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

const userColumns = `u.id, u.merchant_id, u.email, u.name, u.role, u.password_hash, u.totp_secret, u.totp_enabled,
	u.totp_last_step, u.created_at, u.updated_at`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (pay.User, error) {
	var u pay.User
	var role string
	var created, updated int64
	dst := append([]any{&u.ID, &u.MerchantID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.TOTPSealed, &u.TOTPEnabled,
		&u.TOTPLastStep, &created, &updated}, extra...)
	if err := row.Scan(dst...); err != nil {
		return u, err
	}
	u.Role, u.CreatedAt, u.UpdatedAt = pay.Role(role), fromDB(created), fromDB(updated)
	return u, nil
}

// CreateUser inserts a user; an email already taken is a Conflict.
func (tx *Tx) CreateUser(ctx context.Context, u pay.User) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO users (id, merchant_id, email, name, role, password_hash, totp_secret, totp_enabled, totp_last_step, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, '', FALSE, 0, $7, $7)`,
		u.ID, u.MerchantID, u.Email, u.Name, string(u.Role), u.PasswordHash, toDB(u.CreatedAt))
	return wrap("create user", err)
}

func user(ctx context.Context, q querier, where string, arg any) (pay.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFound("user")
	}
	return u, wrap("user", err)
}

// UserByEmail finds a user by lower-case email.
func (s *Store) UserByEmail(ctx context.Context, email string) (pay.User, error) {
	return user(ctx, s.r, "u.email = $1", email)
}

// User reads one user.
func (s *Store) User(ctx context.Context, id string) (pay.User, error) {
	return user(ctx, s.r, "u.id = $1", id)
}

// Users lists a merchant's members, oldest first.
func (s *Store) Users(ctx context.Context, merchantID string) ([]pay.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.merchant_id = $1 ORDER BY u.created_at, u.id`, merchantID)
	return collect(rows, err, "users", func(rows *sql.Rows) (pay.User, error) { return scanUser(rows) })
}

// CountOwners counts a merchant's owners, so the last one cannot leave.
func (tx *Tx) CountOwners(ctx context.Context, merchantID string) (int, error) {
	var n int
	err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE merchant_id = $1 AND role = 'owner'`, merchantID).Scan(&n)
	return n, wrap("count owners", err)
}

func (tx *Tx) updateUser(ctx context.Context, op, set, id string, now time.Time, args ...any) error {
	args = append(args, toDB(now), id)
	n := len(args)
	res, err := tx.q.ExecContext(ctx, `UPDATE users SET `+set+`, updated_at = $`+strconv.Itoa(n-1)+` WHERE id = $`+strconv.Itoa(n), args...)
	if err != nil {
		return wrap(op, err)
	}
	if k, err := res.RowsAffected(); err != nil || k == 0 {
		return errors.Join(wrap(op, err), notFound("user"))
	}
	return nil
}

// SetUserRole changes a member's role.
func (tx *Tx) SetUserRole(ctx context.Context, id string, role pay.Role, now time.Time) error {
	return tx.updateUser(ctx, "set user role", "role = $1", id, now, string(role))
}

// SetUserName changes a member's name.
func (tx *Tx) SetUserName(ctx context.Context, id, name string, now time.Time) error {
	return tx.updateUser(ctx, "set user name", "name = $1", id, now, name)
}

// SetUserPassword replaces a user's password hash.
func (tx *Tx) SetUserPassword(ctx context.Context, id, hash string, now time.Time) error {
	return tx.updateUser(ctx, "set user password", "password_hash = $1", id, now, hash)
}

// SetUserTOTP sets a user's (sealed) TOTP secret and whether two-factor is
// on; an empty secret with enabled false turns it off.
func (tx *Tx) SetUserTOTP(ctx context.Context, id, sealed string, enabled bool, now time.Time) error {
	return tx.updateUser(ctx, "set user totp", "totp_secret = $1, totp_enabled = $2, totp_last_step = 0", id, now, sealed, enabled)
}

// AdvanceTOTPStep records step as the last TOTP step used, only if it is
// later than the one recorded: false means the code was already used.
func (tx *Tx) AdvanceTOTPStep(ctx context.Context, id string, step int64) (bool, error) {
	res, err := tx.q.ExecContext(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, id)
	if err != nil {
		return false, wrap("advance totp step", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("advance totp step", err)
}

// DeleteUser removes a member with every credential: sessions, tokens and
// backup codes. The audit log keeps the email its entries were made by.
func (tx *Tx) DeleteUser(ctx context.Context, id string) error {
	for _, q := range []string{
		`DELETE FROM login_sessions WHERE user_id = $1`,
		`DELETE FROM access_tokens WHERE user_id = $1`,
		`DELETE FROM backup_codes WHERE user_id = $1`,
		`DELETE FROM users WHERE id = $1`,
	} {
		if _, err := tx.q.ExecContext(ctx, q, id); err != nil {
			return wrap("delete user", err)
		}
	}
	return nil
}

// LoginSession is one signed-in browser.
type LoginSession struct {
	Hash       string // SHA-256 of the cookie's value
	UserID     string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	RevokedAt  time.Time // zero while not revoked
}

// CreateLoginSession stores a new session.
func (tx *Tx) CreateLoginSession(ctx context.Context, ls LoginSession) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO login_sessions (hash, user_id, ip, user_agent, created_at, last_seen_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $5, $6)`,
		ls.Hash, ls.UserID, ls.IP, ls.UserAgent, toDB(ls.CreatedAt), toDB(ls.ExpiresAt))
	return wrap("create login session", err)
}

// LoginSessionUser reads a session and its user.
func (s *Store) LoginSessionUser(ctx context.Context, hash string) (LoginSession, pay.User, error) {
	var ls LoginSession
	var created, seen, expires int64
	var revoked sql.NullInt64
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+`, ls.hash, ls.ip, ls.user_agent, ls.created_at, ls.last_seen_at, ls.expires_at, ls.revoked_at
		 FROM login_sessions ls JOIN users u ON u.id = ls.user_id WHERE ls.hash = $1`, hash),
		&ls.Hash, &ls.IP, &ls.UserAgent, &created, &seen, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return ls, u, notFound("session")
	}
	ls.UserID, ls.CreatedAt, ls.LastSeenAt, ls.ExpiresAt, ls.RevokedAt = u.ID, fromDB(created), fromDB(seen), fromDB(expires), fromNullTime(revoked)
	return ls, u, wrap("login session", err)
}

// TouchLoginSession moves a session's last use to now.
func (tx *Tx) TouchLoginSession(ctx context.Context, hash string, now time.Time) error {
	_, err := tx.q.ExecContext(ctx, `UPDATE login_sessions SET last_seen_at = $1 WHERE hash = $2`, toDB(now), hash)
	return wrap("touch login session", err)
}

// RevokeLoginSession ends one session.
func (tx *Tx) RevokeLoginSession(ctx context.Context, hash string, now time.Time) error {
	_, err := tx.q.ExecContext(ctx, `UPDATE login_sessions SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL`, toDB(now), hash)
	return wrap("revoke login session", err)
}

// RevokeUserSessions ends every session of a user (a new password, a
// removed member).
func (tx *Tx) RevokeUserSessions(ctx context.Context, userID string, now time.Time) error {
	_, err := tx.q.ExecContext(ctx, `UPDATE login_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, toDB(now), userID)
	return wrap("revoke user sessions", err)
}

// AccessToken is a personal access token, stored as the SHA-256 of its text.
type AccessToken struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string // the visible start of the token
	Hash       string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time
	LastUsedAt time.Time
}

// ActiveAt reports whether the token works at now.
func (t AccessToken) ActiveAt(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

const accessTokenColumns = `t.id, t.user_id, t.name, t.prefix, t.hash, t.created_at, t.expires_at, t.revoked_at, t.last_used_at`

func accessTokenDst(t *AccessToken, created *int64, expires, revoked, used *sql.NullInt64) []any {
	return []any{&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, created, expires, revoked, used}
}

func (t *AccessToken) fill(created int64, expires, revoked, used sql.NullInt64) {
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromDB(created), fromNullTime(expires), fromNullTime(revoked), fromNullTime(used)
}

// CreateAccessToken stores a token.
func (tx *Tx) CreateAccessToken(ctx context.Context, t AccessToken) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO access_tokens (id, user_id, name, prefix, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.UserID, t.Name, t.Prefix, t.Hash, toDB(t.CreatedAt), nullTime(t.ExpiresAt))
	return wrap("create access token", err)
}

// AccessTokenUser reads a token by hash, with its user.
func (s *Store) AccessTokenUser(ctx context.Context, hash string) (AccessToken, pay.User, error) {
	var t AccessToken
	var created int64
	var expires, revoked, used sql.NullInt64
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+`, `+accessTokenColumns+` FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash),
		accessTokenDst(&t, &created, &expires, &revoked, &used)...)
	if errors.Is(err, sql.ErrNoRows) {
		return t, u, notFound("access token")
	}
	t.fill(created, expires, revoked, used)
	return t, u, wrap("access token", err)
}

// AccessTokens lists a user's tokens, newest first.
func (s *Store) AccessTokens(ctx context.Context, userID string) ([]AccessToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+accessTokenColumns+` FROM access_tokens t WHERE t.user_id = $1 ORDER BY t.created_at DESC, t.id DESC`, userID)
	return collect(rows, err, "access tokens", func(rows *sql.Rows) (AccessToken, error) {
		var t AccessToken
		var created int64
		var expires, revoked, used sql.NullInt64
		err := rows.Scan(accessTokenDst(&t, &created, &expires, &revoked, &used)...)
		t.fill(created, expires, revoked, used)
		return t, err
	})
}

// RevokeAccessToken revokes one of a user's tokens; another user's is
// NotFound.
func (tx *Tx) RevokeAccessToken(ctx context.Context, userID, id string, now time.Time) error {
	res, err := tx.q.ExecContext(ctx, `UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3`, toDB(now), id, userID)
	if err != nil {
		return wrap("revoke access token", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("revoke access token", err), notFound("access token"))
	}
	return nil
}

// TouchAccessToken records a token's last use.
func (tx *Tx) TouchAccessToken(ctx context.Context, id string, now time.Time) error {
	_, err := tx.q.ExecContext(ctx, `UPDATE access_tokens SET last_used_at = $1 WHERE id = $2`, toDB(now), id)
	return wrap("touch access token", err)
}

// ReplaceBackupCodes makes hashes a user's only backup codes.
func (tx *Tx) ReplaceBackupCodes(ctx context.Context, userID string, hashes []string) error {
	if _, err := tx.q.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
		return wrap("replace backup codes", err)
	}
	for _, h := range hashes {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO backup_codes (user_id, hash) VALUES ($1, $2)`, userID, h); err != nil {
			return wrap("replace backup codes", err)
		}
	}
	return nil
}

// UseBackupCode spends one unused backup code: false when there is none
// with that hash (never issued, or used already).
func (tx *Tx) UseBackupCode(ctx context.Context, userID, hash string, now time.Time) (bool, error) {
	res, err := tx.q.ExecContext(ctx, `UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`,
		toDB(now), userID, hash)
	if err != nil {
		return false, wrap("use backup code", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("use backup code", err)
}

// AccountToken is a mailed single-use token: an invite or a password reset.
type AccountToken struct {
	Hash       string
	ID         string
	Purpose    string // "invite" or "reset"
	MerchantID string
	UserID     string // reset: whose password
	Email      string
	Role       pay.Role // invite: the role offered
	CreatedBy  string   // invite: the user who sent it
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time
}

const accountTokenColumns = `hash, id, purpose, merchant_id, user_id, email, role, created_by, created_at, expires_at, used_at`

func scanAccountToken(row interface{ Scan(...any) error }) (AccountToken, error) {
	var t AccountToken
	var role string
	var created, expires int64
	var used sql.NullInt64
	err := row.Scan(&t.Hash, &t.ID, &t.Purpose, &t.MerchantID, &t.UserID, &t.Email, &role, &t.CreatedBy, &created, &expires, &used)
	t.Role, t.CreatedAt, t.ExpiresAt, t.UsedAt = pay.Role(role), fromDB(created), fromDB(expires), fromNullTime(used)
	return t, err
}

// CreateAccountToken stores a token.
func (tx *Tx) CreateAccountToken(ctx context.Context, t AccountToken) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO account_tokens (`+accountTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)`,
		t.Hash, t.ID, t.Purpose, t.MerchantID, t.UserID, t.Email, string(t.Role), t.CreatedBy, toDB(t.CreatedAt), toDB(t.ExpiresAt))
	return wrap("create account token", err)
}

// UseAccountToken spends a token of the purpose: NotFound when it does
// not exist, was used, or expired (the three must look alike).
func (tx *Tx) UseAccountToken(ctx context.Context, hash, purpose string, now time.Time) (AccountToken, error) {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE account_tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1`,
		toDB(now), hash, purpose)
	if err != nil {
		return AccountToken{}, wrap("use account token", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return AccountToken{}, errors.Join(wrap("use account token", err), notFound("token"))
	}
	t, err := scanAccountToken(tx.q.QueryRowContext(ctx, `SELECT `+accountTokenColumns+` FROM account_tokens WHERE hash = $1`, hash))
	return t, wrap("use account token", err)
}

// PendingInvites lists a merchant's invites not yet accepted nor expired.
func (s *Store) PendingInvites(ctx context.Context, merchantID string, now time.Time) ([]AccountToken, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+accountTokenColumns+` FROM account_tokens
		 WHERE merchant_id = $1 AND purpose = 'invite' AND used_at IS NULL AND expires_at > $2 ORDER BY created_at DESC`,
		merchantID, toDB(now))
	return collect(rows, err, "pending invites", func(rows *sql.Rows) (AccountToken, error) { return scanAccountToken(rows) })
}

// RecordLoginFailure counts one failed sign-in under each key, and drops
// failures older than before, which no window reaches any more.
func (tx *Tx) RecordLoginFailure(ctx context.Context, keys []string, at, before time.Time) error {
	for _, k := range keys {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $2)`, k, toDB(at)); err != nil {
			return wrap("record login failure", err)
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1 AND at < $2`, k, toDB(before)); err != nil {
			return wrap("record login failure", err)
		}
	}
	return nil
}

// LoginFailures counts the failures under key since since.
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2`, key, toDB(since)).Scan(&n)
	return n, wrap("login failures", err)
}

// ClearLoginFailures forgets the failures under key (a successful sign-in).
func (tx *Tx) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := tx.q.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key)
	return wrap("clear login failures", err)
}
