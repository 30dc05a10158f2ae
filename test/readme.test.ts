/** The README's examples run as written; the quick example prints what the README says. */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
const jsBlocks = blocks.filter((b) => b[1] === 'js');

// Run from the package root, where require('cudnn-convnet') resolves to this package.
const run = (code: string) => execFileSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', stdio: 'pipe' });

describe('README', function () {
  this.timeout(60000);

  it('the quick example runs as written and prints what the README shows', () => {
    const example = jsBlocks[0];
    const printed = blocks.find((b, i) => b[1] === '' && i > blocks.indexOf(example));
    const out = run(example[2]);
    expect(out).to.match(/^first predictions: (\d+ ){7}\d+\n/);
    expect(out.split('\n').slice(1).join('\n')).to.equal(printed![2]);
  });

  it(`every other js example runs as written (${jsBlocks.length - 1})`, () => {
    expect(jsBlocks.length).to.be.at.least(6);
    for (const block of jsBlocks.slice(1)) {
      try {
        run(block[2]);
      } catch (e) {
        expect.fail(`README example failed:\n${block[2]}\n${(e as { stderr?: string }).stderr ?? e}`);
      }
    }
  });
});
