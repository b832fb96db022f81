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

// processToken reads /proc/<pid>/stat. The token is the boot id and the
// process's start time in clock ticks since boot (field 22), which together
// tell this process from a later one with the same pid, also across a reboot.
// A zombie counts as ended: it has exited, only its parent has not reaped it.
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
	return bootID() + "/" + f[19], true
}
