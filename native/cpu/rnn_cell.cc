// The gate arithmetic of one LSTM or GRU step (lib/nn/functional/rnn.ts), after the two matrix
// products that feed it. Composed of pointwise ops it was ten to fifteen passes each way per step,
// each a queued op; a sequence of T steps paid that T times per layer and direction.
//
// LSTM, gates [N, 4H] = x W_ih^T + b_ih + h W_hh^T + b_hh in PyTorch's order (i, f, g, o):
//   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o);  c' = f c + i g;  h' = o tanh(c')
// kept for the backward: [i, f, g, o, tanh(c')] per row, [N, 5H]. Backward, from dh' and dc'
// (either may be absent: h' and c' are separate tape nodes):
//   dc~ = dc' + dh' o (1 - tanh²(c'));  da_o = dh' tanh(c') o (1 - o);  da_i = dc~ g i (1 - i);
//   da_f = dc~ c f (1 - f);  da_g = dc~ i (1 - g²);  dc = dc~ f.
// GRU, xw = x W_ih^T + b_ih and hw = h W_hh^T + b_hh [N, 3H] in PyTorch's order (r, z, n):
//   r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r hn);  h' = n + z (h - n)
// kept: [r, z, n, hn] [N, 4H]. Backward from dh':
//   da_n = dh' (1 - z)(1 - n²); da_z = dh' (h - n) z (1 - z); da_r = da_n hn r (1 - r);
//   dxw = [da_r, da_z, da_n], dhw = [da_r, da_z, da_n r], dh = dh' z.
// Each row is independent; rows go to the threads, each row's loops are vectorized.
#include <algorithm>

#include "core/thread_pool.h"
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void lstm_row(const float* __restrict a, const float* __restrict c, float* __restrict h2, float* __restrict c2,
              float* __restrict s, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = sigmoid_value(a[j]), f = sigmoid_value(a[H + j]), g = tanh_value(a[2 * H + j]), o = sigmoid_value(a[3 * H + j]);
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

// f(n) for each of the N rows, rows to the threads by about 32k values of work.
template <typename Row>
void each_row(int64_t N, int64_t H, const Row& f) {
  parallel_for(N, std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, 4 * H)), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) f(n);
  });
}

}  // namespace

void lstm_cell_forward(const Tensor& gates, const Tensor& c, const Tensor& h2, const Tensor& c2, const Tensor& saved) {
  const int64_t N = c.shape[0], H = c.shape[1];
  if (N * H == 0) return;
  const float *pa = gates.f32(), *pc = c.f32();
  float *ph = h2.f32(), *pc2 = c2.f32(), *ps = saved.f32();
  each_row(N, H, [&](int64_t n) { lstm_row(pa + n * 4 * H, pc + n * H, ph + n * H, pc2 + n * H, ps + n * 5 * H, H); });
}

void lstm_cell_backward(const Tensor& saved, const Tensor& c, const Tensor* dh, const Tensor* dc, const Tensor& dgates,
                        const Tensor& dc_prev) {
  const int64_t N = c.shape[0], H = c.shape[1];
  if (N * H == 0) return;
  const float *ps = saved.f32(), *pc = c.f32();
  const float* pdh = dh ? dh->f32() : nullptr;
  const float* pdc = dc ? dc->f32() : nullptr;
  float *pda = dgates.f32(), *pdcp = dc_prev.f32();
  each_row(N, H, [&](int64_t n) {
    const float *s = ps + n * 5 * H, *cr = pc + n * H, *gh = pdh ? pdh + n * H : nullptr, *gc = pdc ? pdc + n * H : nullptr;
    float *da = pda + n * 4 * H, *dcp = pdcp + n * H;
    if (gh && gc) lstm_backward_row<true, true>(s, cr, gh, gc, da, dcp, H);
    else if (gh) lstm_backward_row<true, false>(s, cr, gh, gc, da, dcp, H);
    else if (gc) lstm_backward_row<false, true>(s, cr, gh, gc, da, dcp, H);
    else lstm_backward_row<false, false>(s, cr, gh, gc, da, dcp, H);
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

}  // namespace cpu
}  // namespace convnet
