/**
 * `nn.Embedding`, as torch.nn.Embedding: a lookup table of `numEmbeddings` rows of size
 * `embeddingDim`, indexed by int32 tensors (`F.embedding`); and `nn.EmbeddingBag`, as
 * torch.nn.EmbeddingBag: bags of its rows summed, averaged or maxed (`F.embeddingBag`).
 */
import { noGrad } from '../autograd';
import { tensor, zeros } from '../creation';
import { tidy } from '../engine';
import { fail } from '../errors';
import { EMBEDDING_KEYS, embeddingOptions, paddingIndex, type EmbeddingOptions } from './functional/embedding';
import { bagMode, type EmbeddingBagOptions } from './functional/embedding-bag';
import * as F from './functional/index';
import { native } from '../native';
import { where } from '../ops';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkOptions, checkTensor, shapeStr } from '../validate';
import { normal_ } from './init';
import { merge, type WithOptions } from './layers';
import { Module, Parameter } from './module';

type F32 = Tensor<'float32'>;

export type EmbeddingModuleOptions = EmbeddingOptions;

/** The weight that `fromPretrained` hands the constructor (instead of a random one). */
let pretrained: Tensor | null = null;

/** fromPretrained's work: `embeddings` checked, the table made on it (its options less freeze), frozen unless told. */
function fromTable<O extends { freeze?: boolean }, M extends { weight: Parameter }>(op: string, embeddings: Tensor, o: O,
  make: (V: number, D: number, rest: Omit<O, 'freeze'>) => M): M {
  const t = checkTensor(op, 'embeddings', embeddings);
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`embeddings\` of dtype float32, got ${t.dtype}`);
  if (t.rank !== 2) fail('E_SHAPE', `${op}: expected 2-D \`embeddings\` [numEmbeddings, embeddingDim], got ${shapeStr(t.shape)}`);
  const freeze = o.freeze === undefined ? true : checkBool(op, 'freeze', o.freeze);
  const { freeze: _, ...rest } = o;
  pretrained = t;
  let m: M;
  try {
    m = make(t.shape[0], t.shape[1], rest);
  } finally {
    pretrained = null;
  }
  m.weight.requiresGrad = !freeze;
  return m;
}

/** A table's weight registered: the pretrained one, or a new one drawn by resetTable. */
function tableWeight(m: Module, V: number, D: number, pad: number | null): Parameter {
  const given = pretrained;
  const t = given ?? zeros([V, D]);
  const weight = m.registerParameter('weight', new Parameter(t));
  if (given === null) {
    t.dispose();
    resetTable(weight, pad);
  }
  return weight;
}

/** The lookup options a table's config records: those not at their default. */
function tableOptions(m: { paddingIdx: number | null; maxNorm: number | null; normType: number; scaleGradByFreq: boolean }): EmbeddingOptions {
  const o: EmbeddingOptions = {};
  if (m.paddingIdx !== null) o.paddingIdx = m.paddingIdx;
  if (m.maxNorm !== null) o.maxNorm = m.maxNorm;
  if (m.normType !== 2) o.normType = m.normType;
  if (m.scaleGradByFreq) o.scaleGradByFreq = true;
  return o;
}

