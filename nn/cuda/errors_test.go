package cuda

import (
	"strings"
	"testing"
)

func TestErrorTexts(t *testing.T) {
	e := &DriverError{Op: "allocate 4 bytes on the GPU", Call: "cuMemAlloc_v2", Code: 2, Name: driverErrorName(2)}
	if got := e.Error(); got != "allocate 4 bytes on the GPU: cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2)" {
		t.Errorf("%q", got)
	}
	if driverErrorName(700) != "CUDA_ERROR_ILLEGAL_ADDRESS" || driverErrorName(12345) != "CUDA_ERROR_UNRECOGNISED" {
		t.Error("driver error names")
	}
	if statusName(cudnnStatusNames, "CUDNN_STATUS", 3000) != "CUDNN_STATUS_NOT_SUPPORTED" ||
		statusName(cublasStatusNames, "CUBLAS_STATUS", 13) != "CUBLAS_STATUS_EXECUTION_FAILED" ||
		statusName(nvrtcErrorNames, "NVRTC_ERROR", 6) != "NVRTC_ERROR_COMPILATION" ||
		statusName(cudnnStatusNames, "CUDNN_STATUS", 77) != "CUDNN_STATUS_UNRECOGNISED" {
		t.Error("library status names")
	}
	le := &LibError{Op: "GEMM", Call: "cublasSgemm_v2", Code: 7, Text: "CUBLAS_STATUS_INVALID_VALUE"}
	if !strings.Contains(le.Error(), "GEMM: cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (7)") {
		t.Errorf("%q", le.Error())
	}
}

func TestVersionStrings(t *testing.T) {
	for got, want := range map[string]string{
		formatCUDAVersion(13000):  "13.0",
		formatCUDAVersion(12080):  "12.8",
		cudnnVersionString(91002): "9.10.2",
		cudnnVersionString(90100): "9.1.0",
		cudnnVersionString(8907):  "8.9.7",
	} {
		if got != want {
			t.Errorf("%s, want %s", got, want)
		}
	}
}
