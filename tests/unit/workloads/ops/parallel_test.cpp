// The threads inside a kernel call (workloads/ops/parallel.h): every index runs once, on more
// than one thread when asked, errors come back, and every split kernel gives the same bits
// for every thread count.

#include "workloads/ops/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "workloads/ops/batchnorm.h"
#include "workloads/ops/conv2d.h"
#include "workloads/ops/gemm.h"
#include "workloads/ops/linear.h"
#if LPSIM_ONEDNN
#include "workloads/ops/conv2d_onednn.h"
#endif

namespace lpsim::ops {
namespace {

// Restores the thread count a test changes.
class Threads : public ::testing::Test {
 protected:
  void TearDown() override { set_threads(1); }
};

using ParallelFor = Threads;
using SplitKernels = Threads;

TEST(PartRange, CoversEveryIndexOnceInAlignedParts) {
  for (std::int64_t n : {1, 15, 16, 17, 100, 1000, 4097}) {
    for (std::int64_t parts : {1, 2, 3, 7, 64}) {
      for (std::int64_t align : {1, 16}) {
        std::int64_t next = 0;
        for (std::int64_t i = 0; i < parts; ++i) {
          const IndexRange r = part_range(n, parts, align, i);
          ASSERT_EQ(r.begin, next) << n << " " << parts << " " << align << " " << i;
          ASSERT_GE(r.size(), 0);
          if (r.end < n) {
            EXPECT_EQ(r.size() % align, 0);
          }
          next = r.end;
        }
        EXPECT_EQ(next, n) << n << " " << parts << " " << align;
      }
    }
  }
}

TEST_F(ParallelFor, RunsEveryIndexExactlyOnce) {
  set_threads(3);
  std::vector<std::atomic<int>> seen(1000);
  parallel_for(1000, [&](std::int64_t i) { seen[i].fetch_add(1); });
  for (const auto& s : seen) EXPECT_EQ(s.load(), 1);
}

TEST_F(ParallelFor, UsesMoreThanOneThreadWhenAsked) {
  // Index 0 waits for index 1 to start: on one thread it would wait in vain.
  set_threads(2);
  std::atomic<bool> second_started{false};
  std::atomic<bool> waited_in_vain{false};
  parallel_for(2, [&](std::int64_t i) {
    if (i == 1) {
      second_started = true;
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!second_started && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    waited_in_vain = !second_started;
  });
  EXPECT_FALSE(waited_in_vain.load());
}

TEST_F(ParallelFor, RethrowsTheErrorOfABody) {
  set_threads(2);
  EXPECT_THROW(parallel_for(8,
                            [](std::int64_t i) {
                              if (i == 5) throw std::runtime_error("body 5");
                            }),
               std::runtime_error);
}

TEST(SetThreads, RefusesCountsOutsideTheRange) {
  EXPECT_ANY_THROW(set_threads(0));
  EXPECT_ANY_THROW(set_threads(1025));
  EXPECT_EQ(threads(), 1);
  EXPECT_GE(available_cores(), 1);
}

template <typename F>
void expect_same_bits_for_every_thread_count(const F& compute) {
  set_threads(1);
  const auto one = compute();
  for (int t : {2, 3, 5}) {
    set_threads(t);
    const auto many = compute();
    ASSERT_EQ(one.size(), many.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      ASSERT_EQ(one[i].rows(), many[i].rows());
      ASSERT_EQ(one[i].cols(), many[i].cols());
      EXPECT_TRUE((one[i].array() == many[i].array()).all())
          << "output " << i << ", " << t << " threads";
    }
  }
}

TEST_F(SplitKernels, GemmIsTheSameForEveryThreadCountAndCloseToOneProduct) {
  // A wide and a tall product, and a transposed operand; each is split along C's longer side
  // (gemm_parts(shorter, longer, k)): c1 and c3 in 2 blocks (of columns, of rows), c2 in 3.
  const Matrix a = Matrix::Random(300, 200), b = Matrix::Random(200, 700);
  const Matrix tall = Matrix::Random(900, 150), wide = Matrix::Random(150, 90);
  ASSERT_GT(gemm_parts(300, 700, 200), 1);
  ASSERT_GT(gemm_parts(90, 900, 150), 1);
  expect_same_bits_for_every_thread_count([&] {
    Matrix c1(300, 700), c2(900, 90), c3(700, 300);
    gemm(c1, a, b);
    gemm(c2, tall, wide);
    gemm(c3, b.transpose(), a.transpose());
    return std::vector<Matrix>{c1, c2, c3};
  });
  Matrix c(300, 700);
  gemm(c, a, b);
  const Matrix plain = a * b;
  EXPECT_LT((c - plain).cwiseAbs().maxCoeff(), 1e-4f * plain.cwiseAbs().maxCoeff());
}

TEST_F(SplitKernels, ConvLinearAndBatchNormAreTheSameForEveryThreadCount) {
  Conv2dGeometry g;
  g.in = {16, 20, 20};
  g.out_channels = 32;
  g.kernel_h = g.kernel_w = 3;
  g.padding = 1;
  const std::int64_t batch = 24;
  const Matrix x = Matrix::Random(batch, g.in.size());
  const Matrix w = Matrix::Random(g.out_channels, g.patch_size());
  const Vector bias = Vector::Random(g.out_channels);
  const Matrix dy = Matrix::Random(batch, g.out_channels * 400);
  ASSERT_GT(gemm_parts(g.out_channels, batch * 400, g.patch_size()), 1);
#if LPSIM_ONEDNN
  ASSERT_GT(onednn::onednn_parts(g, batch), 1);  // float convolutions run on oneDNN in runs
  ASSERT_GT(onednn::onednn_weight_parts(g, batch), 1);
#endif
  ASSERT_GT(elementwise_parts(dy.size()), 1);
  const Shape bn_shape{32, 20, 20};
  const Vector gamma = Vector::Random(32), beta = Vector::Random(32);
  const Matrix fw = Matrix::Random(300, g.in.size());
  expect_same_bits_for_every_thread_count([&] {
    Matrix y, dx, dw, fy, fdx, fdw, bny, bndx;
    Vector db, fdb, dgamma, dbeta;
    Conv2dWorkspace<Scalar> ws;
    conv2d_forward(x, w, bias, g, y, ws);
    conv2d_backward_input(dy, w, g, dx, ws);
    conv2d_backward_weights(x, dy, g, dw, db, ws);
    linear_forward(x, fw, Vector::Zero(300), fy);
    linear_backward_input(fy, fw, fdx);
    linear_backward_weights(x, fy, fdw, fdb);
    Vector mean = Vector::Zero(32), var = Vector::Ones(32);
    BatchNormSaved<Scalar> saved;
    batchnorm2d_forward_train(y, bn_shape, gamma, beta, mean, var, bny, saved);
    batchnorm2d_backward_input(dy, gamma, saved, bndx);
    batchnorm2d_backward_weights(dy, saved, dgamma, dbeta);
    return std::vector<Matrix>{y,   dx,  dw,   db,   fy,  fdx,    fdw,
                               fdb, bny, bndx, mean, var, dgamma, dbeta};
  });
}

}  // namespace
}  // namespace lpsim::ops
