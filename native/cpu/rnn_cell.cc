// The recurrent cells (lib/nn/functional/rnn.ts): one step's gate arithmetic after its two matrix
// products (the cells' op, on tensors), and a whole layer's recurrence in one op (the layers'),
// each forward and backward. Gate order and formulas are PyTorch's; xw = x W_ih^T + b_ih and
// hw = h W_hh^T + b_hh, rows [N, G·H].
//
// LSTM (G = 4, gates i, f, g, o):
//   i = σ(xw_i + hw_i), f = σ(..f), g = tanh(..g), o = σ(..o);  c' = f c + i g;  h' = o tanh(c')
// kept for the backward, per row: [i, f, g, o, tanh(c')] (5H). From dh' and dc':
//   dc~ = dc' + dh' o (1 - tanh²(c'));  da_o = dh' tanh(c') o (1 - o);  da_i = dc~ g i (1 - i);
//   da_f = dc~ c f (1 - f);  da_g = dc~ i (1 - g²);  dc = dc~ f;  dxw = dhw = da.
// GRU (G = 3, gates r, z, n):
//   r = σ(xw_r + hw_r), z = σ(xw_z + hw_z), n = tanh(xw_n + r hw_n);  h' = n + z (h - n)
// kept: [r, z, n, hw_n] (4H). From dh':
//   da_n = dh' (1 - z)(1 - n²);  da_z = dh' (h - n) z (1 - z);  da_r = da_n hw_n r (1 - r);
//   dxw = [da_r, da_z, da_n], dhw = [da_r, da_z, da_n r], dh (direct) = dh' z.
// RNN (G = 1): h' = tanh or relu of (xw + hw); its backward needs only h'.
//
// Why a layer op: composed of per-step ops, a sequence of T steps paid each op's fixed cost T times
// each way, and the tape summed T separate [G·H, H] weight gradients. Here the recurrence runs in
// one queued op: per step one GEMM (h W_hh^T) and one pass over the rows; the backward keeps
// every step's da and makes dW_hh = da^T [h_prev] in one GEMM over all T·N rows at the end.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void lstm_row(const float* __restrict xw, const float* __restrict hw, const float* __restrict c, float* __restrict h2,
              float* __restrict c2, float* __restrict s, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = sigmoid_value(xw[j] + hw[j]), f = sigmoid_value(xw[H + j] + hw[H + j]);
    const float g = tanh_value(xw[2 * H + j] + hw[2 * H + j]), o = sigmoid_value(xw[3 * H + j] + hw[3 * H + j]);
    const float cn = f * c[j] + i * g;
    const float tc = tanh_value(cn);
    c2[j] = cn;
    h2[j] = o * tc;
    s[j] = i;
    s[H + j] = f;
    s[2 * H + j] = g;
    s[3 * H + j] = o;
    s[4 * H + j] = tc;
  }
}

