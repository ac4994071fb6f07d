#include "workloads/ops/loss.h"

#include <cmath>
#include <string>

#include "core/errors.h"

namespace lpsim::ops {
namespace {

void check_labels(std::int64_t rows, std::int64_t classes, const LabelsIn& labels,
                  const char* who) {
  LPSIM_ASSERT(labels.size() == rows, std::string(who) + ": " + std::to_string(labels.size()) +
                                          " labels for a batch of " + std::to_string(rows));
  for (std::int64_t b = 0; b < rows; ++b) {
    LPSIM_ASSERT(labels(b) >= 0 && labels(b) < classes,
                 std::string(who) + ": label " + std::to_string(labels(b)) + " of row " +
                     std::to_string(b) + " is outside [0, " + std::to_string(classes) + ")");
  }
}

}  // namespace

template <typename T>
T softmax_cross_entropy_forward(const MatIn<T>& logits, const LabelsIn& labels, Mat<T>& probs) {
  const std::int64_t batch = logits.rows();
  LPSIM_ASSERT(batch > 0 && logits.cols() > 0, "softmax_cross_entropy_forward: empty logits");
  check_labels(batch, logits.cols(), labels, "softmax_cross_entropy_forward");
  probs.resize(batch, logits.cols());
  double total = 0.0;
  for (std::int64_t b = 0; b < batch; ++b) {
    const T top = logits.row(b).maxCoeff();
    probs.row(b) = (logits.row(b).array() - top).exp().matrix();
    const T sum = probs.row(b).sum();
    probs.row(b) /= sum;
    // -log p[label] = log(sum) - (z[label] - top)
    total += std::log(static_cast<double>(sum)) -
             (static_cast<double>(logits(b, labels(b))) - static_cast<double>(top));
  }
  return static_cast<T>(total / static_cast<double>(batch));
}

template <typename T>
void softmax_cross_entropy_backward(const MatIn<T>& probs, const LabelsIn& labels,
                                    Mat<T>& dlogits) {
  const std::int64_t batch = probs.rows();
  check_labels(batch, probs.cols(), labels, "softmax_cross_entropy_backward");
  const T inv_batch = T(1) / static_cast<T>(batch);
  dlogits.resize(batch, probs.cols());
  dlogits = probs;
  for (std::int64_t b = 0; b < batch; ++b) dlogits(b, labels(b)) -= T(1);
  dlogits *= inv_batch;
}

template <typename T>
std::int64_t count_correct(const Mat<T>& logits, const LabelsIn& labels) {
  check_labels(logits.rows(), logits.cols(), labels, "count_correct");
  std::int64_t correct = 0;
  for (std::int64_t b = 0; b < logits.rows(); ++b) {
    std::int64_t best = 0;
    for (std::int64_t k = 1; k < logits.cols(); ++k) {
      if (logits(b, k) > logits(b, best)) best = k;
    }
    if (best == labels(b)) ++correct;
  }
  return correct;
}

#define LPSIM_INSTANTIATE(T)                                                                  \
  template T softmax_cross_entropy_forward<T>(const MatIn<T>&, const LabelsIn&, Mat<T>&);     \
  template void softmax_cross_entropy_backward<T>(const MatIn<T>&, const LabelsIn&, Mat<T>&); \
  template std::int64_t count_correct<T>(const Mat<T>&, const LabelsIn&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
