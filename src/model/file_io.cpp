#include "model/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  std::string tmpl = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw ModelError(path + ": cannot create a temporary file: " + errno_text(errno));
  auto fail = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw ModelError(path + ": " + what + ": " + errno_text(err));
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write error", errno);
    }
    done += static_cast<std::size_t>(w);
  }
  // mkstemp creates 0600; a model file is ordinary data.
  if (::fchmod(fd, 0644) != 0) fail("cannot set permissions", errno);
  if (::fsync(fd) != 0) fail("cannot flush", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    throw ModelError(path + ": cannot close: " + errno_text(err));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    throw ModelError(path + ": cannot rename the temporary file into place: " + errno_text(err));
  }
}

}  // namespace attnbound::model_detail
