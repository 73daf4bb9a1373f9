package pay

import (
	"slices"
	"time"
)

// ID prefixes of the merchant's own surface: its people and their
// credentials.
const (
	PrefixUser        = "usr"
	PrefixAccessToken = "pat"
	PrefixInvite      = "inv"
	PrefixAuditEntry  = "aud"
)

// Role is what a member of a merchant's team may do. Roles are not a
// ladder: a developer sets applications up but moves no money, support
// refunds but configures nothing.
type Role string

const (
	Owner     Role = "owner"     // everything, including other owners
	Admin     Role = "admin"     // everything but owners' memberships
	Developer Role = "developer" // applications, keys, domains, gateways, webhooks, products, links; reads money
	Support   Role = "support"   // reads money, creates refunds
	Viewer    Role = "viewer"    // reads
)

// Roles are every role, most powerful first.
var Roles = []Role{Owner, Admin, Developer, Support, Viewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission is one kind of management action a route needs.
type Permission string

const (
	ReadMoney  Permission = "read"      // read anything of the merchant's applications
	MoveMoney  Permission = "refund"    // move money back to a customer
	Configure  Permission = "configure" // change applications and what hangs off them
	ManageTeam Permission = "team"      // invite, change roles, remove members
	ReadAudit  Permission = "audit"     // read the audit log
)

// grants is the one table of who may do what.
var grants = map[Role][]Permission{
	Owner:     {ReadMoney, MoveMoney, Configure, ManageTeam, ReadAudit},
	Admin:     {ReadMoney, MoveMoney, Configure, ManageTeam, ReadAudit},
	Developer: {ReadMoney, Configure},
	Support:   {ReadMoney, MoveMoney},
	Viewer:    {ReadMoney},
}

// Can reports whether r grants p.
func (r Role) Can(p Permission) bool { return slices.Contains(grants[r], p) }

// User is a person who signs in to manage a merchant. Email is stored
// lower-case and unique across the installation: one person, one merchant.
type User struct {
	ID           string
	MerchantID   string
	Email        string
	Name         string
	Role         Role
	PasswordHash string // PHC string of argon2id; never leaves the account package's answers
	TOTPSealed   string // sealed TOTP secret; set while two-factor is being set up or on
	TOTPEnabled  bool
	TOTPLastStep int64 // the last accepted TOTP time step, so a code works once
	CreatedAt    time.Time
	UpdatedAt    time.Time
}
