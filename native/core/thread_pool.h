// The CPU thread pool that splits the work of one op across cores.
//
// The queue's worker thread calls parallel_for; it runs one chunk itself and hands the
// rest to persistent helper threads, then waits for all of them. Kernels must give
// bit-identical results for any thread count: a chunk boundary may change which thread
// computes an output element, never the order of the arithmetic that produces it.
// Reductions therefore split over output elements (or fixed-size blocks combined in a
// fixed order), never over a thread-count-dependent partition of the summed axis.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace convnet {

// Number of threads an op may use (the caller included). Default: hardware cores.
int num_threads();
// Sets it (1 = run everything on the calling thread). Takes effect for the next op.
void set_num_threads(int n);

// A reference to the callable fn(begin, end) of one parallel_for: a pointer to it and a
// function that calls it, nothing copied. (A std::function copied the lambda to the heap
// when it captured more than two pointers, as most kernels' do: a malloc and a free per op,
// ~1% of a 64^3 product's time.) Valid only while the callable lives, which for a
// parallel_for argument is the whole call.
class RangeFn {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RangeFn>>>
  RangeFn(F&& fn)  // NOLINT(google-explicit-constructor): lambdas convert, as to std::function
      : callable_(const_cast<void*>(static_cast<const void*>(&fn))),
        call_([](void* callable, int64_t begin, int64_t end) {
          (*static_cast<std::remove_reference_t<F>*>(callable))(begin, end);
        }) {}
  void operator()(int64_t begin, int64_t end) const { call_(callable_, begin, end); }

 private:
  void* callable_;
  void (*call_)(void*, int64_t, int64_t);
};

// Calls fn(begin, end) on disjoint sub-ranges that cover [0, n). Ranges hold at least
// `grain` items (except the last), so tiny loops stay on one thread. Runs inline when
// called from inside another parallel_for. Exceptions thrown by fn are rethrown here.
void parallel_for(int64_t n, int64_t grain, RangeFn fn);

// parallel_for over n elements of a vectorised loop (pointwise kernels), in pieces that start at
// multiples of 16 elements. Note [pieces of whole vectors] (thread_pool.cc): so that each element
// is computed by the same instructions for any thread count.
void parallel_for_elements(int64_t n, int64_t grain, RangeFn fn);

// memcpy, split across the pool when it is more than 2 MiB (in pieces that end at the
// destination's 2 MiB pages). A copy into memory nobody has touched yet (a new ArrayBuffer for
// dataSync) is as much page faults, each a page the kernel zeroes, as copying, and those run in
// parallel too.
void parallel_copy(void* destination, const void* source, size_t bytes);

}  // namespace convnet
