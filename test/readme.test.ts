/** The README's quick example runs as written and prints what the README says. */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

describe('README', () => {
  it('the quick example runs as written', () => {
    const root = path.resolve(__dirname, '..', '..');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
    const example = blocks.find((b) => b[1] === 'js');
    const printed = blocks.find((b, i) => b[1] === '' && i > blocks.indexOf(example!));
    expect(example, 'a js block').to.not.equal(undefined);
    // Run from the package root, where require('cudnn-convnet') resolves to this package.
    const out = execFileSync(process.execPath, ['-e', example![2]], { cwd: root, encoding: 'utf8' });
    expect(out).to.match(/^first predictions: (\d+ ){7}\d+\n/);
    expect(out.split('\n').slice(1).join('\n')).to.equal(printed![2]);
  });
});
