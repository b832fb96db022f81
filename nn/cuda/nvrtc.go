package cuda

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// nvrtcAPI is libnvrtc, bound (nvrtc.h). nvrtcProgram is a pointer.
type nvrtcAPI struct {
	lib *library

	version           func(major, minor *int32) int32
	getErrorString    func(r int32) *byte
	createProgram     func(prog *uintptr, src, name string, numHeaders int32, headers, includeNames unsafe.Pointer) int32
	compileProgram    func(prog uintptr, numOptions int32, options unsafe.Pointer) int32
	getProgramLogSize func(prog uintptr, size *uint64) int32
	getProgramLog     func(prog uintptr, log unsafe.Pointer) int32
	getCUBINSize      func(prog uintptr, size *uint64) int32
	getCUBIN          func(prog uintptr, out unsafe.Pointer) int32
	getPTXSize        func(prog uintptr, size *uint64) int32
	getPTX            func(prog uintptr, out unsafe.Pointer) int32
	destroyProgram    func(prog *uintptr) int32
	numSupportedArchs func(n *int32) int32
	supportedArchs    func(archs *int32) int32
	hasArchList       bool
}

var (
	nvrtcOnce sync.Once
	nvrtcLib  *nvrtcAPI
	nvrtcErr  error
)

func loadNVRTC() (*nvrtcAPI, error) {
	nvrtcOnce.Do(func() { nvrtcLib, nvrtcErr = bindNVRTC(defaultSearchPath()) })
	return nvrtcLib, nvrtcErr
}

func bindNVRTC(sp searchPath) (*nvrtcAPI, error) {
	lib, err := openLibrary(nvrtcSpec, sp)
	if err != nil {
		return nil, err
	}
	n := &nvrtcAPI{lib: lib}
	b := newBinder(lib)
	b.fn(&n.version, "nvrtcVersion")
	b.fn(&n.getErrorString, "nvrtcGetErrorString")
	b.fn(&n.createProgram, "nvrtcCreateProgram")
	b.fn(&n.compileProgram, "nvrtcCompileProgram")
	b.fn(&n.getProgramLogSize, "nvrtcGetProgramLogSize")
	b.fn(&n.getProgramLog, "nvrtcGetProgramLog")
	b.fn(&n.getCUBINSize, "nvrtcGetCUBINSize")
	b.fn(&n.getCUBIN, "nvrtcGetCUBIN")
	b.fn(&n.getPTXSize, "nvrtcGetPTXSize")
	b.fn(&n.getPTX, "nvrtcGetPTX")
	b.fn(&n.destroyProgram, "nvrtcDestroyProgram")
	if b.err != nil {
		return nil, b.err
	}
	n.hasArchList = b.optional(&n.numSupportedArchs, "nvrtcGetNumSupportedArchs") &&
		b.optional(&n.supportedArchs, "nvrtcGetSupportedArchs")
	return n, nil
}

func (n *nvrtcAPI) check(op, call string, r int32) error {
	if r == 0 {
		return nil
	}
	text := statusName(nvrtcErrorNames, "NVRTC_ERROR", r)
	if n.getErrorString != nil {
		if p := n.getErrorString(r); p != nil {
			text = cString(p)
		}
	}
	return &LibError{Op: op, Call: call, Code: r, Text: text}
}

func (n *nvrtcAPI) libPath() string { return n.lib.path }

// versionString is "13.0".
func (n *nvrtcAPI) versionString() (string, error) {
	var major, minor int32
	if err := n.check("query the NVRTC version", "nvrtcVersion", n.version(&major, &minor)); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d.%d", major, minor), nil
}

// archs lists the compute capabilities NVRTC can compile for (as 90 for
// sm_90), ascending; nil when this NVRTC cannot say.
func (n *nvrtcAPI) archs() []int {
	if !n.hasArchList {
		return nil
	}
	var cnt int32
	if n.numSupportedArchs(&cnt) != 0 || cnt <= 0 {
		return nil
	}
	a := make([]int32, cnt)
	if n.supportedArchs(&a[0]) != 0 {
		return nil
	}
	out := make([]int, len(a))
	for i, v := range a {
		out[i] = int(v)
	}
	sort.Ints(out)
	return out
}

