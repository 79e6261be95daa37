// Package tune searches hyperparameters: search spaces (uniform, log-uniform, integer,
// categorical and conditional parameters), samplers (grid, random, TPE), pruners that stop
// poor trials early (median, ASHA, Hyperband), and studies stored in SQLite or PostgreSQL that
// several worker processes, on one machine or many, run together.
//
// # Workers, leases and takeover
//
// A worker claims a trial in a transaction that cannot double-assign (see Store), holds a
// lease on it that a heartbeat renews, and reports after every epoch, once the objective has
// saved that epoch's checkpoint. When a worker dies its lease runs out and another worker takes
// the trial over; the objective resumes from the last checkpoint, so a SIGKILL costs at most
// the epoch in progress, and since every write is fenced by the trial's attempt number, no
// trial is lost or counted twice.
//
// # Reproducibility
//
// By default a study is reproducible: with the same seed it has the same trials, parameters,
// values and pruning decisions whatever the number of workers and however they are scheduled
// (given an objective that is itself deterministic, as gotrain's CPU training is). Two rules
// make it so:
//
//   - Trial k's parameters are a function of the seed, k and the trials before Needs(k) (for
//     TPE: the random startup trials, then generations of a fixed size), and trial k is created
//     only once those have ended. The number of workers never enters.
//   - A pruning decision for trial k after epoch e compares it only with lower-numbered trials
//     (of its bracket) at epoch e, and is taken only once each of those has reported epoch e or
//     ended. While it waits, a worker parks its trial if some other trial needs a worker
//     (because its own died), so waiting never deadlocks.
//
// Asynchronous mode (Config.Async) drops both waits: a new trial sees whatever has ended (and
// the running trials, as TPE's "constant liar"), and a decision uses whatever peers have
// reported. Workers never idle, but results depend on timing and cannot be reproduced.
package tune
