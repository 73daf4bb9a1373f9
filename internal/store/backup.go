package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Backups of the embedded database. Backup copies it while sakk serves:
// VACUUM INTO runs in one read transaction, which in WAL mode sees one
// consistent snapshot (every transaction committed before it began,
// nothing after) and never blocks the writer. Restore puts such a copy in
// place of a data dir's database, and only while no process has the dir
// open: every open store holds a shared lock on sakk.db.live-lock, which
// Restore must take exclusively.
//
// PostgreSQL has its own tools (pg_dump, or base backups with WAL
// archiving): see docs/operations.md.

const liveLockSuffix = ".live-lock"

// errInUse is a data dir that another process has open.
var errInUse = errors.New("in use by another sakk process")

// ErrBackupExists refuses to overwrite a file with a backup.
var ErrBackupExists = errors.New("store: the backup file already exists")

// Backup writes a consistent copy of the embedded database to the file
// to, which must not exist: first to to+".partial", synced, then renamed,
// so that a file named to is always a whole backup.
func (s *Store) Backup(ctx context.Context, to string) error {
	if s.engine != SQLite {
		return errors.New("store: backup copies the embedded database; on PostgreSQL use pg_dump (docs/operations.md)")
	}
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%w: %s", ErrBackupExists, to)
	}
	partial := to + ".partial"
	if err := os.Remove(partial); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: backup: %w", err)
	}
	// The write connection: the readers are query_only. In this process
	// it is not serving anyone; in a serving process the copy would wait
	// behind the group committer, and hold it, for its whole length.
	if _, err := s.write.ExecContext(ctx, `VACUUM INTO $1`, partial); err != nil {
		os.Remove(partial)
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := syncFile(partial); err != nil {
		os.Remove(partial)
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(partial, to); err != nil {
		os.Remove(partial)
		return fmt.Errorf("store: backup: %w", err)
	}
	return syncDir(filepath.Dir(to))
}

// Restored says where Restore put things.
type Restored struct {
	Database string // the restored database file
	// Previous is where the database that was there before now is (with
	// its -wal file, if any); "" when there was none.
	Previous string
}

// Restore copies the backup from into dataDir as its database. It refuses
// while any process has the data dir open, and refuses a file that is not
// a sakk database passing SQLite's quick_check. A database already there
// is kept aside, renamed with the time of the restore, never deleted.
func Restore(ctx context.Context, dataDir, from string, now time.Time) (Restored, error) {
	if err := checkBackup(ctx, from); err != nil {
		return Restored{}, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Restored{}, fmt.Errorf("store: restore: %w", err)
	}
	path := filepath.Join(dataDir, "sakk.db")
	unlock, err := tryExclusive(path + liveLockSuffix)
	if errors.Is(err, errInUse) {
		return Restored{}, fmt.Errorf("store: restore: the data dir %s is %w: stop every sakk process using it first", dataDir, errInUse)
	}
	if err != nil {
		return Restored{}, err
	}
	defer unlock()

	out := Restored{Database: path}
	if _, err := os.Stat(path); err == nil {
		out.Previous = path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal"} {
			if err := os.Rename(path+suffix, out.Previous+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return Restored{}, fmt.Errorf("store: restore: keep the previous database: %w", err)
			}
		}
	}
	// The shared-memory index belongs to the database moved aside.
	if err := os.Remove(path + "-shm"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Restored{}, fmt.Errorf("store: restore: %w", err)
	}
	partial := path + ".partial"
	if err := copyFile(from, partial); err != nil {
		os.Remove(partial)
		return Restored{}, fmt.Errorf("store: restore: %w", err)
	}
	if err := os.Rename(partial, path); err != nil {
		return Restored{}, fmt.Errorf("store: restore: %w", err)
	}
	return out, syncDir(dataDir)
}

// checkBackup opens from read-only and checks that it is a whole SQLite
// database holding sakk's schema.
func checkBackup(ctx context.Context, from string) error {
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+from+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return fmt.Errorf("store: restore: %s is not a readable SQLite database: %w", from, err)
	}
	if check != "ok" {
		return fmt.Errorf("store: restore: %s fails SQLite's quick_check: %s", from, check)
	}
	var version int64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version`).Scan(&version); err != nil {
		return fmt.Errorf("store: restore: %s holds no sakk schema: %w", from, err)
	}
	return nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return nil
}
