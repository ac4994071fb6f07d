#pragma once
// Helpers for the network-format tests: the error a document gets, and message checks.

#include <gtest/gtest.h>

#include <string>

#include "core/errors.h"
#include "workloads/models/network.h"

namespace lpsim::models::testing {

// The core::ConfigError message for a network document, or "(no error)".
inline std::string error_of(const std::string& text) {
  try {
    parse_network(core::Json::parse(text), "net.json");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

inline ::testing::AssertionResult mentions(const std::string& text, const std::string& fragment) {
  if (text.find(fragment) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" lacks \"" << fragment << "\"";
}

}  // namespace lpsim::models::testing
