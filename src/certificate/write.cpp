// write_certificate: the text is built completely before any file is touched, then written with
// core's atomic routine (temporary file, fsync, rename): an interrupted run leaves either the old
// file or the complete new one, never a truncated certificate.
#include "certificate/certificate.hpp"
#include "core/file_io.hpp"

namespace attnbound {

void write_certificate(const std::string& path, const CertifyRecord& record) {
  write_certificate_text(path, certificate_text(record));
}

void write_certificate_text(const std::string& path, const std::string& text) {
  try {
    write_file_atomically(path, text);
  } catch (const FileError& e) {
    throw std::runtime_error(std::string("cannot write certificate: ") + e.what());
  }
}

}  // namespace attnbound
