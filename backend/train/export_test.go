package train

// WithoutRecycling returns cfg set to compile plans in which no node shares a buffer.
func WithoutRecycling(cfg Config) Config {
	cfg.noRecycle = true
	return cfg
}

// PlanElements returns the elements the trainer's plan for a batch of rows owns, and those it
// would own without recycling.
func (t *Trainer) PlanElements(rows int, training bool) (owned, unshared int, err error) {
	bp, err := t.planFor(rows, training)
	if err != nil {
		return 0, 0, err
	}
	owned, unshared = bp.plan.Elements()
	return owned, unshared, nil
}

// ArenaElements returns the elements in the buffers the trainer's plans share.
func (t *Trainer) ArenaElements() int { return t.arena.Elements() }
