package cuda

import (
	"testing"

	"lethe/nn"
)

// TestOpsEmulated runs the whole op suite on the kernel emulator: the
// fallback paths (tiled GEMM, im2col convolutions, Lethe's batch norm)
// and every kernel, without a GPU.
func TestOpsEmulated(t *testing.T) {
	runOpSuite(t, func(t *testing.T) nn.Backend { return newEmuBackend(t) }, tolConv)
}
