package cpu

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/cpu"
)

// hostCPU is what /proc/cpuinfo says about the first processor (Linux only;
// elsewhere the fields stay empty).
type hostCPU struct {
	model, vendor string
}

var readHostCPU = sync.OnceValue(func() hostCPU {
	var h hostCPU
	if runtime.GOOS != "linux" {
		return h
	}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return h
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "model name":
			if h.model == "" {
				h.model = val
			}
		case "vendor_id":
			if h.vendor == "" {
				h.vendor = val
			}
		}
		if h.model != "" && h.vendor != "" {
			break
		}
	}
	return h
})

func isAMD() bool { return readHostCPU().vendor == "AuthenticAMD" }

// isaFeatures lists the instruction-set extensions that matter for GEMM
// speed, as "AVX2 FMA AVX-512F ...".
func isaFeatures() string {
	var fs []string
	add := func(ok bool, name string) {
		if ok {
			fs = append(fs, name)
		}
	}
	switch runtime.GOARCH {
	case "amd64":
		add(cpu.X86.HasAVX, "AVX")
		add(cpu.X86.HasAVX2, "AVX2")
		add(cpu.X86.HasFMA, "FMA")
		add(cpu.X86.HasAVX512F, "AVX-512F")
		add(cpu.X86.HasAVX512BW, "AVX-512BW")
		add(cpu.X86.HasAVX512VL, "AVX-512VL")
		add(cpu.X86.HasAVX512BF16, "AVX-512BF16")
		add(cpu.X86.HasAVX512VNNI, "AVX-512VNNI")
	case "arm64":
		add(cpu.ARM64.HasASIMD, "NEON")
		add(cpu.ARM64.HasSVE, "SVE")
	}
	if len(fs) == 0 {
		return "none detected"
	}
	return strings.Join(fs, " ")
}
