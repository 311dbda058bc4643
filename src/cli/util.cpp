#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "core/file_io.hpp"

namespace attnbound::cli {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  try {
    write_file_atomically(path, text);
  } catch (const FileError& e) {
    throw InputError(e.what());
  }
}

void require_writable_path(const std::string& path) {
  try {
    require_writable(path);
  } catch (const FileError& e) {
    throw InputError(e.what());
  }
}

}  // namespace attnbound::cli
