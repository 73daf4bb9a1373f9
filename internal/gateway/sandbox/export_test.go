package sandbox

// HeldCharges returns how many charges the simulator holds in memory: the
// conformance suite's count of charges made, and the bound's witness.
func (s *Simulator) HeldCharges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.charges)
}

// ChallengeURL exposes the link Charge makes, so that tests can make
// well-signed links to charges that never get one.
func (s *Simulator) ChallengeURL(ref, returnURL string) string {
	return s.challengeURL(ref, returnURL)
}
