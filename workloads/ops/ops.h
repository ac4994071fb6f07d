#pragma once
// All of lpsim's layer math (namespace lpsim::ops): pure Eigen kernels, no SystemC.
// Each parametrised layer has F (forward), Ba (backward to the input, given the weight to
// use) and Bw (backward to the weights, given the stored input) entry points; kernels are
// templates over the scalar, instantiated for float (training, ops::Scalar) and double
// (gradient checks). Flatten is the identity on the [B, C*H*W] layout (activation.h).

#include "workloads/ops/activation.h"
#include "workloads/ops/batchnorm.h"
#include "workloads/ops/conv2d.h"
#include "workloads/ops/init.h"
#include "workloads/ops/linear.h"
#include "workloads/ops/loss.h"
#include "workloads/ops/pool.h"
#include "workloads/ops/residual.h"
#include "workloads/ops/rng.h"
#include "workloads/ops/spiking.h"
#include "workloads/ops/tensor.h"
#include "workloads/ops/transformer.h"
