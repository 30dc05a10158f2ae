/**
 * The harness's chart: one horizontal bar per case and thread count, the reference's time over
 * ours on a log scale centred on 1x (right of the line: we are faster; left: slower). Plain SVG,
 * no dependency; each bar carries data-* attributes (case, threads, ratio) for programs.
 */
import type { Row } from './harness';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2'];

export function ratioChart(title: string, groups: { name: string; reference: string; rows: Row[] }[]): string {
  const threads = [...new Set(groups.flatMap((g) => g.rows.map((r) => r.threads)))].sort((a, b) => a - b);
  // One line per case: the bars for each thread count stacked inside it.
  const lines: ({ header: string } | { group: string; reference: string; case: string; bars: { threads: number; ratio: number }[] })[] = [];
  for (const g of groups) {
    const byCase = new Map<string, { threads: number; ratio: number }[]>();
    for (const r of g.rows) {
      const ref = r.references[g.reference];
      if (!ref || !(r.ours.medianMs > 0)) continue;
      if (!byCase.has(r.case)) byCase.set(r.case, []);
      byCase.get(r.case)!.push({ threads: r.threads, ratio: ref.medianMs / r.ours.medianMs });
    }
    if (byCase.size === 0) continue;
    lines.push({ header: `${g.name} (beside ${g.reference})` });
    for (const [c, bars] of byCase) lines.push({ group: g.name, reference: g.reference, case: c, bars });
  }
  const barH = 9, headerH = 26, labelW = Math.min(420, 60 + 6.2 * Math.max(20, ...lines.map((l) => ('case' in l ? l.case.length : 0))));
  const plotW = 560, left = labelW + 10, top = 96, decades = 4; // 1/16x … 16x
  const caseH = barH * threads.length + 6;
  const height = top + lines.reduce((h, l) => h + ('header' in l ? headerH : caseH), 0) + 40;
  const width = left + plotW + 70;
  const x = (ratio: number) => left + plotW / 2 + (Math.log2(Math.min(16, Math.max(1 / 16, ratio))) / decades) * (plotW / 2);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#444">reference time / our time (log scale): right of 1x we are faster, left of it slower</text>`);
  threads.forEach((t, i) => {
    out.push(`<rect x="${left + i * 110}" y="50" width="12" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${left + i * 110 + 16}" y="59">${t} thread${t === 1 ? '' : 's'}</text>`);
  });
  const bottom = height - 30;
  for (let k = -decades; k <= decades; k++) {
    const r = 2 ** k, gx = x(r);
    out.push(`<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${bottom}" stroke="${k === 0 ? '#000' : '#ddd'}" stroke-width="${k === 0 ? 1.5 : 1}"/>`);
    const label = k >= 0 ? `${r}x` : `1/${2 ** -k}x`;
    out.push(`<text x="${gx}" y="${top - 12}" text-anchor="middle" fill="#444">${label}</text>`);
    out.push(`<text x="${gx}" y="${bottom + 14}" text-anchor="middle" fill="#444">${label}</text>`);
  }
  let y = top;
  for (const l of lines) {
    if ('header' in l) {
      out.push(`<text x="8" y="${y + 18}" font-size="13" font-weight="bold">${esc(l.header)}</text>`);
      y += headerH;
      continue;
    }
    out.push(`<text x="${labelW}" y="${y + caseH / 2 + 1}" text-anchor="end" dominant-baseline="middle">${esc(l.case)}</text>`);
    for (const b of l.bars) {
      const i = threads.indexOf(b.threads);
      const by = y + 3 + i * barH, x0 = x(1), x1 = x(b.ratio);
      out.push(`<rect data-group="${esc(l.group)}" data-case="${esc(l.case)}" data-threads="${b.threads}" data-ratio="${b.ratio.toFixed(4)}" ` +
        `x="${Math.min(x0, x1).toFixed(1)}" y="${by}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${barH - 1}" fill="${COLORS[i % COLORS.length]}"/>`);
      const clipped = b.ratio > 16 || b.ratio < 1 / 16 ? '…' : '';
      // Beyond the axis (clipped), the figure goes inside the bar's end, in white.
      const inside = clipped !== '';
      const tx = (b.ratio >= 1) !== inside ? x1 + 3 : x1 - 3;
      out.push(`<text x="${tx.toFixed(1)}" y="${by + barH - 1.5}" font-size="8.5" text-anchor="${(b.ratio >= 1) !== inside ? 'start' : 'end'}" fill="${inside ? '#fff' : '#333'}">${b.ratio.toFixed(2)}x${clipped}</text>`);
    }
    out.push(`<line x1="8" y1="${y + caseH}" x2="${left + plotW}" y2="${y + caseH}" stroke="#f2f2f2"/>`);
    y += caseH;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
