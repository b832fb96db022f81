package cpu

import (
	"os"

	"golang.org/x/sys/cpu"
)

// chooseCoreType decides OPENBLAS_CORETYPE before OpenBLAS is loaded (the
// library reads it once, in its constructor). A value the user set wins.
// Otherwise Lethe picks the kernel family for the CPU's features, because
// Debian's OpenBLAS 0.3.21 misdetects some CPUs (Xeons as "Prescott", 3-5x
// slower). With cgo enabled (Lethe links SQLite through cgo) os.Setenv also
// sets the C environment that OpenBLAS's getenv reads; TestCoreTypeReachesOpenBLAS
// checks that the corename OpenBLAS reports matches what was set.
func chooseCoreType() (value, by string) {
	if v := os.Getenv("OPENBLAS_CORETYPE"); v != "" {
		return v, "user"
	}
	if openblasLoaded {
		return "", ""
	}
	ct := coreTypeFor(cpuFeatures{
		avx2:      cpu.X86.HasAVX2 && cpu.X86.HasFMA,
		avx512:    cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ,
		avx512bf6: cpu.X86.HasAVX512BF16,
		amd:       isAMD(),
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
	avx2, avx512, avx512bf6, amd bool
}

// coreTypeFor maps CPU features to an OpenBLAS 0.3.21 core type, or "" to
// let OpenBLAS detect. The choice for each kind of CPU comes from measuring
// the candidates' sgemm speed (see the table in the report of
// BenchmarkSgemm run under each OPENBLAS_CORETYPE).
func coreTypeFor(f cpuFeatures) string {
	switch {
	case f.avx512:
		return "SkylakeX"
	case f.avx2:
		return "Haswell"
	}
	return ""
}
