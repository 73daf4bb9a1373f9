package pay

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// Kind is the class of an error: what callers branch on, and what each
// HTTP surface turns into a status code (in one place per surface; the
// status each kind stands for is noted below). The zero Kind means "no
// error"; it is what KindOf returns for a nil error.
type Kind int

const (
	Invalid         Kind = iota + 1 // 400: the request is malformed or breaks a rule
	Unauthenticated                 // 401: no credential, or a wrong or expired one
	Forbidden                       // 403: the credential may not do this
	NotFound                        // 404: no such thing, or another tenant's (never say which)
	Conflict                        // 409: the thing's current state does not allow it
	RateLimited                     // 429: too many requests; try later
	Unavailable                     // 503: a dependency (gateway, database) is down; try later
	Internal                        // 500: a bug or an unclassified failure
)

// String returns a short lower-case name of k, for logs.
func (k Kind) String() string {
	switch k {
	case 0:
		return "none"
	case Invalid:
		return "invalid"
	case Unauthenticated:
		return "unauthenticated"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case RateLimited:
		return "rate limited"
	case Unavailable:
		return "unavailable"
	case Internal:
		return "internal"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is sakk's one error type. Kind and Code are for callers, Message
// for the API caller, Op and Err for whoever reads the logs. Wrap it on the
// way up with fmt.Errorf("...: %w", err); KindOf and CodeOf see through.
type Error struct {
	Kind    Kind   // what callers branch on; zero means "take it from Err"
	Code    string // stable machine code of the surface, e.g. "INVALID_AMOUNT", "card_declined"; may be empty
	Message string // safe to show to the API caller
	Op      string // the operation that failed, e.g. "checkout.CreateSession"; logs only
	Err     error  // the cause; logs only, never shown to callers
}

// Errorf returns an error of kind k with code and a caller-visible message
// formatted like fmt.Sprintf. Set Op and Err on the result where useful; a
// cause is never formatted into the message, which callers see.
func Errorf(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns "op: message: cause", leaving out the parts that are empty;
// when there is neither message nor cause, the kind stands in for them.
// It is for logs: it contains the cause, which callers must never see.
func (e *Error) Error() string {
	var b strings.Builder
	sep := func() {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
	}
	if e.Op != "" {
		b.WriteString(e.Op)
	}
	switch {
	case e.Message != "":
		sep()
		b.WriteString(e.Message)
	case e.Err == nil:
		sep()
		b.WriteString(e.Kind.String())
	}
	if e.Err != nil {
		sep()
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is and errors.As reach it.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err: that of the first *Error in its chain
// with a non-zero Kind (so an *Error that only adds Op keeps its cause's
// kind). An error with no such *Error is Internal: what nobody classified
// is a bug until proven otherwise. A nil error has the zero Kind.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	for e := range chain(err) {
		if e.Kind != 0 {
			return e.Kind
		}
	}
	return Internal
}

// CodeOf returns the code of the first *Error in err's chain with a
// non-empty Code, or "" when there is none.
func CodeOf(err error) string {
	for e := range chain(err) {
		if e.Code != "" {
			return e.Code
		}
	}
	return ""
}

// chain yields the *Errors in err's chain, outermost first, each found by
// errors.As (so through %w wrapping and errors.Join) in the cause of the
// one before.
func chain(err error) iter.Seq[*Error] {
	return func(yield func(*Error) bool) {
		var e *Error
		for errors.As(err, &e) && e != nil {
			if !yield(e) {
				return
			}
			err = e.Err
		}
	}
}

// MessageOf returns the caller-safe message of the first *Error in err's
// chain with a non-empty Message, or "" when there is none.
func MessageOf(err error) string {
	for e := range chain(err) {
		if e.Message != "" {
			return e.Message
		}
	}
	return ""
}
