package stripe

import "time"

// SetBackoff shortens the wait before retries, so that tests of retries
// and of concurrent requests do not sleep for seconds.
func SetBackoff(c *Connector, d time.Duration) { c.backoff = d }