// dh or dc may be null (zero); the flags pick a loop without the loads.
template <bool kDh, bool kDc>
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void lstm_backward_row(const float* __restrict s, const float* __restrict c, const float* __restrict dh,
                       const float* __restrict dc, float* __restrict da, float* __restrict dcp, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j], tc = s[4 * H + j];
    const float gh = kDh ? dh[j] : 0.0f;
    const float dct = (kDc ? dc[j] : 0.0f) + gh * o * (1.0f - tc * tc);
    da[j] = dct * g * i * (1.0f - i);
    da[H + j] = dct * c[j] * f * (1.0f - f);
    da[2 * H + j] = dct * i * (1.0f - g * g);
    da[3 * H + j] = gh * tc * o * (1.0f - o);
    dcp[j] = dct * f;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void gru_row(const float* __restrict xw, const float* __restrict hw, const float* __restrict h, float* __restrict h2,
             float* __restrict s, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const float r = sigmoid_value(xw[j] + hw[j]), z = sigmoid_value(xw[H + j] + hw[H + j]);
    const float hn = hw[2 * H + j];
    const float n = tanh_value(xw[2 * H + j] + r * hn);
    h2[j] = n + z * (h[j] - n);
    s[j] = r;
    s[H + j] = z;
    s[2 * H + j] = n;
    s[3 * H + j] = hn;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void gru_backward_row(const float* __restrict s, const float* __restrict h, const float* __restrict dy, float* __restrict dxw,
                      float* __restrict dhw, float* __restrict dh, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const float r = s[j], z = s[H + j], n = s[2 * H + j], hn = s[3 * H + j], g = dy[j];
    const float dan = g * (1.0f - z) * (1.0f - n * n);
    const float daz = g * (h[j] - n) * z * (1.0f - z);
    const float dar = dan * hn * r * (1.0f - r);
    dxw[j] = dar;
    dxw[H + j] = daz;
    dxw[2 * H + j] = dan;
    dhw[j] = dar;
    dhw[H + j] = daz;
    dhw[2 * H + j] = dan * r;
    dh[j] = g * z;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void rnn_row(bool relu, const float* __restrict xw, const float* __restrict hw, float* __restrict h2, int64_t H) {
  if (relu) {
    for (int64_t j = 0; j < H; ++j) {
      const float a = xw[j] + hw[j];
      h2[j] = a < 0.0f ? 0.0f : a;   // PyTorch's: NaN and -0 pass
    }
  } else {
    for (int64_t j = 0; j < H; ++j) h2[j] = tanh_value(xw[j] + hw[j]);
  }
}

// da = dh act'(a) from h' = act(a): tanh' = 1 - h'², relu' = 0 where h' <= 0 (the kink included)
// and 1 elsewhere, NaN included, as PyTorch's threshold_backward on the output.
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void rnn_backward_row(bool relu, const float* __restrict h2, const float* __restrict dh, float* __restrict da, int64_t H) {
  if (relu) {
    for (int64_t j = 0; j < H; ++j) da[j] = h2[j] <= 0.0f ? 0.0f : dh[j];
  } else {
    for (int64_t j = 0; j < H; ++j) da[j] = dh[j] * (1.0f - h2[j] * h2[j]);
  }
}

// f(n) for each of the N rows, rows to the threads by about 32k values of work.
template <typename Row>
void each_row(int64_t N, int64_t H, const Row& f) {
  parallel_for(N, std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, 4 * H)), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) f(n);
  });
}

// hw [N, GH] = h [N, H] (rows ld apart) W^T + b.
void hidden_product(const float* h, int64_t ld, const float* w, const float* b, int64_t N, int64_t GH, int64_t H, float* hw) {
  if (b) {
    for (int64_t n = 0; n < N; ++n) std::memcpy(hw + n * GH, b, sizeof(float) * GH);
  }
  sgemm(false, true, N, GH, H, 1.0f, h, ld, w, H, b ? 1.0f : 0.0f, hw, GH);
}

}  // namespace

// ---- one step -----------------------------------------------------------------------------------

void lstm_cell_forward(const Tensor& xw, const Tensor& hw, const Tensor& c, const Tensor& h2, const Tensor& c2, const Tensor& saved) {
  const int64_t N = c.shape[0], H = c.shape[1];
  if (N * H == 0) return;
  const float *px = xw.f32(), *phw = hw.f32(), *pc = c.f32();
  float *ph = h2.f32(), *pc2 = c2.f32(), *ps = saved.f32();
  each_row(N, H, [&](int64_t n) {
    lstm_row(px + n * 4 * H, phw + n * 4 * H, pc + n * H, ph + n * H, pc2 + n * H, ps + n * 5 * H, H);
  });
}

