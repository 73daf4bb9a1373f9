package pay

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestErrorf(t *testing.T) {
	e := Errorf(Invalid, "INVALID_AMOUNT", "total must be positive, got %s", "-1.00")
	if e.Kind != Invalid || e.Code != "INVALID_AMOUNT" || e.Message != "total must be positive, got -1.00" {
		t.Errorf("Errorf = %+v", e)
	}
	if e.Op != "" || e.Err != nil {
		t.Errorf("Errorf set Op %q, Err %v; want neither", e.Op, e.Err)
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{Kind: Unavailable, Op: "gateway.Charge", Message: "gateway unavailable", Err: cause}, "gateway.Charge: gateway unavailable: dial tcp: connection refused"},
		{&Error{Kind: Invalid, Message: "bad total"}, "bad total"},
		{&Error{Kind: Internal, Op: "store.Session", Err: cause}, "store.Session: dial tcp: connection refused"},
		{&Error{Kind: NotFound, Op: "store.Session"}, "store.Session: not found"},
		{&Error{Kind: Conflict}, "conflict"},
		{&Error{Message: "bad total", Err: cause}, "bad total: dial tcp: connection refused"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestUnwrap(t *testing.T) {
	e := &Error{Kind: Unavailable, Err: fmt.Errorf("read: %w", io.ErrUnexpectedEOF)}
	if !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Error("errors.Is does not reach the cause")
	}
	if (&Error{}).Unwrap() != nil {
		t.Error("Unwrap of an Error without cause is not nil")
	}
}

func TestKindOfAndCodeOf(t *testing.T) {
	declined := Errorf(Conflict, "card_declined", "the card was declined")
	tests := []struct {
		name string
		err  error
		kind Kind
		code string
	}{
		{"nil", nil, 0, ""},
		{"plain error is internal", errors.New("boom"), Internal, ""},
		{"wrapped plain error is internal", fmt.Errorf("checkout: %w", io.EOF), Internal, ""},
		{"direct", declined, Conflict, "card_declined"},
		{"wrapped once", fmt.Errorf("checkout: process: %w", declined), Conflict, "card_declined"},
		{"wrapped twice", fmt.Errorf("httpapi: %w", fmt.Errorf("checkout: process: %w", declined)), Conflict, "card_declined"},
		{"joined", errors.Join(io.EOF, declined), Conflict, "card_declined"},
		{"outer without kind takes the cause's", &Error{Op: "checkout.Process", Err: declined}, Conflict, "card_declined"},
		{"outer kind and code win", &Error{Kind: Unavailable, Code: "gateway_down", Err: declined}, Unavailable, "gateway_down"},
		{"outer kind, inner code", &Error{Kind: Unavailable, Err: declined}, Unavailable, "card_declined"},
		{"no kind anywhere is internal", &Error{Op: "x", Err: io.EOF}, Internal, ""},
		{"kind without code", Errorf(NotFound, "", "no such session"), NotFound, ""},
		{"typed nil in chain", fmt.Errorf("x: %w", (*Error)(nil)), Internal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if got := CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf = %q, want %q", got, tt.code)
			}
		})
	}
}

// The message callers see never contains the cause, however it is wrapped.
func TestMessageKeepsCauseOut(t *testing.T) {
	secret := errors.New("pq: password authentication failed for user sakk")
	e := Errorf(Unavailable, "", "try again later")
	e.Err = secret
	var got *Error
	if !errors.As(fmt.Errorf("checkout: %w", e), &got) {
		t.Fatal("errors.As found no *Error")
	}
	if strings.Contains(got.Message, "password") {
		t.Errorf("Message %q contains the cause", got.Message)
	}
	if !strings.Contains(got.Error(), "password") {
		t.Errorf("Error() %q lost the cause, which logs need", got.Error())
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{0, "none"},
		{Invalid, "invalid"},
		{Unauthenticated, "unauthenticated"},
		{Forbidden, "forbidden"},
		{NotFound, "not found"},
		{Conflict, "conflict"},
		{RateLimited, "rate limited"},
		{Unavailable, "unavailable"},
		{Internal, "internal"},
		{99, "Kind(99)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tt.k), got, tt.want)
		}
	}
}
