package otp_test

import (
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
)

func TestNormalizeIdentifier(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".ma"
	if len(long) != 254 {
		t.Fatalf("test address is %d long, want 254", len(long))
	}
	for _, c := range []struct {
		ch   otp.Channel
		raw  string
		want string // "" means refused
	}{
		{otp.Email, "ali@shop.ma", "ali@shop.ma"},
		{otp.Email, "  Ali.Benali+Test@Shop.MA \t", "ali.benali+test@shop.ma"},
		{otp.Email, "o'brien_1@mail.co.uk", "o'brien_1@mail.co.uk"},
		{otp.Email, "user@xn--mnchen-3ya.de", "user@xn--mnchen-3ya.de"},
		{otp.Email, "\u212ali@shop.ma", ""}, // the Kelvin sign, which lower-cases to k
		{otp.Email, long, long},
		{otp.Email, "a" + long, ""},                           // 255 characters
		{otp.Email, strings.Repeat("a", 65) + "@shop.ma", ""}, // local part over 64
		{otp.Email, "", ""},
		{otp.Email, "ali.shop.ma", ""},           // no @
		{otp.Email, "ali@@shop.ma", ""},          // two @
		{otp.Email, "ali@shop@ma.ma", ""},        // two @
		{otp.Email, "ali@localhost", ""},         // no dot in the domain
		{otp.Email, "@shop.ma", ""},              // no local part
		{otp.Email, "ali@", ""},                  // no domain
		{otp.Email, "ali@.shop.ma", ""},          // empty label
		{otp.Email, "ali@shop..ma", ""},          // empty label
		{otp.Email, "ali@shop.ma.", ""},          // trailing dot
		{otp.Email, "ali@-shop.ma", ""},          // label starts with a hyphen
		{otp.Email, "ali@shop_x.ma", ""},         // underscore in a host name
		{otp.Email, ".ali@shop.ma", ""},          // leading dot
		{otp.Email, "ali..b@shop.ma", ""},        // two dots
		{otp.Email, "ali b@shop.ma", ""},         // inner space
		{otp.Email, `"ali"@shop.ma`, ""},         // quoted local part
		{otp.Email, "Ali <ali@shop.ma>", ""},     // display name
		{otp.Email, "ali@shop.ma\r\nBcc: x", ""}, // header injection
		{otp.Email, "alí@shop.ma", ""},           // non-ASCII local part
		{otp.Email, "ali@exämple.com", ""},       // non-ASCII domain (use xn--)

		{otp.Phone, "+212612345678", "+212612345678"},
		{otp.Phone, " +212 6 12-34-56-78 ", "+212612345678"},
		{otp.Phone, "+1 (415) 555-0100", "+14155550100"},
		{otp.Phone, "00212612345678", "+212612345678"},
		{otp.Phone, "+33.6.12.34.56.78", "+33612345678"},
		{otp.Phone, "+1234567", ""},                         // 7 digits
		{otp.Phone, "+12345678", "+12345678"},               // 8 digits
		{otp.Phone, "+123456789012345", "+123456789012345"}, // 15 digits
		{otp.Phone, "+1234567890123456", ""},                // 16 digits
		{otp.Phone, "0612345678", ""},                       // no country code
		{otp.Phone, "212612345678", ""},                     // no +
		{otp.Phone, "+0612345678", ""},                      // country code 0
		{otp.Phone, "+2126l2345678", ""},                    // a letter
		{otp.Phone, "++212612345678", ""},
		{otp.Phone, "+212 612 345 678 ext 9", ""},
		{otp.Phone, "+٢١٢٦١٢٣٤٥٦٧٨", ""}, // Arabic-Indic digits are not ASCII digits
		{otp.Phone, "", ""},

		{otp.Channel("fax"), "+212612345678", ""},
	} {
		got, err := otp.NormalizeIdentifier(c.ch, c.raw)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s %q: accepted as %q, want refused", c.ch, c.raw, got)
			} else if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != otp.CodeInvalidIdentifier {
				t.Errorf("%s %q: %v (kind %v, code %q), want Invalid %q", c.ch, c.raw, err, pay.KindOf(err), pay.CodeOf(err), otp.CodeInvalidIdentifier)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %q: %q, %v; want %q", c.ch, c.raw, got, err, c.want)
		}
	}
}

func TestIsTestIdentifier(t *testing.T) {
	for _, c := range []struct {
		ch   otp.Channel
		id   string
		want bool
	}{
		{otp.Email, "dev@example.com", true},
		{otp.Email, "dev@sub.example.com", false},
		{otp.Email, "dev@example.com.ma", false},
		{otp.Email, "dev@notexample.com", false},
		{otp.Email, "example.com@shop.ma", false},
		{otp.Phone, "+212600000000", true},
		{otp.Phone, "+2126000000123", true},
		{otp.Phone, "+212600000100", false},
		{otp.Phone, "+212612345678", false},
		{otp.Email, "+2126000000", false},
	} {
		if got := otp.IsTestIdentifier(c.ch, c.id); got != c.want {
			t.Errorf("IsTestIdentifier(%s, %q) = %v, want %v", c.ch, c.id, got, c.want)
		}
	}
}

// FuzzNormalizeIdentifier checks that no input panics, and that what is
// accepted is a fixed point (normalising twice changes nothing) in the
// documented alphabet.
func FuzzNormalizeIdentifier(f *testing.F) {
	for _, s := range []string{"ali@shop.ma", " A@B.CO ", "a@@b.c", "+212 6 12 34 56 78", "00212612345678", "(+1) 415", "\xff@\x00.ma", strings.Repeat("@", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, ch := range []otp.Channel{otp.Email, otp.Phone} {
			got, err := otp.NormalizeIdentifier(ch, raw)
			if err != nil {
				if pay.CodeOf(err) != otp.CodeInvalidIdentifier {
					t.Fatalf("%s %q: error %v without code %q", ch, raw, err, otp.CodeInvalidIdentifier)
				}
				continue
			}
			again, err := otp.NormalizeIdentifier(ch, got)
			if err != nil || again != got {
				t.Fatalf("%s %q -> %q -> %q, %v: not a fixed point", ch, raw, got, again, err)
			}
			for _, r := range got {
				if r <= ' ' || r > '~' || (ch == otp.Email && 'A' <= r && r <= 'Z') {
					t.Fatalf("%s %q -> %q holds %q", ch, raw, got, r)
				}
			}
		}
	})
}
