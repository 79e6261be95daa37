//go:build gpu

package cuda

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

func init() {
	backend.Register("cuda", func() (backend.Device, error) { return Open(0) })
}

var (
	_ backend.Device = (*Device)(nil)
	_ backend.Viewer = (*Device)(nil)
)

// tableCacheSize bounds the multi-tensor tables kept on the device: a trainer uses two (the
// optimizer's and the gradient norm's); tests use many, each once.
const tableCacheSize = 32

// Buffer is a device buffer: n elements of dt at ptr, a block of class bytes from the device's
// allocator (0 for an empty buffer).
type Buffer struct {
	ptr   cu.DevicePtr
	n     int
	dt    backend.DType
	class int64
	dev   *Device
	freed bool
	// of is the allocation a view is part of (Device.View); nil for an allocation.
	of *Buffer
}

// dead reports whether b, or the allocation it views, was freed.
func (b *Buffer) dead() bool { return b.freed || (b.of != nil && b.of.freed) }

// DType returns the element type.
func (b *Buffer) DType() backend.DType { return b.dt }

// Len returns the number of elements.
func (b *Buffer) Len() int { return b.n }

func (b *Buffer) bytes() int64 { return int64(b.n) * int64(b.dt.Size()) }

func (b *Buffer) addr() uint64 { return uint64(b.ptr) }

// Device is one NVIDIA GPU (see the package documentation for the design). Methods may be called
// from any goroutine, one at a time.
type Device struct {
	ordinal  int
	dev      cu.Device
	ctx      cu.CUContext
	stream   cu.Stream
	name     string
	sms      int
	ccMajor  int
	ccMinor  int
	totalMem int64
	maxGrid  int

	mods []cu.Module
	fns  [][2]cu.Function // by kernelID
	// optimMod is the optim module; optimFns its kernels by rule, found on first use.
	optimMod cu.Module
	optimFns map[*kernels.Rule]optimKernels
	blas     *cublas
	// loads says how each module was loaded (module_gpu.go), for the smoke test's log.
	loads []moduleLoad

	// syncEach is GOTRAIN_CUDA_SYNC (debug.go): wait after every launch and GEMM. last is the
	// kernel issued last, which a failed wait names when syncEach is off.
	syncEach bool
	last     launchRecord

	alloc  *allocator
	tables *tableCache
	table  mtTable
	// tableClasses remembers the allocator class of each cached table's block.
	tableClasses map[uint64]int64
	scratch      *Buffer // maxPartials doubles: the partial sums of the reductions
	work         *Buffer // an op's intermediate results (a convolution's column matrix), see workspace
	// scalars is the host side of ReadScalars: a separate allocation, never an array inside
	// Device, because cgo's pointer check (cgocheck=1, the default) inspects the whole Go object
	// a pointer passed to C points into, and Device holds Go pointers: passing &d.arr[0] to
	// cuMemcpyDtoHAsync panics with "cgo argument has Go pointer to unpinned Go pointer".
	scalars []float64
	args    args
	ops     []*Buffer
	tensors [2][]int // OptimizerStep: parameter indices by dtype

	// rowPath forces the warp (1) or block (2) variant of the row-wise kernels; 0 chooses by
	// width. The kernel tests set it to run both variants on every shape.
	rowPath int

	closed bool
}

