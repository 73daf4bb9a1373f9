package paypal

import "time"

// SetBackoff shortens the wait before retries, so that tests of retries
// do not sleep for seconds.
func SetBackoff(c *Connector, d time.Duration) { c.backoff = d }
