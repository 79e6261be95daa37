package optim_test

import "github.com/gotrain/gotrain/optim"

// torch.optim.SGD: g += λp; with momentum b = g on the first step, else μb + (1-τ)g, and
// g = g + μb (Nesterov) or b; p -= γg.
func init() {
	torchDefaults["sgd"] = optim.Options{Name: "sgd", LR: 0.5}
	torchDefaults["momentum"] = optim.Options{Name: "sgd", LR: 0.5, Momentum: 0.9}
	torchDefaults["nesterov"] = optim.Options{Name: "sgd", LR: 0.5, Momentum: 0.9, Nesterov: true}
	references["sgd"] = reference{
		states: func(o optim.Options) []string {
			if o.Momentum != 0 {
				return []string{"momentum_buffer"}
			}
			return nil
		},
		step: func(o optim.Options, t int, lr, _ float64, p, grad []float64, st func(string) []float64) {
			for j := range p {
				g := grad[j] + o.WeightDecay*p[j]
				if o.Momentum != 0 {
					b := st("momentum_buffer")
					if t > 1 {
						b[j] = o.Momentum*b[j] + (1-o.Dampening)*g
					} else {
						b[j] = g
					}
					if o.Nesterov {
						g += o.Momentum * b[j]
					} else {
						g = b[j]
					}
				}
				p[j] -= lr * g
			}
		},
	}
	trajectoryCases = append(trajectoryCases,
		trajCase{"sgd with momentum, dampening and weight decay", opts("momentum", 0.05, func(o *optim.Options) { o.Dampening, o.WeightDecay = 0.1, 0.02 })},
		trajCase{"sgd with nesterov and weight decay", opts("nesterov", 0.05, func(o *optim.Options) { o.WeightDecay = 0.02 })},
	)
}
