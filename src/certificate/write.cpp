// write_certificate: atomic file output. The text is written to a fresh temporary file in the
// target's directory (same file system, so rename is atomic), flushed with fsync, then renamed
// over the target. A crash at any point leaves either the old file or the complete new one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "certificate/certificate.hpp"

namespace attnbound {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": cannot write certificate (" + what + ")");
}

void write_all(int fd, const std::string& text, const std::string& tmp, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const std::string err = std::strerror(errno);
      ::close(fd);
      std::remove(tmp.c_str());
      fail(path, err);
    }
    done += static_cast<std::size_t>(w);
  }
}

}  // namespace

void write_certificate(const std::string& path, const CertifyRecord& record) {
  namespace fs = std::filesystem;
  const std::string text = certificate_text(record);  // fully built before any file is touched
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / (".attnbound-cert-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(path, std::strerror(errno));
  write_all(fd, text, tmp, path);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string err = std::strerror(errno);
    std::remove(tmp.c_str());
    fail(path, err);
  }
  // mkstemp creates the file 0600; a certificate is meant to be shared.
  ::chmod(tmp.c_str(), 0644);
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(path, ec.message());
  }
}

}  // namespace attnbound
