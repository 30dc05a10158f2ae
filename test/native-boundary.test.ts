/**
 * The addon must never crash the process, whatever it is handed: every native function, called
 * directly with missing or wrong arguments, throws a ConvnetError with a code.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { describe as describeValue } from '../lib/validate';

describe('the native boundary', () => {
  const junk: unknown[] = [undefined, null, 0, -1, 1.5, NaN, Infinity, 'x', {}, [], [-1], [1e300], [NaN], () => 1, new Float64Array(2), Symbol('s')];

  it('every native function refuses junk arguments with a ConvnetError, never a crash', () => {
    const t = cc.ones([2, 2]);
    const handle = t.handle();
    const names = Object.keys(native).filter((k) => typeof (native as unknown as Record<string, unknown>)[k] === 'function');
    expect(names.length).to.be.above(30);
    let calls = 0;
    for (const name of names) {
      if (name === 'init') continue;
      const fn = (native as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
      for (const a of junk) {
        for (const args of [[a], [a, a, a, a], [handle, a, a, a], [0, a, a, a], [a, handle, handle, a]]) {
          calls++;
          try {
            const r = fn(...args);
            // A few calls are valid (memory(), sync(), getNumThreads()...): they may return.
            if (r instanceof Promise) r.catch(() => undefined);
          } catch (e) {
            expect(e, `${name}(${args.map(show).join(", ")})`).to.be.instanceOf(cc.ConvnetError);
            expect((e as cc.ConvnetError).code).to.match(/^E_[A-Z]+$/);
          }
        }
      }
    }
    expect(calls).to.be.above(1000);
    // Still alive and computing (on a fresh tensor: the in-place fills, fillInto(handle, Infinity)
    // among them, may validly have written into t).
    expect(Array.from(cc.add(cc.ones([2, 2]), 1).dataSync())).to.deep.equal([2, 2, 2, 2]);
  });

  it('a released handle is refused with E_DISPOSED', () => {
    const t = cc.ones([2]);
    const h = t.handle();
    native.release(h);
    try {
      native.unary(0, h);
      expect.fail('expected E_DISPOSED');
    } catch (e) {
      expect((e as cc.ConvnetError).code).to.equal('E_DISPOSED');
    }
    t.dispose(); // the JS side notices nothing wrong: releasing twice is harmless
  });

  it('a handle outlives its tensor harmlessly: the next tensor in its slot is not reached through it (handles are numbers)', () => {
    const before = cc.memory().tensors;
    const stale: unknown[] = [];
    const alive: cc.Tensor[] = [];
    // Released slots are reused last in first out: each new tensor takes the slot just freed.
    for (let i = 0; i < 50; i++) {
      const t = cc.full([3], i);
      stale.push(t.handle());
      t.dispose();
      alive.push(cc.full([3], 100 + i));
    }
    expect(cc.memory().tensors).to.equal(before + 50);
    for (const h of stale) {
      expect(typeof h).to.equal('number');
      expect(() => native.unary(0, h as never)).to.throw(cc.ConvnetError).with.property('code', 'E_DISPOSED');
      native.release(h as never); // a stale handle: nothing happens to the slot's new tensor
    }
    alive.forEach((t, i) => expect(Array.from(t.dataSync())).to.deep.equal([100 + i, 100 + i, 100 + i]));
    expect(cc.memory().tensors).to.equal(before + 50);
    for (const t of alive) t.dispose();
    expect(cc.memory().tensors).to.equal(before);
  });

  it('numbers that were never handles are E_ARG: small integers, fractions, negatives, beyond 2^53', () => {
    const live = cc.ones([2]);
    const h = live.handle() as unknown as number;
    for (const v of [0, 1, 2 ** 22 - 1, -h, 2 ** 22 + 0.5, 2 ** 53, Number.MAX_VALUE, -0, NaN, Infinity]) {
      expect(() => native.unary(0, v as never), String(v)).to.throw(cc.ConvnetError).with.property('code', 'E_ARG');
      expect(() => native.release(v as never), String(v)).to.throw(cc.ConvnetError).with.property('code', 'E_ARG');
    }
    expect(Array.from(live.dataSync())).to.deep.equal([1, 1]);
    live.dispose();
  });

  // concat takes its tensors' handles in a Float64Array (read without one call per element).
  it('concat refuses a list of handles that is not a Float64Array of live handles, naming the problem', () => {
    const a = cc.ones([2]), gone = cc.ones([2]);
    const h = a.handle(), stale = gone.handle();
    gone.dispose();
    for (const list of [[h, h], new Float32Array([1, 2]), new Float64Array(0), 'x', null]) {
      expect(() => native.concat(list as never, 0), describeValue(list)).to.throw(cc.ConvnetError).with.property('code', 'E_ARG');
    }
    for (const v of [NaN, 2 ** 22 + 0.5, -h, 0]) {
      expect(() => native.concat(new Float64Array([h, v]), 0), String(v)).to.throw(cc.ConvnetError).with.property('code', 'E_ARG');
    }
    expect(() => native.concat(new Float64Array([h, stale]), 0)).to.throw(cc.ConvnetError).with.property('code', 'E_DISPOSED');
    const joined = native.concat(new Float64Array([h, h]), 0);
    expect(Array.from(native.readSync(joined))).to.deep.equal([1, 1, 1, 1]);
    native.release(joined);
    a.dispose();
  });

  it('an impossible allocation is E_OOM at the call site, and the process goes on', () => {
    try {
      cc.zeros([2 ** 26, 2 ** 26]);
      expect.fail('expected E_OOM');
    } catch (e) {
      expect((e as cc.ConvnetError).code).to.equal('E_OOM');
    }
    expect(cc.ones([2]).sum().item()).to.equal(2);
  });

  it('more CPU memory than the machine has is E_OOM, not a process killed while filling it', () => {
    const physical = require('os').totalmem() as number;
    const n = Math.ceil((physical * 1.5) / 4);
    try {
      cc.zeros([n]);
      expect.fail('expected E_OOM');
    } catch (e) {
      expect((e as cc.ConvnetError).code).to.equal('E_OOM');
      expect((e as cc.ConvnetError).message).to.match(/more than the machine has/);
    }
    expect(cc.ones([2]).sum().item()).to.equal(2);
  });
});

describe('the native layer: memory held together', () => {
  it('tensors that would together pass the machine\'s memory are E_OOM, each alone allowed', () => {
    const { native } = require('../lib/native');
    const n = Math.ceil((require('os').totalmem() * 0.6) / 4);
    const a = native.empty([n], 0, 0);                 // untouched pages: nothing is used yet
    try {
      native.empty([n], 0, 0);
      expect.fail('expected E_OOM');
    } catch (e) {
      expect((e as cc.ConvnetError).code).to.equal('E_OOM');
      expect((e as cc.ConvnetError).message).to.match(/while tensors hold \d+ bytes, more than the machine has together/);
    } finally {
      native.release(a);
    }
    expect(cc.ones([2]).sum().item()).to.equal(2);
  });
});

function show(v: unknown): string {
  try {
    return typeof v === 'symbol' ? 'Symbol' : Array.isArray(v) ? `[${v.map(show).join(',')}]` : typeof v === 'object' && v !== null ? Object.prototype.toString.call(v) : String(v);
  } catch {
    return typeof v;
  }
}
