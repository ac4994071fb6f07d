#pragma once
// Softmax cross-entropy averaged over the batch (PyTorch's nn.CrossEntropyLoss with
// reduction='mean'), and top-1 accuracy counting.
//
// Shapes (legend in tensor.h, K classes): logits, probs, dlogits [B, K]; labels [B] in [0, K).
// Outputs are resized by the kernel and must not alias inputs.

#include <cstdint>
#include <vector>

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

// F: logits [B, K], labels [B] -> probs [B, K] = softmax of each row; returns
// mean_b (logsumexp(logits_b) - logits_b[label_b]), computed stably (the row maximum is
// subtracted before exponentiating) and accumulated in double.
template <typename T>
T softmax_cross_entropy_forward(const MatIn<T>& logits, const LabelsIn& labels, Mat<T>& probs);

// B: probs [B, K] (from the forward), labels [B] -> dlogits [B, K] = (probs - onehot) / B.
template <typename T>
void softmax_cross_entropy_backward(const MatIn<T>& probs, const LabelsIn& labels, Mat<T>& dlogits);

// logits [B, K], labels [B] -> number of rows whose argmax (the first maximum on ties, as
// torch.argmax) equals the label.
template <typename T>
std::int64_t count_correct(const Mat<T>& logits, const LabelsIn& labels);

// The same three with labels as the data sets hold them (std::vector, no copy).
template <typename T>
T softmax_cross_entropy_forward(const MatIn<T>& logits, const std::vector<std::int32_t>& labels,
                                Mat<T>& probs) {
  return softmax_cross_entropy_forward<T>(
      logits, Eigen::Map<const Labels>(labels.data(), static_cast<Eigen::Index>(labels.size())),
      probs);
}
template <typename T>
void softmax_cross_entropy_backward(const MatIn<T>& probs, const std::vector<std::int32_t>& labels,
                                    Mat<T>& dlogits) {
  softmax_cross_entropy_backward<T>(
      probs, Eigen::Map<const Labels>(labels.data(), static_cast<Eigen::Index>(labels.size())),
      dlogits);
}
template <typename T>
std::int64_t count_correct(const Mat<T>& logits, const std::vector<std::int32_t>& labels) {
  return count_correct<T>(
      logits, Eigen::Map<const Labels>(labels.data(), static_cast<Eigen::Index>(labels.size())));
}

}  // namespace lpsim::ops
