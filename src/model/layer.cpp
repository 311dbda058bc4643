#include "model/layer.hpp"

#include <sstream>

namespace attnbound {

const char* to_string(Mask m) { return m == Mask::causal ? "causal" : "none"; }

namespace {
template <class M>
void check_finite(const M& m, const std::string& what) {
  if (!m.allFinite()) {
    for (Eigen::Index i = 0; i < m.rows(); ++i)
      for (Eigen::Index j = 0; j < m.cols(); ++j)
        if (!std::isfinite(m(i, j))) {
          std::ostringstream os;
          os << what << " has a non-finite entry (" << m(i, j) << ") at [" << i << "][" << j << "]";
          throw ModelError(os.str());
        }
  }
}
void check_shape(const Matrix& m, long r, long c, const std::string& what) {
  if (m.rows() != r || m.cols() != c) {
    std::ostringstream os;
    os << what << " has shape " << m.rows() << "x" << m.cols() << ", expected " << r << "x" << c;
    throw ModelError(os.str());
  }
}
void check_len(const Vector& v, long n, const std::string& what) {
  if (v.size() != n) {
    std::ostringstream os;
    os << what << " has length " << v.size() << ", expected " << n;
    throw ModelError(os.str());
  }
}
}  // namespace

void AttentionLayer::validate() const {
  if (d < 1) throw ModelError("model dimension d must be >= 1 (got " + std::to_string(d) + ")");
  if (heads.empty()) throw ModelError("model has no attention heads");
  for (std::size_t h = 0; h < heads.size(); ++h) {
    const Head& H = heads[h];
    const std::string p = "head " + std::to_string(h) + ": ";
    const long dk = H.Wq.rows();
    if (dk < 1) throw ModelError(p + "W_Q has no rows");
    check_shape(H.Wq, dk, d, p + "W_Q");
    check_shape(H.Wk, dk, d, p + "W_K");
    if (H.Wv.cols() != d) check_shape(H.Wv, H.Wv.rows(), d, p + "W_V");
    check_shape(H.Wo, d, H.Wv.rows(), p + "W_O");
    check_len(H.bq, dk, p + "b_Q");
    check_len(H.bk, dk, p + "b_K");
    check_len(H.bv, H.Wv.rows(), p + "b_V");
    if (H.logit_divisor < 1) throw ModelError(p + "logit divisor must be >= 1");
    check_finite(H.Wq, p + "W_Q");
    check_finite(H.Wk, p + "W_K");
    check_finite(H.Wv, p + "W_V");
    check_finite(H.Wo, p + "W_O");
    check_finite(H.bq, p + "b_Q");
    check_finite(H.bk, p + "b_K");
    check_finite(H.bv, p + "b_V");
  }
  check_len(bo, d, "b_O");
  check_finite(bo, "b_O");
  if (norm.kind != Norm::Kind::none) {
    check_len(norm.gamma, d, "norm gamma");
    check_finite(norm.gamma, "norm gamma");
    if (norm.kind == Norm::Kind::layernorm) {
      check_len(norm.beta, d, "norm beta");
      check_finite(norm.beta, "norm beta");
    }
  }
}

AttentionLayer make_paper_layer(const std::vector<Matrix>& A, const std::vector<Matrix>& V, Mask mask) {
  if (A.empty() || A.size() != V.size()) throw ModelError("paper-form model needs one V per A");
  AttentionLayer L;
  L.d = A[0].rows();
  L.mask = mask;
  L.paper_form = true;
  for (std::size_t h = 0; h < A.size(); ++h) {
    Head H;
    H.Wq = Matrix::Identity(L.d, L.d);
    H.Wk = A[h];
    H.Wv = V[h];
    H.Wo = Matrix::Identity(L.d, L.d);
    H.bq = Vector::Zero(L.d);
    H.bk = Vector::Zero(L.d);
    H.bv = Vector::Zero(L.d);
    H.logit_divisor = 1;
    L.heads.push_back(std::move(H));
  }
  L.bo = Vector::Zero(L.d);
  L.source = "paper-form";
  L.validate();
  return L;
}

}  // namespace attnbound
