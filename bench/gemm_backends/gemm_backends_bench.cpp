// Eigen's own GEMM kernel against OpenBLAS's sgemm on the products of ResNet-18's convolutions
// (batch 32, 28x28 input: im2col's F, Ba and Bw of each stage), one thread, float: the
// measurement behind LPSIM_OPENBLAS (bench/README.md). This directory compiles without
// EIGEN_USE_BLAS, so `a * b` below is Eigen's kernel; it links no lpsim library.

#include <cblas.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bench/best_seconds.h"

extern "C" void openblas_set_num_threads(int);

namespace {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Product {
  const char* name;
  int m, k, n;
  bool trans_a, trans_b;  // A stored [k, m]; B stored [n, k]
};

}  // namespace

int main() {
  openblas_set_num_threads(1);
  const Product products[] = {
      {"stage 1 F", 64, 576, 25088, false, false},  {"stage 1 Ba", 576, 64, 25088, true, false},
      {"stage 1 Bw", 64, 25088, 576, false, true},  {"stage 2 F", 128, 1152, 6272, false, false},
      {"stage 2 Ba", 1152, 128, 6272, true, false}, {"stage 2 Bw", 128, 6272, 1152, false, true},
      {"stage 3 F", 256, 2304, 1568, false, false}, {"stage 3 Ba", 2304, 256, 1568, true, false},
      {"stage 3 Bw", 256, 1568, 2304, false, true}, {"stage 4 F", 512, 4608, 512, false, false},
      {"stage 4 Ba", 4608, 512, 512, true, false},  {"stage 4 Bw", 512, 512, 4608, false, true},
      {"1024^3", 1024, 1024, 1024, false, false}};
  std::printf("%-11s %5s %6s %6s %14s %16s %7s\n", "product", "m", "k", "n", "Eigen GFLOP/s",
              "OpenBLAS GFLOP/s", "ratio");
  double log_sum = 0;
  int count = 0;
  for (const Product& p : products) {
    const Mat a = p.trans_a ? Mat::Random(p.k, p.m) : Mat::Random(p.m, p.k);
    const Mat b = p.trans_b ? Mat::Random(p.n, p.k) : Mat::Random(p.k, p.n);
    Mat c_eigen(p.m, p.n), c_blas(p.m, p.n);
    const double eigen = lpsim::bench::best_seconds(
        [&] {
          if (p.trans_a) {
            c_eigen.noalias() = a.transpose() * b;
          } else if (p.trans_b) {
            c_eigen.noalias() = a * b.transpose();
          } else {
            c_eigen.noalias() = a * b;
          }
        },
        false);
    const double blas = lpsim::bench::best_seconds(
        [&] {
          cblas_sgemm(CblasRowMajor, p.trans_a ? CblasTrans : CblasNoTrans,
                      p.trans_b ? CblasTrans : CblasNoTrans, p.m, p.n, p.k, 1.0f, a.data(),
                      static_cast<int>(a.cols()), b.data(), static_cast<int>(b.cols()), 0.0f,
                      c_blas.data(), p.n);
        },
        false);
    const double flops = 2.0 * p.m * p.k * p.n;
    const double scale = c_eigen.cwiseAbs().maxCoeff();
    if ((c_eigen - c_blas).cwiseAbs().maxCoeff() > 1e-5 * p.k * std::max(1.0, scale)) {
      std::printf("%s: the two products differ\n", p.name);
      return 1;
    }
    std::printf("%-11s %5d %6d %6d %14.1f %16.1f %7.2f\n", p.name, p.m, p.k, p.n,
                flops / eigen / 1e9, flops / blas / 1e9, eigen / blas);
    log_sum += std::log(eigen / blas);
    ++count;
  }
  std::printf("OpenBLAS / Eigen, geometric mean of the ratios: %.2f\n", std::exp(log_sum / count));
  return 0;
}
