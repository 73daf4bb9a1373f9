//go:build !unix

package store

// lockFile is a no-op where flock is unavailable: there, start one sakk
// process at a time on a fresh data dir.
func lockFile(string) (func(), error) { return func() {}, nil }

// holdShared and tryExclusive are no-ops too: there, Restore cannot tell
// whether a process uses the data dir; stop every one first.
func holdShared(string) (func(), error)   { return func() {}, nil }
func tryExclusive(string) (func(), error) { return func() {}, nil }