// Open opens GPU ordinal (0 is the first): it retains the device's primary context (the one the
// CUDA runtime, and so cuBLAS, uses), creates the stream, loads the embedded kernels (module_gpu.go:
// machine code on sm_90, the PTX JIT-compiled elsewhere), loads cuBLAS and allocates the
// reduction scratch. GOTRAIN_CUDA_SYNC and GOTRAIN_CUDA_PTX (debug.go) are read here.
func Open(ordinal int) (d *Device, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: Open: cuDeviceGetCount: %w: %w", err, backend.ErrNoDevice)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: Open: device %d of %d: %w", ordinal, n, backend.ErrNoDevice)
	}
	d = &Device{ordinal: ordinal, dev: cu.Device(ordinal), tableClasses: map[uint64]int64{},
		scalars: make([]float64, maxPartials), syncEach: envOn(os.Getenv(syncEnv))}
	d.args.init()
	if d.ctx, err = d.dev.RetainPrimaryCtx(); err != nil {
		return nil, fmt.Errorf("cuda: Open: cuDevicePrimaryCtxRetain(%d): %w", ordinal, err)
	}
	defer func() {
		if err != nil {
			d.release()
		}
	}()
	if err = cu.SetCurrentContext(d.ctx); err != nil {
		return nil, fmt.Errorf("cuda: Open: cuCtxSetCurrent: %w", err)
	}
	if d.name, err = d.dev.Name(); err != nil {
		return nil, fmt.Errorf("cuda: Open: cuDeviceGetName: %w", err)
	}
	attrs, err := d.dev.Attributes(cu.MultiprocessorCount, cu.ComputeCapabilityMajor, cu.ComputeCapabilityMinor)
	if err != nil {
		return nil, fmt.Errorf("cuda: Open: cuDeviceGetAttribute: %w", err)
	}
	d.sms, d.ccMajor, d.ccMinor = attrs[0], attrs[1], attrs[2]
	d.maxGrid = max(d.sms, 1) * 32
	if d.totalMem, err = d.dev.TotalMem(); err != nil {
		return nil, fmt.Errorf("cuda: Open: cuDeviceTotalMem: %w", err)
	}
	if d.stream, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return nil, fmt.Errorf("cuda: Open: cuStreamCreate: %w", err)
	}
	if err = d.loadKernels(envOn(os.Getenv(ptxEnv))); err != nil {
		return nil, err
	}
	if d.blas, err = loadCublas(uintptr(unsafe.Pointer(d.stream.C()))); err != nil {
		return nil, err
	}
	if d.syncEach {
		d.blas.check = d.stream.Synchronize
	}
	d.alloc = newAllocator(
		func(bytes int64) (uint64, error) {
			p, err := cu.MemAlloc(bytes)
			return uint64(p), err
		},
		func(p uint64) error { return cu.MemFree(cu.DevicePtr(p)) },
		func(err error) bool { return errors.Is(err, cu.OutOfMemory) })
	d.alloc.beforeTrim = func() error { return d.stream.Synchronize() } // context current: trim runs inside get or release
	d.tables = newTableCache(tableCacheSize, d.uploadTable, d.releaseTable)
	sb, err := d.allocLocked("Open", backend.Float64, maxPartials)
	if err != nil {
		return nil, err
	}
	d.scratch = sb
	keepPrimaryCtx(d.dev)
	return d, nil
}

var (
	keptMu sync.Mutex
	kept   = map[cu.Device]bool{}
)

// keepPrimaryCtx retains dev's primary context once more, for the life of the process, the first
// time a device on it opens. Without it, Close releases the last reference and the driver
// destroys the context, while the CUDA runtime inside cuBLAS (loaded with dlopen and never
// unloaded) may still hold state for it: the next Open would create a new primary context under
// that runtime, and each Open would pay the context's creation again (the test suite opens a
// device per test). Close still frees every buffer, module, stream and handle it made.
func keepPrimaryCtx(dev cu.Device) {
	keptMu.Lock()
	defer keptMu.Unlock()
	if kept[dev] {
		return
	}
	if _, err := dev.RetainPrimaryCtx(); err == nil {
		kept[dev] = true
	}
}

// release frees whatever Open got, in reverse order; the context must be current.
func (d *Device) release() error {
	var errs []error
	if d.stream != (cu.Stream{}) {
		if err := d.stream.Synchronize(); err != nil {
			errs = append(errs, fmt.Errorf("cuStreamSynchronize: %w", err))
		}
	}
	if d.tables != nil {
		d.tables.clear()
	}
	if d.alloc != nil {
		if err := d.alloc.releaseAll(); err != nil {
			errs = append(errs, fmt.Errorf("cuMemFree: %w", err))
		}
	}
	if err := d.blas.close(); err != nil {
		errs = append(errs, err)
	}
	for _, m := range d.mods {
		if err := m.Unload(); err != nil {
			errs = append(errs, fmt.Errorf("cuModuleUnload: %w", err))
		}
	}
	d.mods = nil
	if d.stream != (cu.Stream{}) {
		if err := d.stream.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("cuStreamDestroy: %w", err))
		}
	}
	if err := d.dev.ReleasePrimaryCtx(); err != nil {
		errs = append(errs, fmt.Errorf("cuDevicePrimaryCtxRelease: %w", err))
	}
	return errors.Join(errs...)
}

