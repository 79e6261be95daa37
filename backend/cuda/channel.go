package cuda

// The per-channel kernels (kernels/channel.cu); the executor is channel_gpu.go.
var (
	kChannelBias = defKernel("channel", "channel_bias", "pppiii")
	kChannelSum  = defKernel("channel", "channel_sum", "ppiii")
)
