// ops/accumulate.h: the MAC array's accumulator (ARCHITECTURE.md §2d). Operands of small
// integers make every fp32 chunk sum exact, so the expected value is a plain loop: the sum over
// K in chunks of `chunk` k at multiples of `chunk`, each added into the accumulator and rounded
// to its format, nearest even, unscaled.
#include "workloads/ops/accumulate.h"

#include <gtest/gtest.h>

#include <random>

#include "workloads/ops/gemm.h"
#include "workloads/ops/tensor.h"
#include "workloads/ops/transformer.h"

namespace lpsim::ops {
namespace {

Mat<float> integers(std::int64_t rows, std::int64_t cols, int lo, int hi, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  Mat<float> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(d(gen));
  return m;
}

// The rule by hand: element (i, j) of a·b.
float by_hand(const Mat<float>& a, const Mat<float>& b, std::int64_t i, std::int64_t j,
              const AccumulateRule& rule, std::int64_t k_offset) {
  float acc = 0;
  std::int64_t k = 0;
  while (k < a.cols()) {
    double chunk = 0;  // exact: integers
    do {
      chunk += static_cast<double>(a(i, k)) * static_cast<double>(b(k, j));
      ++k;
    } while (k < a.cols() && (k_offset + k) % rule.chunk != 0);
    acc = round_to(static_cast<float>(static_cast<double>(acc) + chunk), rule.format);
  }
  return acc;
}

TEST(Accumulator, RoundsAfterEachChunkInKOrder) {
  const Mat<float> a = integers(5, 100, -8, 8, 1);
  const Mat<float> b = integers(100, 7, -8, 8, 2);
  for (const NumberFormat f :
       {NumberFormat::kBf16, NumberFormat::kFp16, NumberFormat::kFp8E4m3, NumberFormat::kFp8E5m2}) {
    for (const std::int64_t offset : {0, 20}) {
      const AccumulateRule rule{f, 32};
      Mat<float> c(5, 7);
      accumulate_product(c, a, b, rule, offset);
      int rounded_away = 0;
      for (std::int64_t i = 0; i < 5; ++i) {
        for (std::int64_t j = 0; j < 7; ++j) {
          EXPECT_EQ(c(i, j), by_hand(a, b, i, j, rule, offset))
              << format_name(f) << " offset " << offset << " at " << i << "," << j;
          const Mat<float> exact = a * b;
          rounded_away += c(i, j) != exact(i, j) ? 1 : 0;
        }
      }
      // The rule is not a no-op: sums of up to 6400 need more than 8 significand bits.
      if (f != NumberFormat::kFp16) {
        EXPECT_GT(rounded_away, 0) << format_name(f);
      }
    }
  }
}

TEST(Accumulator, Fp32IsOneProductAndChunksAreAlignedToK) {
  const Mat<float> a = integers(3, 40, -3, 3, 3);
  const Mat<float> b = integers(40, 4, -3, 3, 4);
  Mat<float> c(3, 4);
  accumulate_product(c, a, b, AccumulateRule{});
  EXPECT_TRUE(c.isApprox(a * b, 0.0f));
  // With offset 20 and chunks of 32 the first chunk is k in [0, 12): a rounding after 12 terms.
  // e4m3 (4 significand bits) rounds 12 + 28 terms differently from 32 + 8 for some element.
  const AccumulateRule e4m3{NumberFormat::kFp8E4m3, 32};
  Mat<float> aligned(3, 4), shifted(3, 4);
  accumulate_product(aligned, a, b, e4m3, 0);
  accumulate_product(shifted, a, b, e4m3, 20);
  for (std::int64_t i = 0; i < 3; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) {
      EXPECT_EQ(aligned(i, j), by_hand(a, b, i, j, e4m3, 0));
      EXPECT_EQ(shifted(i, j), by_hand(a, b, i, j, e4m3, 20));
    }
  }
  EXPECT_FALSE(aligned.isApprox(shifted, 0.0f));
}

// gemm() follows the rule a ScopedAccumulateRule sets, whatever its split over threads, and
// restores fp32 after.
TEST(Accumulator, GemmFollowsTheScopedRule) {
  const Mat<float> a = integers(600, 96, -8, 8, 5);  // enough work to split along m
  const Mat<float> b = integers(96, 300, -8, 8, 6);
  ASSERT_GT(gemm_parts(300, 600, 96), 1);
  const AccumulateRule rule{NumberFormat::kBf16, 16};
  Mat<float> expect(600, 300), got(600, 300), wide(600, 300);
  accumulate_product(expect, a, b, rule);
  {
    const ScopedAccumulateRule scoped(rule);
    gemm(got, a, b);
  }
  EXPECT_TRUE(got.isApprox(expect, 0.0f));
  EXPECT_TRUE(accumulate_rule().exact());
  gemm(wide, a, b);
  EXPECT_TRUE(wide.isApprox(Mat<float>(a * b), 0.0f));
  EXPECT_FALSE(wide.isApprox(got, 0.0f));
}

// The causal attention's tiles skip the masked half; under a narrow accumulator they must still
// give the bits of the full products (T = 70 > two tiles, chunks of 12 that straddle the tiles'
// edges): O = P V and dV = P^T dO over all T keys/queries, the skipped terms exact zeros.
TEST(Accumulator, AttentionTilesGiveTheFullProductsBits) {
  const std::int64_t batch = 1, tt = 70, heads = 2, c = 8, hs = c / heads;
  std::mt19937 gen(7);
  std::normal_distribution<float> d(0.0f, 1.0f);
  Mat<float> qkv(batch * tt, 3 * c), dy(batch * tt, c);
  for (Eigen::Index i = 0; i < qkv.size(); ++i) qkv.data()[i] = d(gen);
  for (Eigen::Index i = 0; i < dy.size(); ++i) dy.data()[i] = d(gen);
  const AccumulateRule rule{NumberFormat::kBf16, 12};
  Mat<float> y, dqkv;
  AttentionSaved<float> saved;
  {
    const ScopedAccumulateRule scoped(rule);
    causal_attention_forward<float>(qkv, batch, tt, heads, y, saved);
    causal_attention_backward<float>(dy, qkv, saved, batch, tt, heads, dqkv);
  }
  for (std::int64_t h = 0; h < heads; ++h) {
    const Mat<float> p = saved.p.middleRows(h * tt, tt);
    const Mat<float> v = qkv.middleCols(2 * c + h * hs, hs);
    const Mat<float> d_o = dy.middleCols(h * hs, hs);
    Mat<float> o(tt, hs), dv(tt, hs);
    accumulate_product(o, p, v, rule);
    accumulate_product(dv, p.transpose(), d_o, rule);
    EXPECT_TRUE(o.isApprox(Mat<float>(y.middleCols(h * hs, hs)), 0.0f)) << "head " << h;
    EXPECT_TRUE(dv.isApprox(Mat<float>(dqkv.middleCols(2 * c + h * hs, hs)), 0.0f)) << "head " << h;
    // And the rule did round: the fp32 product differs.
    EXPECT_FALSE(o.isApprox(Mat<float>(p * v), 0.0f));
  }
}

}  // namespace
}  // namespace lpsim::ops
