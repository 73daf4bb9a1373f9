package merchant_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func TestUpdateAndDeleteProduct(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		appID := f.createApp(t, "Web", pay.Sandbox).Application.ID
		otherID := f.createApp(t, "Other", pay.Sandbox).Application.ID
		mug, err := f.svc.AddProduct(ctx, merchant.NewProduct{ApplicationID: appID, StoreCode: "MUG", Title: "Mug", Price: money.New(5000, "MAD")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddProduct(ctx, merchant.NewProduct{ApplicationID: appID, StoreCode: "CUP", Title: "Cup", Price: money.New(100, "MAD")}); err != nil {
			t.Fatal(err)
		}

		// A link made now keeps what it copied, whatever the product becomes.
		link, err := f.svc.CreatePaymentLink(ctx, merchant.NewPaymentLink{ApplicationID: appID, Environment: pay.Sandbox,
			Lines: []merchant.PaymentLinkLine{{StoreCode: "MUG", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}

		title, price, image := " Big mug ", money.New(7550, "MAD"), "https://img.example.com/mug.png"
		before, after, err := f.svc.UpdateProduct(ctx, appID, "MUG", merchant.ProductPatch{Title: &title, Price: &price, ImageURL: &image})
		if err != nil {
			t.Fatal(err)
		}
		want := mug
		want.Title, want.Price, want.ImageURL = "Big mug", price, image
		if diff := cmp.Diff(mug, before); diff != "" {
			t.Errorf("before (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, after); diff != "" {
			t.Errorf("after (-want +got):\n%s", diff)
		}
		if got, err := f.svc.Product(ctx, appID, "MUG"); err != nil || !cmp.Equal(want, got) {
			t.Errorf("Product = %+v, %v; want %+v", got, err, want)
		}

		// Each refused change leaves the product as it was.
		blank, zero, bad := " ", money.New(0, "MAD"), "javascript:alert(1)"
		for _, tt := range []struct {
			name  string
			patch merchant.ProductPatch
			code  string
		}{
			{"blank title", merchant.ProductPatch{Title: &blank}, "invalid_title"},
			{"zero price", merchant.ProductPatch{Price: &zero}, "invalid_price"},
			{"script image", merchant.ProductPatch{ImageURL: &bad}, "invalid_url"},
		} {
			_, _, err := f.svc.UpdateProduct(ctx, appID, "MUG", tt.patch)
			wantError(t, err, pay.Invalid, tt.code)
		}
		if got, _ := f.svc.Product(ctx, appID, "MUG"); !cmp.Equal(want, got) {
			t.Errorf("after refused changes: %+v, want %+v", got, want)
		}

		// Another application's product is unknown, to read, change or delete.
		_, err = f.svc.Product(ctx, otherID, "MUG")
		wantError(t, err, pay.NotFound, "product_not_found")
		_, _, err = f.svc.UpdateProduct(ctx, otherID, "MUG", merchant.ProductPatch{Title: &title})
		wantError(t, err, pay.NotFound, "product_not_found")
		_, err = f.svc.DeleteProduct(ctx, otherID, "MUG")
		wantError(t, err, pay.NotFound, "product_not_found")

		gone, err := f.svc.DeleteProduct(ctx, appID, "MUG")
		if err != nil || gone.ID != mug.ID {
			t.Fatalf("DeleteProduct = %+v, %v", gone, err)
		}
		_, err = f.svc.Product(ctx, appID, "MUG")
		wantError(t, err, pay.NotFound, "product_not_found")
		_, err = f.svc.DeleteProduct(ctx, appID, "MUG")
		wantError(t, err, pay.NotFound, "product_not_found")
		ps, err := f.svc.Products(ctx, appID)
		if err != nil || len(ps) != 1 || ps[0].StoreCode != "CUP" {
			t.Errorf("Products = %+v, %v; want CUP alone", ps, err)
		}
		got, err := f.svc.PaymentLink(ctx, appID, pay.Sandbox, link.ID)
		if err != nil {
			t.Fatal(err)
		}
		if it := got.Items[0]; it.Name != "Mug" || it.UnitPrice != money.New(5000, "MAD") || it.ProductID != mug.ID {
			t.Errorf("link's line after the product changed and went: %+v", it)
		}
	})
}
