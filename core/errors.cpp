#include "core/errors.h"

namespace lpsim::core {
namespace {

std::string compose(const std::string& file, const std::string& where, const std::string& problem) {
  std::string text;
  if (!file.empty()) text += file;
  if (!where.empty()) text += (text.empty() ? "" : ": ") + where;
  if (!text.empty()) text += ": ";
  return text + problem;
}

}  // namespace

UserError::UserError(std::string file, std::string where, std::string problem)
    : std::runtime_error(compose(file, where, problem)),
      file_(std::move(file)),
      where_(std::move(where)),
      problem_(std::move(problem)) {}

void assertion_failed(const char* expr, const char* file, int line, const std::string& message) {
  throw InternalError(std::string("internal error: ") + file + ":" + std::to_string(line) +
                      ": assertion `" + expr + "` failed: " + message);
}

}  // namespace lpsim::core
