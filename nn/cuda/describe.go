package cuda

import (
	"fmt"
	"strings"
)

// DeviceInfo describes one GPU for `lethe devices`.
type DeviceInfo struct {
	DeviceProps
	Driver string // CUDA version the driver supports
	NVRTC  string // version, or why it is unavailable
	CuBLAS string
	CuDNN  string
}

// Describe lists the GPUs the driver sees with the library versions Lethe
// would use. Without a driver or GPU it returns an error saying why (the
// same reasons New gives).
func Describe() ([]DeviceInfo, error) {
	d, err := loadDriver()
	if err != nil {
		return nil, fmt.Errorf("no CUDA device: %w", err)
	}
	n, err := d.deviceCount()
	if err != nil {
		return nil, fmt.Errorf("no CUDA device: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("no CUDA device: the CUDA driver (%s) found no GPU", d.lib.path)
	}
	driver := "unknown"
	if v, err := d.version(); err == nil {
		driver = formatCUDAVersion(v)
	}
	nvrtc, cublas, cudnn := libraryVersions()
	out := make([]DeviceInfo, 0, n)
	for i := 0; i < n; i++ {
		_, p, err := d.deviceProps(i)
		if err != nil {
			return out, err
		}
		out = append(out, DeviceInfo{DeviceProps: p, Driver: driver, NVRTC: nvrtc, CuBLAS: cublas, CuDNN: cudnn})
	}
	return out, nil
}

// libraryVersions loads NVRTC, cuBLAS and cuDNN (without creating
// handles where a version can be read without one) and reports their
// versions and paths, or why they could not be loaded.
func libraryVersions() (nvrtc, cublas, cudnn string) {
	if n, err := loadNVRTC(); err != nil {
		nvrtc = "unavailable: " + firstLine(err)
	} else if v, err := n.versionString(); err != nil {
		nvrtc = "unusable: " + firstLine(err)
	} else {
		nvrtc = v + " (" + n.lib.path + ")"
	}
	if c, err := loadCuBLAS(); err != nil {
		cublas = "unavailable (Lethe's GEMM kernel is used): " + firstLine(err)
	} else {
		cublas = c.versionString() + " (" + c.lib.path + ")"
	}
	if c, err := loadCuDNN(); err != nil {
		cudnn = "unavailable (im2col convolutions are used): " + firstLine(err)
	} else {
		cudnn = cudnnVersionString(c.getVersion()) + " (" + c.lib.path + ")"
	}
	return
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// String is one line per fact, indented, for `lethe devices`.
func (d DeviceInfo) String() string {
	return fmt.Sprintf("cuda:%d  %s\n  memory: %.1f GiB, compute capability %d.%d, %d multiprocessors\n  driver: CUDA %s\n  NVRTC: %s\n  cuBLAS: %s\n  cuDNN: %s",
		d.Ordinal, d.Name, float64(d.TotalMemory)/(1<<30), d.Major, d.Minor, d.Multiprocessors, d.Driver, d.NVRTC, d.CuBLAS, d.CuDNN)
}

// Available reports whether New can open a GPU here: nil when the driver
// loads and sees at least one GPU, else the reason (beginning "no CUDA
// device:"). It is what a device = "auto" choice asks; it does not load
// NVRTC, cuBLAS or cuDNN.
func Available() error {
	d, err := loadDriver()
	if err != nil {
		return fmt.Errorf("no CUDA device: %w", err)
	}
	n, err := d.deviceCount()
	if err != nil {
		return fmt.Errorf("no CUDA device: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("no CUDA device: the CUDA driver (%s) found no GPU", d.lib.path)
	}
	return nil
}
