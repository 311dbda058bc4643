#include "attention/paper_form.hpp"

#include "attention/products.hpp"

namespace attnbound {

Matrix with_bias(const Matrix& W, const Vector& b, bool augment) {
  if (!augment) return W;
  Matrix M(W.rows(), W.cols() + 1);
  M.leftCols(W.cols()) = W;
  M.col(W.cols()) = b;
  return M;
}

bool needs_augmentation(const AttentionLayer& layer) {
  for (const Head& h : layer.heads)
    if (h.has_qk_bias()) return true;
  return false;
}

PaperFormEnclosure paper_form_enclosure(const AttentionLayer& layer, bool augment) {
  PaperFormEnclosure pf;
  pf.augmented = augment;
  for (const Head& h : layer.heads) {
    const Matrix Wq = with_bias(h.Wq, h.bq, augment), Wk = with_bias(h.Wk, h.bk, augment);
    IMatrix A = detail::mm_exact<Interval>(Matrix(Wq.transpose()), Wk);
    if (h.logit_divisor != 1) A *= ScalarTraits<Interval>::inv_sqrt(h.logit_divisor);
    IMatrix V0 = detail::mm_exact<Interval>(h.Wo, h.Wv);
    IMatrix V = IMatrix::Constant(layer.d, layer.d + (augment ? 1 : 0), point(0.0));
    V.leftCols(layer.d) = V0;
    pf.A.push_back(std::move(A));
    pf.V.push_back(std::move(V));
  }
  return pf;
}

namespace approx {
PaperForm paper_form(const AttentionLayer& layer, bool augment) {
  PaperForm pf;
  pf.augmented = augment;
  for (const Head& h : layer.heads) {
    const Matrix Wq = with_bias(h.Wq, h.bq, augment), Wk = with_bias(h.Wk, h.bk, augment);
    Matrix A = Wq.transpose() * Wk / std::sqrt(static_cast<double>(h.logit_divisor));
    Matrix V = Matrix::Zero(layer.d, layer.d + (augment ? 1 : 0));
    V.leftCols(layer.d) = h.Wo * h.Wv;
    pf.A.push_back(std::move(A));
    pf.V.push_back(std::move(V));
  }
  return pf;
}
}  // namespace approx

}  // namespace attnbound
