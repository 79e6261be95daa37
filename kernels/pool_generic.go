//go:build !amd64 || purego

package kernels

// Stubs: level() is Generic without assembly, so these are never called.

func maxPool2x2F32(out, plane *float32, oh, ow, w int)       {}
func maxPool2x2BackF32(d, plane, up *float32, oh, ow, w int) {}
