package runner

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"lethe/dsl"
	"lethe/stages"
)

func fakeStep(addr string) *Step {
	return &Step{Stage: &dsl.Stage{Address: addr}, Reason: "new"}
}

func TestDisplayPrintsALinePerStageWithoutATerminal(t *testing.T) {
	var out bytes.Buffer
	d := newDisplay(&out, false, 2)
	a, b := fakeStep("train.a[seed=0]"), fakeStep("unlearn.b[seed=0]")
	d.started(a)
	d.progress(a, stages.Progress{Phase: "epoch", Done: 3, Total: 10, Epoch: 1, Epochs: 2})
	d.finished(&StepResult{Step: a, Outcome: Executed, Duration: 1500 * time.Millisecond})
	d.started(b)
	d.finished(&StepResult{Step: b, Outcome: Failed, Err: errors.New("method x is not available\nmore"), Log: "/s/logs/2.log"})
	d.close()
	want := "[1/2] done    train.a[seed=0] (1.5s)\n" +
		"[2/2] FAILED  unlearn.b[seed=0]: method x is not available (log: /s/logs/2.log)\n"
	if out.String() != want {
		t.Errorf("output:\n%q\nwant\n%q", out.String(), want)
	}
}

func TestDisplayDrawsBarsOnATerminal(t *testing.T) {
	var out bytes.Buffer
	d := newDisplay(&out, true, 3)
	a := fakeStep("train.a[seed=0]")
	d.started(a)
	d.lastDraw = time.Time{}
	d.progress(a, stages.Progress{Phase: "epoch", Done: 5, Total: 10, Epoch: 2, Epochs: 4})
	s := out.String()
	for _, want := range []string{"running train.a[seed=0]", "0/3", "train.a[seed=0] epoch 2/4", "5/10", "\x1b[K", "\x1b[1A"} {
		if !strings.Contains(s, want) {
			t.Errorf("live output lacks %q:\n%q", want, s)
		}
	}
	out.Reset()
	d.finished(&StepResult{Step: a, Outcome: Executed, Duration: time.Second})
	d.close()
	s = out.String()
	if !strings.Contains(s, "[1/3] done    train.a[seed=0] (1s)\n") || !strings.Contains(s, "1/3") {
		t.Errorf("after the stage:\n%q", s)
	}
	if !strings.HasSuffix(s, "\r\x1b[K\n\x1b[K\x1b[1A\r") {
		t.Errorf("close does not erase the live lines:\n%q", s)
	}
}
