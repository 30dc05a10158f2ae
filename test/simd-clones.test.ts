/**
 * The SIMD clones of the CPU kernels (native/cpu/simd_clones.h), read off the addon's machine
 * code with objdump: every AVX-512 and AVX2 clone uses vector registers, and the AVX2 clone is
 * the one GCC picks by CPU features. Session 15 found the AVX2 clones of tanh, ELU, the
 * max/min reductions, the inf-norms, topk's block skip and the norms' row sums compiled as
 * scalar code (GCC lowers 64-byte vectors and some selects that way for AVX2), and every clone
 * named "arch=haswell", which GCC picks by CPU model: a CPU without AVX-512 that is not a
 * Haswell ran the baseline. A machine with AVX-512 runs only the AVX-512 clones, so only the
 * machine code can show the others (scripts/avx2-check.sh runs them).
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

function disassembly(): string | null {
  let file: string;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    file = process.env.CONVNET_ADDON ? path.resolve(process.env.CONVNET_ADDON) : (require('node-gyp-build').path(root) as string);
  } catch {
    return null;
  }
  try {
    return execFileSync('objdump', ['-d', '--no-show-raw-insn', '-C', file], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;  // no objdump (binutils) on this machine
  }
}

/** Each clone's name and how many of its instructions name a ymm or zmm register. */
function clones(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let name: string | null = null;
  let vector = 0;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+ <(.*)>:$/.exec(line);
    if (head) {
      if (name !== null) out.set(name, vector);
      name = /\[clone \.(avx512f|arch_x86_64_v3|arch_haswell)\]$/.test(head[1]) ? head[1] : null;
      vector = 0;
    } else if (name !== null && /%[yz]mm/.test(line)) {
      vector++;
    }
  }
  if (name !== null) out.set(name, vector);
  return out;
}

describe('SIMD clones (objdump of the addon)', function () {
  this.timeout(120000);
  let found: Map<string, number> | null = null;

  before(function () {
    if (process.arch !== 'x64' || process.platform !== 'linux') this.skip();
    const text = disassembly();
    if (text === null) this.skip();
    found = clones(text!);
  });

  it('the AVX2 clones are x86-64-v3 (picked by features), none arch=haswell (picked by CPU model)', () => {
    const names = [...found!.keys()];
    expect(names.filter((n) => n.endsWith('[clone .arch_x86_64_v3]')).length).to.be.greaterThan(50);
    expect(names.filter((n) => n.endsWith('[clone .arch_haswell]'))).to.deep.equal([]);
  });

  it('every AVX-512 and AVX2 clone uses vector registers', () => {
    const scalar = [...found!].filter(([, vector]) => vector === 0).map(([name]) => name);
    expect(scalar, 'clones compiled as scalar code').to.deep.equal([]);
  });
});
