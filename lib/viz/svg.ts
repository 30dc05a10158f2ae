/**
 * Charts as SVG (plain text, no dependency): training curves and confusion matrices.
 * Every point and cell carries a `data-*` attribute saying what it is, so the files can be
 * checked (or restyled) by a program as well as looked at.
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkInt, checkOptions, checkTensor, describe, isTensor } from '../validate';
import { atomicWrite } from '../io/file';

/** What `fit()` records per epoch; every series is optional (missing or empty ones are not drawn). */
export interface History {
  epoch?: number[];
  loss?: number[];
  accuracy?: number[];
  valLoss?: number[];
  valAccuracy?: number[];
}

/** More classes than this make an SVG no one can read (and n² cells to write). */
const MAX_SVG_CLASSES = 1000;
/** A curve of more epochs than this is refused rather than drawn point by point. */
const MAX_EPOCHS = 1_000_000;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => String(Math.round(v * 100) / 100);

/** Up to ~6 round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const TRAIN = '#1f77b4', VAL = '#ff7f0e';

function panel(title: string, x0: number, epochs: number[], series: [string, string, number[] | undefined, boolean][], unitRange?: [number, number], legendBelow = false): string {
  const W = 420, H = 300, L = 56, R = 16, T = 36, B = 44;
  const pw = W - L - R, ph = H - T - B;
  const drawn = series.filter(([, , v]) => v !== undefined && v.length > 0);
  const all = drawn.flatMap(([, , v]) => v!.filter(Number.isFinite));
  let lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
  if (unitRange && lo >= unitRange[0] && hi <= unitRange[1]) { lo = Math.min(lo, unitRange[0]); hi = Math.max(hi, unitRange[1]); }
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  const e0 = Math.min(...epochs), e1 = Math.max(...epochs);
  const sx = (e: number) => x0 + L + (e1 > e0 ? ((e - e0) / (e1 - e0)) * pw : pw / 2);
  const sy = (v: number) => T + ph - ((v - lo) / (hi - lo)) * ph;
  const out: string[] = [];
  out.push(`<g data-panel="${esc(title)}">`);
  out.push(`<text x="${x0 + L + pw / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect x="${x0 + L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  for (const v of ticks(lo, hi)) {
    out.push(`<line x1="${x0 + L - 4}" y1="${num(sy(v))}" x2="${x0 + L + pw}" y2="${num(sy(v))}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 + L - 7}" y="${num(sy(v) + 4)}" text-anchor="end" font-size="11">${esc(String(v))}</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs.length / 10));
  epochs.forEach((e, i) => {
    if (i % step !== 0 && i !== epochs.length - 1) return;
    out.push(`<text x="${num(sx(e))}" y="${T + ph + 16}" text-anchor="middle" font-size="11">${esc(String(e))}</text>`);
  });
  out.push(`<text x="${x0 + L + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12">epoch</text>`);
  drawn.forEach(([name, key, v, dashed], k) => {
    const pts = epochs.map((e, i) => [e, v![i]] as const).filter(([, y]) => Number.isFinite(y));
    const colour = dashed ? VAL : TRAIN;
    out.push(`<polyline data-series="${key}" fill="none" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.map(([e, y]) => `${num(sx(e))},${num(sy(y))}`).join(' ')}"/>`);
    for (const [e, y] of pts) out.push(`<circle data-series="${key}" data-epoch="${e}" data-value="${y}" cx="${num(sx(e))}" cy="${num(sy(y))}" r="3" fill="${colour}"/>`);
    // The legend sits where the curves usually are not: top right for loss, bottom right for accuracy.
    const ly = legendBelow ? T + ph - 12 - 16 * (drawn.length - 1 - k) : T + 14 + 16 * k;
    out.push(`<line x1="${x0 + L + pw - 110}" y1="${ly}" x2="${x0 + L + pw - 90}" y2="${ly}" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${x0 + L + pw - 85}" y="${ly + 4}" font-size="11">${esc(name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

function series(op: string, h: Record<string, unknown>, key: string, n: number | null): number[] | undefined {
  const v = h[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) fail('E_ARG', `${op}: expected history.${key} to be an array of numbers, got ${describe(v)}`);
  // The length first (a 2**31-long sparse array or Proxy looped for minutes), then every index:
  // every() would skip holes.
  if (v.length > MAX_EPOCHS) fail('E_ARG', `${op}: history.${key} has ${v.length} values, more than ${MAX_EPOCHS} epochs can be drawn`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number') fail('E_ARG', `${op}: expected history.${key} to be an array of numbers, got ${describe(v[i])} at [${i}]`);
  }
  if (n !== null && v.length !== 0 && v.length !== n) fail('E_ARG', `${op}: history.${key} has ${v.length} values for ${n} epochs`);
  return v as number[];
}

/**
 * Draws the training curves, loss and accuracy per epoch (train solid, validation dashed), as an
 * SVG with a panel for each of loss and accuracy that has data; series that are missing or
 * empty are skipped, non-finite values leave a point out. Without `epoch`, epochs count 1, 2, ….
 * Accuracy in [0, 1] is drawn on the full [0, 1] axis. Writes `path` (atomically) and returns the SVG.
 * @example
 * const history = await fit(model, train, { epochs: 10, validation: test });
 * viz.plotHistory(history, 'curves.svg');
 */
