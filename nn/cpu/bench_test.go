package cpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"lethe/nn"
)

// Benchmarks report time per call and effective GFLOP/s (counting 2·m·n·k
// for a GEMM and 2·N·K·C·R·S·P·Q for a convolution pass).
//
//	go test -run '^$' -bench . ./nn/cpu

func benchBackend(b *testing.B, blas string, threads int) *Backend {
	be, err := New(Options{BLAS: blas, Threads: threads})
	if err != nil {
		b.Skip(err)
	}
	return be
}

func reportFlops(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// cpuTime is the process's user+system CPU time. On a shared machine wall
// time depends on the neighbours; CPU time per op (with one thread) is a
// steadier measure of the work an op does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ms/op (CPU time over all threads) since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
}

func BenchmarkSgemm(b *testing.B) {
	for _, blas := range []string{"openblas", "gonum"} {
		for _, threads := range []int{1, 2} {
			for _, sz := range [][3]int{{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {64, 4096, 576}, {512, 512, 4608}} {
				m, n, k := sz[0], sz[1], sz[2]
				b.Run(fmt.Sprintf("%s/t%d/%dx%dx%d", blas, threads, m, n, k), func(b *testing.B) {
					be := benchBackend(b, blas, threads)
					rng := rand.New(rand.NewPCG(1, 1))
					A, B, C := Buf(randSlice(rng, m*k)), Buf(randSlice(rng, k*n)), make(Buf, m*n)
					start := cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						be.Gemm(false, false, m, n, k, 1, A, k, B, n, 0, C, n)
					}
					reportFlops(b, 2*float64(m)*float64(n)*float64(k))
					reportCPU(b, start)
				})
			}
		}
	}
}

// benchThreads is LETHE_BENCH_THREADS, or 0 (all cores).
func benchThreads() int {
	n, _ := strconv.Atoi(os.Getenv("LETHE_BENCH_THREADS"))
	return n
}

type convCase struct {
	name                          string
	n, c, h, w, k, r, stride, pad int
}

var benchConvs = []convCase{
	{"r18-64x32x32", 32, 64, 32, 32, 64, 3, 1, 1},
	{"r18-128x16x16", 32, 128, 16, 16, 128, 3, 1, 1},
	{"r18-256x8x8", 32, 256, 8, 8, 256, 3, 1, 1},
	{"r18-512x4x4", 32, 512, 4, 4, 512, 3, 1, 1},
	{"r18-64to128s2", 32, 64, 32, 32, 128, 3, 2, 1},
	{"r18-128to256s2", 32, 128, 16, 16, 256, 3, 2, 1},
	{"r18-256to512s2", 32, 256, 8, 8, 512, 3, 2, 1},
	{"r18-stem3to64", 32, 3, 32, 32, 64, 3, 1, 1},
	{"r18-sc64to128-1x1s2", 32, 64, 32, 32, 128, 1, 2, 0},
	{"r18-sc256to512-1x1s2", 32, 256, 8, 8, 512, 1, 2, 0},
	{"r50-1x1-64to256x32x32", 32, 64, 32, 32, 256, 1, 1, 0},
	{"small-1to32x28", 64, 1, 28, 28, 32, 3, 1, 1},
	{"small-32to64x14", 64, 32, 14, 14, 64, 3, 1, 1},
	{"small-64to128x7", 64, 64, 7, 7, 128, 3, 1, 1},
}

