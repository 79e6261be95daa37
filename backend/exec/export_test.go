package exec

// DeviceOps lists the device op of each step of p, "" for a step that calls the device's
// methods directly.
func DeviceOps(p *Plan) []string {
	ops := make([]string, len(p.steps))
	for i, s := range p.steps {
		if s.call != nil {
			ops[i] = s.call.Op.Name()
		}
	}
	return ops
}

// SetFuseBatchNorm turns the merging of batch norm's gradient calls (fuseBatchNorm) on or off
// and returns a function that restores it.
func SetFuseBatchNorm(on bool) (restore func()) {
	old := fuseBatchNorm
	fuseBatchNorm = on
	return func() { fuseBatchNorm = old }
}
