// Sixteen float lanes (and their float64 sums, eight lanes a half) for the row sums of
// norm_rows.h, row_lanes.h and var_std.cc, in two layouts with one interface:
//
//   Wide:  64-byte GCC vectors, one zmm register each in the AVX-512 clones;
//   Pairs: two 32-byte GCC vectors (lanes 0-7 in `lo`, 8-15 in `hi`), two ymm registers.
//
// GCC has no register that wide for AVX2 and keeps a 64-byte vector in memory in the x86-64-v3
// clones: each step of a sum stored the accumulators and reloaded them through general
// registers (layer norm's forward on [32, 196, 384]: 4.3 ms there, 0.7 in the AVX-512 clone).
// Pairs everywhere cost the AVX-512 clones up to a fifth of their speed (twice the registers
// for the same lanes: the three sums of cosine similarity spilled), so a kernel is a template
// on the layout, compiled (with its SIMD clones) for both, and its caller takes Wide where the
// CPU has AVX-512 (wide()) and Pairs elsewhere. Both do the same operations lane by lane in the
// same order: the same bits.
//
// The helpers are forced inline: each caller is a CONVNET_SIMD_CLONES function (simd_clones.h),
// and a helper compiled on its own would be the baseline's code. Values go through references:
// a function returning a 32- or 64-byte vector has another ABI per clone (GCC's -Wpsabi); the
// Pairs operators, always inlined, have none.
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu/cpu_features.h"

namespace convnet {
namespace cpu {
namespace lanes16 {

#define CONVNET_LANES16_INLINE inline __attribute__((always_inline))

// Whether this CPU runs the AVX-512 clones (and so takes Wide). A build capped at AVX2
// (simd_clones.h) has no AVX-512 clones, and cpu_has_avx512() is false there.
inline bool wide() { return cpu_has_avx512(); }

struct Wide {
  typedef float Floats16 __attribute__((vector_size(64)));
  typedef double Doubles8 __attribute__((vector_size(64)));
  typedef int32_t Ints16 __attribute__((vector_size(64)));
  typedef float Floats8 __attribute__((vector_size(32)));
  typedef double Doubles4 __attribute__((vector_size(32)));

  static CONVNET_LANES16_INLINE void load16(const float* p, Floats16& v) { std::memcpy(&v, p, sizeof v); }
  static CONVNET_LANES16_INLINE void store16(float* p, const Floats16& v) { std::memcpy(p, &v, sizeof v); }
  static CONVNET_LANES16_INLINE void fill(float value, Floats16& v) { v = Floats16{} + value; }
  static CONVNET_LANES16_INLINE void set_lane(Floats16& v, int l, float value) { v[l] = value; }

  // v = the 16 floats at p, or (count < 16) the first `count` of them and zeros in the other lanes.
  static CONVNET_LANES16_INLINE void load(const float* p, int64_t count, Floats16& v) {
    if (count == 16) {
      load16(p, v);
      return;
    }
    v = Floats16{};
    for (int64_t l = 0; l < count; ++l) v[l] = p[l];
  }

  // Adds the sixteen float lanes of v to the float64 lanes lo (0..7) and hi (8..15).
  static CONVNET_LANES16_INLINE void widen_add(const Floats16& v, Doubles8& lo, Doubles8& hi) {
    Floats8 a, b;
    std::memcpy(&a, &v, sizeof a);
    std::memcpy(&b, reinterpret_cast<const char*>(&v) + sizeof a, sizeof b);
    lo += __builtin_convertvector(a, Doubles8);
    hi += __builtin_convertvector(b, Doubles8);
  }

  // lo (lanes 0-7) and hi (8-15) += (x[l] - mean)^2 for the 16 floats at x, each widened to
  // float64 first; add_squares(d, acc): acc += d * d.
  static CONVNET_LANES16_INLINE void add_squared_deviations(const float* x, double mean, Doubles8& lo, Doubles8& hi) {
    Floats8 a, b;
    std::memcpy(&a, x, sizeof a);
    std::memcpy(&b, x + 8, sizeof b);
    const Doubles8 da = __builtin_convertvector(a, Doubles8) - mean, db = __builtin_convertvector(b, Doubles8) - mean;
    lo += da * da;
    hi += db * db;
  }
  static CONVNET_LANES16_INLINE void add_squares(const Doubles8& d, Doubles8& acc) { acc += d * d; }
  static CONVNET_LANES16_INLINE void set_lane(Doubles8& v, int l, double value) { v[l] = value; }

  // The sixteen float64 lanes added pairwise: lane l + lane l + 8, then l + 4, l + 2, l + 1.
  static CONVNET_LANES16_INLINE double add_lanes(const Doubles8& a, const Doubles8& b) {
    const Doubles8 c = a + b;
    const Doubles4 lo = {c[0], c[1], c[2], c[3]}, hi = {c[4], c[5], c[6], c[7]};
    const Doubles4 d = lo + hi;
    return (d[0] + d[2]) + (d[1] + d[3]);
  }

  // v = |v| lane by lane (clears the sign bits: -0 becomes +0, NaN stays NaN).
  static CONVNET_LANES16_INLINE void abs_in_place(Floats16& v) {
    Ints16 bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= 0x7FFFFFFF;
    std::memcpy(&v, &bits, sizeof v);
  }