// BenchmarkConv covers ResNet-18 CIFAR at batch 32 and SmallCNN at batch
// 64. LETHE_BENCH_THREADS sets the threads (default all cores) and
// LETHE_BENCH_TARGETCOLS the chunk width (convTargetCols), for tuning.
func BenchmarkConv(b *testing.B) {
	if v, err := strconv.Atoi(os.Getenv("LETHE_BENCH_TARGETCOLS")); err == nil && v > 0 {
		old := convTargetCols
		convTargetCols = v
		defer func() { convTargetCols = old }()
	}
	for _, cc := range benchConvs {
		g, err := nn.NewConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.r, cc.r, cc.stride, cc.pad)
		if err != nil {
			b.Fatal(err)
		}
		flops := 2 * float64(g.N*g.K*g.C*g.R*g.S*g.P*g.Q)
		rng := rand.New(rand.NewPCG(2, 2))
		x := Buf(randSlice(rng, g.N*g.C*g.H*g.W))
		w := Buf(randSlice(rng, g.K*g.C*g.R*g.S))
		y := Buf(randSlice(rng, g.N*g.K*g.P*g.Q))
		dw := make(Buf, len(w))
		for _, pass := range []string{"fwd", "bwdData", "bwdFilter"} {
			b.Run(cc.name+"/"+pass, func(b *testing.B) {
				be := benchBackend(b, "auto", benchThreads())
				start := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					switch pass {
					case "fwd":
						be.ConvForward(g, x, w, y)
					case "bwdData":
						be.ConvBackwardData(g, w, y, x)
					case "bwdFilter":
						be.ConvBackwardFilter(g, x, y, dw)
					}
				}
				reportFlops(b, flops)
				reportCPU(b, start)
			})
		}
	}
}

// BenchmarkConvDirect times the direct kernels against the im2col path on
// the shapes of benchConvs they take, alternating the two call by call so
// that the machine's drift falls on both alike, and reports their ratio
// (im2col/direct > 1: the direct kernel is faster). SmallCNN's first layer
// (9 taps) is left to im2col; see directBatchMinTaps.
func BenchmarkConvDirect(b *testing.B) {
	if convDirectKernel == nil {
		b.Skip("no direct kernels in this build or on this CPU")
	}
	for _, cc := range benchConvs {
		g, err := nn.NewConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.r, cc.r, cc.stride, cc.pad)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(2, 2))
		x := Buf(randSlice(rng, g.N*g.C*g.H*g.W))
		w := Buf(randSlice(rng, g.K*g.C*g.R*g.S))
		y := Buf(randSlice(rng, g.N*g.K*g.P*g.Q))
		dw := make(Buf, len(w))
		for _, pass := range []string{"fwd", "bwdFilter"} {
			if pass == "fwd" && !isDirectConv(g) || pass == "bwdFilter" && !isDirectFilter(g) {
				continue
			}
			b.Run(cc.name+"/"+pass, func(b *testing.B) {
				be := benchBackend(b, "auto", benchThreads())
				benchDirectAgainstIm2col(b, 0, func() {
					if pass == "fwd" {
						be.ConvForward(g, x, w, y)
					} else {
						be.ConvBackwardFilter(g, x, y, dw)
					}
				})
			})
		}
	}
}

