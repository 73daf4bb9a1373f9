package account

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// Actor is who made a change: a signed-in user, a personal access token
// (acting as its user), an application's secret key, or the CLI.
type Actor struct {
	Type  string // "user", "token", "key" or "cli"
	ID    string // the user's, token's or key's id; "" for the CLI
	Email string // the user's, for user and token actors
	IP    string // client address; "" for the CLI
}

// CLI is the actor of the admin commands.
var CLI = Actor{Type: "cli"}

// Changes are the fields a write changed: {field: [old, new]}. A secret
// never goes in: where one changed, say so with a placeholder.
type Changes map[string][2]any

// Entry is one audit record to write.
type Entry struct {
	MerchantID    string
	ApplicationID string
	Action        string // resource.verb, e.g. "apps.update"
	TargetType    string
	TargetID      string
	Changes       Changes
}

func record(ctx context.Context, tx *store.Tx, by Actor, e Entry, now time.Time) error {
	changes := []byte("{}")
	if len(e.Changes) > 0 {
		var err error
		if changes, err = json.Marshal(e.Changes); err != nil {
			return fmt.Errorf("account: audit changes: %w", err)
		}
	}
	return tx.AddAuditEntry(ctx, store.AuditEntry{
		ID: pay.NewID(pay.PrefixAuditEntry), MerchantID: e.MerchantID, ApplicationID: e.ApplicationID, At: now,
		ActorType: by.Type, ActorID: by.ID, ActorEmail: by.Email, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, IP: by.IP, Changes: string(changes),
	})
}

// RecordNow writes one audit entry in a transaction of its own, for a
// change made through a service that commits by itself: written after
// that change commits, so a crash between the two can lose the entry,
// never invent one.
func (s *Service) RecordNow(ctx context.Context, by Actor, e Entry) error {
	err := s.store.WithTx(ctx, func(tx *store.Tx) error { return record(ctx, tx, by, e, s.now().UTC()) })
	if err != nil {
		return fmt.Errorf("account: audit: %w", err)
	}
	return nil
}

// AuditPage lists one page of a merchant's audit entries, newest first:
// f's filters, at most f.Limit entries, after cursor ("" for the first
// page). next is the following page's cursor, "" on the last.
func (s *Service) AuditPage(ctx context.Context, f store.AuditFilter, cursor string) (es []store.AuditEntry, next string, err error) {
	if cursor != "" {
		at, id, ok := strings.Cut(cursor, ".")
		us, err := strconv.ParseInt(at, 36, 64)
		if !ok || err != nil || id == "" || len(cursor) > 200 {
			return nil, "", pay.Errorf(pay.Invalid, "invalid_cursor", "cursor is not one this API gave")
		}
		f.Before, f.BeforeID = time.UnixMicro(us).UTC(), id
	}
	want := f.Limit
	f.Limit++ // one more tells whether another page follows
	es, err = s.store.AuditEntries(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("account: audit entries: %w", err)
	}
	if len(es) > want {
		es = es[:want]
		last := es[len(es)-1]
		next = strconv.FormatInt(last.At.UnixMicro(), 36) + "." + last.ID
	}
	return es, next, nil
}
