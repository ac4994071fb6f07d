// sync: no pipelining at all (one stage, every delay 0), the baseline every policy reduces to.
#include "workloads/policies/policy.h"

namespace lpsim::policies {
namespace {

// Never built: sync has no layer with d > 0.
template <typename T>
class Sync : public UnitPolicy<T> {
 public:
  Sync(const UnitSetup&, const UnitView<T>&) {}
};

Policy sync_policy() {
  Policy p;
  p.name = "sync";
  p.description = "no pipelining: one stage, every delay 0 (the baseline)";
  p.pipelined = false;
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(Sync, sync_policy)
}  // namespace lpsim::policies
