package pay

import "testing"

func TestPartnerTransitions(t *testing.T) {
	all := []PartnerStatus{PartnerPending, PartnerApproved, PartnerCanceled, PartnerExpired, PartnerCompleted}
	allowed := map[[2]PartnerStatus]bool{
		{PartnerPending, PartnerApproved}:   true,
		{PartnerPending, PartnerCanceled}:   true,
		{PartnerPending, PartnerExpired}:    true,
		{PartnerApproved, PartnerCompleted}: true,
	}
	for _, from := range all {
		if !from.Valid() {
			t.Errorf("%s is not valid", from)
		}
		for _, to := range all {
			if got := from.CanBecome(to); got != allowed[[2]PartnerStatus{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
		}
		if from.CanBecome("REFUNDED") || PartnerStatus("REFUNDED").CanBecome(from) {
			t.Errorf("an unknown status moves from or to %s", from)
		}
	}
}
