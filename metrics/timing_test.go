package metrics

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// eventClock logs the order of syncs, clock reads and the timed work, and
// advances a fake clock by one second per read.
type eventClock struct {
	events []string
	t      time.Time
}

func (c *eventClock) now() time.Time {
	c.events = append(c.events, "clock")
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *eventClock) step(name string, err error) func() error {
	return func() error {
		c.events = append(c.events, name)
		return err
	}
}

func TestTimeSynchronisesAroundTheWork(t *testing.T) {
	c := &eventClock{}
	secs, err := timeWith(c.now, c.step("sync", nil), c.step("work", nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"sync", "clock", "work", "sync", "clock"}; !slices.Equal(c.events, want) {
		t.Errorf("events %v, want %v: the clock must start after a sync and stop after another", c.events, want)
	}
	if secs != 1 {
		t.Errorf("measured %v s between two clock reads one second apart", secs)
	}
}

func TestTimeErrors(t *testing.T) {
	boom := errors.New("boom")
	c := &eventClock{}
	if _, err := timeWith(c.now, c.step("sync", boom), c.step("work", nil)); !errors.Is(err, boom) {
		t.Errorf("failing first sync: error %v", err)
	}
	if slices.Contains(c.events, "work") {
		t.Error("the work ran although the first sync failed")
	}

	c = &eventClock{}
	if _, err := timeWith(c.now, c.step("sync", nil), c.step("work", boom)); !errors.Is(err, boom) {
		t.Errorf("failing work: error %v", err)
	}
	if want := []string{"sync", "clock", "work", "sync", "clock"}; !slices.Equal(c.events, want) {
		t.Errorf("failing work: events %v, want %v (the second sync must still run)", c.events, want)
	}

	calls := 0
	secondFails := func() error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	}
	if _, err := Time(secondFails, func() error { return nil }); !errors.Is(err, boom) {
		t.Errorf("failing second sync: error %v", err)
	}
}

// TestTimeMeasuresRealTime checks the real clock is used: a 20 ms sleep
// takes at least 20 ms (a lower bound only, so load cannot make it fail).
func TestTimeMeasuresRealTime(t *testing.T) {
	secs, err := Time(nil, func() error { time.Sleep(20 * time.Millisecond); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if secs < 0.020 {
		t.Errorf("a 20 ms sleep measured %.4f s", secs)
	}
}
