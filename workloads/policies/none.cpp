// none: the backward of minibatch m uses whatever weight the layer holds, W^(m+d) (stale).
#include "workloads/policies/policy.h"

namespace lpsim::policies {
namespace {

template <typename T>
class None : public UnitPolicy<T> {
 public:
  None(const UnitSetup&, const UnitView<T>&) {}
};

Policy none_policy() {
  Policy p;
  p.name = "none";
  p.description = "backward with the current weights W^(m+d) (stale, inconsistent); no storage";
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(None, none_policy)
}  // namespace lpsim::policies
