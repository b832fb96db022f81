package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lethe/dsl"
	"lethe/runner"
	"lethe/tracking"
)

// TestMain lets the process tests start this test binary as the lethe
// command: with LETHE_TEST_AS_CLI set it runs main with its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("LETHE_TEST_AS_CLI") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lethe starts this binary as `lethe args...`.
func lethe(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LETHE_TEST_AS_CLI=1", tracking.EnvStore+"=")
	return cmd
}

// cliSpec is a small experiment with two trainings, a sweep, evaluations
// and a report: a few seconds of work, so that a kill lands in any stage.
func cliSpec(ratios string, epochs int) string {
	return fmt.Sprintf(`
experiment "cli" {
  title = "CLI test"
}

dataset "mnist" {
  kind            = "mnist"
  train_per_class = 30
  test_per_class  = 10
}

train "ortho" {
  dataset      = dataset.mnist
  arch         = "smallcnn"
  width        = 0.25
  epochs       = %[2]d
  batch_size   = 32
  optimizer    = { name = "sgd", lr = 0.05 }
  ortho_lambda = 1e-3
}

train "plain" {
  dataset    = dataset.mnist
  arch       = "smallcnn"
  width      = 0.25
  epochs     = %[2]d
  batch_size = 32
  optimizer  = { name = "sgd", lr = 0.05 }
}

unlearn "osp" {
  model    = [train.ortho, train.plain]
  method   = "osp"
  forget   = [1]
  n_forget = 16
  n_retain = 16
  sweep {
    ratio = %[1]s
  }
}

evaluate "all" {
  models  = [train.ortho, unlearn.osp]
  forget  = [1]
  metrics = ["acc_forget", "acc_retain", "time"]
}

report "summary" {
  from    = evaluate.all
  rows    = ["method", "ratio"]
  columns = ["model"]
  values  = ["acc_forget", "acc_retain"]
}
`, ratios, epochs)
}

func writeSpec(t *testing.T, dir, src string) string {
	t.Helper()
	path := filepath.Join(dir, "cli.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunCommandRunsThenReusesEverything(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, cliSpec("[0.05, 0.1]", 1))
	store := filepath.Join(dir, "store")
	out, err := runCLICombined(t, "run", spec, "--store", store)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"13 stages, 0 cached, 13 to run", "done    train.ortho[seed=0]", "### CLI test",
		"model=ortho · Acc_f (%)", "| osp ", "13 executed, 0 cached, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLICombined(t, "run", spec, "--store", store, "-j", "2")
	if err != nil || !strings.Contains(out, "0 executed, 13 cached") || !strings.Contains(out, "### CLI test") {
		t.Fatalf("second run (%v):\n%s", err, out)
	}

	// plan explains what an edit of the spec re-runs.
	writeSpec(t, dir, cliSpec("[0.05, 0.2]", 1))
	out, err = runCLICombined(t, "plan", spec, "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"13 stages, 8 cached, 5 to run", "run     unlearn.osp[model=ortho,ratio=0.2,seed=0]", "new",
		"upstream changed: evaluate.all[model=ortho,models=osp,ratio=0.2,seed=0]"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCLICombined(t, "run", spec, "--store", store); err != nil {
		t.Fatal(err)
	}
	// gc without specs keeps what the latest run of each recorded spec
	// used; with the spec, what it uses now and the latest result of each of
	// its stages. Either way the entries of the old ratio go.
	out, err = runCLICombined(t, "gc", "--store", store, "--dry-run")
	if err != nil || !strings.Contains(out, "would remove 5 entries") {
		t.Fatalf("gc --dry-run without specs (%v):\n%s", err, out)
	}
	out, err = runCLICombined(t, "gc", spec, "--store", store, "--dry-run")
	if err != nil || !strings.Contains(out, "would remove 5 entries") {
		t.Fatalf("gc --dry-run (%v):\n%s", err, out)
	}
	entries, _ := os.ReadDir(filepath.Join(store, "cache"))
	out, err = runCLICombined(t, "gc", spec, "--store", store)
	if err != nil || !strings.Contains(out, "removed 5 entries") {
		t.Fatalf("gc (%v):\n%s", err, out)
	}
	after, _ := os.ReadDir(filepath.Join(store, "cache"))
	if len(after) != len(entries)-5 {
		t.Errorf("%d cache directory entries before gc, %d after", len(entries), len(after))
	}
	out, err = runCLICombined(t, "run", spec, "--store", store)
	if err != nil || !strings.Contains(out, "0 executed, 13 cached") {
		t.Fatalf("gc removed something the spec uses (%v):\n%s", err, out)
	}
}

func TestRunCommandRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, cliSpec("[0.05]", 1))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", spec, "--device", "tpu"}, `unknown device "tpu"`},
		{[]string{"run", spec, "--device", "cuda"}, "no CUDA device"},
		{[]string{"run", spec, "--jobs", "0"}, "--jobs 0"},
		{[]string{"run", spec, "--force", "train.nope", "--store", filepath.Join(dir, "s")}, `"train.nope" names no stage`},
		{[]string{"run"}, "name the spec files"},
	} {
		out, err := runCLICombined(t, c.args...)
		if err == nil || !strings.Contains(err.Error()+out, c.want) {
			t.Errorf("lethe %v: err %v, want %q\n%s", c.args, err, c.want, out)
		}
	}
}