/** PyTorch's reset_parameters of the tables: N(0, 1) (seeded by `manualSeed`), then the `paddingIdx` row 0. */
function resetTable(weight: Parameter, pad: number | null): void {
  normal_(weight);
  if (pad === null) return;
  noGrad(() => tidy(() => {
    const [V] = weight.shape;
    const mask = new Float32Array(V);
    mask[pad] = 1;
    const zeroed = where(tensor(mask, { shape: [V, 1], device: weight.device }), 0, weight);
    native.copyInto(weight.handle('Embedding'), zeroed.handle('Embedding'));
  }));
}

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
    this.weight = tableWeight(this, numEmbeddings, embeddingDim, this.paddingIdx);
  }

  /**
   * PyTorch's reset_parameters: weight drawn from N(0, 1) (seeded by `manualSeed`), then the
   * `paddingIdx` row set to 0.
   */
  resetParameters(): void {
    resetTable(this.weight, this.paddingIdx);
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
    return fromTable(op, embeddings, o, (V, D, rest) => new Embedding(V, D, rest));
  }

  override config(): unknown[] {
    return [this.numEmbeddings, this.embeddingDim, tableOptions(this)];
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

export type EmbeddingBagModuleOptions = Omit<EmbeddingBagOptions, 'perSampleWeights'>;
const BAG_MODULE_KEYS = ['maxNorm', 'normType', 'scaleGradByFreq', 'mode', 'sparse', 'includeLastOffset', 'paddingIdx'] as const;
const BAG_POSITIONAL = ['maxNorm', 'normType', 'scaleGradByFreq', 'mode', 'sparse'] as const;

/**
 * Bags of a lookup table's rows reduced to one vector each, as torch.nn.EmbeddingBag:
 * `call(input, offsets, perSampleWeights)` gives [bags, embeddingDim] (`F.embeddingBag`: a 2-D
 * input is bags of one length, a 1-D one is cut by `offsets`). The weight starts N(0, 1), the
 * `paddingIdx` row (if any) zero. Positional arguments after the sizes in PyTorch's order:
 * maxNorm, normType, scaleGradByFreq, mode, sparse (false only); then `includeLastOffset` and
 * `paddingIdx` as options.
 * @example const bag = new nn.EmbeddingBag(10000, 64, { mode: 'sum' });   // bag.call(tokens, offsets): [bags, 64]
 */
export class EmbeddingBag extends Module {
  readonly weight: Parameter;
  readonly mode: 'sum' | 'mean' | 'max';
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;
  readonly includeLastOffset: boolean;

  constructor(numEmbeddings: number, embeddingDim: number,
    ...args: WithOptions<[maxNorm: number | null, normType: number, scaleGradByFreq: boolean, mode: 'sum' | 'mean' | 'max', sparse: false], EmbeddingBagModuleOptions>);
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, ...args: unknown[]) {
    super();
    const op = 'EmbeddingBag';
    const o = merge<EmbeddingBagModuleOptions>(op, args, [...BAG_POSITIONAL], BAG_MODULE_KEYS);
    checkInt(op, 'numEmbeddings', numEmbeddings, 1);
    checkInt(op, 'embeddingDim', embeddingDim, 1);
    this.mode = bagMode(op, o.mode);
    this.paddingIdx = paddingIndex(op, o.paddingIdx, numEmbeddings);
    ({ maxNorm: this.maxNorm, normType: this.normType, scaleGradByFreq: this.scaleGradByFreq } = embeddingOptions(op, o));
    if (this.mode === 'max' && this.scaleGradByFreq) fail('E_ARG', `${op}: 'max' mode does not scale the gradient by frequency (\`scaleGradByFreq\`), as PyTorch`);
    this.includeLastOffset = o.includeLastOffset === undefined ? false : checkBool(op, 'includeLastOffset', o.includeLastOffset);
    this.weight = tableWeight(this, numEmbeddings, embeddingDim, this.paddingIdx);
  }

  /** PyTorch's reset_parameters: weight drawn from N(0, 1), then the `paddingIdx` row set to 0. */
  resetParameters(): void {
    resetTable(this.weight, this.paddingIdx);
  }

  /**
   * An EmbeddingBag whose weight is `embeddings` [numEmbeddings, embeddingDim] itself (sharing
   * its memory, as PyTorch), frozen (no gradient) unless `freeze` is false.
   * @example const bag = nn.EmbeddingBag.fromPretrained(vectors, { mode: 'max' });
   */
  static fromPretrained(embeddings: Tensor, options: EmbeddingBagModuleOptions & { freeze?: boolean } = {}): EmbeddingBag {
    const op = 'EmbeddingBag.fromPretrained';
    const o = checkOptions<EmbeddingBagModuleOptions & { freeze?: boolean }>(op, options, ['freeze', ...BAG_MODULE_KEYS]);
    return fromTable(op, embeddings, o, (V, D, rest) => new EmbeddingBag(V, D, rest));
  }

  override config(): unknown[] {
    return [this.numEmbeddings, this.embeddingDim, { mode: this.mode, ...tableOptions(this), ...(this.includeLastOffset ? { includeLastOffset: true } : {}) }];
  }

  /** [bags, embeddingDim] from `input` (int32 [bags, length], or [indices] with `offsets`) and, in 'sum' mode, `perSampleWeights` (input's shape). */
  forward(input: Tensor, offsets: Tensor | readonly number[] | null = null, perSampleWeights: Tensor | null = null): F32 {
    checkTensor('EmbeddingBag', 'input', input);
    return F.embeddingBag(input, this.weight, offsets, {
      mode: this.mode, perSampleWeights, includeLastOffset: this.includeLastOffset, paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm, normType: this.normType, scaleGradByFreq: this.scaleGradByFreq,
    });
  }

  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.maxNorm !== null) s += `, max_norm=${this.maxNorm}`;
    if (this.normType !== 2) s += `, norm_type=${this.normType}`;
    if (this.scaleGradByFreq) s += ', scale_grad_by_freq=True';
    s += `, mode=${this.mode}`;
    if (this.includeLastOffset) s += ', include_last_offset=True';
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    return s;
  }
}