void lstm_cell_backward(const Tensor& saved, const Tensor& c, const Tensor* dh, const Tensor* dc, const Tensor& dxw,
                        const Tensor& dhw, const Tensor& dc_prev) {
  const int64_t N = c.shape[0], H = c.shape[1];
  if (N * H == 0) return;
  const float *ps = saved.f32(), *pc = c.f32();
  const float* pdh = dh ? dh->f32() : nullptr;
  const float* pdc = dc ? dc->f32() : nullptr;
  float *pdx = dxw.f32(), *pdhw = dhw.f32(), *pdcp = dc_prev.f32();
  each_row(N, H, [&](int64_t n) {
    const float *s = ps + n * 5 * H, *cr = pc + n * H, *gh = pdh ? pdh + n * H : nullptr, *gc = pdc ? pdc + n * H : nullptr;
    float *da = pdx + n * 4 * H, *dcp = pdcp + n * H;
    if (gh && gc) lstm_backward_row<true, true>(s, cr, gh, gc, da, dcp, H);
    else if (gh) lstm_backward_row<true, false>(s, cr, gh, gc, da, dcp, H);
    else if (gc) lstm_backward_row<false, true>(s, cr, gh, gc, da, dcp, H);
    else lstm_backward_row<false, false>(s, cr, gh, gc, da, dcp, H);
    std::memcpy(pdhw + n * 4 * H, da, sizeof(float) * 4 * H);   // the same gradient, its own tensor for the tape
  });
}

void gru_cell_forward(const Tensor& xw, const Tensor& hw, const Tensor& h, const Tensor& h2, const Tensor& saved) {
  const int64_t N = h.shape[0], H = h.shape[1];
  if (N * H == 0) return;
  const float *px = xw.f32(), *phw = hw.f32(), *ph = h.f32();
  float *ph2 = h2.f32(), *ps = saved.f32();
  each_row(N, H, [&](int64_t n) { gru_row(px + n * 3 * H, phw + n * 3 * H, ph + n * H, ph2 + n * H, ps + n * 4 * H, H); });
}

void gru_cell_backward(const Tensor& saved, const Tensor& h, const Tensor& dy, const Tensor& dxw, const Tensor& dhw,
                       const Tensor& dh) {
  const int64_t N = h.shape[0], H = h.shape[1];
  if (N * H == 0) return;
  const float *ps = saved.f32(), *ph = h.f32(), *pdy = dy.f32();
  float *pdx = dxw.f32(), *pdhw = dhw.f32(), *pdh = dh.f32();
  each_row(N, H, [&](int64_t n) {
    gru_backward_row(ps + n * 4 * H, ph + n * H, pdy + n * H, pdx + n * 3 * H, pdhw + n * 3 * H, pdh + n * H, H);
  });
}

// ---- a whole layer --------------------------------------------------------------------------------
//
// Steps run k = 0 .. T-1 at time t = k (t = T-1-k in reverse); step k's previous state is h0 (c0)
// at k = 0, else the previous step's output. out [T, N, OW] holds each time's h (and for the LSTM
// c after it: OW = 2H, else H); saved, each time's gates as the step op keeps them.
//
// With `lengths` (packed sequences: sample n has lengths[n] steps, the rest padding), sample n is
// active at times t < lengths[n] only: elsewhere its output is 0 and its state is carried
// unchanged. Going forward that only ends a sample early (its last state is out[lengths[n] - 1]);
// in reverse a sample starts at its own last step, from h0 (c0) carried through the padding. The
// backward carries the state's gradient through the padding unchanged and gives the padding no
// gradient.

namespace {
struct LayerShape {
  int64_t T, N, GH, H, OW, S;   // S: floats kept per row (LSTM 5H, GRU 4H, RNN 0)
};
LayerShape layer_shape(RnnCell mode, const Tensor& xw, const Tensor& h0) {
  LayerShape s{xw.shape[0], xw.shape[1], xw.shape[2], h0.shape[1], 0, 0};
  s.OW = mode == RnnCell::Lstm ? 2 * s.H : s.H;
  s.S = mode == RnnCell::Lstm ? 5 * s.H : mode == RnnCell::Gru ? 4 * s.H : 0;
  return s;
}

// Where step k's previous state lives, per row: h0 / c0 at the first step or after padding, else
// the previous step's output (its time tp).
struct PreviousState {
  const float *h0, *c0, *out;
  const int32_t* lengths;
  bool reverse;
  int64_t T, N, H, OW;
  bool active(int64_t t, int64_t n) const { return lengths == nullptr || t < lengths[n]; }
  int64_t time(int64_t k) const { return reverse ? T - 1 - k : k; }
  bool from_start(int64_t k, int64_t n) const { return k == 0 || !active(time(k - 1), n); }
  const float* h(int64_t k, int64_t n) const { return from_start(k, n) ? h0 + n * H : out + (time(k - 1) * N + n) * OW; }
  const float* c(int64_t k, int64_t n) const { return from_start(k, n) ? c0 + n * H : out + (time(k - 1) * N + n) * OW + H; }
};
}  // namespace

