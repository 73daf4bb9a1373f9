package merchant_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func limit(n int64) *int64 { return &n }

func TestCreatePaymentLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID
		mug, err := f.svc.AddProduct(ctx, merchant.NewProduct{
			ApplicationID: appID, StoreCode: "MUG-1", Title: "Mug", Price: money.New(5000, "MAD"), ImageURL: "https://img.example.com/mug.png",
		})
		if err != nil {
			t.Fatal(err)
		}
		expires := start.Add(48 * time.Hour)
		l, err := f.svc.CreatePaymentLink(ctx, merchant.NewPaymentLink{
			ApplicationID: appID, Environment: pay.Sandbox,
			Lines: []merchant.PaymentLinkLine{
				{StoreCode: "MUG-1", Quantity: 2},
				{Name: " Gift wrap ", UnitPrice: money.New(1050, "MAD"), Quantity: 1},
			},
			QuantityLimit: limit(3), ExpiresAt: expires,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := pay.PaymentLink{
			ID: l.ID, ApplicationID: appID, Environment: pay.Sandbox, Currency: "MAD",
			Items: []pay.Item{
				{Reference: "MUG-1", ProductID: mug.ID, Name: "Mug", UnitPrice: money.New(5000, "MAD"), Quantity: 2, ImageURL: "https://img.example.com/mug.png"},
				{Reference: "item-2", Name: "Gift wrap", UnitPrice: money.New(1050, "MAD"), Quantity: 1},
			},
			QuantityLimit: 3, ExpiresAt: expires, Active: true, CreatedAt: start, UpdatedAt: start,
		}
		if diff := cmp.Diff(want, l); diff != "" {
			t.Errorf("CreatePaymentLink returned (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(l.ID, pay.PrefixPaymentLink+"_") {
			t.Errorf("link id %q lacks prefix %s_", l.ID, pay.PrefixPaymentLink)
		}
		if total, ok := l.Total(); !ok || total != money.New(11050, "MAD") {
			t.Errorf("Total() = %v, %v; want 110.50 MAD", total, ok)
		}
		got, err := f.svc.PaymentLink(ctx, appID, pay.Sandbox, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored link (-want +got):\n%s", diff)
		}

		// No limit, no expiry: both read back as zero.
		open, err := f.svc.CreatePaymentLink(ctx, merchant.NewPaymentLink{
			ApplicationID: appID, Environment: pay.Sandbox, Currency: "MAD",
			Lines: []merchant.PaymentLinkLine{{Name: "Donation", Reference: "DON", UnitPrice: money.New(100, "MAD"), Quantity: 1}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.PaymentLink(ctx, appID, pay.Sandbox, open.ID); err != nil || got.QuantityLimit != 0 || !got.ExpiresAt.IsZero() || got.Items[0].Reference != "DON" {
			t.Errorf("link without limit or expiry read back as %+v, %v", got, err)
		}
	})
}

func TestCreatePaymentLinkRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID
		otherID := f.createApp(t, "Other", pay.Sandbox).Application.ID
		for _, p := range []merchant.NewProduct{
			{ApplicationID: appID, StoreCode: "MUG-1", Title: "Mug", Price: money.New(5000, "MAD")},
			{ApplicationID: appID, StoreCode: "EUR-1", Title: "Euro mug", Price: money.New(500, "EUR")},
			{ApplicationID: otherID, StoreCode: "THEIRS", Title: "Not yours", Price: money.New(500, "MAD")},
		} {
			if _, err := f.svc.AddProduct(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		inline := func(minor int64, cur money.Currency, qty int64) merchant.PaymentLinkLine {
			return merchant.PaymentLinkLine{Name: "Thing", UnitPrice: money.New(minor, cur), Quantity: qty}
		}
		ok := []merchant.PaymentLinkLine{inline(100, "MAD", 1)}
		for _, tc := range []struct {
			name string
			req  merchant.NewPaymentLink
			kind pay.Kind
			code string
		}{
			{"no items", merchant.NewPaymentLink{}, pay.Invalid, "invalid_items"},
			{"too many items", merchant.NewPaymentLink{Lines: make([]merchant.PaymentLinkLine, merchant.MaxPaymentLinkItems+1)}, pay.Invalid, "invalid_items"},
			{"unknown store code", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{{StoreCode: "NOPE", Quantity: 1}}}, pay.NotFound, "product_not_found"},
			{"another app's store code", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{{StoreCode: "THEIRS", Quantity: 1}}}, pay.NotFound, "product_not_found"},
			{"zero quantity", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{inline(100, "MAD", 0)}}, pay.Invalid, "invalid_items"},
			{"negative quantity", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{{StoreCode: "MUG-1", Quantity: -1}}}, pay.Invalid, "invalid_items"},
			{"quantity too large", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{inline(100, "MAD", merchant.MaxPaymentLinkQuantity+1)}}, pay.Invalid, "invalid_items"},
			{"zero price", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{inline(0, "MAD", 1)}}, pay.Invalid, "invalid_price"},
			{"negative price", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{inline(-100, "MAD", 1)}}, pay.Invalid, "invalid_price"},
			{"inline without name", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{{Name: " ", UnitPrice: money.New(100, "MAD"), Quantity: 1}}}, pay.Invalid, "invalid_items"},
			{"bad image URL", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{{Name: "Thing", UnitPrice: money.New(100, "MAD"), Quantity: 1, ImageURL: "javascript:alert(1)"}}}, pay.Invalid, "invalid_url"},
			{"mixed currencies", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{{StoreCode: "MUG-1", Quantity: 1}, {StoreCode: "EUR-1", Quantity: 1}}}, pay.Invalid, "invalid_currency"},
			{"line not in the link's currency", merchant.NewPaymentLink{Currency: "USD", Lines: ok}, pay.Invalid, "invalid_currency"},
			{"unknown currency", merchant.NewPaymentLink{Currency: "XYZ", Lines: []merchant.PaymentLinkLine{inline(100, "XYZ", 1)}}, pay.Invalid, "invalid_currency"},
			{"currency the app does not accept", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{{StoreCode: "EUR-1", Quantity: 1}}}, pay.Invalid, "invalid_currency"},
			{"total overflows", merchant.NewPaymentLink{Lines: []merchant.PaymentLinkLine{inline(1<<62, "MAD", 4)}}, pay.Invalid, "invalid_items"},
			{"zero limit", merchant.NewPaymentLink{Lines: ok, QuantityLimit: limit(0)}, pay.Invalid, "invalid_quantity_limit"},
			{"negative limit", merchant.NewPaymentLink{Lines: ok, QuantityLimit: limit(-1)}, pay.Invalid, "invalid_quantity_limit"},
			{"expiry now", merchant.NewPaymentLink{Lines: ok, ExpiresAt: start}, pay.Invalid, "invalid_expires_at"},
			{"expiry past", merchant.NewPaymentLink{Lines: ok, ExpiresAt: start.Add(-time.Minute)}, pay.Invalid, "invalid_expires_at"},
			{"bad environment", merchant.NewPaymentLink{Environment: "prod", Lines: ok}, pay.Invalid, "invalid_environment"},
			{"unknown application", merchant.NewPaymentLink{ApplicationID: "app_nope", Lines: ok}, pay.NotFound, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := tc.req
				if req.ApplicationID == "" {
					req.ApplicationID = appID
				}
				if req.Environment == "" {
					req.Environment = pay.Sandbox
				}
				_, err := f.svc.CreatePaymentLink(ctx, req)
				wantError(t, err, tc.kind, tc.code)
			})
		}
		if links, _, err := f.svc.PaymentLinks(ctx, appID, pay.Sandbox, "", 0); err != nil || len(links) != 0 {
			t.Errorf("after refusals, links = %v, %v; want none", links, err)
		}
	})
}

func TestPaymentLinksTenancyAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID
		otherID := f.createApp(t, "Other", pay.Sandbox).Application.ID
		newLink := func(app string, env pay.Environment) pay.PaymentLink {
			t.Helper()
			l, err := f.svc.CreatePaymentLink(ctx, merchant.NewPaymentLink{
				ApplicationID: app, Environment: env,
				Lines: []merchant.PaymentLinkLine{{Name: "Ticket", UnitPrice: money.New(2500, "MAD"), Quantity: 1}},
			})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		var ids []string // newest first, as listed
		for i := range 5 {
			// Two links share each instant, so the id breaks the tie.
			f.clock.Set(start.Add(time.Duration(i/2) * time.Second))
			ids = append([]string{newLink(appID, pay.Sandbox).ID}, ids...)
		}
		// ids is [4, 3, 2, 1, 0] by creation; 3 and 2, 1 and 0 share an
		// instant, so the larger id comes first.
		ids[1], ids[2] = max(ids[1], ids[2]), min(ids[1], ids[2])
		ids[3], ids[4] = max(ids[3], ids[4]), min(ids[3], ids[4])
		theirs := newLink(otherID, pay.Sandbox)
		live := newLink(appID, pay.Live)

		var listed []string
		cursor := ""
		for range 10 {
			page, next, err := f.svc.PaymentLinks(ctx, appID, pay.Sandbox, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				listed = append(listed, l.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff(ids, listed); diff != "" {
			t.Errorf("pages of 2 listed (-want +got):\n%s", diff)
		}
		if _, _, err := f.svc.PaymentLinks(ctx, appID, pay.Sandbox, theirs.ID, 2); pay.CodeOf(err) != "invalid_cursor" {
			t.Errorf("another app's link as cursor: %v, want invalid_cursor", err)
		}
		if _, _, err := f.svc.PaymentLinks(ctx, appID, pay.Sandbox, "", merchant.MaxPaymentLinksPage+1); pay.CodeOf(err) != "invalid_limit" {
			t.Errorf("limit too large: %v, want invalid_limit", err)
		}

		for _, id := range []string{theirs.ID, live.ID, "plink_unknown"} {
			_, err := f.svc.PaymentLink(ctx, appID, pay.Sandbox, id)
			wantError(t, err, pay.NotFound, pay.CodePaymentLinkNotFound)
			_, err = f.svc.SetPaymentLinkActive(ctx, appID, pay.Sandbox, id, false)
			wantError(t, err, pay.NotFound, pay.CodePaymentLinkNotFound)
		}
		if got, err := f.svc.PaymentLink(ctx, otherID, pay.Sandbox, theirs.ID); err != nil || !got.Active {
			t.Errorf("another app's refused deactivation changed its link: %+v, %v", got, err)
		}

		f.clock.Set(start.Add(time.Hour))
		off, err := f.svc.SetPaymentLinkActive(ctx, appID, pay.Sandbox, ids[0], false)
		if err != nil {
			t.Fatal(err)
		}
		if off.Active || !off.UpdatedAt.Equal(start.Add(time.Hour)) {
			t.Errorf("deactivated link %+v", off)
		}
		if err := off.Refusal(start.Add(time.Hour)); pay.CodeOf(err) != pay.CodePaymentLinkInactive {
			t.Errorf("deactivated link's refusal = %v", err)
		}
		on, err := f.svc.SetPaymentLinkActive(ctx, appID, pay.Sandbox, ids[0], true)
		if err != nil || !on.Active {
			t.Errorf("reactivated link %+v, %v", on, err)
		}
	})
}

func TestUpdatePaymentLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID
		otherID := f.createApp(t, "Other", pay.Sandbox).Application.ID
		l, err := f.svc.CreatePaymentLink(ctx, merchant.NewPaymentLink{ApplicationID: appID, Environment: pay.Sandbox,
			Lines: []merchant.PaymentLinkLine{{Name: "Tea", UnitPrice: money.New(1500, "MAD"), Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		off, end := false, start.Add(72*time.Hour+time.Nanosecond)
		f.clock.Set(start.Add(time.Hour))
		before, after, err := f.svc.UpdatePaymentLink(ctx, appID, pay.Sandbox, l.ID, merchant.PaymentLinkPatch{Active: &off, ExpiresAt: &end})
		if err != nil {
			t.Fatal(err)
		}
		if !before.Active || !before.ExpiresAt.IsZero() {
			t.Errorf("before: %+v", before)
		}
		if after.Active || !after.ExpiresAt.Equal(end.Truncate(time.Microsecond)) || !after.UpdatedAt.Equal(start.Add(time.Hour)) {
			t.Errorf("after: active %v, expires %v, updated %v", after.Active, after.ExpiresAt, after.UpdatedAt)
		}

		// The same patch again writes nothing: updated_at stays.
		f.clock.Set(start.Add(2 * time.Hour))
		if _, again, err := f.svc.UpdatePaymentLink(ctx, appID, pay.Sandbox, l.ID, merchant.PaymentLinkPatch{Active: &off, ExpiresAt: &end}); err != nil || !again.UpdatedAt.Equal(start.Add(time.Hour)) {
			t.Errorf("repeated patch: updated %v, %v", again.UpdatedAt, err)
		}
		never := time.Time{}
		if _, cleared, err := f.svc.UpdatePaymentLink(ctx, appID, pay.Sandbox, l.ID, merchant.PaymentLinkPatch{ExpiresAt: &never}); err != nil || !cleared.ExpiresAt.IsZero() || cleared.Active {
			t.Errorf("cleared expiry: %+v, %v", cleared, err)
		}

		past := start.Add(time.Hour)
		_, _, err = f.svc.UpdatePaymentLink(ctx, appID, pay.Sandbox, l.ID, merchant.PaymentLinkPatch{ExpiresAt: &past})
		wantError(t, err, pay.Invalid, "invalid_expires_at")
		for _, tt := range []struct {
			app string
			env pay.Environment
		}{{otherID, pay.Sandbox}, {appID, pay.Live}} {
			_, _, err = f.svc.UpdatePaymentLink(ctx, tt.app, tt.env, l.ID, merchant.PaymentLinkPatch{Active: &off})
			wantError(t, err, pay.NotFound, pay.CodePaymentLinkNotFound)
		}
	})
}
