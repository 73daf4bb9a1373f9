//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path (created if need be), waiting
// for other processes that hold it, and returns its release. SQLite
// migrations run under it, so that a CLI command and a server starting on
// one data dir at once migrate one after the other.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// holdShared takes a shared lock on path (created if need be) without
// waiting, and returns its release: every open store holds one on its
// data dir, so that Restore can tell the dir is in use.
func holdShared(path string) (func(), error) { return flockNB(path, syscall.LOCK_SH) }

// tryExclusive takes an exclusive lock on path without waiting; it fails
// with errInUse while any process holds the lock, shared or not.
func tryExclusive(path string) (func(), error) { return flockNB(path, syscall.LOCK_EX) }

func flockNB(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, errInUse
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
