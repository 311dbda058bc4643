#include "model/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/file_io.hpp"
#include "model/layer.hpp"

namespace attnbound::model_detail {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  const char* s = strerror_r(err, buf, sizeof buf);
  return s ? std::string(s) : std::string("error ") + std::to_string(err);
}

namespace {
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

std::string read_whole_file(const std::string& path, std::uint64_t max_bytes) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw ModelError(path + ": cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw ModelError(path + ": cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw ModelError(path + ": not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes)
    throw ModelError(path + ": file too large (" + std::to_string(size) + " bytes, limit " +
                     std::to_string(max_bytes) + ")");
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(f.fd, out.data() + got, out.size() - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw ModelError(path + ": read error: " + errno_text(errno));
    }
    if (r == 0) break;  // the file shrank while we read it
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  try {
    attnbound::write_file_atomically(path, bytes);
  } catch (const FileError& e) {
    throw ModelError(e.what());
  }
}

}  // namespace attnbound::model_detail
