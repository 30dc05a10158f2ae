/**
 * Printing tensors the way PyTorch does (torch/_tensor_str.py): a common width per tensor,
 * 4 decimals, integers shown as "1.", scientific notation when the magnitudes span more than
 * 1000x (or exceed 1e8, or go below 1e-4), and "..." summaries past 1000 elements.
 */
import type { DType } from './tensor';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;

type Formatter = (v: number) => string;

function makeFormatter(values: ArrayLike<number>, dtype: DType): { format: Formatter; width: number } {
  if (dtype === 'int32') {
    let width = 1;
    for (let i = 0; i < values.length; i++) width = Math.max(width, String(values[i]).length);
    return { format: (v) => String(v), width };
  }
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  const special = (v: number): string | null => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null);
  let format: Formatter;
  if (finite.length === 0) {
    format = (v) => special(v) ?? String(v);
  } else {
    const intMode = finite.every(Number.isInteger);
    let absMax = 0, absMin = Infinity;
    for (const v of finite) {
      if (v !== 0) {
        absMax = Math.max(absMax, Math.abs(v));
        absMin = Math.min(absMin, Math.abs(v));
      }
    }
    const sci = absMax > 0 && (absMax / absMin > 1000 || absMax > 1e8 || (!intMode && absMin < 1e-4));
    // Python writes exponents with at least two digits: 1.0000e-05.
    const sciFormat = (v: number): string => v.toExponential(PRECISION).replace(/e([+-])(\d)$/, 'e$10$2');
    format = sci ? (v) => special(v) ?? sciFormat(v) : intMode ? (v) => special(v) ?? `${v.toFixed(0)}.` : (v) => special(v) ?? v.toFixed(PRECISION);
  }
  // As PyTorch, the common width comes from the nonzero finite values only: nan and inf may
  // stick out, and zeros are padded like the rest.
  let width = 1;
  for (const v of finite) if (v !== 0) width = Math.max(width, format(v).length);
  return { format, width };
}

/** Indices kept along an axis of size n: all, or the first and last EDGE_ITEMS with a gap (-1). */
function keptIndices(n: number, summarize: boolean): number[] {
  if (!summarize || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: EDGE_ITEMS }, (_, i) => i), -1, ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)];
}

export function formatTensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType): string {
  const size = values.length;
  const suffix = dtype === 'int32' ? ', dtype=int32' : '';
  if (size === 0) return shape.length === 1 ? `tensor([]${suffix})` : `tensor([], size=(${shape.join(', ')})${shape.length === 1 ? ',' : ''}${suffix})`;
  const summarize = size > THRESHOLD;
  const strides: number[] = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  // The formatter sees only the values that will be printed, as PyTorch's does.
  const shown: number[] = [];
  const visit = (axis: number, offset: number): void => {
    if (axis === shape.length) {
      shown.push(values[offset]);
      return;
    }
    for (const i of keptIndices(shape[axis], summarize)) if (i >= 0) visit(axis + 1, offset + i * strides[axis]);
  };
  visit(0, 0);
  const { format, width } = makeFormatter(shown, dtype);
  const cell = (v: number): string => format(v).padStart(width);
  const prefix = 'tensor(';
  if (shape.length === 0) return `${prefix}${format(values[0])}${suffix})`;
  const render = (axis: number, offset: number, indent: number): string => {
    const kept = keptIndices(shape[axis], summarize);
    if (axis === shape.length - 1) {
      const cells = kept.map((i) => (i < 0 ? ' ...' : cell(values[offset + i])));
      // Wrap long rows like PyTorch: as many cells per line as fit in LINE_WIDTH.
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < cells.length; i += perLine) lines.push(cells.slice(i, i + perLine).join(', '));
      return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
    }
    const rows = kept.map((i) => (i < 0 ? '...' : render(axis + 1, offset + i * strides[axis], indent + 1)));
    const separator = ',' + '\n'.repeat(shape.length - axis - 1) + ' '.repeat(indent + 1);
    return `[${rows.join(separator)}]`;
  };
  return `${prefix}${render(0, 0, prefix.length)}${suffix})`;
}
