// Package pgtest runs a throwaway PostgreSQL server for tests, from the machine's own
// server binaries (no Docker): initdb into a temporary directory, postgres on a free
// loopback port with durability switched off, and one fresh database per test copied
// from a template. Each test binary gets its own server, directory and port, so
// packages tested in parallel do not meet.
//
// A package shares one server among its tests:
//
//	var sharedPG pgtest.Shared
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &sharedPG)) }
//
//	func TestSomething(t *testing.T) {
//		connString := sharedPG.NewDatabase(t) // dropped when the test ends
//		...
//	}
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// Superuser is the role the server is initialised with; it authenticates by trust.
	Superuser = "postgres"
	// TemplateDatabase is the database every NewDatabase copies.
	TemplateDatabase = "pgtest_template"

	startTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
	adminTimeout = 30 * time.Second
)

// ErrNoBinaries is returned by Start when initdb and postgres cannot be found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: install postgresql " +
	"(looked in PGTEST_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH)")

// Config adjusts a server before its first test database is made.
type Config struct {
	// Template, when set, runs once against the template database after the server
	// starts (migrations, fixtures): every NewDatabase starts as a copy of the result.
	// Connections it leaves open are terminated afterwards.
	Template func(ctx context.Context, connString string) error
}

// Server is one throwaway PostgreSQL server. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	bindir  string
	dir     string // temporary root: data, socket and log live under it
	cred    *syscall.Credential
	port    int
	seq     atomic.Int64
	adminMu sync.Mutex // serialises CREATE/DROP DATABASE

	mu     sync.Mutex
	proc   *process // nil while stopped
	closed bool
}

// Start initialises and starts a server with the default Config. The caller must
// Close it. When the binaries are missing the error wraps ErrNoBinaries.
func Start() (*Server, error) { return StartConfig(Config{}) }

// StartConfig initialises and starts a server, then builds its template database.
// The caller must Close it.
func StartConfig(cfg Config) (*Server, error) {
	removeStaleDirs(os.TempDir())
	bindir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("pgtest-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("pgtest: create temporary directory: %w", err)
	}
	s := &Server{cfg: cfg, bindir: bindir, dir: dir, cred: cred}
	if err := s.boot(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) boot() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.prepareDir(); err != nil {
		return err
	}
	if err := s.initdb(ctx); err != nil {
		return err
	}
	if err := s.startOnFreePort(ctx); err != nil {
		return err
	}
	return s.createTemplate(ctx)
}

// Port is the loopback TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// ConnString returns a URL connecting to database db as the superuser over TCP.
func (s *Server) ConnString(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.port, url.PathEscape(db))
}

// Running reports whether the server process is up (not stopped, killed or closed).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Stop shuts the server down (fast shutdown: sessions are disconnected) and waits for
// it to exit. The data stays, so Restart brings it back. Stopping affects every
// database of the server: fault tests should Start a server of their own.
func (s *Server) Stop() error { return s.shutdown(syscall.SIGINT) }

// Kill stops the server abruptly, like a crash (immediate shutdown: no checkpoint;
// the next Restart runs crash recovery), and waits for it to exit.
func (s *Server) Kill() error { return s.shutdown(syscall.SIGQUIT) }

// Restart starts a stopped or killed server again on the same port with the same
// data, and waits until it accepts connections.
func (s *Server) Restart() error {
	s.mu.Lock()
	closed, running := s.closed, s.proc != nil
	s.mu.Unlock()
	switch {
	case closed:
		return errors.New("pgtest: restart: server is closed")
	case running:
		return errors.New("pgtest: restart: server is running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	return s.startOnPort(ctx)
}

// Close stops the server and removes its directory. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return
	}
	_ = s.Stop()
	_ = os.RemoveAll(s.dir)
}

// NewDatabase creates a fresh database, a copy of the template, and returns its
// connection string. The database is dropped (its sessions terminated) when tb's test
// ends; a failure to create it fails the test.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := databaseName(s.seq.Add(1), tb.Name())
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := s.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		" TEMPLATE "+pgx.Identifier{TemplateDatabase}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() { s.dropDatabase(tb, name) })
	return s.ConnString(name)
}

func (s *Server) dropDatabase(tb testing.TB, name string) {
	if !s.Running() {
		return // the directory goes at Close; a stopped server cannot drop anything
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	err := s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	if err != nil {
		tb.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// createTemplate builds the template database, runs Config.Template on it and then
// closes it to connections, as CREATE DATABASE … TEMPLATE requires.
func (s *Server) createTemplate(ctx context.Context) error {
	ident := pgx.Identifier{TemplateDatabase}.Sanitize()
	if err := s.admin(ctx, "CREATE DATABASE "+ident); err != nil {
		return fmt.Errorf("pgtest: create template database: %w", err)
	}
	if s.cfg.Template != nil {
		if err := s.cfg.Template(ctx, s.ConnString(TemplateDatabase)); err != nil {
			return fmt.Errorf("pgtest: set up template database: %w", err)
		}
	}
	err := s.admin(ctx,
		"ALTER DATABASE "+ident+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+TemplateDatabase+"'")
	if err != nil {
		return fmt.Errorf("pgtest: seal template database: %w", err)
	}
	return nil
}

// admin runs statements on the maintenance database over a connection of its own, so
// it works the same before and after a Restart.
func (s *Server) admin(ctx context.Context, statements ...string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	conn, err := pgx.Connect(ctx, s.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, stmt := range statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

var unsafeNameChars = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName makes a valid, unique, recognisable database name from a test name.
func databaseName(seq int64, testName string) string {
	name := fmt.Sprintf("t%d_%s", seq, unsafeNameChars.ReplaceAllString(strings.ToLower(testName), "_"))
	const maxIdentifier = 63 // NAMEDATALEN - 1
	if len(name) > maxIdentifier {
		name = name[:maxIdentifier]
	}
	return name
}

// Shared is one Server for all the tests of a package, started by the first test that
// asks for it, so tests that need no database pay nothing. Close it from TestMain
// (see Main). The zero value is ready to use.
type Shared struct {
	Config Config

	mu  sync.Mutex
	srv *Server
	err error
}

// Server returns the shared server, starting it on first use. A failure to start
// fails tb (and every later caller) with the cause.
func (p *Shared) Server(tb testing.TB) *Server {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil && p.err == nil {
		p.srv, p.err = StartConfig(p.Config)
	}
	if p.err != nil {
		tb.Fatal(p.err)
	}
	return p.srv
}

// NewDatabase is shorthand for p.Server(tb).NewDatabase(tb).
func (p *Shared) NewDatabase(tb testing.TB) string {
	tb.Helper()
	return p.Server(tb).NewDatabase(tb)
}

// Close closes the server if one was started; later calls to Server fail.
func (p *Shared) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		p.srv.Close()
	}
	if p.err == nil {
		p.err = errors.New("pgtest: shared server already closed")
	}
}

// Main runs the tests and then closes the shared server. Use it as
// os.Exit(pgtest.Main(m, &shared)) in TestMain. Should the test binary die without
// returning (a panic in a test, a timeout), the server is still shut down: it receives
// a signal when its parent dies, and its directory is swept by the next Start.
func Main(m *testing.M, p *Shared) int {
	defer p.Close()
	return m.Run()
}
