// oneDNN's direct convolutions (workloads/ops/conv2d_onednn.h) against conv2d.cpp's im2col +
// GEMM on ResNet-18's convolutions (batch 32, 28x28 input), F, Ba and Bw, float, at 1 thread
// and at every core: the measurement behind LPSIM_ONEDNN (bench/README.md). Both paths are
// the ones `lpsim run` takes (onednn::set_enabled switches), so the GEMM is OpenBLAS's when
// LPSIM_OPENBLAS is on.

#include <cmath>
#include <cstdio>
#include <string>

#include "bench/best_seconds.h"
#include "workloads/ops/conv2d.h"
#include "workloads/ops/conv2d_onednn.h"
#include "workloads/ops/parallel.h"

namespace {

using namespace lpsim::ops;

struct Layer {
  const char* name;
  std::int64_t c, hw, o, k, s, p;
};

}  // namespace

int main() {
  const std::int64_t batch = 32;
  const Layer layers[] = {
      {"conv1", 1, 28, 64, 3, 1, 1},           {"stage 1 3x3", 64, 28, 64, 3, 1, 1},
      {"stage 2 3x3/2", 64, 28, 128, 3, 2, 1}, {"stage 2 1x1/2", 64, 28, 128, 1, 2, 0},
      {"stage 2 3x3", 128, 14, 128, 3, 1, 1},  {"stage 3 3x3", 256, 7, 256, 3, 1, 1},
      {"stage 4 3x3", 512, 4, 512, 3, 1, 1}};
  double log_sum = 0;
  int count = 0;
  for (const int threads : {1, available_cores()}) {
    set_threads(threads);
    std::printf("%d thread(s)\n%-14s %4s %10s %10s %7s\n", threads, "layer", "pass", "im2col GF/s",
                "oneDNN GF/s", "ratio");
    for (const Layer& l : layers) {
      Conv2dGeometry g;
      g.in = Shape{l.c, l.hw, l.hw};
      g.out_channels = l.o;
      g.kernel_h = g.kernel_w = l.k;
      g.stride = l.s;
      g.padding = l.p;
      const Shape out = conv2d_output_shape(g);
      const Mat<float> x = Mat<float>::Random(batch, g.in.size());
      const Mat<float> w = Mat<float>::Random(g.out_channels, g.patch_size());
      const Vec<float> b = Vec<float>::Random(g.out_channels);
      const Mat<float> dy = Mat<float>::Random(batch, out.size());
      Mat<float> y, dx, dw;
      Vec<float> db;
      Conv2dWorkspace<float> ws;
      const double flops = 2.0 * batch * out.size() * g.patch_size();
      for (const char* pass : {"F", "Ba", "Bw"}) {
        const std::string which = pass;
        const auto run = [&] {
          if (which == "F") conv2d_forward(x, w, b, g, y, ws);
          if (which == "Ba") conv2d_backward_input(dy, w, g, dx, ws);
          if (which == "Bw") conv2d_backward_weights(x, dy, g, dw, db, ws);
        };
        onednn::set_enabled(false);
        const double im2col = lpsim::bench::best_seconds(run, true);
        onednn::set_enabled(true);
        const double dnn = lpsim::bench::best_seconds(run, true);
        std::printf("%-14s %4s %10.1f %10.1f %7.2f\n", l.name, pass, flops / im2col / 1e9,
                    flops / dnn / 1e9, im2col / dnn);
        log_sum += std::log(im2col / dnn);
        ++count;
      }
    }
  }
  std::printf("oneDNN / im2col speed, geometric mean of the ratios: %.2f\n",
              std::exp(log_sum / count));
  return 0;
}
