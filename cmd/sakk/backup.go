package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sakkhq/sakk/internal/config"
	"github.com/sakkhq/sakk/internal/store"
)

// keyFile is where the embedded store's encryption key lives in a data
// dir (when no --encryption-key is given); a backup keeps a copy of it
// beside itself as FILE.key, since the database without it cannot open
// its sealed secrets.
const keyFile = "encryption.key"

// backup writes a consistent copy of the embedded store while sakk serves.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	var to string
	set := config.NewSet("backup")
	set.Store(&cfg)
	set.Flags().StringVar(&to, "to", "", "file to write the backup to (must not exist)")
	if err := parse(set, args, getenv, stderr); err != nil {
		return err
	}
	if to == "" {
		return usageError{"backup: --to FILE is required"}
	}
	if cfg.Database != "" {
		return usageError{"backup: copies the embedded store; on PostgreSQL use pg_dump (docs/operations.md)"}
	}
	log, err := newLogger(&cfg, stderr)
	if err != nil {
		return err
	}
	// Opening a store creates an empty database where there is none: a
	// mistyped --data-dir must not become an empty backup.
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "sakk.db")); err != nil {
		return fmt.Errorf("backup: no embedded store in %s: %w", cfg.DataDir, err)
	}
	// Open, not open(): a backup changes nothing, not even the schema.
	st, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := st.Backup(ctx, to); err != nil {
		return err
	}
	key := ""
	if cfg.EncryptionKey == "" {
		key = to + ".key"
		if err := copyKey(filepath.Join(cfg.DataDir, keyFile), key); err != nil {
			return fmt.Errorf("backup: copy the encryption key: %w", err)
		}
	}
	info, err := os.Stat(to)
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "backup written", "file", to, "bytes", info.Size(), "took", time.Since(start))
	if key != "" {
		fmt.Fprintf(stdout, "backup %s\nkey    %s (keep it as safe as the database: it opens the sealed secrets)\n", to, key)
	} else {
		fmt.Fprintf(stdout, "backup %s\nkey    not copied: the store's key is the one given by --encryption-key\n", to)
	}
	return nil
}

// restore puts a backup in place of a data dir's database; it refuses
// while any sakk process has the data dir open.
func restore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	var from string
	set := config.NewSet("restore")
	set.Store(&cfg)
	set.Flags().StringVar(&from, "from", "", "backup file written by sakk backup")
	if err := parse(set, args, getenv, stderr); err != nil {
		return err
	}
	if from == "" {
		return usageError{"restore: --from FILE is required"}
	}
	if cfg.Database != "" {
		return usageError{"restore: restores the embedded store; on PostgreSQL use pg_restore (docs/operations.md)"}
	}
	// The key first: a restored database with another key would not open.
	backupKey, dirKey := from+".key", filepath.Join(cfg.DataDir, keyFile)
	want, err := os.ReadFile(backupKey)
	haveBackupKey := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if have, err := os.ReadFile(dirKey); err == nil && haveBackupKey && !bytes.Equal(bytes.TrimSpace(have), bytes.TrimSpace(want)) {
		return fmt.Errorf("restore: %s holds another encryption key than the backup's %s: move it away first", dirKey, backupKey)
	}
	r, err := store.Restore(ctx, cfg.DataDir, from, time.Now())
	if err != nil {
		return err
	}
	if haveBackupKey {
		if _, err := os.Stat(dirKey); errors.Is(err, os.ErrNotExist) {
			if err := copyKey(backupKey, dirKey); err != nil {
				return fmt.Errorf("restore: copy the encryption key: %w", err)
			}
		}
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", r.Database, from)
	if r.Previous != "" {
		fmt.Fprintf(stdout, "the database that was there is kept as %s\n", r.Previous)
	}
	return nil
}

// copyKey copies a key file, readable by its owner only.
func copyKey(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
