//go:build !unix

package store

// lockFile is a no-op where flock is unavailable: there, start one sakk
// process at a time on a fresh data dir.
func lockFile(string) (func(), error) { return func() {}, nil }
