// Debian's libtorch-dev ships c10d/reducer.hpp but not the distributed-autograd header it includes; reducer.hpp
// needs only these two names from it (RPC contexts are unused here). A full libtorch's own header, found earlier on
// the include path, takes precedence over this one.
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
