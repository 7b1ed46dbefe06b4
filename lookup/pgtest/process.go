package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// process is one running postgres (postmaster).
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been reaped
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) sockDir() string { return filepath.Join(s.dir, "sock") }
func (s *Server) logPath() string { return filepath.Join(s.dir, "postgres.log") }

// findBinDir locates the directory holding initdb and postgres.
func findBinDir() (string, error) {
	if dir := os.Getenv("PGTEST_BINDIR"); dir != "" {
		if hasServerBinaries(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("pgtest: PGTEST_BINDIR=%s: %w", dir, ErrNoBinaries)
	}
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versioned, func(a, b string) int { return versionOf(b) - versionOf(a) }) // newest first
	candidates = append(candidates, versioned...)
	if initdb, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(initdb))
	}
	for _, dir := range candidates {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("pgtest: %w", ErrNoBinaries)
}

func versionOf(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// serverCredential returns the identity to run initdb and postgres as: nil (ourselves)
// unless we are root, which both refuse; then the postgres system user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, the server must run as the \"postgres\" user (initdb refuses root): %w", err)
	}
	uid, errU := strconv.ParseUint(u.Uid, 10, 32)
	gid, errG := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(errU, errG); err != nil {
		return nil, fmt.Errorf("pgtest: user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil // no supplementary groups
}

// prepareDir creates the socket directory and hands the tree to the server's user.
func (s *Server) prepareDir() error {
	if err := os.Mkdir(s.sockDir(), 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if s.cred == nil {
		return nil
	}
	for _, dir := range []string{s.dir, s.sockDir()} {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	return nil
}

func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bindir, name), args...)
	cmd.Dir = s.dir
	cmd.Env = childEnv()
	// Pdeathsig: a test binary that dies without cleaning up does not orphan the
	// server. SIGQUIT is postgres's immediate shutdown, which also ends its backends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	return cmd
}

// childEnv is our environment without PG* variables, which would redirect the tools.
func childEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

func (s *Server) initdb(ctx context.Context) error {
	cmd := s.command(ctx, "initdb", "--pgdata", s.dataDir(), "--username", Superuser,
		"--auth", "trust", "--no-sync", "--encoding", "UTF8", "--locale", "C")
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
		return nil
	case s.cred != nil && errors.Is(err, os.ErrPermission):
		return fmt.Errorf("pgtest: initdb: %w (the postgres user must be able to reach %s: check TMPDIR)", err, s.dir)
	default:
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, tail(out))
	}
}

// startOnFreePort picks a free port and starts the server on it, trying another when
// a concurrent test binary takes the chosen one first. It runs before the server is
// shared, so s.port needs no lock; later restarts reuse the port.
func (s *Server) startOnFreePort(ctx context.Context) error {
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			return err
		}
		if err = s.startOnPort(ctx); err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "could not bind") && !strings.Contains(err.Error(), "could not create any TCP/IP sockets") {
			return err
		}
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startOnPort launches postgres on s.port and waits until it accepts connections. A server that
// exits at once because its previous incarnation's backends still hold the shared
// memory (right after Kill) is retried briefly.
func (s *Server) startOnPort(ctx context.Context) error {
	for {
		err := s.launchAndWait(ctx)
		if err == nil || !strings.Contains(err.Error(), "still in use") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) launchAndWait(ctx context.Context) error {
	logOffset := fileSize(s.logPath())
	p, err := s.launch()
	if err != nil {
		return err
	}
	if err := s.waitReady(ctx, p); err != nil {
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%w\n%s", err, s.logSince(logOffset))
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

func (s *Server) launch() (*process, error) {
	logFile, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := s.command(context.Background(), "postgres",
		"-D", s.dataDir(), "-p", strconv.Itoa(s.port), "-k", s.sockDir(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls until a connection succeeds, the process exits or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(attempt, s.ConnString("postgres"))
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-p.exited:
			return fmt.Errorf("pgtest: postgres exited during start-up on port %d", s.port)
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready on port %d: %w", s.port, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// shutdown sends sig to the server and waits for it to exit; after stopTimeout the
// server is killed.
func (s *Server) shutdown(sig syscall.Signal) error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("pgtest: postgres did not stop within %s after %s; killed", stopTimeout, sig)
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns the server log written after offset (its end, when long).
func (s *Server) logSince(offset int64) string {
	f, err := os.Open(s.logPath())
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return tail(b)
}

func tail(b []byte) string {
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}

var staleDirName = regexp.MustCompile(`^pgtest-(\d+)-\d+$`)

// removeStaleDirs deletes the directories in root of servers whose test binary died
// without closing them (the server itself went down with it: see Pdeathsig).
// Directories whose owner or postmaster still runs are left alone.
func removeStaleDirs(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		m := staleDirName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		owner, _ := strconv.Atoi(m[1])
		dir := filepath.Join(root, e.Name())
		if owner == os.Getpid() || processAlive(owner) || processAlive(postmasterPID(dir)) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// processAlive reports whether pid names a process that has not exited. A zombie
// (exited, not yet reaped by its new parent) counts as exited.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name, which may contain spaces.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		state := stat[i+2]
		return state != 'Z' && state != 'X'
	}
	return true
}

// postmasterPID reads the first line of data/postmaster.pid, or returns 0.
func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}
