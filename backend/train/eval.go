package train

// Evaluate returns the mean loss and the accuracy of the model on ds.
func (t *Trainer) Evaluate(ds *Dataset) (loss, acc float64, err error) {
	var sum float64
	correct := 0
	err = t.evalBatches(ds, func(_ *batchPlan, idx []int, l float64, c int) error {
		sum += l * float64(len(idx))
		correct += c
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return sum / float64(ds.N), float64(correct) / float64(ds.N), nil
}

// evalBatches runs the forward plan over ds in order, EvalBatch rows at a time, and hands each
// batch's plan, rows, mean loss and correct count to each.
func (t *Trainer) evalBatches(ds *Dataset, each func(bp *batchPlan, idx []int, loss float64, correct int) error) error {
	if err := t.checkData(ds, "evaluation"); err != nil {
		return err
	}
	bs := min(t.cfg.EvalBatch, ds.N)
	idx := make([]int, bs)
	for lo := 0; lo < ds.N; lo += bs {
		hi := min(lo+bs, ds.N)
		idx = idx[:hi-lo]
		for i := range idx {
			idx[i] = lo + i
		}
		bp, err := t.planFor(hi-lo, false)
		if err != nil {
			return err
		}
		l, c, _, err := t.runBatch(bp, ds, idx, false)
		if err != nil {
			return err
		}
		if err := each(bp, idx, l, c); err != nil {
			return err
		}
	}
	return nil
}

// Confusion returns the confusion matrix of the model on ds: counts[target][predicted], with
// classes taken as the argmax of the targets and of the logits (for a single output, the
// threshold at 0 and 0.5). Row sums are the class counts.
func (t *Trainer) Confusion(ds *Dataset) ([][]int, error) {
	classes := max(ds.Outputs, 2)
	counts := make([][]int, classes)
	for i := range counts {
		counts[i] = make([]int, classes)
	}
	logits := make([]float32, min(t.cfg.EvalBatch, ds.N)*ds.Outputs)
	err := t.evalBatches(ds, func(bp *batchPlan, idx []int, _ float64, _ int) error {
		out := logits[:len(idx)*ds.Outputs]
		if err := t.dev.Read(out, bp.logits); err != nil {
			return err
		}
		for r, i := range idx {
			want := classOf(ds.Y[i*ds.Outputs:(i+1)*ds.Outputs], 0.5)
			got := classOf(out[r*ds.Outputs:(r+1)*ds.Outputs], 0)
			counts[want][got]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// classOf is the argmax of a row, or for a single value whether it exceeds threshold.
func classOf(row []float32, threshold float32) int {
	if len(row) == 1 {
		if row[0] > threshold {
			return 1
		}
		return 0
	}
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}
