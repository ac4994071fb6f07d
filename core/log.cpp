#include "core/log.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace lpsim::core {

namespace {

const std::vector<std::string>& enabled_topics() {
  static const std::vector<std::string> topics = [] {
    std::vector<std::string> out;
    const char* env = std::getenv("LPSIM_DEBUG");
    if (env == nullptr) return out;
    std::string item;
    for (const char* c = env;; ++c) {
      if (*c == ',' || *c == '\0') {
        if (!item.empty()) out.push_back(item);
        item.clear();
        if (*c == '\0') break;
      } else {
        item += *c;
      }
    }
    return out;
  }();
  return topics;
}

}  // namespace

bool debug_enabled(std::string_view topic) {
  for (const std::string& t : enabled_topics()) {
    if (t == topic || t == "all") return true;
  }
  return false;
}

void debug_log(std::string_view topic, const std::string& message) {
  if (!debug_enabled(topic)) return;
  std::fprintf(stderr, "lpsim debug [%.*s]: %s\n", static_cast<int>(topic.size()), topic.data(),
               message.c_str());
}

}  // namespace lpsim::core
