package metrics

import (
	"fmt"
	"time"
)

// Time measures fn's wall-clock duration in seconds. sync, when not nil,
// is called before the clock starts and again before it stops, so that
// work queued earlier on a device is not counted and work fn queued is:
// pass the engine backend's Sync. An error from fn or sync is returned
// with the time measured so far (the second sync still runs after a
// failing fn, so no queued work is left behind).
func Time(sync func() error, fn func() error) (float64, error) {
	return timeWith(time.Now, sync, fn)
}

// timeWith is Time with the clock as a parameter, for tests.
func timeWith(now func() time.Time, sync func() error, fn func() error) (float64, error) {
	if sync != nil {
		if err := sync(); err != nil {
			return 0, fmt.Errorf("timing: synchronising before the start: %w", err)
		}
	}
	start := now()
	err := fn()
	if sync != nil {
		if serr := sync(); serr != nil && err == nil {
			err = fmt.Errorf("timing: synchronising before the stop: %w", serr)
		}
	}
	return now().Sub(start).Seconds(), err
}
