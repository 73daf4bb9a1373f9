package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// On SQLite, a durable commit costs one fsync (about 250 µs here), so one
// transaction per request tops out near 4 000 commits a second. The group
// committer runs the transactions of concurrent callers one after another
// inside a single database transaction, each within its own savepoint, and
// commits them together: one fsync for the whole group. Each caller still
// sees exactly its own outcome: a closure that fails is rolled back to its
// savepoint alone, and nobody is told "committed" before the group's
// commit has returned. (PostgreSQL does the equivalent itself across
// connections, so it keeps one transaction per call.)

// maxGroup bounds how many transactions share one commit, so that a long
// queue still commits at a steady pace.
const maxGroup = 256

// Under load, the queue found after a commit is often short (a handful of
// jobs), because the callers are still busy producing their next ones; a
// group that commits at once then pays a whole commit (an fsync, and the
// table and index pages every job of it shares) for few jobs, and that CPU
// is taken from the very callers the writer waits for. So when the last
// group showed that callers are writing concurrently, a short group waits
// up to groupLinger for more jobs: for as many as the last group had while
// that was small (the callers known to be in flight, so a few steady
// writers do not wait for jobs that will not come), and for lingerGroup
// once groups are large. Nobody waits longer than groupLinger for it, and
// a lone writer (last group of one) never waits.
const (
	groupLinger = time.Millisecond
	lingerGroup = 32
)

type groupJob struct {
	ctx   context.Context
	fn    func(*Tx) error
	rerun bool  // fn may run again (WithRerunnableTx)
	err   error // fn's own error, or the group's commit error
	panic any   // a panic in fn, re-raised in the caller's goroutine
	done  chan struct{}
}

type groupCommitter struct {
	db    *sql.DB
	stmts *stmtCache // the write connection's prepared statements
	obs   *observer
	jobs  chan *groupJob
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newGroupCommitter(db *sql.DB, stmts *stmtCache, obs *observer) *groupCommitter {
	g := &groupCommitter{db: db, stmts: stmts, obs: obs, jobs: make(chan *groupJob, maxGroup), stop: make(chan struct{})}
	g.wg.Go(g.loop)
	return g
}

// errClosed is the answer to transactions asked of a closed store.
var errClosed = errors.New("store: closed")

func (g *groupCommitter) do(ctx context.Context, fn func(*Tx) error, rerun bool) error {
	j := &groupJob{ctx: ctx, fn: fn, rerun: rerun, done: make(chan struct{})}
	select {
	case g.jobs <- j:
	case <-g.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the job is waited for even if ctx ends: the group may
	// already be committing it, and the caller must learn the outcome.
	<-j.done
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

func (g *groupCommitter) close() {
	close(g.stop)
	g.wg.Wait()
}

func (g *groupCommitter) loop() {
	batch := make([]*groupJob, 0, maxGroup)
	timer := time.NewTimer(groupLinger)
	timer.Stop()
	last := 0 // the size of the last group
	for {
		select {
		case j := <-g.jobs:
			batch = append(batch[:0], j)
		case <-g.stop:
			return
		}
		// Take whatever else is already waiting: it shares this commit.
	drain:
		for len(batch) < maxGroup {
			select {
			case j := <-g.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		want := last
		if last >= lingerGroup/2 {
			want = lingerGroup
		}
		if last > 1 && len(batch) < want {
			timer.Reset(groupLinger)
		linger:
			for len(batch) < want {
				select {
				case j := <-g.jobs:
					batch = append(batch, j)
				case <-timer.C:
					break linger
				}
			}
			timer.Stop()
		}
		last = len(batch)
		g.run(batch)
		for _, j := range batch {
			close(j.done)
		}
		// Between groups the write connection is free to prepare what
		// this group ran unprepared.
		g.stmts.prepareMissing(context.Background())
	}
}

// run executes one group: BEGIN, each job in its savepoint, COMMIT.
func (g *groupCommitter) run(batch []*groupJob) {
	sqlTx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range batch {
			j.err = fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	tx := &Tx{tx: sqlTx, q: txQuerier{tx: sqlTx, cache: g.stmts, bound: newBoundStmts()}, engine: SQLite}
	for i := 0; i < len(batch); {
		var err error
		if batch[i].rerun {
			var n int
			n, err = g.runRerunnable(tx, batch[i:])
			i += n
		} else {
			err = g.runJob(tx, batch[i])
			i++
		}
		if err != nil {
			// A savepoint could not be rolled back or released: the
			// transaction is in an unknown state, so nothing in it may
			// commit.
			sqlTx.Rollback()
			for _, other := range batch {
				if other.err == nil && other.panic == nil {
					other.err = err
				}
			}
			return
		}
	}
	committed := 0
	for _, j := range batch {
		if j.err == nil && j.panic == nil {
			committed++
		}
	}
	if committed == 0 {
		sqlTx.Rollback()
		return
	}
	start := time.Now()
	if err := sqlTx.Commit(); err != nil {
		err = fmt.Errorf("store: commit: %w", classify(err))
		for _, j := range batch {
			if j.err == nil && j.panic == nil {
				j.err = err
			}
		}
		return
	}
	g.obs.commit(committed, time.Since(start))
}

// runJob runs one job inside a savepoint, rolling back to it when the job
// fails. Its error is the savepoint machinery's; the job's own outcome is
// recorded in j.
func (g *groupCommitter) runJob(tx *Tx, j *groupJob) error {
	if err := j.ctx.Err(); err != nil {
		j.err = err
		return nil
	}
	if err := savepoint(tx, "SAVEPOINT job"); err != nil {
		return err
	}
	if !j.call(tx) {
		if err := savepoint(tx, "ROLLBACK TO job"); err != nil {
			return err
		}
	}
	return savepoint(tx, "RELEASE job")
}

// A savepoint per job costs more than a small job itself: two statements,
// and a copy of every page the job changes (each index's, the table's),
// for a rollback that hardly ever happens. So the jobs of a group that may
// run again (WithRerunnableTx) share one: runRerunnable runs the leading
// such jobs of batch inside a single savepoint. When one of them fails,
// the savepoint is rolled back, which undoes those before it too, and they
// run again, each in a savepoint of its own; the failed job keeps its
// outcome and does not run again. It answers how many jobs of batch it
// settled.
func (g *groupCommitter) runRerunnable(tx *Tx, batch []*groupJob) (int, error) {
	if err := savepoint(tx, "SAVEPOINT jobs"); err != nil {
		return 0, err
	}
	for n, j := range batch {
		if !j.rerun {
			return n, savepoint(tx, "RELEASE jobs")
		}
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if j.call(tx) {
			continue
		}
		if err := savepoint(tx, "ROLLBACK TO jobs"); err != nil {
			return 0, err
		}
		if err := savepoint(tx, "RELEASE jobs"); err != nil {
			return 0, err
		}
		for _, again := range batch[:n] {
			if again.err == nil {
				if err := g.runJob(tx, again); err != nil {
					return 0, err
				}
			}
		}
		return n + 1, nil
	}
	return len(batch), savepoint(tx, "RELEASE jobs")
}

// call runs the job's function, recording its error or panic, and
// reports whether it succeeded (ok stays false when fn panics).
func (j *groupJob) call(tx *Tx) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			j.panic = v
		}
	}()
	j.err = j.fn(tx)
	return j.err == nil
}

func savepoint(tx *Tx, stmt string) error {
	if _, err := tx.q.ExecContext(context.Background(), stmt); err != nil {
		return fmt.Errorf("store: %s: %w", strings.ToLower(stmt), err)
	}
	return nil
}
