package cuda

// The dropout kernel (kernels/dropout.cu), for both directions; the executor is dropout_gpu.go.
var kDropout = defKernel("dropout", "dropout", "ppiitiii")
