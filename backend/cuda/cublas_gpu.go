//go:build gpu

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// The cuBLAS entry points, declared here rather than taken from cublas_api.h so that nothing
// depends on the build machine's cuBLAS version: handles and streams are opaque pointers, enums
// are ints, and the signatures have not changed from cuBLAS 11 to 13.
typedef int (*gt_create_fn)(void**);
typedef int (*gt_destroy_fn)(void*);
typedef int (*gt_set_stream_fn)(void*, void*);
typedef int (*gt_set_math_mode_fn)(void*, int);
typedef int (*gt_sgemm_fn)(void*, int, int, int, int, int, const float*, const float*, int, const float*, int,
                           const float*, float*, int);
typedef int (*gt_dgemm_fn)(void*, int, int, int, int, int, const double*, const double*, int, const double*, int,
                           const double*, double*, int);

static uintptr_t gt_dlopen(const char* name) { return (uintptr_t)dlopen(name, RTLD_NOW | RTLD_LOCAL); }
static const char* gt_dlerror(void) { return dlerror(); }
static uintptr_t gt_dlsym(uintptr_t lib, const char* name) { return (uintptr_t)dlsym((void*)lib, name); }
static int gt_dlclose(uintptr_t lib) { return dlclose((void*)lib); }

static int gt_create(uintptr_t f, uintptr_t* handle) {
	void* h = NULL;
	int st = ((gt_create_fn)f)(&h);
	*handle = (uintptr_t)h;
	return st;
}
static int gt_destroy(uintptr_t f, uintptr_t h) { return ((gt_destroy_fn)f)((void*)h); }
static int gt_set_stream(uintptr_t f, uintptr_t h, uintptr_t s) { return ((gt_set_stream_fn)f)((void*)h, (void*)s); }
static int gt_set_math_mode(uintptr_t f, uintptr_t h, int mode) { return ((gt_set_math_mode_fn)f)((void*)h, mode); }
static int gt_sgemm(uintptr_t f, uintptr_t h, int ta, int tb, int m, int n, int k, float alpha, uintptr_t a, int lda,
                    uintptr_t b, int ldb, float beta, uintptr_t c, int ldc) {
	return ((gt_sgemm_fn)f)((void*)h, ta, tb, m, n, k, &alpha, (const float*)a, lda, (const float*)b, ldb, &beta,
	                        (float*)c, ldc);
}
static int gt_dgemm(uintptr_t f, uintptr_t h, int ta, int tb, int m, int n, int k, double alpha, uintptr_t a, int lda,
                    uintptr_t b, int ldb, double beta, uintptr_t c, int ldc) {
	return ((gt_dgemm_fn)f)((void*)h, ta, tb, m, n, k, &alpha, (const double*)a, lda, (const double*)b, ldb, &beta,
	                        (double*)c, ldc);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"github.com/gotrain/gotrain/backend"
)

// cuBLAS constants (cublas_api.h; unchanged from cuBLAS 11 to 13).
const (
	cublasOpN        = 0
	cublasOpT        = 1
	cublasDefaultMth = 0 // CUBLAS_DEFAULT_MATH: float32 stays float32 (no TF32)
)

// cublas is a cuBLAS library loaded with dlopen and one handle bound to the device's stream.
type cublas struct {
	lib, handle                                           C.uintptr_t
	name                                                  string
	create, destroy, setStream, setMathMode, sgemm, dgemm C.uintptr_t
	// check, when set (GOTRAIN_CUDA_SYNC), waits for each product and reports its failure.
	check func() error
}