// checkStore verifies every cache entry against its manifest and recorded
// checksums, and that no temporary directory or live run is left.
func checkStore(t *testing.T, store string) {
	t.Helper()
	s, err := tracking.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cache, err := runner.OpenCache(store)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cache.Keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if ok, why := runner.Verify(s, cache, k); !ok {
			t.Errorf("corrupted cache entry %s: %s", k[:12], why)
		}
	}
	live, err := s.Runs(tracking.Filter{Statuses: []tracking.Status{tracking.Queued, tracking.Running}})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 0 {
		t.Errorf("runs left live after every process ended: %+v", live)
	}
}

func TestSIGKILLAtRandomMomentsThenRerunCompletes(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, cliSpec("[0.02, 0.05, 0.1]", 4))
	exp, diags := dsl.Load([]string{spec}, nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	store := filepath.Join(dir, "store")
	rng := rand.New(rand.NewPCG(6, 1))
	for i := 0; i < 6; i++ {
		cmd := lethe(t, "run", spec, "--store", store)
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		var out strings.Builder
		go func() {
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// The first kill lands anywhere in start-up (opening the store,
		// reading MNIST); the others after a random number of finished
		// stages plus a random delay, so that they hit training, pruning,
		// evaluation and the commits between them.
		wait := 0
		if i > 0 {
			wait = 1 + rng.IntN(3)
		}
		delay := time.Duration(rng.IntN(400)) * time.Millisecond
		if i == 0 {
			delay = time.Duration(100+rng.IntN(1500)) * time.Millisecond
		}
		deadline := time.After(30 * time.Second)
	waiting:
		for wait > 0 {
			select {
			case l, ok := <-lines:
				if !ok {
					break waiting
				}
				out.WriteString(l + "\n")
				if strings.Contains(l, "] done ") {
					wait--
				}
			case <-deadline:
				break waiting
			}
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines {
			out.WriteString(l + "\n")
		}
		err = cmd.Wait()
		t.Logf("kill %d, %v after its last stage line (%v):\n%s", i+1, delay, err, out.String())
		checkStore(t, store)
	}

	// What the killed runs finished must be reused.
	s, err := tracking.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	finished := map[string]string{}
	runs, err := s.Runs(tracking.Filter{Statuses: []tracking.Status{tracking.Finished}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		finished[r.Address] = r.CacheKey
	}
	s.Close()
	t.Logf("%d stages finished before the last run", len(finished))

	cmd := lethe(t, "run", spec, "--store", store)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the run after the kills failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "0 failed, 0 killed, 0 not run") {
		t.Fatalf("incomplete:\n%s", out)
	}
	checkStore(t, store)
	s, err = tracking.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last, err := s.Runs(tracking.Filter{Limit: len(exp.Stages)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range last {
		if key, ok := finished[r.Address]; ok && key == r.CacheKey && r.Status != tracking.Cached {
			t.Errorf("%s finished before the last run but was %s again", r.Address, r.Status)
		}
		if r.Status != tracking.Cached && r.Status != tracking.Finished {
			t.Errorf("%s ended %s in the last run", r.Address, r.Status)
		}
	}
	tmps, _ := os.ReadDir(filepath.Join(store, "cache", ".tmp"))
	if len(tmps) != 0 {
		t.Errorf("temporary directories left: %v", tmps)
	}
}

func TestTwoProcessesShareAStore(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, cliSpec("[0.05, 0.1]", 1))
	store := filepath.Join(dir, "store")
	var outs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	for i := range cmds {
		cmds[i] = lethe(t, "run", spec, "--store", store)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i].String())
		}
		if strings.Contains(outs[i].String(), "locked") {
			t.Errorf("process %d met a locked database:\n%s", i, outs[i].String())
		}
	}
	checkStore(t, store)
	s, err := tracking.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.Runs(tracking.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	executed := map[string]int{}
	for _, r := range runs {
		if r.Status == tracking.Finished {
			executed[r.Address]++
		}
		if r.Status != tracking.Finished && r.Status != tracking.Cached {
			t.Errorf("%s: %s (%s)", r.Address, r.Status, r.Error)
		}
	}
	if len(runs) != 26 || len(executed) != 13 {
		t.Errorf("%d runs, %d stages computed; want 26 runs, each of the 13 stages computed once", len(runs), len(executed))
	}
	for a, n := range executed {
		if n != 1 {
			t.Errorf("%s was computed %d times", a, n)
		}
	}
}

func TestInterruptStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, cliSpec("[0.05]", 300))
	store := filepath.Join(dir, "store")
	cmd := lethe(t, "run", spec, "--store", store)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "done    dataset.mnist") {
			break
		}
	}
	time.Sleep(300 * time.Millisecond) // into the first training
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if time.Since(start) > 20*time.Second {
		t.Errorf("stopping took %v", time.Since(start))
	}
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "interrupted") || !strings.Contains(out.String(), "KILLED  train.") {
		t.Errorf("output:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	s, err := tracking.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	killed, _ := s.Runs(tracking.Filter{Statuses: []tracking.Status{tracking.Killed}})
	if len(killed) != 1 || killed[0].Kind != "train" || !strings.Contains(killed[0].Error, "interrupted") {
		t.Errorf("killed runs: %+v", killed)
	}
	tmps, _ := os.ReadDir(filepath.Join(store, "cache", ".tmp"))
	if len(tmps) != 0 {
		t.Errorf("partial artifacts left: %v", tmps)
	}
}
