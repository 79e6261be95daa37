package cuda

// The batch normalisation kernels (kernels/batchnorm.cu); the executor is batchnorm_gpu.go.
var (
	kBNFwd       = defKernel("batchnorm", "bn_fwd", "uuuuuuuuuddu")
	kBNGradInput = defKernel("batchnorm", "bn_grad_input", "uuuuuuuuudu")
	kBNGradGamma = defKernel("batchnorm", "bn_grad_gamma", "uuuuuuuudu")
)