  // t = 1 where v != 0 (NaN included), 0 elsewhere.
  static CONVNET_LANES16_INLINE void nonzero_ones(const Floats16& v, Floats16& t) {
    const Ints16 nonzero = v != 0.0f;  // -1 or 0 a lane
    t = __builtin_convertvector(nonzero & 1, Floats16);
  }
};

struct Pairs {
  typedef float Floats8 __attribute__((vector_size(32)));
  typedef double Doubles4 __attribute__((vector_size(32)));
  typedef int32_t Ints8 __attribute__((vector_size(32)));
  struct Floats16 {
    Floats8 lo, hi;  // lanes 0-7, 8-15
  };
  struct Doubles8 {
    Doubles4 lo, hi;  // lanes 0-3, 4-7
  };

  // Loads and stores a 32-byte half at a time: a memcpy of the whole struct went through
  // 16-byte moves and the stack, and the 32-byte reloads waited on store forwarding.
  static CONVNET_LANES16_INLINE void load16(const float* p, Floats16& v) {
    std::memcpy(&v.lo, p, sizeof v.lo);
    std::memcpy(&v.hi, p + 8, sizeof v.hi);
  }
  static CONVNET_LANES16_INLINE void store16(float* p, const Floats16& v) {
    std::memcpy(p, &v.lo, sizeof v.lo);
    std::memcpy(p + 8, &v.hi, sizeof v.hi);
  }
  static CONVNET_LANES16_INLINE void fill(float value, Floats16& v) { v.lo = v.hi = Floats8{} + value; }
  static CONVNET_LANES16_INLINE void set_lane(Floats16& v, int l, float value) {
    if (l < 8) v.lo[l] = value;
    else v.hi[l - 8] = value;
  }

  static CONVNET_LANES16_INLINE void load(const float* p, int64_t count, Floats16& v) {
    if (count == 16) {
      load16(p, v);
      return;
    }
    v = Floats16{};
    for (int64_t l = 0; l < count; ++l) set_lane(v, static_cast<int>(l), p[l]);
  }

  static CONVNET_LANES16_INLINE void widen(const Floats8& v, Doubles8& d) {
    d.lo = __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), Doubles4);
    d.hi = __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), Doubles4);
  }
  static CONVNET_LANES16_INLINE void widen_add(const Floats16& v, Doubles8& lo, Doubles8& hi) {
    Doubles8 a, b;
    widen(v.lo, a);
    widen(v.hi, b);
    lo.lo += a.lo, lo.hi += a.hi, hi.lo += b.lo, hi.hi += b.hi;
  }

  static CONVNET_LANES16_INLINE void add_squares(const Doubles8& d, Doubles8& acc) {
    acc.lo += d.lo * d.lo;
    acc.hi += d.hi * d.hi;
  }
  static CONVNET_LANES16_INLINE void add_squared_deviations(const float* x, double mean, Doubles8& lo, Doubles8& hi) {
    Floats8 a, b;
    std::memcpy(&a, x, sizeof a);
    std::memcpy(&b, x + 8, sizeof b);
    Doubles8 da, db;
    widen(a, da);
    widen(b, db);
    da.lo -= mean, da.hi -= mean, db.lo -= mean, db.hi -= mean;
    add_squares(da, lo);
    add_squares(db, hi);
  }
  static CONVNET_LANES16_INLINE void set_lane(Doubles8& v, int l, double value) {
    if (l < 4) v.lo[l] = value;
    else v.hi[l - 4] = value;
  }

  static CONVNET_LANES16_INLINE double add_lanes(const Doubles8& a, const Doubles8& b) {
    const Doubles4 lo = a.lo + b.lo, hi = a.hi + b.hi;  // (a + b)'s lanes 0-3 and 4-7
    const Doubles4 d = lo + hi;
    return (d[0] + d[2]) + (d[1] + d[3]);
  }

  static CONVNET_LANES16_INLINE void abs_in_place(Floats16& v) {
    Ints8 lo, hi;
    std::memcpy(&lo, &v.lo, sizeof lo);
    std::memcpy(&hi, &v.hi, sizeof hi);
    lo &= 0x7FFFFFFF;
    hi &= 0x7FFFFFFF;
    std::memcpy(&v.lo, &lo, sizeof lo);
    std::memcpy(&v.hi, &hi, sizeof hi);
  }

  static CONVNET_LANES16_INLINE void nonzero_ones(const Floats16& v, Floats16& t) {
    const Ints8 lo = v.lo != 0.0f, hi = v.hi != 0.0f;
    t.lo = __builtin_convertvector(lo & 1, Floats8);
    t.hi = __builtin_convertvector(hi & 1, Floats8);
  }
};

// Pairs' arithmetic, lane by lane as on GCC's vectors (a scalar operand is every lane's).
using PF = Pairs::Floats16;
CONVNET_LANES16_INLINE PF operator+(const PF& a, const PF& b) { return {a.lo + b.lo, a.hi + b.hi}; }
CONVNET_LANES16_INLINE PF operator-(const PF& a, float s) { return {a.lo - s, a.hi - s}; }
CONVNET_LANES16_INLINE PF operator*(const PF& a, const PF& b) { return {a.lo * b.lo, a.hi * b.hi}; }
CONVNET_LANES16_INLINE PF operator*(const PF& a, float s) { return {a.lo * s, a.hi * s}; }
CONVNET_LANES16_INLINE PF& operator+=(PF& a, const PF& b) {
  a.lo += b.lo, a.hi += b.hi;
  return a;
}

}  // namespace lanes16
}  // namespace cpu
}  // namespace convnet
