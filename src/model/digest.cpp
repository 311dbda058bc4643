// model_digest: SHA-256 over the canonical serialisation of docs/models.md ("Model digest", v1).
#include <openssl/evp.h>

#include <bit>
#include <memory>

#include "model/model.hpp"

namespace attnbound {

namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw ModelError("model digest: OpenSSL SHA-256 is unavailable");
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<unsigned char>(v >> (8 * i)));
    if (buf_.size() >= (1u << 16)) flush();
  }
  void f64(double x) { u64(std::bit_cast<std::uint64_t>(x)); }
  void bytes(std::string_view s) {
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  /// Row-major, whatever Eigen's storage order.
  void matrix(const Matrix& m) {
    for (Eigen::Index i = 0; i < m.rows(); ++i)
      for (Eigen::Index j = 0; j < m.cols(); ++j) f64(m(i, j));
  }
  void vector(const Vector& v) {
    for (Eigen::Index i = 0; i < v.size(); ++i) f64(v(i));
  }
  std::string hex() {
    flush();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) throw ModelError("model digest: SHA-256 failed");
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out.push_back(digits[md[i] >> 4]);
      out.push_back(digits[md[i] & 15]);
    }
    return out;
  }

 private:
  void flush() {
    if (!buf_.empty() && EVP_DigestUpdate(ctx_.get(), buf_.data(), buf_.size()) != 1)
      throw ModelError("model digest: SHA-256 failed");
    buf_.clear();
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
  std::vector<unsigned char> buf_;
};

}  // namespace

std::string model_digest(const AttentionLayer& L) {
  L.validate();  // the serialisation relies on consistent shapes
  Sha256 h;
  h.bytes("attnbound-model-v1");
  h.u64(static_cast<std::uint64_t>(L.d));
  h.u64(L.mask == Mask::causal ? 1 : 0);
  h.u64(L.heads.size());
  for (const Head& H : L.heads) {
    h.u64(static_cast<std::uint64_t>(H.Wq.rows()));
    h.u64(static_cast<std::uint64_t>(H.Wv.rows()));
    h.u64(static_cast<std::uint64_t>(H.logit_divisor));
    h.matrix(H.Wq);
    h.matrix(H.Wk);
    h.matrix(H.Wv);
    h.matrix(H.Wo);
    h.vector(H.bq);
    h.vector(H.bk);
    h.vector(H.bv);
  }
  h.vector(L.bo);
  switch (L.norm.kind) {
    case Norm::Kind::none:
      h.u64(0);
      break;
    case Norm::Kind::layernorm:
      h.u64(1);
      h.f64(L.norm.eps);
      h.vector(L.norm.gamma);
      h.vector(L.norm.beta);
      break;
    case Norm::Kind::rmsnorm:
      h.u64(2);
      h.f64(L.norm.eps);
      h.vector(L.norm.gamma);
      break;
  }
  return h.hex();
}

}  // namespace attnbound
