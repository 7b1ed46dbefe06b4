package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// orphanHelperEnv makes the test binary act as a test process that starts a server
// and is then killed (see TestKilledTestBinaryTakesServerDown).
const orphanHelperEnv = "PGTEST_ORPHAN_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(orphanHelperEnv) == "1" {
		runOrphanHelper()
		return
	}
	os.Exit(m.Run())
}

func runOrphanHelper() {
	s, err := Start()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("%d %s\n", s.proc.cmd.Process.Pid, s.dir)
	select {} // wait to be killed
}

func TestServer(t *testing.T) {
	t.Parallel()
	s, err := StartConfig(Config{Template: func(ctx context.Context, connString string) error {
		return execSQL(ctx, connString, "CREATE TABLE seeded (v text)", "INSERT INTO seeded VALUES ('from template')")
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := t.Context()

	first := s.NewDatabase(t)
	t.Run("databases are isolated copies of the template", func(t *testing.T) {
		second := s.NewDatabase(t)
		if first == second {
			t.Fatalf("NewDatabase returned %q twice", first)
		}
		mustExec(t, first, "INSERT INTO seeded VALUES ('only in first')")
		if diff := cmp.Diff([]string{"from template", "only in first"}, seededValues(t, first)); diff != "" {
			t.Errorf("first database (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"from template"}, seededValues(t, second)); diff != "" {
			t.Errorf("second database (-want +got):\n%s", diff)
		}
	})

	t.Run("durability is off", func(t *testing.T) {
		for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
			if got := queryString(t, first, "SHOW "+setting); got != "off" {
				t.Errorf("%s = %q, want off", setting, got)
			}
		}
	})

	t.Run("database dropped at cleanup", func(t *testing.T) {
		var name string
		t.Run("user", func(t *testing.T) {
			name = strings.TrimPrefix(s.NewDatabase(t), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/", s.Port()))
			name, _, _ = strings.Cut(name, "?")
		})
		if got := queryString(t, first, fmt.Sprintf("SELECT count(*)::text FROM pg_database WHERE datname = '%s'", name)); got != "0" {
			t.Errorf("database %q still exists after its test ended", name)
		}
	})

	t.Run("calls fixture", func(t *testing.T) {
		db := s.NewDatabase(t)
		if err := CreateCallsTable(ctx, db); err != nil {
			t.Fatal(err)
		}
		err := InsertCalls(ctx, db,
			CallRow{TelephonySessionID: "s-1", StoreID: "a1b2c3d4-0000-4000-8000-000000000001", ContactPhone: "+19142654371",
				CreatedAt: "2026-05-20 13:14:52", S3AnalysisPath: "s3://bucket/s-1.json"},
			CallRow{TelephonySessionID: "s-2", CreatedAt: "2026-05-20 09:00:00"})
		if err != nil {
			t.Fatal(err)
		}
		got := queryString(t, db, `SELECT string_agg(concat_ws('|', telephony_session_id, store_id, contact_phone,
			to_char(created_at, 'YYYY-MM-DD HH24:MI:SS'), coalesce(s3_analysis_path, 'NULL'), call_state), ';' ORDER BY id) FROM calls`)
		want := "s-1|a1b2c3d4-0000-4000-8000-000000000001|+19142654371|2026-05-20 13:14:52|s3://bucket/s-1.json|human_conversation;" +
			"s-2|2026-05-20 09:00:00|NULL|human_conversation"
		if got != want {
			t.Errorf("calls rows:\n got %s\nwant %s", got, want)
		}
		if typ := queryString(t, db, "SELECT data_type FROM information_schema.columns WHERE table_name = 'calls' AND column_name = 'created_at'"); typ != "timestamp without time zone" {
			t.Errorf("created_at is %q, want timestamp without time zone", typ)
		}
	})

	for _, fault := range []struct {
		name string
		stop func() error
	}{{"stop", s.Stop}, {"kill", s.Kill}} {
		t.Run(fault.name+" and restart", func(t *testing.T) {
			if err := fault.stop(); err != nil {
				t.Fatal(err)
			}
			if s.Running() {
				t.Error("Running() = true after stopping")
			}
			if _, err := connect(t.Context(), first); err == nil {
				t.Fatal("connected to a stopped server")
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"from template", "only in first"}, seededValues(t, first)); diff != "" {
				t.Errorf("data after restart (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("restart of a running server fails", func(t *testing.T) {
		if err := s.Restart(); err == nil {
			t.Error("Restart of a running server succeeded")
		}
	})

	t.Run("close stops the server and removes its directory", func(t *testing.T) {
		pid := s.proc.cmd.Process.Pid
		s.Close()
		if processAlive(pid) {
			t.Errorf("postmaster %d still running after Close", pid)
		}
		if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("directory %s after Close: %v", s.dir, err)
		}
		if err := s.Restart(); err == nil {
			t.Error("Restart after Close succeeded")
		}
		s.Close() // idempotent
	})
}

func TestKilledTestBinaryTakesServerDown(t *testing.T) {
	t.Parallel()
	tmp := reachableTempDir(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanHelperEnv+"=1", "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	var pid int
	var dir string
	if _, scanErr := fmt.Sscanf(line, "%d %s", &pid, &dir); err != nil || scanErr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper said %q (%v, %v)", line, err, scanErr)
	}

	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for len(processesIn(dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := processesIn(dir); len(left) > 0 {
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Fatalf("postgres processes %v outlived their killed test binary", left)
	}
	if processAlive(pid) {
		t.Errorf("postmaster %d still alive", pid)
	}

	removeStaleDirs(tmp)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale directory %s not swept: %v", dir, err)
	}
}

func TestRemoveStaleDirs(t *testing.T) {
	tmp := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := strconv.Itoa(dead.Process.Pid)
	self := strconv.Itoa(os.Getpid())
	dirs := map[string]bool{ // name → swept
		"pgtest-" + deadPID + "-1":       true,
		"pgtest-" + self + "-2":          false, // ours
		"pgtest-" + deadPID + "-3":       false, // its postmaster still runs (pretend: our pid)
		"pgtest-" + deadPID + "-unusual": false, // not a name Start makes
		"other-" + deadPID + "-4":        false,
	}
	for name := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, name, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "pgtest-"+deadPID+"-3", "data", "postmaster.pid"), []byte(self+"\n/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	removeStaleDirs(tmp)

	got := map[string]bool{}
	for name := range dirs {
		_, err := os.Stat(filepath.Join(tmp, name))
		got[name] = errors.Is(err, os.ErrNotExist)
	}
	if diff := cmp.Diff(dirs, got); diff != "" {
		t.Errorf("swept directories (-want +got):\n%s", diff)
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	t.Setenv("PGTEST_BINDIR", t.TempDir())
	s, err := Start()
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded without binaries")
	}
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "install postgresql") {
		t.Errorf("Start() error = %v, want ErrNoBinaries saying to install postgresql", err)
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct {
		name     string
		seq      int64
		testName string
		want     string
	}{
		{"plain", 1, "TestFindCalls", "t1_testfindcalls"},
		{"subtest", 12, "TestFindCalls/window edge: −1s", "t12_testfindcalls_window_edge_1s"},
		{"quote", 3, `Test"; DROP`, "t3_test_drop"},
		{"long", 7, strings.Repeat("x", 100), "t7_" + strings.Repeat("x", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := databaseName(tt.seq, tt.testName); got != tt.want {
				t.Errorf("databaseName(%d, %q) = %q, want %q", tt.seq, tt.testName, got, tt.want)
			}
		})
	}
}

// processesIn lists the live processes whose working directory is inside dir:
// postgres and each of its backends work in the data directory.
func processesIn(dir string) []int {
	var pids []int
	cwds, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, cwd := range cwds {
		target, err := os.Readlink(cwd)
		if err != nil || !strings.HasPrefix(target, dir+"/") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(cwd)))
		if processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// reachableTempDir is a temporary directory the postgres user can reach when the
// tests run as root (t.TempDir's parent is private to us).
func reachableTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "pgtest-orphan-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, connString)
}

func execSQL(ctx context.Context, connString string, statements ...string) error {
	conn, err := connect(ctx, connString)
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

func mustExec(t *testing.T, connString, stmt string) {
	t.Helper()
	if err := execSQL(t.Context(), connString, stmt); err != nil {
		t.Fatal(err)
	}
}

func queryString(t *testing.T, connString, query string) string {
	t.Helper()
	conn, err := connect(t.Context(), connString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var s string
	if err := conn.QueryRow(t.Context(), query).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s
}

func seededValues(t *testing.T, connString string) []string {
	t.Helper()
	conn, err := connect(t.Context(), connString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(t.Context(), "SELECT v FROM seeded ORDER BY v")
	values, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return values
}