void rnn_layer_forward(RnnCell mode, bool reverse, const Tensor& xw, const Tensor& h0, const Tensor* c0, const Tensor& w_hh,
                       const Tensor* b_hh, const int32_t* lengths, const Tensor& out, const Tensor* saved) {
  const LayerShape s = layer_shape(mode, xw, h0);
  const int64_t T = s.T, N = s.N, GH = s.GH, H = s.H, OW = s.OW;
  if (T * N * H == 0) return;
  const float *px = xw.f32(), *pw = w_hh.f32(), *pb = b_hh ? b_hh->f32() : nullptr;
  float* po = out.f32();
  const PreviousState prev{h0.f32(), c0 ? c0->f32() : nullptr, po, lengths, reverse, T, N, H, OW};
  std::vector<float> hw(N * GH), scratch(saved ? 0 : N * s.S), hp_rows(lengths ? N * H : 0);
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = prev.time(k);
    // The previous h of every row, for one GEMM: in place (h0 or the last output), or gathered.
    const float* hp = k == 0 ? h0.f32() : po + prev.time(k - 1) * N * OW;
    int64_t ldh = k == 0 ? H : OW;
    if (lengths && k > 0) {
      for (int64_t n = 0; n < N; ++n) std::memcpy(hp_rows.data() + n * H, prev.h(k, n), sizeof(float) * H);
      hp = hp_rows.data();
      ldh = H;
    }
    hidden_product(hp, ldh, pw, pb, N, GH, H, hw.data());
    float* keep = saved ? saved->f32() + t * N * s.S : scratch.data();
    each_row(N, GH, [&](int64_t n) {
      float* o = po + (t * N + n) * OW;
      if (!prev.active(t, n)) {
        std::fill(o, o + OW, 0.0f);
        return;
      }
      const float* x = px + (t * N + n) * GH;
      if (mode == RnnCell::Lstm) {
        lstm_row(x, hw.data() + n * GH, prev.c(k, n), o, o + H, keep + n * s.S, H);
      } else if (mode == RnnCell::Gru) {
        gru_row(x, hw.data() + n * GH, hp + n * ldh, o, keep + n * s.S, H);
      } else {
        rnn_row(mode == RnnCell::RnnRelu, x, hw.data() + n * GH, o, H);
      }
    });
  }
}

