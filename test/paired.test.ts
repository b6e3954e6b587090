// Per-user ranks on disk and the paired comparison of two rankings (bench/paired.ts).
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairedDifference, userMetric } from '../src/eval/paired.js';
import { readUserRanks, writeUserRanks } from '../src/report/user-ranks.js';

const rows = (ranks: Record<string, number>) => Object.entries(ranks).map(([user, rank]) => ({ user, target: `t${user}`, rank }));

describe('paired comparison of two rankings', () => {
  it('per-user metric values follow metrics.ts: HR@k = [rank < k], NDCG@k = 1/log2(rank + 2) inside the top k, MRR = 1/(rank + 1)', () => {
    expect(userMetric('hr@10', 9)).to.equal(1);
    expect(userMetric('hr@10', 10)).to.equal(0);
    expect(userMetric('ndcg@10', 0)).to.equal(1);
    expect(userMetric('ndcg@10', 2)).to.equal(0.5);
    expect(userMetric('ndcg@10', 10)).to.equal(0);
    expect(userMetric('mrr', 3)).to.equal(0.25);
    expect(() => userMetric('recall@10', 0)).to.throw(RangeError, "unknown metric 'recall@10'");
  });

  it('difference and standard error by hand: HR@10 per user a = (1, 0, 1), b = (1, 1, 0)', () => {
    // d = (0, 1, −1): mean 0, sample sd 1, SE 1/√3.
    const c = pairedDifference(rows({ u1: 0, u2: 20, u3: 5 }), rows({ u1: 0, u2: 3, u3: 50 }), ['hr@10', 'mrr']);
    expect(c.users).to.equal(3);
    const hr = c.metrics[0];
    expect([hr.a, hr.b, hr.diff]).to.deep.equal([2 / 3, 2 / 3, 0]);
    expect(hr.se).to.be.closeTo(1 / Math.sqrt(3), 1e-15); // float rounding of a 3-term sum only
    const mrr = c.metrics[1];
    expect(mrr.diff).to.be.closeTo((0 + (1 / 4 - 1 / 21) + (1 / 51 - 1 / 6)) / 3, 1e-15);
  });

  it('pairs users by id: users in one file only are counted, not compared', () => {
    const c = pairedDifference(rows({ a: 0, b: 0, x: 99 }), rows({ b: 50, a: 0, y: 0 }), ['hr@10']);
    expect([c.users, c.onlyA, c.onlyB]).to.deep.equal([2, 1, 1]);
    expect(c.metrics[0].diff).to.equal(-0.5);
  });

  it('refuses rankings of different splits (a user with two targets) and rankings with no common user', () => {
    expect(() => pairedDifference([{ user: 'u', target: '1', rank: 0 }], [{ user: 'u', target: '2', rank: 0 }], ['hr@10'])).to.throw('user u has target 1 in one file and 2 in the other');
    expect(() => pairedDifference(rows({ a: 0 }), rows({ b: 0 }), ['hr@10'])).to.throw('no user in common');
  });
});

describe('per-user rank files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reclm-user-ranks-'));

  it('round-trip ids exactly: leading zeros, commas, quotes, non-ASCII', () => {
    const written = [
      { user: '007', target: '0042', rank: 0 },
      { user: 'a,b', target: 'say "hi"', rank: 17 },
      { user: 'café', target: '1e3', rank: 3705 },
    ];
    const file = join(dir, 'ok.csv');
    writeUserRanks(file, written);
    expect(readUserRanks(file)).to.deep.equal(written);
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n`); // a blank last line is not a row
    expect(readUserRanks(file)).to.deep.equal(written);
  });

  it('bad files: one line naming the file and line', () => {
    const cases: [string, string][] = [
      ['user,item,rank\n1,2,3\n', 'bad-header.csv:1: expected the header user,target,rank (reclm eval --ranks), got user,item,rank'],
      ['user,target,rank\n1,2,3\n2,5,-1\n', 'bad-rank.csv:3: expected a rank (an integer ≥ 0), got \'-1\''],
      ['user,target,rank\n1,2,3\n1,5,1\n', 'twice.csv:3: user 1 is listed twice'],
      ['user,target,rank\n1,2,3\n2,5\n', 'no-rank.csv:3: expected a rank (an integer ≥ 0), got \'undefined\''],
    ];
    for (const [text, message] of cases) {
      const file = join(dir, message.split(':')[0]);
      writeFileSync(file, text);
      expect(() => readUserRanks(file)).to.throw(`${file}:${message.slice(message.indexOf(':') + 1)}`);
    }
  });
});
