// Module-internal file helpers of src/model: bounded whole-file reads, atomic writes, errno text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace attnbound::model_detail {

/// The whole content of a regular file. ModelError "<path>: cannot open: <reason>" (also for
/// directories and files larger than `max_bytes`).
std::string read_whole_file(const std::string& path, std::uint64_t max_bytes);

/// Writes `bytes` to `path` atomically: a temporary file in the same directory is written, flushed
/// to disk and renamed over `path`. On failure the temporary file is removed and ModelError thrown.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// strerror(err) as a std::string (thread-safe).
std::string errno_text(int err);

}  // namespace attnbound::model_detail
