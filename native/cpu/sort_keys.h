// The uint64 sort keys of sort.cc and unique.cc: (order key << 32) | position, where the order
// key is a uint32 that compares as the values do. Ascending uint64 order is then the order
// wanted: NaN counts as the largest, -0 equals +0, and equal values keep their positions' order.
#pragma once
#include <cstdint>
#include <cstring>

namespace convnet {
namespace cpu {

// A uint32 that orders as the value: -inf < ... < -0 == +0 < ... < +inf < NaN (one key for all NaNs).
inline uint32_t order_key(float v) {
  if (v != v) return 0xFFFFFFFFu;
  if (v == 0.0f) v = 0.0f;  // -0 -> +0
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  // Negative: all bits flipped; positive: the sign bit set. Without a branch on the sign, which
  // random data mispredicts half the time.
  return bits ^ (static_cast<uint32_t>(static_cast<int32_t>(bits) >> 31) | 0x80000000u);
}
inline uint32_t order_key(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }

// Sorts keys[0, n) ascending, as std::sort would, when their low 32 bits (the positions) are
// already ascending: an LSD radix sort of the top 32 bits (Note [radix sort], sort.cc). scratch
// holds n keys; the sorted keys end in one of the two, which is returned.
uint64_t* radix_sort(uint64_t* keys, uint64_t* scratch, int64_t n);

}  // namespace cpu
}  // namespace convnet
