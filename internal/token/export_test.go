package token

// PublishLead and MissReloadEvery are the ring's timings, for tests that
// step a clock through them.
const (
	PublishLead     = publishLead
	MissReloadEvery = missReloadEvery
)