// enter locks the goroutine to its OS thread and makes the device's context current there; every
// method that calls CUDA runs between enter and leave.
func (d *Device) enter(op string) error {
	if d.closed {
		return fmt.Errorf("cuda: %s: %w", op, backend.ErrClosed)
	}
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cuda: %s: cuCtxSetCurrent: %w", op, err)
	}
	return nil
}

func (d *Device) leave() { runtime.UnlockOSThread() }

// Name returns "cuda".
func (d *Device) Name() string { return "cuda" }

// Describe names the GPU, its compute capability and memory, and the cuBLAS it loaded.
func (d *Device) Describe() string {
	lib := "no cuBLAS"
	if d.blas != nil {
		lib = d.blas.name
	}
	return fmt.Sprintf("cuda: %s (device %d, sm_%d%d, %d SMs, %.1f GiB; %s)",
		d.name, d.ordinal, d.ccMajor, d.ccMinor, d.sms, float64(d.totalMem)/(1<<30), lib)
}

// Alloc returns a buffer of n elements from the caching allocator (contents unspecified).
func (d *Device) Alloc(dt backend.DType, n int) (backend.Buffer, error) {
	if d.closed {
		return nil, fmt.Errorf("cuda: Alloc: %w", backend.ErrClosed)
	}
	if n < 0 {
		return nil, fmt.Errorf("cuda: Alloc: negative length %d: %w", n, backend.ErrInvalid)
	}
	if dt.Size() == 0 {
		return nil, fmt.Errorf("cuda: Alloc: unknown dtype %v: %w", dt, backend.ErrDType)
	}
	if err := d.enter("Alloc"); err != nil {
		return nil, err
	}
	defer d.leave()
	return d.allocLocked("Alloc", dt, n)
}

func (d *Device) allocLocked(op string, dt backend.DType, n int) (*Buffer, error) {
	bytes := int64(n) * int64(dt.Size())
	ptr, class, err := d.alloc.get(bytes)
	if err != nil {
		if errors.Is(err, cu.OutOfMemory) {
			free, total, ierr := cu.MemInfo()
			if ierr != nil {
				return nil, fmt.Errorf("cuda: %s: cuMemAlloc(%d bytes): %w; cuMemGetInfo: %v: %w", op, class, err, ierr, backend.ErrOutOfMemory)
			}
			return nil, oomError(op, class, free, total, d.alloc.stats.InUse, err)
		}
		return nil, fmt.Errorf("cuda: %s: cuMemAlloc(%d bytes): %w", op, class, err)
	}
	return &Buffer{ptr: cu.DevicePtr(ptr), n: n, dt: dt, class: class, dev: d}, nil
}

// Free returns b's memory to the allocator's free list (no CUDA call). Freeing nil, a buffer of
// another device, a view or a freed buffer does nothing.
func (d *Device) Free(b backend.Buffer) {
	cb, ok := b.(*Buffer)
	if !ok || cb == nil || cb.dev != d || cb.freed || cb.of != nil {
		return
	}
	cb.freed = true
	if !d.closed {
		_ = d.alloc.put(cb.addr(), cb.class) // fails only on a device bug; the block is then leaked, not reused twice
	}
}

// View returns the first n elements of b as a buffer sharing its memory (backend.Viewer): it
// starts at b's address, so it keeps b's alignment. Freeing a view does nothing; once b is
// freed, using the view is an error as using b is.
func (d *Device) View(b backend.Buffer, n int) (backend.Buffer, error) {
	cb, err := d.buf("View", "buffer", -1, b)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > cb.n {
		return nil, fmt.Errorf("cuda: View: %d elements of a %d-element buffer: %w", n, cb.n, backend.ErrInvalid)
	}
	of := cb
	if cb.of != nil {
		of = cb.of
	}
	return &Buffer{ptr: cb.ptr, n: n, dt: cb.dt, dev: d, of: of}, nil
}