// loadCublas opens the first library of cublasCandidates that loads and has every symbol, and
// creates a handle on the current context that issues work on stream (a CUstream).
func loadCublas(stream uintptr) (*cublas, error) {
	var tried []string
	for _, name := range cublasCandidates(os.Getenv(cublasEnv)) {
		cname := C.CString(name)
		lib := C.gt_dlopen(cname)
		C.free(unsafe.Pointer(cname))
		if lib == 0 {
			tried = append(tried, fmt.Sprintf("%s: %s", name, C.GoString(C.gt_dlerror())))
			continue
		}
		b := &cublas{lib: lib, name: name}
		if err := b.init(stream); err != nil {
			C.gt_dlclose(lib)
			tried = append(tried, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		return b, nil
	}
	return nil, fmt.Errorf("cuda: loading cuBLAS with dlopen (set LD_LIBRARY_PATH, or %s to the library's path): %s: %w",
		cublasEnv, strings.Join(tried, "; "), backend.ErrNoDevice)
}

func (b *cublas) sym(name string) (C.uintptr_t, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	p := C.gt_dlsym(b.lib, cname)
	if p == 0 {
		return 0, fmt.Errorf("dlsym %s: %s", name, C.GoString(C.gt_dlerror()))
	}
	return p, nil
}

func (b *cublas) init(stream uintptr) error {
	for _, s := range []struct {
		dst  *C.uintptr_t
		name string
	}{
		{&b.create, "cublasCreate_v2"}, {&b.destroy, "cublasDestroy_v2"}, {&b.setStream, "cublasSetStream_v2"},
		{&b.setMathMode, "cublasSetMathMode"}, {&b.sgemm, "cublasSgemm_v2"}, {&b.dgemm, "cublasDgemm_v2"},
	} {
		p, err := b.sym(s.name)
		if err != nil {
			return err
		}
		*s.dst = p
	}
	if st := C.gt_create(b.create, &b.handle); st != 0 {
		return cublasErr("cublasCreate_v2", st)
	}
	if st := C.gt_set_stream(b.setStream, b.handle, C.uintptr_t(stream)); st != 0 {
		b.close()
		return cublasErr("cublasSetStream_v2", st)
	}
	if st := C.gt_set_math_mode(b.setMathMode, b.handle, cublasDefaultMth); st != 0 {
		b.close()
		return cublasErr("cublasSetMathMode(CUBLAS_DEFAULT_MATH)", st)
	}
	return nil
}

func cublasErr(call string, st C.int) error {
	return fmt.Errorf("%s: %s", call, cublasStatusString(int(st)))
}

// close destroys the handle (the library stays loaded: unloading cuBLAS under a live CUDA runtime
// is not safe).
func (b *cublas) close() error {
	if b == nil || b.handle == 0 {
		return nil
	}
	st := C.gt_destroy(b.destroy, b.handle)
	b.handle = 0
	if st != 0 {
		return cublasErr("cublasDestroy_v2", st)
	}
	return nil
}

var errGemmDType = errors.New("gemm of an unsupported dtype")

// gemm runs one column-major product g on device pointers (cuBLAS's A, B and C).
func (b *cublas) gemm(dt backend.DType, g colMajorGemm, alpha float64, a, bb uint64, beta float64, c uint64) error {
	op := func(t bool) C.int {
		if t {
			return cublasOpT
		}
		return cublasOpN
	}
	if err := g.check(); err != nil {
		return err
	}
	var st C.int
	var call string
	switch dt {
	case backend.Float32:
		call = "cublasSgemm_v2"
		st = C.gt_sgemm(b.sgemm, b.handle, op(g.transA), op(g.transB), C.int(g.m), C.int(g.n), C.int(g.k),
			C.float(alpha), C.uintptr_t(a), C.int(g.lda), C.uintptr_t(bb), C.int(g.ldb), C.float(beta), C.uintptr_t(c), C.int(g.ldc))
	case backend.Float64:
		call = "cublasDgemm_v2"
		st = C.gt_dgemm(b.dgemm, b.handle, op(g.transA), op(g.transB), C.int(g.m), C.int(g.n), C.int(g.k),
			C.double(alpha), C.uintptr_t(a), C.int(g.lda), C.uintptr_t(bb), C.int(g.ldb), C.double(beta), C.uintptr_t(c), C.int(g.ldc))
	default:
		return fmt.Errorf("%v: %w", dt, errGemmDType)
	}
	if st != 0 {
		return fmt.Errorf("%s(m=%d n=%d k=%d lda=%d ldb=%d ldc=%d): %s", call, g.m, g.n, g.k, g.lda, g.ldb, g.ldc, cublasStatusString(int(st)))
	}
	if b.check != nil {
		if err := b.check(); err != nil {
			return fmt.Errorf("%s(m=%d n=%d k=%d lda=%d ldb=%d ldc=%d) failed (%s is on: the device waited for it): %w",
				call, g.m, g.n, g.k, g.lda, g.ldb, g.ldc, syncEnv, err)
		}
	}
	return nil
}
