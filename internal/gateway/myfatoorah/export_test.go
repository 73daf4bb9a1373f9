package myfatoorah

import "time"

// SetBackoff shortens the wait before retries, so that tests of retries do
// not sleep for seconds.
func SetBackoff(c *Connector, d time.Duration) { c.backoff = d }

// Verify checks a webhook signature by the v1 or v2 rule ("" tells the
// version from the body), as ParseWebhook does before anything else.
func Verify(secret, version string, body []byte, sig string) error {
	_, err := verify([]byte(secret), version, body, sig)
	return err
}