// Sync waits for every issued operation and reports an error of any of them.
func (d *Device) Sync() error {
	if err := d.enter("Sync"); err != nil {
		return err
	}
	defer d.leave()
	if err := d.stream.Synchronize(); err != nil {
		return syncError("Sync", "cuStreamSynchronize", d.last, d.syncEach, err)
	}
	return nil
}

// Close waits for the stream and releases every buffer, the kernels, cuBLAS's handle, the stream
// and this device's reference to the primary context (which the process keeps retained: see
// keepPrimaryCtx). Closing twice is a no-op.
func (d *Device) Close() error {
	if d.closed {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d.closed = true
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("cuda: Close: cuCtxSetCurrent: %w", err)
	}
	if err := d.release(); err != nil {
		return fmt.Errorf("cuda: Close: %w", err)
	}
	return nil
}

// buf checks one buffer argument (name[idx] in errors; idx < 0 for none).
func (d *Device) buf(op, name string, idx int, b backend.Buffer) (*Buffer, error) {
	cb, ok := b.(*Buffer)
	if !ok || cb == nil || cb.dev != d || cb.dead() {
		if idx >= 0 {
			name = fmt.Sprintf("%s[%d]", name, idx)
		}
		switch {
		case ok && cb != nil && cb.dead():
			return nil, fmt.Errorf("cuda: %s: %s was freed: %w", op, name, backend.ErrInvalid)
		case ok && cb != nil:
			return nil, fmt.Errorf("cuda: %s: %s belongs to another device: %w", op, name, backend.ErrInvalid)
		}
		return nil, fmt.Errorf("cuda: %s: %s is %T, not a cuda buffer: %w", op, name, b, backend.ErrInvalid)
	}
	return cb, nil
}

// operands checks that the device is open and that every buffer is one of its live buffers of
// one dtype; the returned slice is reused by the next call.
func (d *Device) operands(op, names string, bs ...backend.Buffer) ([]*Buffer, error) {
	if d.closed {
		return nil, fmt.Errorf("cuda: %s: %w", op, backend.ErrClosed)
	}
	out := d.ops[:0]
	for i, b := range bs {
		cb, err := d.buf(op, "operand", -1, b)
		if err != nil {
			return nil, fmt.Errorf("operand %d of (%s): %w", i, names, err)
		}
		if i > 0 && cb.dt != out[0].dt {
			return nil, fmt.Errorf("cuda: %s: operands (%s) mix %v and %v: %w", op, names, out[0].dt, cb.dt, backend.ErrDType)
		}
		out = append(out, cb)
	}
	d.ops = out
	return out, nil
}

// dev is the device name the shared checks of package backend put in front of their errors.
const dev = "cuda"

func lenErr(op, what string, got, want int) error { return backend.LenErr(dev, op, what, got, want) }

// hostSlice returns the address, length and dtype of a []float32 or []float64.
func hostSlice(op string, h any) (unsafe.Pointer, int, backend.DType, error) {
	switch s := h.(type) {
	case []float32:
		return unsafe.Pointer(unsafe.SliceData(s)), len(s), backend.Float32, nil
	case []float64:
		return unsafe.Pointer(unsafe.SliceData(s)), len(s), backend.Float64, nil
	}
	return nil, 0, 0, fmt.Errorf("cuda: %s: host data is %T, want []float32 or []float64: %w", op, h, backend.ErrDType)
}

