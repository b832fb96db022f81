package tracking

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as a helper process: with helperEnv set, TestMain
// runs a helper instead of the tests, so the tests can use the store from
// other processes and kill them.
const (
	helperEnv    = "LETHE_TRACKING_HELPER"
	helperDirEnv = "LETHE_TRACKING_HELPER_DIR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "hold":
		helperHold(os.Getenv(helperDirEnv))
	case "hammer":
		if err := hammer(os.Getenv(helperDirEnv), "proc", hammerRuns, hammerPoints); err != nil {
			fmt.Fprintln(os.Stderr, "hammer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperHold records a running and a queued run, says so, and waits to be
// killed.
func helperHold(dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	run, err1 := s.StartRun(RunInfo{Address: "train.held", Kind: "train"})
	queued, err2 := s.QueueRun(RunInfo{Address: "eval.held", Kind: "evaluate"})
	err3 := s.LogMetric(run, "loss", 0, 1)
	err4 := s.Flush()
	if err := firstErr(err1, err2, err3, err4); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("ready %d %d\n", run, queued)
	time.Sleep(time.Hour)
	os.Exit(3)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func helper(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestRunsOfADeadProcessShowAsKilled(t *testing.T) {
	dir := t.TempDir()
	cmd := helper(t, "hold", dir)
	// Run the helper under a name that a careless parse of /proc/<pid>/stat
	// would read as a zombie's: the command name there is "(x) Z 1 (y)".
	trick := filepath.Join(t.TempDir(), "x) Z 1 (y")
	if err := os.Symlink(os.Args[0], trick); err == nil {
		cmd.Path, cmd.Args[0] = trick, trick
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	defer func() {
		if !reaped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper said %q: %v", line, err)
	}
	var runID, queuedID RunID
	if _, err := fmt.Sscanf(line, "ready %d %d", &runID, &queuedID); err != nil {
		t.Fatalf("helper said %q", line)
	}

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	statusOf := func(id RunID) Run {
		t.Helper()
		r, err := s.Run(fmt.Sprint(id))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// While the helper lives its runs are left alone.
	if r := statusOf(runID); r.Status != Running || r.PID != cmd.Process.Pid {
		t.Fatalf("live helper's run = %+v", r)
	}
	if r := statusOf(queuedID); r.Status != Queued {
		t.Fatalf("live helper's queued run = %+v", r)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: the helper is a zombie, which has ended all the same.
	waitZombie(t, cmd.Process.Pid)
	rs, err := s.Runs(Filter{Statuses: []Status{Killed}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("after SIGKILL, %d runs are KILLED, want 2", len(rs))
	}
	for _, r := range rs {
		want := fmt.Sprintf("process %d on", cmd.Process.Pid)
		if !strings.Contains(r.Error, want) || r.Ended.IsZero() {
			t.Errorf("killed run %d: error %q, ended %v", r.ID, r.Error, r.Ended)
		}
	}
	cmd.Wait()
	reaped = true

	// The metric point it flushed before dying is kept.
	if ms, err := s.Metrics(runID); err != nil || len(ms) != 1 {
		t.Errorf("killed run's metrics = %v, %v", ms, err)
	}
	// A fresh Open sees the same.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if r, _ := s2.Run(fmt.Sprint(runID)); r.Status != Killed {
		t.Errorf("reopened: run is %s, want KILLED", r.Status)
	}
}

// waitZombie waits until pid has exited but is not yet reaped.
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Skipf("no /proc/%d/stat: %v", pid, err)
		}
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not become a zombie", pid)
}

func TestReusedPidIsNotMistakenForTheRunsProcess(t *testing.T) {
	if selfIdentity().token == "" {
		t.Skip("this system gives no process start time")
	}
	s := openTemp(t)
	insert := func(addr, host string, pid int, token string) RunID {
		t.Helper()
		res, err := s.w.Exec(`INSERT INTO runs (address, kind, status, queued_at, started_at, host, pid, proc_start)
			VALUES (?, 'train', 'RUNNING', 0, 0, ?, ?, ?)`, addr, host, pid, token)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		return RunID(id)
	}
	self := selfIdentity()
	mine := insert("mine", s.host, self.pid, self.token)
	// Our pid, but recorded for a process that started at another time (or
	// before a reboot): that process is gone, whoever holds the pid now.
	ns, _, _ := strings.Cut(self.token, "|")
	reused := insert("reused", s.host, self.pid, ns+"|another-boot|12345")
	// The same host name but another pid namespace (a container): its pids
	// mean nothing here.
	container := insert("container", s.host, 1<<30, "pid:[1]|boot|1")
	// Another machine's processes cannot be checked from here.
	remote := insert("remote", s.host+"-elsewhere", 1<<30, "x/1")
	noPid := insert("nopid", s.host, 0, "")

	want := map[RunID]Status{mine: Running, reused: Killed, container: Running, remote: Running, noPid: Killed}
	rs, err := s.Runs(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != want[r.ID] {
			t.Errorf("run %s is %s, want %s", r.Address, r.Status, want[r.ID])
		}
	}
}

const (
	hammerRuns   = 25
	hammerPoints = 30
)

// hammer is one writer in the concurrency test: its own Store, many short
// transactions, and reads in between.
func hammer(dir, who string, runs, points int) error {
	s, err := Open(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	exp, err := s.BeginExperiment(ExperimentInfo{Name: "hammer-" + who})
	if err != nil {
		return err
	}
	for i := 0; i < runs; i++ {
		id, err := s.StartRun(RunInfo{Experiment: exp, Address: fmt.Sprintf("train.%s[i=%d]", who, i), Kind: "train",
			Params: []Param{{Name: "i", Value: fmt.Sprint(i)}}})
		if err != nil {
			return err
		}
		for p := 0; p < points; p++ {
			if err := s.LogMetric(id, "loss", int64(p), float64(p)); err != nil {
				return err
			}
		}
		if err := s.AddArtifact(id, Artifact{Path: fmt.Sprintf("%s/%d", who, i), SHA256: keyA, Bytes: int64(i)}); err != nil {
			return err
		}
		if err := s.FinishRun(id, Finished, ""); err != nil {
			return err
		}
		if _, err := s.Runs(Filter{Limit: 5}); err != nil {
			return err
		}
		if _, err := s.LatestByAddress("", []string{fmt.Sprintf("train.%s[i=%d]", who, i)}); err != nil {
			return err
		}
	}
	return s.EndExperiment(exp)
}

func TestConcurrentWritersNeverSeeALockedDatabase(t *testing.T) {
	// All writers start on an empty directory at once, so they also race to
	// create the schema.
	dir := t.TempDir()
	const procs, inProc = 2, 2
	var wg sync.WaitGroup
	errs := make(chan error, procs+inProc)
	for i := 0; i < procs; i++ {
		cmd := helper(t, "hammer", dir)
		var out strings.Builder
		cmd.Stderr = &out
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				errs <- fmt.Errorf("helper process: %v: %s", err, out.String())
			}
		}()
	}
	for i := 0; i < inProc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hammer(dir, fmt.Sprintf("g%d", i), hammerRuns, hammerPoints); err != nil {
				errs <- fmt.Errorf("goroutine %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Runs(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != (procs+inProc)*hammerRuns {
		t.Fatalf("%d runs recorded, want %d", len(rs), (procs+inProc)*hammerRuns)
	}
	for _, r := range rs {
		if r.Status != Finished {
			t.Errorf("run %s is %s", r.Address, r.Status)
		}
	}
	// Spot-check that every writer's curves arrived whole.
	for _, r := range []Run{rs[0], rs[len(rs)/2], rs[len(rs)-1]} {
		ms, err := s.Metrics(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || len(ms[0].Points) != hammerPoints {
			t.Errorf("run %s has metrics %v", r.Address, ms)
		}
	}
	var total int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM metrics`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != (procs+inProc)*hammerRuns*hammerPoints {
		t.Errorf("%d metric points stored, want %d", total, (procs+inProc)*hammerRuns*hammerPoints)
	}
}
