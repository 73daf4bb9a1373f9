package store

import (
	"context"
	"database/sql"
	"sync"
)

// On SQLite, parsing a statement costs more than running a point query,
// so the store prepares each query text once per connection and reuses
// it. (pgx caches PostgreSQL's prepared statements itself.)

// stmtCache holds the prepared statements of one pool, by query text. The
// texts are the store's own constants, so it stays small.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	missing map[string]bool // asked for inside a transaction, to prepare later
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt), missing: make(map[string]bool)}
}

// lookup returns a prepared statement without preparing one: inside a
// transaction on SQLite's single write connection, preparing on the pool
// would wait for the very connection the transaction holds. A miss is
// remembered for prepareMissing.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[query]
	if st == nil {
		c.missing[query] = true
	}
	return st
}

// prepareMissing prepares the statements lookup missed. It must run when
// no transaction holds the pool's connections.
func (c *stmtCache) prepareMissing(ctx context.Context) {
	c.mu.Lock()
	queries := make([]string, 0, len(c.missing))
	for q := range c.missing {
		queries = append(queries, q)
	}
	clear(c.missing)
	c.mu.Unlock()
	for _, q := range queries {
		c.get(ctx, q) // a failure leaves the query unprepared: it then runs plain
	}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	clear(c.m)
}

// poolQuerier runs queries on a pool, through its statement cache when it
// has one.
type poolQuerier struct {
	db    *sql.DB
	cache *stmtCache // nil: plain queries
}

func (q poolQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if q.cache != nil {
		if st, err := q.cache.get(ctx, query); err == nil {
			return st.ExecContext(ctx, args...)
		}
	}
	return q.db.ExecContext(ctx, query, args...)
}

func (q poolQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if q.cache != nil {
		if st, err := q.cache.get(ctx, query); err == nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return q.db.QueryContext(ctx, query, args...)
}

func (q poolQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if q.cache != nil {
		if st, err := q.cache.get(ctx, query); err == nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return q.db.QueryRowContext(ctx, query, args...)
}

// txQuerier runs queries in a transaction, reusing the statements its
// connection already prepared.
type txQuerier struct {
	tx    *sql.Tx
	cache *stmtCache // of the pool the transaction's connection belongs to; nil: plain
	// bound remembers the statements already bound to tx (nil: bind
	// each time). A group commit runs the same few statements for every
	// job in it (SAVEPOINT, the insert, RELEASE), and binding one to the
	// transaction allocates and searches under database/sql's locks: on the
	// single writer, that cost is paid by everyone queued behind it.
	bound *boundStmts
}

// boundStmts are the statements bound to one transaction, by query text.
type boundStmts struct {
	mu sync.Mutex // a Tx may be used from several goroutines
	m  map[string]*sql.Stmt
}

func newBoundStmts() *boundStmts { return &boundStmts{m: make(map[string]*sql.Stmt)} }

func (q txQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.cache == nil {
		return nil
	}
	if q.bound != nil {
		q.bound.mu.Lock()
		defer q.bound.mu.Unlock()
		if st := q.bound.m[query]; st != nil {
			return st
		}
	}
	st := q.cache.lookup(query)
	if st == nil {
		return nil
	}
	st = q.tx.StmtContext(ctx, st)
	if q.bound != nil {
		q.bound.m[query] = st
	}
	return st
}

func (q txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q txQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

func (q txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}

// oneStatement is WithStatement's querier: it runs the first statement
// and panics at a second, which would not be atomic with the first.
type oneStatement struct {
	q    querier
	used bool
}

func (o *oneStatement) first() {
	if o.used {
		panic("store: a second statement in WithStatement")
	}
	o.used = true
}

func (o *oneStatement) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	o.first()
	return o.q.ExecContext(ctx, query, args...)
}

func (o *oneStatement) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	o.first()
	return o.q.QueryContext(ctx, query, args...)
}

func (o *oneStatement) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	o.first()
	return o.q.QueryRowContext(ctx, query, args...)
}