// ReadScalars gathers the one element of each src into the reduction scratch with device-to-device
// copies (ordered after the work that produces them, and after any reduction that used the
// scratch), copies the gathered bytes to the host once, and synchronises once.
func (d *Device) ReadScalars(dst []float64, srcs []backend.Buffer) error {
	if len(dst) != len(srcs) {
		return fmt.Errorf("cuda: ReadScalars: %d destinations for %d buffers: %w", len(dst), len(srcs), backend.ErrShape)
	}
	if len(srcs) > maxPartials {
		return fmt.Errorf("cuda: ReadScalars: %d buffers, at most %d: %w", len(srcs), maxPartials, backend.ErrInvalid)
	}
	var dt backend.DType
	for i, s := range srcs {
		b, err := d.buf("ReadScalars", "srcs", i, s)
		if err != nil {
			return err
		}
		if b.n != 1 {
			return lenErr("ReadScalars", fmt.Sprintf("srcs[%d]", i), b.n, 1)
		}
		if i == 0 {
			dt = b.dt
		} else if b.dt != dt {
			return fmt.Errorf("cuda: ReadScalars: srcs mix %v and %v: %w", dt, b.dt, backend.ErrDType)
		}
	}
	if len(srcs) == 0 {
		return nil
	}
	if err := d.enter("ReadScalars"); err != nil {
		return err
	}
	defer d.leave()
	size := int64(dt.Size())
	for i, s := range srcs {
		b := s.(*Buffer)
		if err := cu.MemcpyDtoDAsync(d.scratch.ptr+cu.DevicePtr(int64(i)*size), b.ptr, size, d.stream); err != nil {
			return fmt.Errorf("cuda: ReadScalars: cuMemcpyDtoDAsync: %w", err)
		}
	}
	total := int64(len(srcs)) * size
	if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&d.scalars[0]), d.scratch.ptr, total, d.stream); err != nil {
		return fmt.Errorf("cuda: ReadScalars: cuMemcpyDtoHAsync(%d bytes): %w", total, err)
	}
	if err := d.stream.Synchronize(); err != nil {
		return syncError("ReadScalars", "cuStreamSynchronize", d.last, d.syncEach, err)
	}
	if dt == backend.Float64 {
		copy(dst, d.scalars[:len(srcs)])
		return nil
	}
	f32 := unsafe.Slice((*float32)(unsafe.Pointer(&d.scalars[0])), len(srcs))
	for i, v := range f32 {
		dst[i] = float64(v)
	}
	return nil
}

// Write copies src into dst on the stream. cuMemcpyHtoDAsync from pageable memory stages the data
// before it returns, so src may be reused at once, and the copy is ordered after the work
// already issued (which may still read dst).
func (d *Device) Write(dst backend.Buffer, src any) error {
	b, err := d.buf("Write", "dst", -1, dst)
	if err != nil {
		return err
	}
	p, n, dt, err := hostSlice("Write", src)
	if err != nil {
		return err
	}
	if dt != b.dt {
		return fmt.Errorf("cuda: Write: %v data into a %v buffer: %w", dt, b.dt, backend.ErrDType)
	}
	if n != b.n {
		return lenErr("Write", "src", n, b.n)
	}
	if n == 0 {
		return nil
	}
	if err := d.enter("Write"); err != nil {
		return err
	}
	defer d.leave()
	if err := cu.MemcpyHtoDAsync(b.ptr, p, b.bytes(), d.stream); err != nil {
		return fmt.Errorf("cuda: Write: cuMemcpyHtoDAsync(%d bytes): %w", b.bytes(), err)
	}
	return nil
}

// Read copies src into dst once the work issued before it is done: the host's only wait in a
// training step.
func (d *Device) Read(dst any, src backend.Buffer) error {
	b, err := d.buf("Read", "src", -1, src)
	if err != nil {
		return err
	}
	p, n, dt, err := hostSlice("Read", dst)
	if err != nil {
		return err
	}
	if dt != b.dt {
		return fmt.Errorf("cuda: Read: a %v buffer into %v data: %w", b.dt, dt, backend.ErrDType)
	}
	if n != b.n {
		return lenErr("Read", "dst", n, b.n)
	}
	if err := d.enter("Read"); err != nil {
		return err
	}
	defer d.leave()
	if n > 0 {
		if err := cu.MemcpyDtoHAsync(p, b.ptr, b.bytes(), d.stream); err != nil {
			return fmt.Errorf("cuda: Read: cuMemcpyDtoHAsync(%d bytes): %w", b.bytes(), err)
		}
	}
	// A copy into pageable memory returns when it is done; the synchronize reports the errors of
	// earlier kernels even for an empty read.
	if err := d.stream.Synchronize(); err != nil {
		return syncError("Read", "cuStreamSynchronize", d.last, d.syncEach, err)
	}
	return nil
}

