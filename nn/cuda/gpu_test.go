package cuda

import (
	"math/rand/v2"
	"strings"
	"testing"

	"lethe/nn"
)

// The tests in this file need a GPU; without one they skip with "no CUDA
// device: <reason>". A GPU that is found but fails (NVRTC missing, a
// kernel that does not compile) is a failure, not a skip.
//
// scripts/gpu-check.sh runs them on the GPU machine; each subtest logs
// its largest error so one run shows how close every op is.

func gpuBackend(t testing.TB, opts Options) *Backend {
	t.Helper()
	var warnings []string
	opts.Warn = func(s string) { warnings = append(warnings, s) }
	be, err := New(opts)
	if err != nil {
		if strings.HasPrefix(err.Error(), "no CUDA device: ") {
			t.Skip(err.Error())
		}
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Logf("warning: %s", w)
	}
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return be
}

func TestGPUInfo(t *testing.T) {
	be := gpuBackend(t, Options{})
	i := be.Info()
	t.Logf("device: %s, %.1f GiB, compute capability %d.%d, %d SMs", i.Device.Name, float64(i.Device.TotalMemory)/(1<<30), i.Device.Major, i.Device.Minor, i.Device.Multiprocessors)
	t.Logf("driver: CUDA %s (%s)", i.Driver, i.DriverPath)
	t.Logf("NVRTC %s (%s), kernels for %s, from cache: %v", i.NVRTC, i.NVRTCPath, i.KernelTarget, i.KernelsCached)
	t.Logf("cuBLAS: %s (%s)", i.CuBLAS, i.CuBLASPath)
	t.Logf("cuDNN: %s (%s); batch norm: %s", i.CuDNN, i.CuDNNPath, i.BatchNorm)
	if i.CuBLASPath == "" || i.CuDNNPath == "" {
		t.Errorf("cuBLAS or cuDNN not in use: the benchmarks would measure the fallbacks")
	}
	devs, err := Describe()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		t.Logf("Describe: %+v", d)
	}
}

// TestGPUOps: the library paths (cuDNN convolutions and batch norm,
// cuBLAS GEMM), TF32 off, against the reference.
func TestGPUOps(t *testing.T) {
	runOpSuite(t, func(t *testing.T) nn.Backend { return gpuBackend(t, Options{TF32: TF32Off}) }, tolConv)
}

// TestGPUOpsOwnKernels: Lethe's own kernels on the GPU (tiled GEMM,
// im2col convolutions, batch-norm kernels), as used without the libraries.
func TestGPUOpsOwnKernels(t *testing.T) {
	runOpSuite(t, func(t *testing.T) nn.Backend {
		return gpuBackend(t, Options{TF32: TF32Off, NoCuDNN: true, NoCuBLAS: true})
	}, tolConv)
}

// TestGPUOpsOwnBatchNorm: cuDNN convolutions with Lethe's batch norm.
func TestGPUOpsOwnBatchNorm(t *testing.T) {
	s := newSuite(gpuBackend(t, Options{TF32: TF32Off, OwnBatchNorm: true}), tolConv)
	t.Run("BatchNorm", s.testBatchNorm)
}

// TestGPUTF32: with TF32 allowed in convolutions and GEMM, results stay
// within TF32's looser tolerance.
func TestGPUTF32(t *testing.T) {
	s := newSuite(gpuBackend(t, Options{TF32: TF32All}), tolTF32)
	t.Run("Gemm", s.testGemm)
	t.Run("Conv", s.testConv)
}

func TestGPUTrainStep(t *testing.T) {
	be := gpuBackend(t, Options{TF32: TF32Off})
	t.Run("smallcnn", func(t *testing.T) {
		trainStepAgreement(t, be, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 1, Seed: 1}, 8, tolModelGrad, tolModelParam)
	})
	t.Run("resnet18", func(t *testing.T) {
		// Seed 2 put a pre-activation within rounding of a ReLU's kink: the
		// CPU's own Go and AVX2 kernels then disagree on 339 gradients by up
		// to 2e-3, a flipped mask rather than rounding. Seed 3 sits clear
		// of it (1.4e-6 between the two).
		trainStepAgreement(t, be, nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32, Width: 0.5, Seed: 3}, 4, tolModelGrad, tolModelParam)
	})
	defer func() {
		for _, f := range be.Fallbacks() {
			t.Errorf("library failure worked around: %s", f)
		}
	}()
	t.Run("resnet18-own-kernels", func(t *testing.T) {
		own := gpuBackend(t, Options{TF32: TF32Off, NoCuDNN: true, NoCuBLAS: true})
		trainStepAgreement(t, own, nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 16, InW: 16, Width: 0.25, Seed: 2}, 4, tolModelGrad, tolModelParam)
	})
}

// TestGPUCopies: transfers larger than a staging buffer, and many
// uploads queued back to back (staging buffers reused while busy).
func TestGPUCopies(t *testing.T) {
	be := gpuBackend(t, Options{})
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]float32, 10<<20+7) // 40 MiB: three staging chunks
	for i := range big {
		big[i] = r.Float32()
	}
	b := be.Alloc(len(big))
	be.Upload(b, big)
	back := make([]float32, len(big))
	be.Download(back, b)
	for i := range big {
		if back[i] != big[i] {
			t.Fatalf("40 MiB round trip: value %d = %v, want %v", i, back[i], big[i])
		}
	}
	const n = 40
	bufs := make([]nn.Buf, n)
	src := make([]float32, 300000)
	for k := range bufs {
		for i := range src {
			src[i] = float32(k*1000000 + i)
		}
		bufs[k] = be.Alloc(len(src))
		be.Upload(bufs[k], src) // src is reused at once: Upload must have copied it
	}
	for k := range bufs {
		be.Download(back[:len(src)], bufs[k])
		for _, i := range []int{0, 12345, len(src) - 1} {
			if want := float32(k*1000000 + i); back[i] != want {
				t.Fatalf("upload %d: value %d = %v, want %v", k, i, back[i], want)
			}
		}
	}
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	t.Logf("40 MiB round trip and %d queued uploads intact; memory %+v", n, be.MemStats())
}

func TestGPUKernelCache(t *testing.T) {
	dir := t.TempDir()
	first := gpuBackend(t, Options{KernelCache: dir})
	second := gpuBackend(t, Options{KernelCache: dir})
	if first.Info().KernelsCached || !second.Info().KernelsCached {
		t.Errorf("kernels cached: first %v, second %v; want false, true", first.Info().KernelsCached, second.Info().KernelsCached)
	}
}

func TestGPUDeviceOutOfRange(t *testing.T) {
	gpuBackend(t, Options{}) // skips without a GPU
	_, err := New(Options{Device: 99})
	if err == nil || !strings.Contains(err.Error(), "GPU 99 requested") {
		t.Errorf("New(Device: 99) = %v", err)
	}
}
