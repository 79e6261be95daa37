package cuda

// The batch normalisation kernels (kernels/batchnorm.cu); the executor is batchnorm_gpu.go.
var (
	kBNFwd       = defKernel("batchnorm", "bn_fwd", "ppppppiiiddi")
	kBNGradInput = defKernel("batchnorm", "bn_grad_input", "ppppppiiidi")
	kBNGradGamma = defKernel("batchnorm", "bn_grad_gamma", "pppppiiidi")
)
