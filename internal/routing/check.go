package routing

import (
	"context"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/pay"
)

// checkReference is what a connection check asks the gateway for: a
// charge no gateway has, so the only way to answer is "no such charge"
// with the merchant's credentials accepted.
const checkReference = "sakk_connection_check_0000000000"

// checkTimeout bounds a connection check, retries included.
const checkTimeout = 10 * time.Second

// Check is the outcome of a connection check.
type Check struct {
	OK      bool          // the gateway answered and accepted the credentials
	Code    string        // why not, when not OK: the error's code
	Message string        // what the gateway said, safe to show the merchant
	Took    time.Duration // until the answer, or until giving up
}

// CheckConnection makes one harmless call with appID's env credentials
// for name: it reads a charge that does not exist. The gateway's "no
// such charge" (or, from a fake that knows every id, a charge) proves
// the address, the network and the credentials; a refusal names the
// credentials; no answer is a network or gateway fault. Nothing is
// created or changed on the gateway. A gateway not set up for the
// environment is NotFound "gateway_not_found".
func (r *Registry) CheckConnection(ctx context.Context, appID string, env pay.Environment, name string) (Check, error) {
	creds, err := r.credentials(ctx, appID, env)
	if err != nil {
		return Check{}, err
	}
	for _, c := range creds {
		if c.Gateway != name {
			continue
		}
		conn, err := r.build(c)
		if err != nil {
			return Check{}, err
		}
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		start := time.Now()
		_, err = conn.Fetch(ctx, gateway.FetchRequest{Reference: checkReference})
		ch := Check{Took: time.Since(start)}
		if err == nil || pay.KindOf(err) == pay.NotFound {
			ch.OK = true
		} else {
			ch.Code, ch.Message = pay.CodeOf(err), pay.MessageOf(err)
		}
		return ch, nil
	}
	return Check{}, pay.Errorf(pay.NotFound, "gateway_not_found", "%s is not set up for this application's %s environment", name, env)
}
