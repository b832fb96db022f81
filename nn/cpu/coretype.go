package cpu

import (
	"os"

	"golang.org/x/sys/cpu"
)

// chooseCoreType decides OPENBLAS_CORETYPE before OpenBLAS is loaded (the
// library reads it once, in its constructor). A value the user set wins.
// Otherwise Lethe picks the kernel family for the CPU's features, because
// Debian's OpenBLAS 0.3.21 misdetects some CPUs (Xeons as "Prescott", 3-5x
// slower). OPENBLAS_CORETYPE set to the empty string leaves the choice to
// OpenBLAS. With cgo enabled (Lethe links SQLite through cgo) os.Setenv also
// sets the C environment that OpenBLAS's getenv reads; TestCoreTypeReachesOpenBLAS
// checks that the corename OpenBLAS reports matches what was set.
func chooseCoreType() (value, by string) {
	if v, ok := os.LookupEnv("OPENBLAS_CORETYPE"); ok {
		if v != "" {
			return v, "user"
		}
		// Set but empty: the user wants OpenBLAS's own detection. OpenBLAS
		// would warn about an empty core name, so remove the variable.
		_ = os.Unsetenv("OPENBLAS_CORETYPE")
		return "", ""
	}
	if openblasLoaded {
		return "", ""
	}
	ct := coreTypeFor(cpuFeatures{
		avx2:       cpu.X86.HasAVX2 && cpu.X86.HasFMA,
		avx512:     cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ,
		avx512bf16: cpu.X86.HasAVX512BF16,
		amd:        isAMD(),
	})
	if ct == "" {
		return "", ""
	}
	if err := os.Setenv("OPENBLAS_CORETYPE", ct); err != nil {
		return "", ""
	}
	return ct, "lethe"
}

type cpuFeatures struct {
	avx2, avx512, avx512bf16, amd bool
}

// coreTypeFor maps CPU features to an OpenBLAS 0.3.21 core type, or "" to
// let OpenBLAS detect. Measured on a 2-core AMD EPYC Zen 4 (AVX-512, which
// OpenBLAS itself detects as "Cooperlake"): the CPU time of the ResNet-18
// and SmallCNN convolution benchmarks (forward and both backwards, one
// thread, best of five) was Haswell 552 ms, Zen 571, SkylakeX 627,
// Cooperlake 635. Zen 4 splits 512-bit instructions into two 256-bit
// halves, so OpenBLAS's AVX-512 kernels gain nothing there and their
// blocking suits these GEMM shapes worse; only large square GEMMs
// (1024³) ran ~10% faster with SkylakeX. So AMD CPUs with AVX2 get the
// Haswell kernels. Intel CPUs get the kernels of their generation named
// explicitly, because 0.3.21 misdetects newer Xeons as "Prescott" (3-5x
// slower); those mappings follow OpenBLAS's own tables, not a measurement
// here.
func coreTypeFor(f cpuFeatures) string {
	switch {
	case f.amd && f.avx2:
		return "Haswell"
	case f.avx512 && f.avx512bf16:
		return "Cooperlake"
	case f.avx512:
		return "SkylakeX"
	case f.avx2:
		return "Haswell"
	}
	return ""
}
