package tracking

import "os"

// procIdentity names one process for as long as it lives: its pid, and a
// token (boot id and start time, where the system tells them) that differs
// for a later process given the same pid.
type procIdentity struct {
	pid   int
	token string
}

func selfIdentity() procIdentity {
	pid := os.Getpid()
	token, _ := processToken(pid)
	return procIdentity{pid: pid, token: token}
}

// processGone reports whether the process recorded as (pid, token) on this
// host has ended. An empty token (a system that gives none) falls back to
// whether some process with that pid exists. A process that this one cannot
// see (another pid namespace) is never reported gone.
func processGone(pid int, token string) bool {
	if pid <= 0 {
		return true
	}
	if !visibleHere(token) {
		return false
	}
	now, alive := processToken(pid)
	if !alive {
		return true
	}
	return token != "" && now != "" && now != token
}
