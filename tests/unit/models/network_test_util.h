#pragma once
// Helpers for the network-format tests: the error a document gets, and message checks.

#include <gtest/gtest.h>

#include <string>

#include "sim/core/errors.h"
#include "workloads/models/network.h"

namespace lpsim::models::testing {

// The ConfigError message for a network document, or "(no error)".
inline std::string error_of(const std::string& text) {
  try {
    parse_network(Json::parse(text), "net.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

inline ::testing::AssertionResult mentions(const std::string& text, const std::string& fragment) {
  if (text.find(fragment) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" lacks \"" << fragment << "\"";
}

}  // namespace lpsim::models::testing
