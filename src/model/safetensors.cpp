// safetensors reader (validated header, lazy tensor reads) and writer. Format: 8-byte little-endian
// header length N, N bytes of JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]},
// "__metadata__": {string: string}}, then the data buffer; offsets are relative to the buffer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/rounding.hpp"
#include "model/file_io.hpp"
#include "model/json_util.hpp"
#include "model/model.hpp"

namespace attnbound {

using model_detail::json;
using model_detail::json_kind;
using model_detail::json_string;

namespace {

constexpr std::uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit
constexpr int kMaxDepth = 8;                        // the format needs 3 levels

/// Bytes per element of the dtypes of the safetensors specification; 0 for unknown names.
std::uint64_t dtype_size(const std::string& t) {
  static const std::pair<const char*, std::uint64_t> table[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8}};
  for (const auto& [name, size] : table)
    if (t == name) return size;
  return 0;
}

std::uint64_t load_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string shape_text(const std::vector<std::uint64_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

/// Random access to the file's bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::uint64_t size() const = 0;
  /// Exactly n bytes at offset off (off + n <= size() checked by the caller); throws on short reads.
  virtual void read(std::uint64_t off, std::size_t n, char* out) const = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string b) : bytes_(std::move(b)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void read(std::uint64_t off, std::size_t n, char* out) const override {
    if (n) std::memcpy(out, bytes_.data() + off, n);
  }

 private:
  std::string bytes_;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw ModelError(path + ": cannot open: " + model_detail::errno_text(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      int err = errno;
      ::close(fd_);
      throw ModelError(path + ": cannot stat: " + model_detail::errno_text(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw ModelError(path + ": not a regular file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t off, std::size_t n, char* out) const override {
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out + got, n - got, static_cast<off_t>(off + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw ModelError(path_ + ": read error at byte " + std::to_string(off + got) + ": " +
                         model_detail::errno_text(errno));
      }
      if (r == 0)
        throw ModelError(path_ + ": unexpected end of file at byte " + std::to_string(off + got) +
                         " (the file changed while being read?)");
      got += static_cast<std::size_t>(r);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace

struct SafetensorsFile::Impl {
  std::string label;
  std::unique_ptr<ByteSource> src;
  std::uint64_t data_start = 0;  // 8 + N
  std::vector<SafetensorsEntry> entries;  // sorted by name
  std::map<std::string, std::string> metadata;

  [[noreturn]] void fail(const std::string& what) const { throw ModelError(label + ": " + what); }

  void parse() {
    const std::uint64_t size = src->size();
    if (size < 8) fail("truncated file: " + std::to_string(size) + " bytes, not even the 8-byte header length");
    unsigned char len8[8];
    src->read(0, 8, reinterpret_cast<char*>(len8));
    const std::uint64_t n = load_le(len8, 8);
    if (n > kMaxHeader)
      fail("header length " + std::to_string(n) + " (bytes 0-7) exceeds the limit of " +
           std::to_string(kMaxHeader) + " bytes");
    if (n > size - 8)
      fail("header length " + std::to_string(n) + " (bytes 0-7) runs past the end of the file (" +
           std::to_string(size) + " bytes): truncated file?");
    if (n < 2) fail("header length " + std::to_string(n) + " is too small for a JSON object");
    data_start = 8 + n;
    std::string header(static_cast<std::size_t>(n), '\0');
    src->read(8, header.size(), header.data());
    if (header[0] != '{') fail("header (byte 8) does not start with '{'");
    const json h = model_detail::parse_json_strict(header, label + ": header", kMaxDepth);
    if (!h.is_object()) fail("header is " + json_kind(h) + ", expected an object");

    const std::uint64_t buffer = size - data_start;
    for (auto it = h.begin(); it != h.end(); ++it) {
      const std::string& name = it.key();
      const json& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) fail("__metadata__ is " + json_kind(v) + ", expected an object");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string())
            fail("__metadata__." + m.key() + " is " + json_kind(m.value()) + ", expected a string");
          metadata[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string where = "tensor " + json_string(name);
      if (!v.is_object()) fail(where + " is " + json_kind(v) + ", expected an object");
      SafetensorsEntry e;
      e.name = name;
      auto dt = v.find("dtype");
      if (dt == v.end() || !dt->is_string()) fail(where + ": missing or non-string \"dtype\"");
      e.dtype = dt->get<std::string>();
      const std::uint64_t esize = dtype_size(e.dtype);
      if (esize == 0) fail(where + ": unknown dtype " + json_string(e.dtype));
      auto sh = v.find("shape");
      if (sh == v.end() || !sh->is_array()) fail(where + ": missing or non-array \"shape\"");
      e.count = 1;
      bool overflow = false;
      for (const json& dim : *sh) {
        if (!dim.is_number_unsigned()) fail(where + ": shape entry " + dim.dump() + " is not a non-negative integer");
        const auto x = dim.get<std::uint64_t>();
        e.shape.push_back(x);
        overflow = overflow || __builtin_mul_overflow(e.count, x, &e.count);
      }
      auto off = v.find("data_offsets");
      if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
          !(*off)[1].is_number_unsigned())
        fail(where + ": \"data_offsets\" must be [begin, end] with non-negative integers");
      e.begin = (*off)[0].get<std::uint64_t>();
      e.end = (*off)[1].get<std::uint64_t>();
      if (e.begin > e.end)
        fail(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
             "] has begin > end");
      if (e.end > buffer)
        fail(where + ": data_offsets end " + std::to_string(e.end) + " is past the end of the data buffer (" +
             std::to_string(buffer) + " bytes): truncated file?");
      std::uint64_t bytes = 0;
      if (overflow || __builtin_mul_overflow(e.count, esize, &bytes))
        fail(where + ": shape " + shape_text(e.shape) + " is too large (element count overflows)");
      if (bytes != e.end - e.begin)
        fail(where + ": shape " + shape_text(e.shape) + " of " + e.dtype + " needs " + std::to_string(bytes) +
             " bytes, data_offsets give " + std::to_string(e.end - e.begin));
      entries.push_back(std::move(e));
    }

    // No overlaps, no holes: the tensors tile [0, buffer) exactly (what the format requires).
    std::vector<const SafetensorsEntry*> by_offset;
    for (const auto& e : entries) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    std::uint64_t covered = 0;
    const SafetensorsEntry* prev = nullptr;
    for (const auto* e : by_offset) {
      if (e->begin < covered)
        fail("tensors " + json_string(prev->name) + " and " + json_string(e->name) +
             " overlap in the data buffer (bytes " + std::to_string(e->begin) + " to " + std::to_string(covered) + ")");
      if (e->begin > covered)
        fail("data buffer bytes " + std::to_string(covered) + " to " + std::to_string(e->begin) +
             " belong to no tensor (the format forbids holes)");
      covered = e->end;
      prev = e;
    }
    if (covered != buffer)
      fail("data buffer bytes " + std::to_string(covered) + " to " + std::to_string(buffer) +
           " (end of file) belong to no tensor (the format forbids trailing data)");
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  }
};

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto impl = std::make_shared<Impl>();
  impl->label = path;
  impl->src = std::make_unique<FileSource>(path);
  impl->parse();
  SafetensorsFile f;
  f.impl_ = std::move(impl);
  return f;
}

SafetensorsFile SafetensorsFile::from_bytes(std::string bytes, std::string label) {
  auto impl = std::make_shared<Impl>();
  impl->label = std::move(label);
  impl->src = std::make_unique<MemorySource>(std::move(bytes));
  impl->parse();
  SafetensorsFile f;
  f.impl_ = std::move(impl);
  return f;
}

const std::string& SafetensorsFile::label() const { return impl_->label; }
const std::vector<SafetensorsEntry>& SafetensorsFile::entries() const { return impl_->entries; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
  const auto& es = impl_->entries;
  auto it = std::lower_bound(es.begin(), es.end(), name, [](const auto& e, std::string_view n) { return e.name < n; });
  return it != es.end() && it->name == name ? &*it : nullptr;
}

double f16_to_double(std::uint16_t h) {
  const int e = (h >> 10) & 0x1f;
  const int m = h & 0x3ff;
  double v;
  if (e == 0) {
    v = std::ldexp(static_cast<double>(m), -24);  // zero or subnormal: m * 2^-24, exact
  } else if (e == 31) {
    v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else {
    v = std::ldexp(static_cast<double>(m + 1024), e - 25);  // (1 + m/1024) * 2^(e-15), exact
  }
  return (h & 0x8000) ? -v : v;
}

double bf16_to_double(std::uint16_t h) {
  return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16));
}

std::vector<double> SafetensorsFile::read(const SafetensorsEntry& e) const {
  const Impl& I = *impl_;
  const std::uint64_t esize = dtype_size(e.dtype);
  if (e.dtype != "F64" && e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16")
    I.fail("tensor " + json_string(e.name) + " has dtype " + e.dtype + ", expected F64, F32, F16 or BF16");
  // count * esize == end - begin <= file size: checked at open, so this allocation is bounded.
  std::string raw(static_cast<std::size_t>(e.end - e.begin), '\0');
  I.src->read(I.data_start + e.begin, raw.size(), raw.data());
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  std::vector<double> out(static_cast<std::size_t>(e.count));
  for (std::size_t i = 0; i < out.size(); ++i, p += esize) {
    if (e.dtype == "F64") {
      out[i] = std::bit_cast<double>(load_le(p, 8));
    } else if (e.dtype == "F32") {
      out[i] = static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(load_le(p, 4))));
    } else if (e.dtype == "F16") {
      out[i] = f16_to_double(static_cast<std::uint16_t>(load_le(p, 2)));
    } else {
      out[i] = bf16_to_double(static_cast<std::uint16_t>(load_le(p, 2)));
    }
  }
  return out;
}

std::vector<double> SafetensorsFile::read(std::string_view name) const {
  const SafetensorsEntry* e = find(name);
  if (!e) impl_->fail("missing tensor " + std::string(name));
  return read(*e);
}

// ---- writer --------------------------------------------------------------------------------------

namespace {

/// The binary16 encoding of x if x is exactly representable (NaN -> canonical quiet NaN).
bool encode_f16(double x, std::uint16_t& out) {
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return out = 0x7e00, true;
  const double a = std::fabs(x);
  if (std::isinf(a)) return out = sign | 0x7c00, true;
  if (a == 0) return out = sign, true;
  const int e = std::ilogb(a);
  double m;
  std::uint16_t bits;
  if (e >= -14) {
    if (e > 15) return false;
    m = std::ldexp(a, 10 - e);  // in [1024, 2048)
    if (m != std::floor(m)) return false;
    bits = static_cast<std::uint16_t>(((e + 15) << 10) | (static_cast<int>(m) - 1024));
  } else {
    m = std::ldexp(a, 24);  // subnormal: a = m * 2^-24, m < 1024
    if (m != std::floor(m)) return false;
    bits = static_cast<std::uint16_t>(m);
  }
  out = sign | bits;
  return f16_to_double(out) == x;
}

}  // namespace

std::string encode_safetensors(const std::vector<SafeTensor>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  RoundingGuard nearest(Rounding::nearest);
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string data;
  for (const SafeTensor& t : tensors) {
    const std::string where = "write_safetensors: tensor " + json_string(t.name);
    if (t.name == "__metadata__" || header.contains(t.name)) throw ModelError(where + ": duplicate or reserved name");
    const std::uint64_t esize = (t.dtype == "F64" || t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16")
                                    ? dtype_size(t.dtype) : 0;
    if (esize == 0) throw ModelError(where + ": dtype " + json_string(t.dtype) + " (writer supports F64, F32, F16, BF16)");
    std::uint64_t count = 1;
    for (auto x : t.shape)
      if (__builtin_mul_overflow(count, x, &count)) throw ModelError(where + ": shape overflows");
    if (count != t.values.size())
      throw ModelError(where + ": shape " + shape_text(t.shape) + " has " + std::to_string(count) +
                       " elements, values has " + std::to_string(t.values.size()));
    const std::uint64_t begin = data.size();
    for (std::size_t i = 0; i < t.values.size(); ++i) {
      const double x = t.values[i];
      bool exact = true;
      if (t.dtype == "F64") {
        store_le(data, std::bit_cast<std::uint64_t>(x), 8);
      } else if (t.dtype == "F32" || t.dtype == "BF16") {
        const float f = static_cast<float>(x);
        const auto bits = std::bit_cast<std::uint32_t>(f);
        exact = std::isnan(x) || static_cast<double>(f) == x;
        if (t.dtype == "F32") {
          store_le(data, bits, 4);
        } else {
          exact = exact && (std::isnan(x) || (bits & 0xffff) == 0);
          store_le(data, std::isnan(x) ? 0x7fc0 : bits >> 16, 2);
        }
      } else {
        std::uint16_t h = 0;
        exact = encode_f16(x, h);
        store_le(data, h, 2);
      }
      if (!exact)
        throw ModelError(where + ": value " + std::to_string(i) + " (" + model_detail::exact_decimal(x) +
                         ") is not exactly representable as " + t.dtype);
    }
    json entry;
    entry["dtype"] = t.dtype;
    entry["shape"] = t.shape;
    entry["data_offsets"] = {begin, static_cast<std::uint64_t>(data.size())};
    header[t.name] = std::move(entry);
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // align the data buffer, as the reference writer does
  std::string out;
  out.reserve(8 + h.size() + data.size());
  store_le(out, h.size(), 8);
  out += h;
  out += data;
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafeTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  model_detail::write_file_atomically(path, encode_safetensors(tensors, metadata));
}

}  // namespace attnbound
