#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "cli/cli.hpp"
#include "cli/commands.hpp"

namespace attnbound::cli {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmpl = (dir / (".attnbound-XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw InputError(path + ": cannot write (directory missing or not writable)");
  ::close(fd);
  {
    std::ofstream o(tmpl, std::ios::binary | std::ios::trunc);
    o << text;
    o.flush();
    if (!o) {
      std::remove(tmpl.c_str());
      throw InputError(path + ": write failed");
    }
  }
  std::error_code ec;
  fs::rename(tmpl, target, ec);
  if (ec) {
    std::remove(tmpl.c_str());
    throw InputError(path + ": cannot write (" + ec.message() + ")");
  }
}

}  // namespace attnbound::cli
