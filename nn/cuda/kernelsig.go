package cuda

import (
	_ "embed"
	"fmt"
	"math"
	"regexp"
	"strings"
)

//go:embed kernels.cu
var kernelSource string

// argKind is the type of one kernel parameter as the launcher packs it.
type argKind uint8

const (
	argPtr   argKind = iota + 1 // any pointer: 8 bytes
	argInt                      // int: 4 bytes
	argFloat                    // float: 4 bytes
)

func (k argKind) String() string {
	switch k {
	case argPtr:
		return "pointer"
	case argInt:
		return "int"
	case argFloat:
		return "float"
	}
	return "invalid"
}

// kernelSig is one kernel's name and parameter kinds.
type kernelSig struct {
	Name   string
	Params []argKind
	Names  []string // parameter names, for messages
	CTypes []string // parameter C types, for the emulator's wrappers
}

var kernelDecl = regexp.MustCompile(`(?m)^extern "C" __global__ void (\w+)\(([^)]*)\)`)

// parseKernels finds every `extern "C" __global__ void name(...)` in src
// and classifies its parameters. A parameter of another type is an error:
// the launcher would not know how to pack it.
func parseKernels(src string) ([]kernelSig, error) {
	var sigs []kernelSig
	seen := map[string]bool{}
	for _, m := range kernelDecl.FindAllStringSubmatch(src, -1) {
		s := kernelSig{Name: m[1]}
		if seen[s.Name] {
			return nil, fmt.Errorf("kernels: %s is defined twice", s.Name)
		}
		seen[s.Name] = true
		for _, p := range strings.Split(m[2], ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			i := strings.LastIndexAny(p, " *")
			if i < 0 || i == len(p)-1 {
				return nil, fmt.Errorf("kernels: %s: cannot read parameter %q", s.Name, p)
			}
			ctype, name := strings.TrimSpace(p[:i+1]), p[i+1:]
			var k argKind
			switch ctype {
			case "float*", "const float*", "int*", "const int*", "double*", "const double*":
				k = argPtr
			case "int":
				k = argInt
			case "float":
				k = argFloat
			default:
				return nil, fmt.Errorf("kernels: %s: parameter %s has type %q; kernels take float*, int*, double*, int or float", s.Name, name, ctype)
			}
			s.Params = append(s.Params, k)
			s.Names = append(s.Names, name)
			s.CTypes = append(s.CTypes, ctype)
		}
		sigs = append(sigs, s)
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("kernels: no kernel found in the source")
	}
	return sigs, nil
}

// karg is one launch argument.
type karg struct {
	kind argKind
	bits uint64
}

func kint(v int) karg       { return karg{argInt, uint64(uint32(int32(v)))} }
func kfloat(v float32) karg { return karg{argFloat, uint64(math.Float32bits(v))} }
func kptr(p uintptr) karg   { return karg{argPtr, uint64(p)} }

// checkArgs compares a launch's arguments with the kernel's signature.
func (s *kernelSig) checkArgs(args []karg) error {
	if len(args) != len(s.Params) {
		return fmt.Errorf("kernel %s takes %d arguments, launched with %d", s.Name, len(s.Params), len(args))
	}
	for i, a := range args {
		if a.kind != s.Params[i] {
			return fmt.Errorf("kernel %s: argument %d (%s) is %s, launched with %s", s.Name, i, s.Names[i], s.Params[i], a.kind)
		}
	}
	return nil
}