// compileTarget is what NVRTC is asked to produce for one device.
type compileTarget struct {
	Arch  string // "sm_90" (CUBIN) or "compute_90" (PTX, JIT-compiled by the driver)
	Cubin bool
}

// chooseTarget picks real machine code for the device when NVRTC knows
// its architecture, else PTX for the newest architecture NVRTC knows that
// is not newer than the device (the driver JIT-compiles PTX forward).
// supported is NVRTC's list (nil: unknown, assume it knows the device).
func chooseTarget(ccMajor, ccMinor int, supported []int) (compileTarget, error) {
	cc := ccMajor*10 + ccMinor
	if supported == nil {
		return compileTarget{Arch: fmt.Sprintf("sm_%d", cc), Cubin: true}, nil
	}
	best := -1
	for _, a := range supported {
		if a == cc {
			return compileTarget{Arch: fmt.Sprintf("sm_%d", cc), Cubin: true}, nil
		}
		if a < cc && a > best {
			best = a
		}
	}
	if best < 0 {
		return compileTarget{}, fmt.Errorf("NVRTC supports architectures %v, none at or below the device's compute capability %d.%d", supported, ccMajor, ccMinor)
	}
	return compileTarget{Arch: fmt.Sprintf("compute_%d", best)}, nil
}

// compileOptions are NVRTC's flags for a target. No fast math: results
// must match the CPU backend closely.
func compileOptions(t compileTarget) []string {
	return []string{"--gpu-architecture=" + t.Arch, "--std=c++17", "-default-device"}
}

// compile runs NVRTC on src and returns a CUBIN or NUL-terminated PTX
// image for cuModuleLoadData. A compilation error carries NVRTC's log.
func (n *nvrtcAPI) compile(src, name string, t compileTarget) ([]byte, error) {
	op := "compile the CUDA kernels (" + name + ") for " + t.Arch
	var prog uintptr
	if err := n.check(op, "nvrtcCreateProgram", n.createProgram(&prog, src, name, 0, nil, nil)); err != nil {
		return nil, err
	}
	defer n.destroyProgram(&prog)
	opts := compileOptions(t)
	// NVRTC reads the option strings during the call only; keep them in
	// C-compatible NUL-terminated byte slices referenced from one array.
	cstrs := make([][]byte, len(opts))
	ptrs := make([]unsafe.Pointer, len(opts))
	for i, o := range opts {
		cstrs[i] = append([]byte(o), 0)
		ptrs[i] = unsafe.Pointer(&cstrs[i][0])
	}
	r := n.compileProgram(prog, int32(len(opts)), unsafe.Pointer(&ptrs[0]))
	if r != 0 {
		err := n.check(op, "nvrtcCompileProgram", r)
		return nil, fmt.Errorf("%w\n%s", err, n.log(prog))
	}
	var size uint64
	if t.Cubin {
		if err := n.check(op, "nvrtcGetCUBINSize", n.getCUBINSize(prog, &size)); err != nil {
			return nil, err
		}
		out := make([]byte, size)
		if size > 0 {
			if err := n.check(op, "nvrtcGetCUBIN", n.getCUBIN(prog, unsafe.Pointer(&out[0]))); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if err := n.check(op, "nvrtcGetPTXSize", n.getPTXSize(prog, &size)); err != nil {
		return nil, err
	}
	out := make([]byte, size) // size includes the terminating NUL
	if size > 0 {
		if err := n.check(op, "nvrtcGetPTX", n.getPTX(prog, unsafe.Pointer(&out[0]))); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (n *nvrtcAPI) log(prog uintptr) string {
	var size uint64
	if n.getProgramLogSize(prog, &size) != 0 || size <= 1 {
		return "(no compiler log)"
	}
	buf := make([]byte, size)
	if n.getProgramLog(prog, unsafe.Pointer(&buf[0])) != 0 {
		return "(the compiler log could not be read)"
	}
	return strings.TrimRight(string(buf), "\x00\n")
}
