// Package store is sakk's one SQL store. The same hand-written queries run
// on the embedded SQLite database (the zero set-up default: one writer
// connection and a pool of readers over a WAL file) and on PostgreSQL
// (several sakk instances sharing one database). Business rules live in the
// domain and use-case packages; this package only reads and writes rows, and
// turns the engines' errors into domain errors by their codes.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sakkhq/sakk/internal/pay"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Engine names the database behind a Store.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Options says where the store lives.
type Options struct {
	// Database is empty for the embedded SQLite database in DataDir, or a
	// postgres:// (postgresql://) URL.
	Database string
	// DataDir holds the SQLite file (sakk.db) when Database is empty.
	DataDir string
	Logger  *slog.Logger
}

// Store reads and writes sakk's data. It is safe for concurrent use.
type Store struct {
	engine Engine
	// write takes every transaction that changes data. On SQLite it is a
	// single connection, because SQLite has one writer at a time anyway and
	// queueing in Go is cheaper than spinning on SQLITE_BUSY. On PostgreSQL
	// write and read are the same pool.
	write *sql.DB
	read  *sql.DB
	log   *slog.Logger
	// group commits SQLite's write transactions in groups; nil on
	// PostgreSQL.
	group *groupCommitter
	// r reads through read's prepared statements; writeStmts are the
	// write connection's (both on SQLite only).
	r          querier
	path       string // the SQLite file; empty on PostgreSQL
	readStmts  *stmtCache
	writeStmts *stmtCache
	inv        invalidator // see OnInvalidate
	obs        observer    // commit metrics (observe.go)
	// unlock releases the shared lock this store holds on its SQLite data
	// dir while open (backup.go); nil on PostgreSQL.
	unlock func()
}

// Open connects to the database. It does not change the schema: call
// Migrate for that.
func Open(ctx context.Context, o Options) (*Store, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var s *Store
	var err error
	switch {
	case o.Database == "":
		s, err = openSQLite(o.DataDir)
	case strings.HasPrefix(o.Database, "postgres://"), strings.HasPrefix(o.Database, "postgresql://"):
		s, err = openPostgres(o.Database)
	default:
		return nil, fmt.Errorf("store: database %q is neither empty (embedded SQLite) nor a postgres:// URL", redact(o.Database))
	}
	if err != nil {
		return nil, err
	}
	s.log = log
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.ping(pingCtx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: cannot reach the %s database: %w", s.engine, err)
	}
	return s, nil
}

// ping opens the write connection. Processes opening one new embedded
// database together race to switch it to WAL, and SQLite answers the
// losers SQLITE_BUSY at once, without its busy timeout (the switch needs
// the database to itself): that is a moment's wait, not an unreachable
// database, so it is tried again until ctx ends.
func (s *Store) ping(ctx context.Context) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := s.write.PingContext(ctx)
		var liteErr *sqlite.Error
		if err == nil || !errors.As(err, &liteErr) || liteErr.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func openSQLite(dataDir string) (*Store, error) {
	if dataDir == "" {
		return nil, errors.New("store: no data directory for the embedded database")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, "sakk.db")
	unlock, err := holdShared(path + liveLockSuffix)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", dataDir, err)
	}
	// busy_timeout comes first so that every later pragma already waits
	// instead of failing when another process (a CLI command next to a
	// running server) holds the lock. synchronous(FULL) makes a commit
	// durable against power loss, not just a crash of the process.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)"
	// _txlock=immediate takes the write lock at BEGIN, so a transaction that
	// reads and then writes can never fail half-way on a lock upgrade.
	// temp_store(MEMORY) keeps the sub-journal of the group committer's
	// savepoints in memory: on a file, past 64 KiB of it, every page a job
	// changes first cost the writer two write(2) calls. The sub-journal only
	// serves ROLLBACK TO within a transaction; durability is the WAL's.
	write, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		unlock()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		unlock()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	s := &Store{engine: SQLite, path: path, write: write, read: read, readStmts: newStmtCache(read), writeStmts: newStmtCache(write), unlock: unlock}
	s.r = poolQuerier{db: read, cache: s.readStmts}
	s.group = newGroupCommitter(write, s.writeStmts, &s.obs)
	return s, nil
}

func openPostgres(url string) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", redact(url), err)
	}
	// On 2 cores, 8-16 connections outperform 64 (see PERFORMANCE.md).
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{engine: Postgres, write: db, read: db, r: poolQuerier{db: db}}, nil
}

// redact hides a password in a database URL for error messages.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return dsn[:scheme+3] + user + ":xxxxx" + dsn[at:]
	}
	return dsn
}

// Engine tells which database the store runs on.
func (s *Store) Engine() Engine { return s.engine }

// Close releases the connections.
func (s *Store) Close() error {
	s.inv.closeListener()
	if s.group != nil {
		s.group.close()
		s.readStmts.close()
		s.writeStmts.close()
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if s.unlock != nil {
		s.unlock()
	}
	return err
}

// migrationLockID is the PostgreSQL advisory lock that serialises schema
// migrations when several instances start at the same moment.
const migrationLockID = 0x5a4b4b // "ZKK"

func (s *Store) migrator() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.engine == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, s.write, fsys, opts...)
}

