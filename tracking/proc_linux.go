package tracking

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
)

var bootID = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
})

// pidNamespace names this process's pid namespace, e.g. "pid:[4026531836]".
var pidNamespace = sync.OnceValue(func() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
})

// processToken reads /proc/<pid>/stat. The token is the pid namespace, the
// boot id and the process's start time in clock ticks since boot (field 22):
// together they tell this process from a later one with the same pid, also
// across a reboot. A zombie counts as ended: it has exited, only its parent
// has not reaped it.
func processToken(pid int) (token string, alive bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	// Field 2, the command name, is in parentheses and may itself hold
	// spaces and ')'; the fields after the last ')' are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", true
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field 22 (starttime) is f[19].
	if len(f) < 20 {
		return "", true
	}
	if f[0] == "Z" || f[0] == "X" {
		return "", false
	}
	return pidNamespace() + "|" + bootID() + "|" + f[19], true
}

// visibleHere reports whether a process recorded with token shares our pid
// namespace, so that its pid means the same here. Containers that share a
// store and a host name but not a pid namespace cannot judge each other's
// runs, and must not mark them KILLED.
func visibleHere(token string) bool {
	return token == "" || strings.HasPrefix(token, pidNamespace()+"|")
}
