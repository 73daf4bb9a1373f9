package instalment

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

func TestSplitAddsUpExactly(t *testing.T) {
	start := time.Date(2026, 1, 31, 22, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		total money.Amount
		plan  Plan
		want  []int64
	}{
		{money.New(100000, "MAD"), Plan{4, 30}, []int64{25000, 25000, 25000, 25000}},
		{money.New(100001, "MAD"), Plan{4, 30}, []int64{25001, 25000, 25000, 25000}},
		{money.New(100003, "MAD"), Plan{4, 30}, []int64{25001, 25001, 25001, 25000}},
		{money.New(10, "KWD"), Plan{3, 14}, []int64{4, 3, 3}},
		{money.New(1, "JPY"), Plan{2, 7}, []int64{1, 0}},
		{money.New(179900, "MAD"), Plan{1, 30}, []int64{179900}},
		{money.New(1_000_000_007, "MAD"), Plan{24, 30}, nil},
	} {
		got, err := Split(c.total, start, c.plan)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.plan.Count {
			t.Fatalf("%v: %d instalments", c.total, len(got))
		}
		var sum int64
		for i, in := range got {
			sum += in.Amount.Minor
			if in.Amount.Currency != c.total.Currency || in.Number != i+1 {
				t.Errorf("%v #%d: %+v", c.total, i, in)
			}
			if c.want != nil && in.Amount.Minor != c.want[i] {
				t.Errorf("%v #%d = %d, want %d", c.total, i+1, in.Amount.Minor, c.want[i])
			}
			if i > 0 && in.Amount.Minor > got[i-1].Amount.Minor {
				t.Errorf("%v: a later instalment carries more than an earlier one", c.total)
			}
			wantDue := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i*c.plan.IntervalDays)
			if !in.Due.Equal(wantDue) {
				t.Errorf("%v #%d due %v, want %v", c.total, i+1, in.Due, wantDue)
			}
		}
		if sum != c.total.Minor {
			t.Errorf("%v: instalments add up to %d", c.total, sum)
		}
	}
}

func TestSplitRefusesBadPlans(t *testing.T) {
	for _, p := range []Plan{{0, 30}, {25, 30}, {4, 0}, {4, 366}, {-1, 30}} {
		if _, err := Split(money.New(100, "MAD"), time.Now(), p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if _, err := Split(money.New(-1, "MAD"), time.Now(), Plan{4, 30}); err == nil {
		t.Error("a negative total was split")
	}
}
