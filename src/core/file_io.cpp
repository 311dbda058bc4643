#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace attnbound {

namespace {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  return ::strerror_r(err, buf, sizeof buf);
}

std::string temporary_template(const std::string& path) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  // A dot-file next to the target: same file system, hidden from globbing (*.cert.json).
  return (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
}

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw FileError(path + ": " + what + " (" + errno_text(err) + ")");
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  std::string tmp = temporary_template(path);
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(path, "cannot create a file in its directory", errno);
  auto abandon = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, what, err);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      abandon("write error", errno);
    }
    done += static_cast<std::size_t>(w);
  }
  // mkstemp creates 0600; models, certificates and tables are meant to be shared.
  if (::fchmod(fd, 0644) != 0) abandon("cannot set permissions", errno);
  if (::fsync(fd) != 0) abandon("cannot flush to disk", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "cannot close", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "cannot move the temporary file into place", err);
  }
}

void require_writable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(path + ": is a directory, not a file name");
  std::string tmp = temporary_template(path);
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(path, "cannot write here (directory missing or not writable)", errno);
  ::close(fd);
  ::unlink(tmp.c_str());
}

}  // namespace attnbound