// workspace returns the address of device scratch of at least bytes bytes, for the intermediate
// results of an op (a convolution's column matrix), valid until the next call. It grows on demand
// and is kept, so a training step after the first allocates nothing; a block it outgrows goes
// back to the allocator, which hands it out again only to work issued after the work that used it.
func (d *Device) workspace(op string, bytes int64) (uint64, error) {
	if d.work != nil && d.work.bytes() >= bytes {
		return d.work.addr(), nil
	}
	if d.work != nil {
		d.Free(d.work)
		d.work = nil
	}
	b, err := d.allocLocked(op, backend.Float64, int((bytes+7)/8))
	if err != nil {
		return 0, err
	}
	d.work = b
	return b.addr(), nil
}

// uploadTable copies a multi-tensor table into a fresh device block (tableCache's upload).
func (d *Device) uploadTable(words []uint64) (uint64, error) {
	bytes := int64(len(words)) * 8
	ptr, class, err := d.alloc.get(bytes)
	if err != nil {
		return 0, fmt.Errorf("cuda: multi-tensor table: cuMemAlloc(%d bytes): %w", bytes, err)
	}
	d.tableClasses[ptr] = class
	if err := cu.MemcpyHtoDAsync(cu.DevicePtr(ptr), unsafe.Pointer(unsafe.SliceData(words)), bytes, d.stream); err != nil {
		return 0, fmt.Errorf("cuda: multi-tensor table: cuMemcpyHtoDAsync(%d bytes): %w", bytes, err)
	}
	return ptr, nil
}

// releaseTable returns an evicted table's block to the allocator: work issued later on the
// stream that reuses it runs after every kernel that read the table.
func (d *Device) releaseTable(ptr uint64) {
	_ = d.alloc.put(ptr, d.tableClasses[ptr])
	delete(d.tableClasses, ptr)
}

// grid is the grid of an elementwise kernel over n elements.
func (d *Device) grid(n int) int { return elemDims(int64(n), d.maxGrid).gx }

// timer measures GPU time on the device's stream with a pair of CUDA events: what benchmarks
// report, since the host returns from a launch long before the kernel ends.
type timer struct {
	d           *Device
	start, stop cu.Event
}

func (d *Device) newTimer() (*timer, error) {
	if err := d.enter("timer"); err != nil {
		return nil, err
	}
	defer d.leave()
	t := &timer{d: d}
	var err error
	if t.start, err = cu.MakeEvent(cu.DefaultEvent); err != nil {
		return nil, fmt.Errorf("cuda: cuEventCreate: %w", err)
	}
	if t.stop, err = cu.MakeEvent(cu.DefaultEvent); err != nil {
		return nil, fmt.Errorf("cuda: cuEventCreate: %w", err)
	}
	return t, nil
}

// begin records the start event after the work issued so far.
func (t *timer) begin() error {
	if err := t.d.enter("timer"); err != nil {
		return err
	}
	defer t.d.leave()
	if err := t.start.Record(t.d.stream); err != nil {
		return fmt.Errorf("cuda: cuEventRecord: %w", err)
	}
	return nil
}

// end records the stop event, waits for it and returns the milliseconds since begin.
func (t *timer) end() (float64, error) {
	if err := t.d.enter("timer"); err != nil {
		return 0, err
	}
	defer t.d.leave()
	if err := t.stop.Record(t.d.stream); err != nil {
		return 0, fmt.Errorf("cuda: cuEventRecord: %w", err)
	}
	if err := t.stop.Synchronize(); err != nil {
		return 0, fmt.Errorf("cuda: cuEventSynchronize: %w", err)
	}
	ms, err := t.start.Elapsed(t.stop)
	if err != nil {
		return 0, fmt.Errorf("cuda: cuEventElapsedTime: %w", err)
	}
	return ms, nil
}

func (t *timer) close() {
	if t.d.enter("timer") != nil {
		return
	}
	defer t.d.leave()
	_ = cu.DestroyEvent(&t.start)
	_ = cu.DestroyEvent(&t.stop)
}