void rnn_layer_backward(RnnCell mode, bool reverse, const Tensor& dout, const Tensor& out, const Tensor* saved, const Tensor& h0,
                        const Tensor* c0, const Tensor& w_hh, const int32_t* lengths, const Tensor& dxw, const Tensor& dh0,
                        const Tensor* dc0, const Tensor& dw_hh, const Tensor* db_hh) {
  const LayerShape s = layer_shape(mode, dxw, h0);
  const int64_t T = s.T, N = s.N, GH = s.GH, H = s.H, OW = s.OW;
  float *pdx = dxw.f32(), *pdh0 = dh0.f32();
  std::fill(pdh0, pdh0 + N * H, 0.0f);
  if (dc0) std::fill(dc0->f32(), dc0->f32() + N * H, 0.0f);
  std::fill(dw_hh.f32(), dw_hh.f32() + dw_hh.numel(), 0.0f);
  if (db_hh) std::fill(db_hh->f32(), db_hh->f32() + GH, 0.0f);
  if (T * N * H == 0) return;
  const float *pd = dout.f32(), *po = out.f32(), *pw = w_hh.f32();
  const PreviousState prev{h0.f32(), c0 ? c0->f32() : nullptr, po, lengths, reverse, T, N, H, OW};
  // The GRU's dhw differs from its dxw (the n gate); the others' are the same.
  std::vector<float> dhw_buffer(mode == RnnCell::Gru ? T * N * GH : 0);
  float* pdhw = mode == RnnCell::Gru ? dhw_buffer.data() : pdx;
  // dh_carry / dc_carry: the gradient reaching step k's state from the steps after it (dh0, dc0 at the end).
  float* dh_carry = pdh0;
  std::vector<float> dc_own(dc0 ? 0 : N * H), dh_total(N * H), dc_total(N * H), direct(mode == RnnCell::Gru ? N * H : 0), through(N * H);
  float* dc_carry = dc0 ? dc0->f32() : dc_own.data();
  for (int64_t k = T - 1; k >= 0; --k) {
    const int64_t t = prev.time(k);
    each_row(N, GH, [&](int64_t n) {
      float* dx = pdx + (t * N + n) * GH;
      if (!prev.active(t, n)) {   // padding: no gradient, the state's passes through
        std::fill(dx, dx + GH, 0.0f);
        if (mode == RnnCell::Gru) std::fill(pdhw + (t * N + n) * GH, pdhw + (t * N + n + 1) * GH, 0.0f);
        return;
      }
      const float* d = pd + (t * N + n) * OW;
      float* dht = dh_total.data() + n * H;
      for (int64_t j = 0; j < H; ++j) dht[j] = d[j] + dh_carry[n * H + j];
      if (mode == RnnCell::Lstm) {
        float* dct = dc_total.data() + n * H;
        for (int64_t j = 0; j < H; ++j) dct[j] = d[H + j] + dc_carry[n * H + j];
        lstm_backward_row<true, true>(saved->f32() + (t * N + n) * s.S, prev.c(k, n), dht, dct, dx, dc_carry + n * H, H);
      } else if (mode == RnnCell::Gru) {
        gru_backward_row(saved->f32() + (t * N + n) * s.S, prev.h(k, n), dht, dx, pdhw + (t * N + n) * GH, direct.data() + n * H, H);
      } else {
        rnn_backward_row(mode == RnnCell::RnnRelu, po + (t * N + n) * OW, dht, dx, H);
      }
    });
    // dh_carry = dhw_t W_hh (+ the GRU's direct path) for the active rows; the padding's carry stays.
    sgemm(false, false, N, H, GH, 1.0f, pdhw + t * N * GH, GH, pw, H, 0.0f, through.data(), H);
    for (int64_t n = 0; n < N; ++n) {
      if (!prev.active(t, n)) continue;
      for (int64_t j = 0; j < H; ++j) dh_carry[n * H + j] = through[n * H + j] + (mode == RnnCell::Gru ? direct[n * H + j] : 0.0f);
    }
  }
  // dW_hh = sum over steps of dhw_t^T h_prev: one GEMM over every (time, row); the padding's rows
  // are zeros (their dhw is 0, and a NaN there must not reach dW).
  std::vector<float> hprev(T * N * H, 0.0f);
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = prev.time(k);
    for (int64_t n = 0; n < N; ++n) {
      if (prev.active(t, n)) std::memcpy(hprev.data() + (t * N + n) * H, prev.h(k, n), sizeof(float) * H);
    }
  }
  sgemm(true, false, GH, H, T * N, 1.0f, pdhw, GH, hprev.data(), H, 0.0f, dw_hh.f32(), H);
  if (db_hh) {
    float* db = db_hh->f32();
    for (int64_t r = 0; r < T * N; ++r) {
      const float* row = pdhw + r * GH;
      for (int64_t j = 0; j < GH; ++j) db[j] += row[j];
    }
  }
}

}  // namespace cpu
}  // namespace convnet
