// When the threads that run ops may preempt others on waking (Linux scheduling policies).
//
// Note [lazy and prompt wake-ups]: on a machine with no idle core, a woken SCHED_OTHER thread
// preempts the running one; a SCHED_BATCH thread waits for a free core or the end of the
// running thread's slice (milliseconds), whatever that thread's nice value.
// - Lazy is right for the queue's worker when it wakes for a new op that JavaScript then runs
//   itself (Note [waiter runs tasks], queue.cc): woken promptly, the worker preempted the op's
//   own threads only to find nothing to do (~500 context switches per 1000 max-pool backwards of
//   25 us; LeNet-5 inference at batch 1 40-100 us instead of 30-35).
// - Lazy is wrong everywhere else once any other process wants a core, even at nice 19: every
//   wake-up of a lazy thread then waited out that process's slice. Beside one `nice -n 19` busy
//   loop on 2 cores, with the worker and the pool's helpers always lazy, LeNet-5 inference at
//   batch 1 took 0.196 ms against 0.052 with every thread prompt, a training step 4.0 against
//   2.9, and a 10 ms convolution 18.8 against 12.8.
// So the worker is lazy only while the program reads results back at once: a thread that
// blocks for results (`dataSync()`, `syncBlocking()`: Queue::wait(), where that thread runs the
// tasks itself when the worker does not take them) makes it lazy. It is prompt again as soon as
// a result is awaited (a completion is queued: only the worker will run the ops before it).
// Training loops and `await t.data()` thus never meet a lazy worker, and a program that switches
// between the two ways pays one change per switch (one system call a worker).
// The pool's helpers are always prompt: they are woken by a thread that has work for them
// (a parallel loop), never for nothing (session 18 made them lazy with the worker). Measured,
// that changed little: beside a nice-19 busy loop a 9 ms convolution read back with
// `syncBlocking()` took 12.7-17.7 ms (median 17.4) against 17.5-18.1, small ops read back at once
// the same; what still costs such a read is the lazy worker (bench/README.md, "A quiet machine").
// `node dist/bench/wake-policy.js` measures the three settings of CONVNET_WAKE_POLICY (read once,
// at the worker's start) with and without a busy neighbour (bench/README.md, "A quiet machine"):
// - `adaptive` (the default): the above;
// - `lazy`: the worker and the helpers always SCHED_BATCH (as before session 18);
// - `prompt`: every thread SCHED_OTHER (small ops read back at once up to 1.4x slower).
//
// A process that runs under another policy (`chrt --batch`, `--idle`) keeps it: none of this
// applies then. Elsewhere than Linux these calls do nothing.
#pragma once

namespace convnet {
namespace wake_policy {

// The queue's worker, at its start (before any of the calls below). Also names the thread
// ("convnet queue"; the helpers "convnet pool"), as `top -H` and /proc show it.
void worker_started();
// A thread blocks until the queue's results exist (Queue::wait()): the workers lazy.
void reader_blocking();
// A thread awaits the worker's results (a completion is queued): the workers prompt.
void reader_waiting();
// A pool helper, at its start: prompt (unless CONVNET_WAKE_POLICY=lazy), whatever it inherited.
void helper_started();

}  // namespace wake_policy
}  // namespace convnet
