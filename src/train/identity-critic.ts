/**
 * The generator's identity critic: a frozen face recognizer (the shipped IResNet, trained with
 * ArcFace on the training people) reads the fakes, and the loss asks that
 *
 *   - a fake asked for a real person's identity look like that person to it:
 *       pos = mean over the nKnown fakes of (1 - cos(e(fake_n), e(real_n)))
 *     where real_n is the real image whose descriptor the fake was given (the same picture for
 *     a reconstruction; another expression, pose and lighting for a recombination), and
 *   - a new person (drawn from the identity prior) look like nobody else in the batch:
 *       neg = mean over the pairs (i, j), i != j, with i or j a new person, of
 *             relu(cos(e(fake_i), e(fake_j)) - margin)
 *
 * e(x) = f(x) / |f(x)|, f the recognizer's embedding. The factor student's identity head reads
 * dlib's descriptor, whose different people sit close together (dlib's own threshold 0.6 is
 * above the median distance of a person to their nearest other one on LFW); a recognizer
 * trained with an angular margin separates people by design, which is what a dataset for
 * training recognizers needs. (Training against the shipped recognizer makes its cosines on
 * the fakes a biased judge; dlib stays an independent one in `synface eval-generator`.)
 *
 * Shapes: fakeEmb, realEmb (B, E) raw embeddings; the first nKnown rows have a real identity,
 * the other B - nKnown are new people. realEmb needs no gradient (the reals are data).
 */
import { add, affine, l2Normalize, matmul, mul, relu, reshape, scale, square, sum } from '../ops/index.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';

/** A frozen network that embeds images for the identity loss. */
export interface IdentityCritic {
  /** images (B, 3, R, R) in [-1, 1] -> embeddings (B, E); differentiable in images. */
  embed(images: Tensor): Tensor;
}

export interface IdentityLoss {
  /** Pull of the known-identity fakes to their real person (scalar, 0 when nKnown = 0). */
  pos: Tensor;
  /** Push of the new people away from everyone else in the batch (scalar, 0 without new people). */
  neg: Tensor;
}

/** The (B, B) mask of the pairs i != j with i or j >= nKnown, each pair counted in both orders. */
function newPersonPairs(B: number, nKnown: number): { mask: Float32Array; count: number } {
  const mask = new Float32Array(B * B);
  let count = 0;
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++)
      if (i !== j && (i >= nKnown || j >= nKnown)) {
        mask[i * B + j] = 1;
        count++;
      }
  return { mask, count };
}

export function identityLoss(fakeEmb: Tensor, realEmb: Tensor, nKnown: number, margin: number): IdentityLoss {
  const [B] = fakeEmb.shape;
  if (realEmb.shape[0] !== B || !(nKnown >= 0 && nKnown <= B))
    throw new Error(
      `identityLoss: fakes ${JSON.stringify(fakeEmb.shape)}, reals ${JSON.stringify(realEmb.shape)}, nKnown ${nKnown}`,
    );
  const ef = l2Normalize(fakeEmb); // (B, E)
  const zero = () => scale(sum(ef), 0); // a scalar 0 on the graph
  let pos: Tensor;
  if (nKnown === 0) pos = zero();
  else {
    const cosOwn = sum(mul(ef, l2Normalize(realEmb)), [1]); // (B)
    const known = Float32Array.from({ length: B }, (_, n) => (n < nKnown ? 1 : 0));
    // 1 - cos averaged over the known rows only
    pos = scale(sum(mul(affine(cosOwn, -1, 1), tensor(known, [B]))), 1 / nKnown);
  }
  const { mask, count } = newPersonPairs(B, nKnown);
  let neg: Tensor;
  if (count === 0) neg = zero();
  else {
    const cos = matmul(ef, ef, { transB: true }); // (B, B)
    const over = relu(affine(cos, 1, -margin));
    neg = scale(sum(mul(over, tensor(mask, [B, B]))), 1 / count);
  }
  return { pos, neg };
}

/**
 * The descriptor teacher's push of new people apart, in its own space (dlib's, where
 * eval-generator judges different people: distance > 0.6):
 *
 *   sep = mean over the pairs (i, j), i != j, with i or j a new person, of
 *         relu(margin^2 - |d_i - d_j|^2)
 *
 * d (k, D) the descriptors the teacher read from k fakes, the first nKnown of them with a real
 * identity (recombinations), the rest new people. Squared distances (no root to blow up at
 * coinciding rows): |d_i|^2 + |d_j|^2 - 2 d_i . d_j. Matching each fake to the descriptor it
 * was asked for already separates people as far as their requests are apart (0.71 on average
 * for two draws of the prior); a rendering that falls short of the request leaves them closer
 * (0.63 at 77 kimg), and this term asks for the separation itself.
 */
export function descriptorSeparation(read: Tensor, nKnown: number, margin: number): Tensor {
  const [k] = read.shape;
  if (read.shape.length !== 2 || !(nKnown >= 0 && nKnown <= k) || !(margin >= 0))
    throw new Error(
      `descriptorSeparation: descriptors ${JSON.stringify(read.shape)}, nKnown ${nKnown}, margin ${margin}`,
    );
  const { mask, count } = newPersonPairs(k, nKnown);
  if (count === 0) return scale(sum(read), 0); // a scalar 0 on the graph
  const norms = sum(square(read), [1]); // (k)
  const d2 = add(
    add(reshape(norms, [k, 1]), reshape(norms, [1, k])),
    scale(matmul(read, read, { transB: true }), -2),
  ); // (k, k)
  const short = relu(affine(d2, -1, margin * margin));
  return scale(sum(mul(short, tensor(mask, [k, k]))), 1 / count);
}
