// Atomic file output shared by every module that writes files (models, certificates, CSVs).
// Why one implementation: "no partial file is left behind" is a contract of the whole tool, and a
// single routine is the only way to keep the temporary-file, fsync and rename steps identical.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace attnbound {

/// A file could not be written; what() is "<path>: <reason>" (one line).
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes `bytes` to `path` atomically: a fresh temporary file in the same directory (same file
/// system, so rename is atomic) is written, set to mode 0644, fsync'ed and renamed over `path`.
/// Guarantee: afterwards `path` holds either its old content or all of `bytes`, never a prefix;
/// on failure the temporary file is removed and FileError thrown.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Throws FileError unless a file can be created in the directory of `path`. Probes with a
/// temporary file that is removed at once; `path` itself is never created or touched, so a failed
/// run later on loses nothing that was there before.
void require_writable(const std::string& path);

}  // namespace attnbound