export function plotHistory(history: History, path: string): string {
  const op = 'plotHistory';
  if (typeof history !== 'object' || history === null || Array.isArray(history)) fail('E_ARG', `${op}: expected a history object, got ${describe(history)}`);
  const h = history as Record<string, unknown>;
  const ep = series(op, h, 'epoch', null);
  for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy']) series(op, h, k, null);   // checked before n is taken from them
  const lengths = ['loss', 'accuracy', 'valLoss', 'valAccuracy'].map((k) => (Array.isArray(h[k]) ? (h[k] as unknown[]).length : 0));
  const n = ep?.length ?? Math.max(...lengths);
  const epochs = ep ?? Array.from({ length: n }, (_, i) => i + 1);
  const s = Object.fromEntries(['loss', 'accuracy', 'valLoss', 'valAccuracy'].map((k) => [k, series(op, h, k, n)]));
  const panels: string[] = [];
  const has = (...keys: string[]) => keys.some((k) => s[k] !== undefined && s[k]!.length > 0);
  if (n > 0 && has('loss', 'valLoss')) {
    panels.push(panel('Loss', 420 * panels.length, epochs, [['train', 'loss', s.loss, false], ['validation', 'valLoss', s.valLoss, true]]));
  }
  if (n > 0 && has('accuracy', 'valAccuracy')) {
    panels.push(panel('Accuracy', 420 * panels.length, epochs, [['train', 'accuracy', s.accuracy, false], ['validation', 'valAccuracy', s.valAccuracy, true]], [0, 1], true));
  }
  const width = Math.max(1, panels.length) * 420;
  const body = panels.length ? panels.join('\n') : '<text x="210" y="150" text-anchor="middle" font-size="14">no data</text>';
  const svg = `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="300" viewBox="0 0 ${width} 300" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
  writeText(op, path, svg);
  return svg;
}

function labelsOf(op: string, x: unknown, name: string): ArrayLike<number> {
  if (isTensor(x)) {
    const t = checkTensor(op, name, x) as Tensor;
    if (t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected int32 ${name}, got ${t.dtype}`);
    if (t.rank !== 1) fail('E_SHAPE', `${op}: expected ${name} of shape [N], got [${t.shape.join(', ')}]`);
    return t.dataSync() as Int32Array;
  }
  if (Array.isArray(x) || x instanceof Int32Array) return x as ArrayLike<number>;
  return fail('E_ARG', `${op}: expected ${name} to be an int32 tensor [N] or an array, got ${describe(x)}`);
}

/**
 * Counts of (actual, predicted) pairs: `m[actual][predicted]`, rows the true class as in
 * scikit-learn. Labels are int32 tensors [N] (or arrays) in [0, numClasses); one out of range is E_INDEX.
 * @example
 * const m = viz.confusionMatrix(logits.argmax(1), labels, 10);   // m[3][5]: threes taken for fives
 */
export function confusionMatrix(predicted: Tensor | ArrayLike<number>, actual: Tensor | ArrayLike<number>, numClasses: number): number[][] {
  const op = 'confusionMatrix';
  const n = checkInt(op, 'numClasses', numClasses, 1, 100000);
  const p = labelsOf(op, predicted, 'predicted'), a = labelsOf(op, actual, 'actual');
  if (p.length !== a.length) fail('E_SHAPE', `${op}: ${p.length} predictions for ${a.length} labels`);
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < p.length; i++) {
    for (const [v, name] of [[p[i], 'predicted'], [a[i], 'actual']] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= n) fail('E_INDEX', `${op}: ${name}[${i}] = ${v} is not a class in [0, ${n})`);
    }
    m[a[i]][p[i]]++;
  }
  return m;
}

