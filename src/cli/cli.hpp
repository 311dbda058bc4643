// attnbound/cli — the `attnbound` command, as a library so that tests can run it in-process.
//
// Exit codes (DESIGN.md contract): 0 the bracket meets --tol; 3 the budget ran out first (the
// bracket is still valid and printed); 2 bad input, with one line on stderr naming what and where;
// 4 internal error (a bug: please report).
#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnbound::cli {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;  // used by attnbound-check
constexpr int kExitBadInput = 2;
constexpr int kExitBudget = 3;
constexpr int kExitInternal = 4;

/// Bad input from the user (file contents, option values): exit 2 with what() as the message.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Runs `attnbound args...` (args excludes the program name). Output to `out`, messages to `err`.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace attnbound::cli
