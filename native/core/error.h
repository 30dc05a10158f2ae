// Errors: every failure in the addon is a convnet::Error carrying a string code
// (E_SHAPE, E_DTYPE, E_ARG, E_INDEX, E_OOM, E_DISPOSED, E_INTERNAL, ...). The N-API
// boundary (native/api/napi_util.h) turns it into the JavaScript ConvnetError.
// Nothing in the addon may abort() or exit(): a crash would take the user's server down.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace convnet {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Builds a message from any streamable parts: fail("E_SHAPE", "matmul: expected ", a, " got ", b).
template <typename... Parts>
[[noreturn]] void fail(const char* code, const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(code, message.str());
}

}  // namespace convnet

// Throws convnet::Error(code, message parts...) when cond is false.
#define CONVNET_CHECK(cond, code, ...)                 \
  do {                                                 \
    if (!(cond)) ::convnet::fail(code, __VA_ARGS__);   \
  } while (0)