// BenchmarkTrainStepDirect trains ResNet-18 (batch 32) and SmallCNN (batch
// 64) with the direct kernels and with the im2col path in alternate steps
// and reports their ratio (im2col/direct > 1: the direct kernels make the
// step faster), as BenchmarkConvDirect does per layer.
func BenchmarkTrainStepDirect(b *testing.B) {
	if convDirectKernel == nil {
		b.Skip("no direct kernels in this build or on this CPU")
	}
	for _, c := range []struct {
		cfg   nn.Config
		batch int
	}{
		{nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32}, 32},
		{nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28}, 64},
	} {
		b.Run(c.cfg.Arch, func(b *testing.B) {
			be := benchBackend(b, "auto", benchThreads())
			m, err := nn.New(be, c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			tr, err := nn.NewTrainer(m, nn.OptimConfig{Name: "sgd", LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}, 0, nn.OrthoExclude{})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			bt := &nn.Batch{N: c.batch, C: c.cfg.InC, H: c.cfg.InH, W: c.cfg.InW, X: randSlice(rng, c.batch*c.cfg.InC*c.cfg.InH*c.cfg.InW), Y: make([]int32, c.batch)}
			benchDirectAgainstIm2col(b, 1, func() {
				if _, _, err := tr.Step(bt, 0.01, 1); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// benchDirectAgainstIm2col calls run b.N times with the direct kernels and
// b.N times with the im2col path, switching every call and alternating
// which goes first so that the machine's drift falls on both alike, after
// `warm` untimed rounds; it reports both times and their ratio.
func benchDirectAgainstIm2col(b *testing.B, warm int, run func()) {
	defer func() { useDirectConv = true }()
	var spent [2]time.Duration // direct, im2col
	for i := -warm; i < b.N; i++ {
		for j := 0; j < 2; j++ {
			path := (i + j + 2*warm) % 2 // 0: direct, 1: im2col
			useDirectConv = path == 0
			t0 := time.Now()
			run()
			if i >= 0 {
				spent[path] += time.Since(t0)
			}
		}
	}
	b.ReportMetric(spent[0].Seconds()*1e3/float64(b.N), "direct-ms")
	b.ReportMetric(spent[1].Seconds()*1e3/float64(b.N), "im2col-ms")
	b.ReportMetric(spent[1].Seconds()/spent[0].Seconds(), "im2col/direct")
}

func BenchmarkBatchNorm(b *testing.B) {
	for _, sh := range [][3]int{{32, 64, 1024}, {32, 512, 16}, {64, 32, 784}} {
		n, c, hw := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewPCG(3, 3))
		x, y := Buf(randSlice(rng, n*c*hw)), make(Buf, n*c*hw)
		dy, dx := Buf(randSlice(rng, n*c*hw)), make(Buf, n*c*hw)
		pc := func() Buf { return Buf(randSlice(rng, c)) }
		gamma, beta, rm, rv, sm, si, dg, db := pc(), pc(), pc(), make(Buf, c), pc(), pc(), pc(), pc()
		for i := range rv {
			rv[i] = 1
		}
		b.Run(fmt.Sprintf("train/%dx%dx%d", n, c, hw), func(b *testing.B) {
			be := benchBackend(b, "auto", 0)
			for i := 0; i < b.N; i++ {
				be.BatchNormTrain(n, c, hw, x, gamma, beta, y, rm, rv, sm, si, 0.1, 1e-5)
			}
			b.ReportMetric(float64(n*c*hw)*4*2*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(fmt.Sprintf("backward/%dx%dx%d", n, c, hw), func(b *testing.B) {
			be := benchBackend(b, "auto", 0)
			for i := 0; i < b.N; i++ {
				be.BatchNormBackward(n, c, hw, x, dy, gamma, sm, si, dx, dg, db)
			}
			b.ReportMetric(float64(n*c*hw)*4*3*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func BenchmarkPool(b *testing.B) {
	for _, pc := range []struct {
		name                string
		n, c, h, w, k, s, p int
	}{{"max3s2p1-64x32x32", 32, 64, 32, 32, 3, 2, 1}, {"max2s2-64x28x28", 64, 32, 28, 28, 2, 2, 0}, {"avg4-512x4x4", 32, 512, 4, 4, 4, 4, 0}} {
		g, err := nn.NewPoolGeom(pc.n, pc.c, pc.h, pc.w, pc.k, pc.k, pc.s, pc.p)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(4, 4))
		x, y := Buf(randSlice(rng, g.N*g.C*g.H*g.W)), make(Buf, g.N*g.C*g.P*g.Q)
		am := make(IntBuf, len(y))
		b.Run(pc.name+"/fwd", func(b *testing.B) {
			be := benchBackend(b, "auto", 0)
			for i := 0; i < b.N; i++ {
				if pc.name[:3] == "max" {
					be.MaxPoolForward(g, x, y, am)
				} else {
					be.AvgPoolForward(g, x, y)
				}
			}
		})
		b.Run(pc.name+"/bwd", func(b *testing.B) {
			be := benchBackend(b, "auto", 0)
			for i := 0; i < b.N; i++ {
				if pc.name[:3] == "max" {
					be.MaxPoolBackward(g, y, am, x)
				} else {
					be.AvgPoolBackward(g, y, x)
				}
			}
		})
	}
}
