/**
 * `nn.Embedding`, as torch.nn.Embedding: a lookup table of `numEmbeddings` rows of size
 * `embeddingDim`, indexed by int32 tensors (`F.embedding`).
 */
import { noGrad } from '../autograd';
import { tensor, zeros } from '../creation';
import { tidy } from '../engine';
import { fail } from '../errors';
import { EMBEDDING_KEYS, embeddingOptions, paddingIndex, type EmbeddingOptions } from './functional/embedding';
import * as F from './functional/index';
import { native } from '../native';
import { where } from '../ops';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkTensor, shapeStr } from '../validate';
import { normal_ } from './init';
import { merge, type WithOptions } from './layers';
import { Module, Parameter } from './module';

type F32 = Tensor<'float32'>;

export type EmbeddingModuleOptions = EmbeddingOptions;

/** The weight that `Embedding.fromPretrained` hands its constructor (instead of a random one). */
let pretrained: Tensor | null = null;

/**
 * A lookup table, as torch.nn.Embedding: `call(indices)` (int32, any shape) gives the rows of
 * `weight` [numEmbeddings, embeddingDim], shape [...indices.shape, embeddingDim]. The weight
 * starts N(0, 1), with the `paddingIdx` row (if any) zero; that row never gets a gradient.
 * Positional arguments after the sizes in PyTorch's order: paddingIdx, maxNorm, normType,
 * scaleGradByFreq, sparse (false only); see `F.embedding`.
 * @example const embed = new nn.Embedding(10000, 128, { paddingIdx: 0 });   // embed.call(tokens): [B, T] -> [B, T, 128]
 */
export class Embedding extends Module {
  readonly weight: Parameter;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;

  constructor(numEmbeddings: number, embeddingDim: number,
    ...args: WithOptions<[paddingIdx: number | null, maxNorm: number | null, normType: number, scaleGradByFreq: boolean, sparse: false], EmbeddingModuleOptions>);
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, ...args: unknown[]) {
    super();
    const op = 'Embedding';
    const o = merge<EmbeddingOptions>(op, args, [...EMBEDDING_KEYS], EMBEDDING_KEYS);
    checkInt(op, 'numEmbeddings', numEmbeddings, 1);
    checkInt(op, 'embeddingDim', embeddingDim, 1);
    this.paddingIdx = paddingIndex(op, o.paddingIdx, numEmbeddings);
    ({ maxNorm: this.maxNorm, normType: this.normType, scaleGradByFreq: this.scaleGradByFreq } = embeddingOptions(op, o));
    const given = pretrained;
    const t = given ?? zeros([numEmbeddings, embeddingDim]);
    this.weight = this.registerParameter('weight', new Parameter(t));
    if (given === null) {
      t.dispose();
      this.resetParameters();
    }
  }

  /**
   * PyTorch's reset_parameters: weight drawn from N(0, 1) (seeded by `manualSeed`), then the
   * `paddingIdx` row set to 0.
   */
  resetParameters(): void {
    normal_(this.weight);
    const pad = this.paddingIdx;
    if (pad === null) return;
    noGrad(() => tidy(() => {
      const mask = new Float32Array(this.numEmbeddings);
      mask[pad] = 1;
      const zeroed = where(tensor(mask, { shape: [this.numEmbeddings, 1], device: this.weight.device }), 0, this.weight);
      native.copyInto(this.weight.handle('Embedding'), zeroed.handle('Embedding'));
    }));
  }

  /**
   * An Embedding whose weight is `embeddings` [numEmbeddings, embeddingDim] itself (sharing its
   * memory, as PyTorch; the padding row is left as it is), frozen (no gradient) unless `freeze`
   * is false. Positional arguments in PyTorch's order: freeze, paddingIdx, maxNorm, normType,
   * scaleGradByFreq, sparse; or an options object.
   * @example const embed = nn.Embedding.fromPretrained(gloveVectors, false);
   */
  static fromPretrained(embeddings: Tensor,
    ...args: WithOptions<[freeze: boolean, paddingIdx: number | null, maxNorm: number | null, normType: number, scaleGradByFreq: boolean, sparse: false],
      EmbeddingModuleOptions & { freeze?: boolean }>): Embedding;
  static fromPretrained(embeddings: Tensor, ...args: unknown[]): Embedding {
    const op = 'Embedding.fromPretrained';
    const keys = ['freeze', ...EMBEDDING_KEYS] as const;
    const o = merge<EmbeddingOptions & { freeze?: boolean }>(op, args, [...keys], keys);
    const t = checkTensor(op, 'embeddings', embeddings);
    if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`embeddings\` of dtype float32, got ${t.dtype}`);
    if (t.rank !== 2) fail('E_SHAPE', `${op}: expected 2-D \`embeddings\` [numEmbeddings, embeddingDim], got ${shapeStr(t.shape)}`);
    const freeze = o.freeze === undefined ? true : checkBool(op, 'freeze', o.freeze);
    const { freeze: _, ...rest } = o;
    pretrained = t;
    let m: Embedding;
    try {
      m = new Embedding(t.shape[0], t.shape[1], rest);
    } finally {
      pretrained = null;
    }
    m.weight.requiresGrad = !freeze;
    return m;
  }

  override config(): unknown[] {
    const o: EmbeddingOptions = {};
    if (this.paddingIdx !== null) o.paddingIdx = this.paddingIdx;
    if (this.maxNorm !== null) o.maxNorm = this.maxNorm;
    if (this.normType !== 2) o.normType = this.normType;
    if (this.scaleGradByFreq) o.scaleGradByFreq = true;
    return [this.numEmbeddings, this.embeddingDim, o];
  }

  forward(input: Tensor): F32 {
    checkTensor('Embedding', 'input', input);
    return F.embedding(input, this.weight, { paddingIdx: this.paddingIdx, maxNorm: this.maxNorm, normType: this.normType, scaleGradByFreq: this.scaleGradByFreq });
  }

  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, max_norm=${this.maxNorm}`;
    if (this.normType !== 2) s += `, norm_type=${this.normType}`;
    if (this.scaleGradByFreq) s += ', scale_grad_by_freq=true';
    return s;
  }
}
