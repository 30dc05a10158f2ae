// Contrastive loss (Hadsell, Chopra and LeCun 2006; the survey's section 3.4) over pairs:
//   d_i = ||a_i - b_i||_2,   l_i = 1/2 [ y_i d_i^2 + (1 - y_i) max(0, margin - d_i)^2 ],
// y = 1 for a similar pair, 0 for a dissimilar one (other values are used as they are, which
// gives soft labels). Mean = (1 / N) sum l_i = the paper's (1 / 2N) sum [...]; Sum = sum l_i;
// None = the l_i.
//
// Backward: d l / d a = g [ y (a - b) - (1 - y) max(0, margin - d) (a - b) / d ], d l / d b = -that.
// Note [contrastive at d = 0]: for a dissimilar pair with a == b the direction (a - b) / d is
// undefined; its term is taken as 0 (a subgradient of the hinge there), so no NaN appears.
#include <cmath>

#include "cpu/loss_common.h"

namespace convnet {
namespace cpu {
namespace {

double squared_distance(const float* a, const float* b, int64_t D) {
  double s = 0.0;
  for (int64_t k = 0; k < D; ++k) {
    const double diff = static_cast<double>(a[k]) - b[k];
    s += diff * diff;
  }
  return s;
}

}  // namespace

void contrastive_loss_forward(const Tensor& a, const Tensor& b, const Tensor& y, double margin, Reduction reduction,
                              const Tensor& loss) {
  const int64_t N = a.shape[0], D = a.shape[1];
  const float *pa = a.f32(), *pb = b.f32();
  std::vector<double> per_pair(N);
  parallel_for(N, rows_grain(D), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double d2 = squared_distance(pa + i * D, pb + i * D, D), label = label_at(y, i);
      const double gap = std::max(0.0, margin - std::sqrt(d2));
      per_pair[i] = 0.5 * (label * d2 + (1.0 - label) * gap * gap);
    }
  });
  write_loss(reduction, per_pair, static_cast<double>(N), loss);
}

void contrastive_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& b, const Tensor& y, double margin,
                               Reduction reduction, const Tensor& da, const Tensor& db) {
  const int64_t N = a.shape[0], D = a.shape[1];
  const float *pa = a.f32(), *pb = b.f32();
  float *pda = da.f32(), *pdb = db.f32();
  const GradScale scale(reduction, dloss, static_cast<double>(N));
  parallel_for(N, rows_grain(D), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float *ra = pa + i * D, *rb = pb + i * D;
      const double d = std::sqrt(squared_distance(ra, rb, D)), label = label_at(y, i), g = scale(i);
      const double gap = std::max(0.0, margin - d);
      // Coefficient of (a - b) in d l / d a.
      const double coefficient = g * (label - (d > 0.0 ? (1.0 - label) * gap / d : 0.0));
      for (int64_t k = 0; k < D; ++k) {
        const float grad = static_cast<float>(coefficient * (static_cast<double>(ra[k]) - rb[k]));
        pda[i * D + k] = grad;
        pdb[i * D + k] = -grad;
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
