// Package instalment splits a purchase into the instalments of an
// application's plan: how many, how far apart, what each is due and when.
// It is pure arithmetic over exact minor units: the instalments' amounts
// always add up to the total, to the last minor unit.
package instalment

import (
	"errors"
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

// Plan is an application's instalment plan.
type Plan struct {
	Count        int // instalments, from 1 to MaxCount
	IntervalDays int // days from one due date to the next, from 1 to MaxIntervalDays
}

// Limits of a plan.
const (
	MaxCount        = 24
	MaxIntervalDays = 365
)

// Valid reports whether p is a plan Split accepts.
func (p Plan) Valid() bool {
	return p.Count >= 1 && p.Count <= MaxCount && p.IntervalDays >= 1 && p.IntervalDays <= MaxIntervalDays
}

// Instalment is one part of a purchase.
type Instalment struct {
	Number int          // from 1
	Due    time.Time    // the day it is due (UTC midnight)
	Amount money.Amount // in the purchase's currency
}

// Split divides total into p.Count instalments, the first due on the day
// of start and each next one p.IntervalDays later. The total's minor
// units are shared as evenly as they go: the first (total mod Count)
// instalments carry one minor unit more, so that the sum is exact and
// the earliest instalments, never the last, take the remainder.
func Split(total money.Amount, start time.Time, p Plan) ([]Instalment, error) {
	if !p.Valid() {
		return nil, errors.New("instalment: invalid plan")
	}
	if total.IsNegative() {
		return nil, errors.New("instalment: negative total")
	}
	n := int64(p.Count)
	base, extra := total.Minor/n, total.Minor%n
	day := time.Date(start.UTC().Year(), start.UTC().Month(), start.UTC().Day(), 0, 0, 0, 0, time.UTC)
	out := make([]Instalment, p.Count)
	for i := range out {
		minor := base
		if int64(i) < extra {
			minor++
		}
		out[i] = Instalment{Number: i + 1, Due: day.AddDate(0, 0, i*p.IntervalDays), Amount: money.New(minor, total.Currency)}
	}
	return out, nil
}
