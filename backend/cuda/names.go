package cuda

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gotrain/gotrain/backend"
)

// cublasLibNames are the cuBLAS libraries tried, in order: the newest major versions first, then
// the unversioned development link. Linking -lcublas at build time would tie the binary to the
// build machine's major version (see ../../shared/gpu/README.md).
var cublasLibNames = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}

// cublasEnv names a cuBLAS library (a file name or a path) to try before the default list.
const cublasEnv = "GOTRAIN_CUBLAS"

// cublasCandidates returns the libraries to try: override (the value of GOTRAIN_CUBLAS) first
// when it is set, then cublasLibNames.
func cublasCandidates(override string) []string {
	out := make([]string, 0, len(cublasLibNames)+1)
	if override != "" {
		out = append(out, override)
	}
	return append(out, cublasLibNames...)
}

// cublasStatusString names a cublasStatus_t (stable across cuBLAS 11 to 13).
func cublasStatusString(st int) string {
	switch st {
	case 0:
		return "CUBLAS_STATUS_SUCCESS"
	case 1:
		return "CUBLAS_STATUS_NOT_INITIALIZED"
	case 3:
		return "CUBLAS_STATUS_ALLOC_FAILED"
	case 7:
		return "CUBLAS_STATUS_INVALID_VALUE"
	case 8:
		return "CUBLAS_STATUS_ARCH_MISMATCH"
	case 11:
		return "CUBLAS_STATUS_MAPPING_ERROR"
	case 13:
		return "CUBLAS_STATUS_EXECUTION_FAILED"
	case 14:
		return "CUBLAS_STATUS_INTERNAL_ERROR"
	case 15:
		return "CUBLAS_STATUS_NOT_SUPPORTED"
	case 16:
		return "CUBLAS_STATUS_LICENSE_ERROR"
	}
	return "cublasStatus_t(" + strconv.Itoa(st) + ")"
}

// kernelID names one kernel of the embedded PTX; each exists as NAME_f32 and NAME_f64.
type kernelID int

// kernelSpec is one kernel's PTX module (the .cu file's base name), name without the type suffix,
// and parameter signature: one letter per parameter, in order, p for a device pointer (T*,
// const T*, u64*, double*), i for a 64-bit integer (i64), d for a double, t for a scalar of the
// element type T (float in NAME_f32, double in NAME_f64). names_test.go checks names and
// signatures against the committed PTX (where p and i are both .u64) and against the parameter
// lists in kernels/*.cu (where they are not), so a renamed kernel, or a parameter added, dropped,
// swapped or retyped, fails on a machine without a GPU; the launcher checks what it packed
// against the signature before every launch.
type kernelSpec struct{ module, name, params string }

// kernelTable lists every kernel the device loads, in kernelID order. Each kernel family declares
// its kernels with defKernel in a file of its own, without the gpu tag (conv.go, pool.go, ...), so
// the table test sees them on any machine; the device loads whatever is declared.
var kernelTable []kernelSpec

// defKernel declares a kernel and returns its ID. It is called from package-level variable
// declarations, before any device opens.
func defKernel(module, name, params string) kernelID {
	kernelTable = append(kernelTable, kernelSpec{module, name, params})
	return kernelID(len(kernelTable) - 1)
}

// The kernels of the typed Device methods.
var (
	kActFwd              = defKernel("activation", "act_fwd", "idppi")
	kActBwd              = defKernel("activation", "act_bwd", "idpppi")
	kSoftmaxWarp         = defKernel("softmax", "softmax_warp", "ippii")
	kSoftmaxBlock        = defKernel("softmax", "softmax_block", "ippii")
	kSoftmaxGradWarp     = defKernel("softmax", "softmax_grad_warp", "ipppii")
	kSoftmaxGradBlock    = defKernel("softmax", "softmax_grad_block", "ipppii")
	kLossCEPartial       = defKernel("loss", "loss_ce_partial", "ppiip")
	kLossElemPartial     = defKernel("loss", "loss_elem_partial", "ippip")
	kLossCEGradWarp      = defKernel("loss", "loss_ce_grad_warp", "ppppdii")
	kLossCEGradBlock     = defKernel("loss", "loss_ce_grad_block", "ppppdii")
	kLossElemGrad        = defKernel("loss", "loss_elem_grad", "ippppdi")
	kFill                = defKernel("elementwise", "fill", "pti")
	kScale               = defKernel("elementwise", "scale", "ppti")
	kClamp               = defKernel("elementwise", "clamp", "pptti")
	kUnary               = defKernel("elementwise", "unary", "ippi")
	kBinary              = defKernel("elementwise", "binary", "ippipii")
	kBiasAdd             = defKernel("bias", "bias_add", "pppii")
	kBroadcast           = defKernel("bias", "broadcast", "ppiii")
	kSumMid              = defKernel("bias", "sum_mid", "ppiii")
	kSumSqPartial        = defKernel("reduce", "sumsq_partial", "piiip")
	kCountCorrectPartial = defKernel("reduce", "count_correct_partial", "ppiip")
	kFinalize            = defKernel("reduce", "reduce_finalize", "pidp")
)

// The optimizer kernels are not in kernelTable: there is one per update rule, named
// optim_<rule>_f32/_f64 after kernels.Rule.Name, and the device finds a rule's kernels in the
// optim module the first time the rule runs. They all take optimSig: the table, nptr, chunks_at,
// nchunks, chunk and flags, then optimSlots doubles (a kernels.Step's S).
const (
	optimModule = "optim"
	optimSig    = "piiiii" + "dddddddddd"
)

// optimKernelName is the name of a rule's optimizer kernel for dt.
func optimKernelName(rule string, dt backend.DType) string { return "optim_" + rule + dtypeSuffix(dt) }

// dtypeSuffix is the kernel name suffix of a dtype, and dtypeIndex its index in the device's
// function table.
func dtypeSuffix(dt backend.DType) string {
	if dt == backend.Float64 {
		return "_f64"
	}
	return "_f32"
}

func dtypeIndex(dt backend.DType) int {
	if dt == backend.Float64 {
		return 1
	}
	return 0
}

// Launch shapes.
const (
	blockSize   = 256 // threads per block of every 1-D kernel
	warpsPerBlk = blockSize / 32
	maxPartials = 1024 // blocks of a reduction kernel: the size of the partial-sum scratch
	narrowCols  = 32   // rows this wide or narrower get a warp each, wider rows a block
	maxGridY    = 65535
)

// gridFor returns the blocks of a grid-stride kernel over n items with per items per block:
// enough to cover n, at most limit, at least 1.
func gridFor(n int64, per, limit int) int {
	g := (n + int64(per) - 1) / int64(per)
	return int(max(1, min(g, int64(limit))))
}

// sumShape returns the block shape (tx, ty) of the Sum kernel for an inner axis of inner
// elements: tx the smallest power of two >= inner, at most 32, and tx·ty = blockSize.
func sumShape(inner int) (tx, ty int) {
	tx = 1
	for tx < inner && tx < 32 {
		tx <<= 1
	}
	return tx, blockSize / tx
}

// oomError reports an allocation that failed for lack of device memory: what was asked for, what
// the driver says is free, and what the allocator already holds. It wraps
// backend.ErrOutOfMemory and the driver's own error.
func oomError(op string, requested, free, total, inUse int64, cause error) error {
	return fmt.Errorf("cuda: %s: cannot allocate %d bytes (%s): %d bytes free of %d (cuMemGetInfo), %d in use by this device: %w",
		op, requested, mib(requested), free, total, inUse, errors.Join(backend.ErrOutOfMemory, cause))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
