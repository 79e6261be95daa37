//go:build gpu

package cuda

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

// gt_lib_path is the file of the shared library that holds the code at p (dladdr), or NULL.
static const char* gt_lib_path(uintptr_t p) {
	Dl_info info;
	if (p == 0 || dladdr((void*)p, &info) == 0 || info.dli_fname == NULL) return NULL;
	return info.dli_fname;
}
// gt_cuinit_addr is cuInit's address inside the loaded libcuda.so.1 (asked of that library, not
// taken in this program, where it could be a stub of the program's own).
static uintptr_t gt_cuinit_addr(void) {
	void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (lib == NULL) return 0;
	uintptr_t p = (uintptr_t)dlsym(lib, "cuInit");
	dlclose(lib);
	return p;
}
*/
import "C"

import (
	"fmt"

	"gorgonia.org/cu"
)

// libPath is the file the dynamic linker loaded the code at p from, or "?".
func libPath(p C.uintptr_t) string {
	if s := C.gt_lib_path(p); s != nil {
		return C.GoString(s)
	}
	return "?"
}

// libraries says which driver library and which cuBLAS this process uses, by path (the dynamic
// linker's choice, found from a function's address), with the driver's CUDA version: what a GPU
// host's log must show when a library is missing or the wrong one.
func (d *Device) libraries() string {
	v := cu.Version()
	out := fmt.Sprintf("libcuda %s (CUDA driver API %d.%d)", libPath(C.gt_cuinit_addr()), v/1000, v%1000/10)
	if d.blas != nil {
		out += fmt.Sprintf("; cuBLAS %s (opened as %s)", libPath(d.blas.create), d.blas.name)
	}
	return out
}
