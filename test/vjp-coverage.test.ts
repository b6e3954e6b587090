import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { registeredVjpOps } from '../src/compiler/vjp/registry.js';
import '../src/compiler/vjp/all.js';
import { ALL_VJP_TESTED_OPS, VJP_TESTED_OPS } from './helpers/vjp-coverage.js';

const testDir = new URL('.', import.meta.url);

describe('VJP coverage', () => {
  it('every registered VJP rule is in the list of gradient-checked ops', () => {
    const missing = registeredVjpOps().filter((op) => !ALL_VJP_TESTED_OPS.includes(op));
    expect(missing, 'VJP rules without a gradient check: add a checkVjp test and list the op in test/helpers/vjp-coverage.ts').to.deep.equal([]);
  });

  it('the list names only registered ops, each once', () => {
    const registered = new Set(registeredVjpOps());
    expect(ALL_VJP_TESTED_OPS.filter((op) => !registered.has(op))).to.deep.equal([]);
    expect(new Set(ALL_VJP_TESTED_OPS).size).to.equal(ALL_VJP_TESTED_OPS.length);
  });

  it("each listed op has a checkVjp('<Op>', ...) call in test/vjp-<family>.test.ts", () => {
    const files = readdirSync(testDir).filter((f) => /^vjp-.*\.test\.ts$/.test(f));
    for (const [family, ops] of Object.entries(VJP_TESTED_OPS)) {
      const file = `vjp-${family}.test.ts`;
      expect(files, `test/${file}`).to.include(file);
      const src = readFileSync(new URL(file, testDir), 'utf8');
      const checked = new Set([...src.matchAll(/checkVjp\('([A-Za-z]+)'/g)].map((m) => m[1]));
      for (const op of ops) expect(checked.has(op), `${op} has no checkVjp call in test/${file}`).to.equal(true);
    }
  });

  it('builder, VJP rule and test of an op share one family name (src/dsl/ops/<family>.ts, src/compiler/vjp/<family>.ts)', () => {
    for (const [family, ops] of Object.entries(VJP_TESTED_OPS)) {
      const builder = readFileSync(new URL(`../src/dsl/ops/${family}.ts`, testDir), 'utf8');
      const rules = readFileSync(new URL(`../src/compiler/vjp/${family}.ts`, testDir), 'utf8');
      for (const op of ops) {
        expect(builder.includes(`'${op}'`), `${op}: no builder in src/dsl/ops/${family}.ts`).to.equal(true);
        expect(rules.includes(`'${op}'`), `${op}: no VJP rule in src/compiler/vjp/${family}.ts`).to.equal(true);
      }
    }
  });
});
