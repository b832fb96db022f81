package runner

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"lethe/stages"
)

// display shows a run's progress. On a terminal it keeps two live lines
// at the bottom, drawn with github.com/schollz/progressbar/v3: a bar over
// the stages to run, and a bar over the steps of the current training
// epoch (or unlearning phase). Finished stages print a line above them.
// Elsewhere (CI logs, pipes) only those lines are printed.
type display struct {
	mu    sync.Mutex
	out   io.Writer
	live  bool
	width int

	total, settled int
	running        []*Step // in start order

	plan, inner *progressbar.ProgressBar
	innerOwner  *Step
	innerText   string
	lastDraw    time.Time
	drawn       bool
}

func newDisplay(out io.Writer, live bool, toRun int) *display {
	d := &display{out: out, live: live, total: toRun, width: 100}
	if f, ok := out.(*os.File); ok && live {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			d.width = w
		}
	}
	if live {
		d.plan = newBar(toRun, "stages")
	}
	return d
}

func newBar(max int, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(max,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(0),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
	)
}

// printf writes a permanent line above the live area.
func (d *display) printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	fmt.Fprintf(d.out, format+"\n", args...)
	d.draw(true)
}

func (d *display) started(s *Step) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running = append(d.running, s)
	d.draw(true)
}

func (d *display) progress(s *Step, p stages.Progress) {
	if !d.live || p.Total <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	text := fmt.Sprintf("%s %s", s.Stage.Address, p.Phase)
	if p.Epochs > 0 {
		text = fmt.Sprintf("%s epoch %d/%d", s.Stage.Address, p.Epoch, p.Epochs)
	}
	if d.inner == nil || d.innerOwner != s || d.innerText != text || d.inner.GetMax() != p.Total {
		d.inner = newBar(p.Total, text)
		d.innerOwner, d.innerText = s, text
	}
	d.inner.Set(p.Done)
	d.draw(false)
}

// finished records a stage's end and prints its line. Stages a stopped
// run never started print nothing: the summary counts them.
func (d *display) finished(r *StepResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, s := range d.running {
		if s == r.Step {
			d.running = append(d.running[:i], d.running[i+1:]...)
			break
		}
	}
	if d.innerOwner == r.Step {
		d.inner, d.innerOwner = nil, nil
	}
	if r.Outcome == NotRun {
		d.draw(true)
		return
	}
	d.settled++
	if d.plan != nil {
		d.plan.Set(d.settled)
	}
	d.clear()
	fmt.Fprintln(d.out, d.resultLine(r))
	d.draw(true)
}

func (d *display) resultLine(r *StepResult) string {
	n := fmt.Sprintf("[%*d/%d]", len(fmt.Sprint(d.total)), d.settled, d.total)
	addr := r.Step.Stage.Address
	switch r.Outcome {
	case Executed:
		line := fmt.Sprintf("%s done    %s (%s)", n, addr, round(r.Duration))
		if r.Step.Reason != "new" && r.Step.Reason != "" {
			line += ": " + r.Step.Reason
		}
		return line
	case Reused:
		return fmt.Sprintf("%s cached  %s (%s)", n, addr, r.Note)
	case Killed:
		return fmt.Sprintf("%s KILLED  %s: %s", n, addr, errText(r.Err))
	}
	line := fmt.Sprintf("%s FAILED  %s: %s", n, addr, errText(r.Err))
	if r.Log != "" {
		line += " (log: " + r.Log + ")"
	}
	return line
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return firstLine(err.Error())
}

func round(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// clear erases the live area; the cursor ends at its first line.
func (d *display) clear() {
	if !d.live || !d.drawn {
		return
	}
	fmt.Fprint(d.out, "\r\x1b[K\n\x1b[K\x1b[1A\r")
	d.drawn = false
}

// draw renders the live area (at most every 100 ms unless forced) and
// leaves the cursor at its first line.
func (d *display) draw(force bool) {
	if !d.live || d.total == 0 {
		return
	}
	if !force && time.Since(d.lastDraw) < 100*time.Millisecond {
		return
	}
	d.lastDraw = time.Now()
	desc := "stages"
	if len(d.running) > 0 {
		desc = "running " + d.running[0].Stage.Address
		if len(d.running) > 1 {
			desc += fmt.Sprintf(" and %d more", len(d.running)-1)
		}
	}
	d.plan.Describe(desc)
	d.plan.Set(d.settled)
	line1 := strings.TrimLeft(d.plan.String(), "\r")
	line2 := ""
	if d.inner != nil {
		line2 = strings.TrimLeft(d.inner.String(), "\r")
	}
	fmt.Fprintf(d.out, "\r\x1b[K%s\n\x1b[K%s\x1b[1A\r", fit(line1, d.width-1), fit(line2, d.width-1))
	d.drawn = true
}

// fit shortens a line to w characters, keeping its end (the bar and the
// counts) and eliding the middle of the description.
func fit(s string, w int) string {
	if utf8.RuneCountInString(s) <= w || w < 10 {
		return s
	}
	r := []rune(s)
	keep := w - 1
	head := keep / 3
	return string(r[:head]) + "…" + string(r[len(r)-(keep-head):])
}

func (d *display) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
}