/**
 * Draws a confusion matrix (rows: actual class, columns: predicted) as an SVG of n × n cells
 * showing the counts; a cell's shade is its share of its row (the class's recall on the
 * diagonal). `labels` name the classes (default 0, 1, …). Writes `path` and returns the SVG.
 * @example viz.confusionMatrixSvg(m, 'confusion.svg', { labels: ['zero', 'one', ...] });
 */
export function confusionMatrixSvg(matrix: number[][], path: string, options: { labels?: string[]; title?: string } = {}): string {
  const op = 'confusionMatrixSvg';
  const n = Array.isArray(matrix) ? matrix.length : 0;
  if (n > MAX_SVG_CLASSES) fail('E_ARG', `${op}: ${n} classes are too many to draw (at most ${MAX_SVG_CLASSES})`);
  // Index loops, not every(): every() skips the holes of a sparse array, which then broke the drawing.
  let square = n > 0;
  for (let i = 0; square && i < n; i++) {
    const r: unknown = matrix[i];
    square = Array.isArray(r) && r.length === n;
    for (let j = 0; square && j < n; j++) {
      const v: unknown = (r as unknown[])[j];
      square = typeof v === 'number' && Number.isFinite(v) && v >= 0;
    }
  }
  if (!square) fail('E_ARG', `${op}: expected a square matrix of non-negative counts, got ${describe(matrix)}`);
  options = checkOptions<{ labels?: string[]; title?: string }>(op, options, ['labels', 'title']);
  const labels = options.labels === undefined ? matrix.map((_, i) => String(i)) : options.labels;
  if (!Array.isArray(labels) || labels.length !== n) fail('E_ARG', `${op}: expected ${n} labels, got ${describe(labels)}`);
  for (let i = 0; i < n; i++) {
    if (typeof labels[i] !== 'string' && typeof labels[i] !== 'number') fail('E_ARG', `${op}: expected labels[${i}] to be a string, got ${describe(labels[i])}`);
  }
  const title = options.title === undefined ? 'Confusion matrix' : options.title;
  if (typeof title !== 'string') fail('E_ARG', `${op}: expected \`title\` to be a string, got ${describe(title)}`);
  const cell = Math.max(24, Math.min(56, Math.floor(560 / n)));
  const L = 90, T = 60;
  const size = L + n * cell + 20;
  const out: string[] = [];
  out.push(`<text x="${L + (n * cell) / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${L + (n * cell) / 2}" y="${T - 22}" text-anchor="middle" font-size="12">predicted</text>`);
  out.push(`<text x="16" y="${T + (n * cell) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${T + (n * cell) / 2})">actual</text>`);
  for (let i = 0; i < n; i++) {
    const total = matrix[i].reduce((s, v) => s + v, 0);
    out.push(`<text x="${L - 6}" y="${T + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${esc(String(labels[i]))}</text>`);
    out.push(`<text x="${L + i * cell + cell / 2}" y="${T - 6}" text-anchor="middle" font-size="11">${esc(String(labels[i]))}</text>`);
    for (let j = 0; j < n; j++) {
      const share = total > 0 ? matrix[i][j] / total : 0;
      const shade = Math.round(255 - 200 * share);
      const fill = `rgb(${shade},${Math.round(255 - 150 * share)},255)`;
      out.push(`<rect class="cell" data-actual="${i}" data-predicted="${j}" data-count="${matrix[i][j]}" x="${L + j * cell}" y="${T + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#d8d8d8"/>`);
      out.push(`<text x="${L + j * cell + cell / 2}" y="${T + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="${cell < 32 ? 9 : 11}" fill="${share > 0.6 ? '#fff' : '#000'}">${matrix[i][j]}</text>`);
    }
  }
  const svg = `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${T + n * cell + 20}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${out.join('\n')}\n</svg>\n`;
  writeText(op, path, svg);
  return svg;
}

function writeText(op: string, file: unknown, text: string): void {
  if (typeof file !== 'string' || file.length === 0) fail('E_ARG', `${op}: expected a file path, got ${describe(file)}`);
  atomicWrite(op, file, text);
}