// Migrate brings the schema up to date. It holds a lock while it does (an
// advisory lock on PostgreSQL, a file lock beside the SQLite file), so
// processes starting together migrate once.
func (s *Store) Migrate(ctx context.Context) error {
	if s.engine == SQLite {
		unlock, err := lockFile(s.path + ".migrate-lock")
		if err != nil {
			return err
		}
		defer unlock()
	}
	p, err := s.migrator()
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range results {
		s.log.InfoContext(ctx, "applied migration", "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}

// Ready reports whether the database answers and its schema is current.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: database unreachable: %w", err)
	}
	p, err := s.migrator()
	if err != nil {
		return err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if current != target {
		return fmt.Errorf("store: schema at version %d, want %d", current, target)
	}
	return nil
}

// Tx is a transaction in progress. Every write of one use case goes
// through one Tx, together with the events it records.
type Tx struct {
	tx     *sql.Tx
	q      querier // runs the transaction's queries
	engine Engine
}

// WithTx runs fn in a write transaction and commits if fn returns nil. A
// commit that returns nil is durable: the caller may acknowledge it.
//
// On SQLite, transactions of concurrent callers may share one commit (see
// groupCommitter); each still succeeds or fails on its own. fn must not
// call WithTx itself, and should not wait on anything but the database:
// others' commits wait for it.
func (s *Store) WithTx(ctx context.Context, fn func(*Tx) error) error {
	return s.tx(ctx, fn, false)
}

// WithRerunnableTx is WithTx for a fn that may run more than once: it
// changes nothing but the store, through tx, and its own results, which
// every run sets afresh (no appending to, or counting in, anything that
// outlives a run; a log line may be written again). Only the effects of
// its last run are kept. On the
// embedded store such transactions commit for less (groupcommit.go): the
// hot writes (a session, a code, a payment step) use it.
func (s *Store) WithRerunnableTx(ctx context.Context, fn func(*Tx) error) error {
	return s.tx(ctx, fn, true)
}

// WithStatement is WithRerunnableTx for a fn that makes one statement
// through tx, a statement atomic on its own. On PostgreSQL it runs
// outside a transaction, committed as it ends: one round trip to the
// database instead of three (BEGIN, the statement, COMMIT), as durable.
// On the embedded store it joins a group commit like any other
// transaction. On either, a second statement panics: on PostgreSQL it
// would not be atomic with the first.
func (s *Store) WithStatement(ctx context.Context, fn func(*Tx) error) error {
	if s.engine != Postgres {
		return s.WithRerunnableTx(ctx, func(tx *Tx) error {
			one := *tx
			one.q = &oneStatement{q: tx.q}
			return fn(&one)
		})
	}
	return s.traced(ctx, "store.statement", func(ctx context.Context) error {
		start := time.Now()
		if err := fn(&Tx{q: &oneStatement{q: poolQuerier{db: s.write}}, engine: s.engine}); err != nil {
			return err
		}
		s.obs.commit(1, time.Since(start)) // the statement's round trip, its commit included
		return nil
	})
}

func (s *Store) tx(ctx context.Context, fn func(*Tx) error, rerun bool) error {
	return s.traced(ctx, "store.transaction", func(ctx context.Context) error {
		return s.withTx(ctx, fn, rerun)
	})
}

func (s *Store) withTx(ctx context.Context, fn func(*Tx) error, rerun bool) error {
	if s.group != nil {
		return s.group.do(ctx, fn, rerun)
	}
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if v := recover(); v != nil {
			sqlTx.Rollback()
			panic(v)
		}
	}()
	if err := fn(&Tx{tx: sqlTx, q: txQuerier{tx: sqlTx}, engine: s.engine}); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return err
	}
	start := time.Now()
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", s.classify(err))
	}
	s.obs.commit(1, time.Since(start))
	return nil
}

// querier is what both a pool and a transaction can run queries on, so
// each read is written once and used inside and outside transactions.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// classify turns an engine's constraint error into a domain Conflict, by
// the engine's error code, never by its message text.
func (s *Store) classify(err error) error { return classify(err) }

func classify(err error) error {
	if err == nil {
		return nil
	}
	if isUniqueViolation(err) {
		return &pay.Error{Kind: pay.Conflict, Code: "conflict", Message: "already exists", Err: err}
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// notFound is the one answer for rows that do not exist or are not the
// caller's: the two must be indistinguishable.
func notFound(what string) error {
	return &pay.Error{Kind: pay.NotFound, Code: "not_found", Message: what + " not found"}
}

// Times are stored as microseconds since the Unix epoch, in UTC.
func toDB(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromDB(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullTime maps a zero time to NULL.
func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toDB(t), Valid: true}
}

func fromNullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromDB(n.Int64)
}
