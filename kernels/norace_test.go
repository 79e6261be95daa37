//go:build !race

package kernels

// raceBuild is false: NaN payloads are compared bit for bit (see race_test.go).
const raceBuild = false
