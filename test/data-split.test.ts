import { expect } from 'chai';
import { evalBatches, evalUsers, leaveOneOutSplit, type Dataset } from '../src/data/index.js';
import { trainThroughValid } from '../src/data/split.js';

/** Users: 0 has 7 items, 1 has 3, 2 has 2 (train only), 3 has 1 (train only), 4 has 4. */
function fixture(withTime: boolean): Dataset {
  const sequences = [[1, 2, 3, 4, 5, 6, 7], [3, 2, 1], [4, 5], [6], [7, 1, 7, 2]].map((s) => Int32Array.from(s));
  return {
    name: 'fixture',
    numItems: 7,
    users: ['a', 'b', 'c', 'd', 'e'],
    sequences,
    timestamps: withTime ? sequences.map((s, u) => Float64Array.from(s, (_, j) => 1000 * (u + 1) + 10 * j)) : null,
    itemIds: ['', '1', '2', '3', '4', '5', '6', '7'],
    remapped: false,
  };
}

const rows = (a: BigInt64Array, width: number) => {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += width) out.push(Array.from(a.subarray(i, i + width), Number));
  return out;
};

describe('leave-one-out split (docs/models.md §1)', () => {
  it('splits train/valid/test and leaves short histories as train only', () => {
    const sp = leaveOneOutSplit(fixture(false));
    expect(sp.train.map((t) => Array.from(t))).to.deep.equal([[1, 2, 3, 4, 5], [3], [4, 5], [6], [7, 1]]);
    expect(Array.from(sp.valid)).to.deep.equal([6, 2, 0, 0, 7]);
    expect(Array.from(sp.test)).to.deep.equal([7, 1, 0, 0, 2]);
    expect(sp.summary).to.deep.equal({ users: 5, evalUsers: 3, excludedFromEval: 2, trainableUsers: 3, trainInteractions: 11 });
    expect(sp.trainTs).to.equal(null);
    expect(sp.validTs).to.equal(null);
  });

  it('splits timestamps alongside', () => {
    const sp = leaveOneOutSplit(fixture(true));
    expect(Array.from(sp.trainTs![0])).to.deep.equal([1000, 1010, 1020, 1030, 1040]);
    expect(Array.from(sp.validTs!)).to.deep.equal([1050, 2010, 0, 0, 5020]);
    expect(Array.from(sp.testTs!)).to.deep.equal([1060, 2020, 0, 0, 5030]);
  });
});

describe('trainThroughValid (training on everything but the test item)', () => {
  it('appends each evaluated user\'s validation item and timestamp, leaving short users and the split itself alone', () => {
    const sp = leaveOneOutSplit(fixture(true));
    const t = trainThroughValid(sp);
    expect(t.train.map((s) => Array.from(s))).to.deep.equal([[1, 2, 3, 4, 5, 6], [3, 2], [4, 5], [6], [7, 1, 7]]);
    expect(Array.from(t.trainTs![4])).to.deep.equal([5000, 5010, 5020]);
    expect(t.summary).to.include({ trainableUsers: 4, trainInteractions: 14 });
    expect(Array.from(t.test)).to.deep.equal([7, 1, 0, 0, 2]);
    expect(sp.train.map((s) => s.length)).to.deep.equal([5, 1, 2, 1, 2]);
  });
});

describe('evaluation inputs (docs/evaluation.md "Input row")', () => {
  it('evaluates only users with a target and |train| >= 1', () => {
    const sp = leaveOneOutSplit(fixture(false));
    expect(Array.from(evalUsers(sp, 'test'))).to.deep.equal([0, 1, 4]);
    expect(Array.from(evalUsers(sp, 'valid'))).to.deep.equal([0, 1, 4]);
  });

  it('test: seq = last L of train + [valid], ts_ext[L] = ts(test)', () => {
    const sp = leaveOneOutSplit(fixture(true));
    const batches = [...evalBatches(sp, { split: 'test', maxlen: 4, batchSize: 2, needTimestamps: true })];
    expect(batches.map((b) => b.n)).to.deep.equal([2, 1]);
    const seq = batches.flatMap((b) => rows(b.seq, 4));
    expect(seq).to.deep.equal([
      [3, 4, 5, 6],
      [0, 0, 3, 2],
      [0, 7, 1, 7],
    ]);
    expect(batches.flatMap((b) => Array.from(b.targets))).to.deep.equal([7, 1, 2]);
    expect(batches.flatMap((b) => Array.from(b.users))).to.deep.equal([0, 1, 4]);
    expect(batches.flatMap((b) => rows(b.ts_ext!, 5))).to.deep.equal([
      [1020, 1030, 1040, 1050, 1060],
      [0, 0, 2000, 2010, 2020],
      [0, 5000, 5010, 5020, 5030],
    ]);
  });

  it('valid: seq = last L of train, target = valid, ts_ext[L] = ts(valid)', () => {
    const sp = leaveOneOutSplit(fixture(true));
    const [b] = [...evalBatches(sp, { split: 'valid', maxlen: 3, batchSize: 10, needTimestamps: true })];
    expect(rows(b.seq, 3)).to.deep.equal([
      [3, 4, 5],
      [0, 0, 3],
      [0, 7, 1],
    ]);
    expect(Array.from(b.targets)).to.deep.equal([6, 2, 7]);
    expect(rows(b.ts_ext!, 4)).to.deep.equal([
      [1020, 1030, 1040, 1050],
      [0, 0, 2000, 2010],
      [0, 5000, 5010, 5020],
    ]);
  });

  it('gives zero ts_ext without timestamps, and evaluates a chosen subset', () => {
    const sp = leaveOneOutSplit(fixture(false));
    const [b] = [...evalBatches(sp, { split: 'test', maxlen: 2, batchSize: 8, needTimestamps: true, users: Int32Array.from([4]) })];
    expect(rows(b.seq, 2)).to.deep.equal([[1, 7]]);
    expect(rows(b.ts_ext!, 3)).to.deep.equal([[0, 0, 0]]);
    expect(() => [...evalBatches(sp, { split: 'test', maxlen: 2, batchSize: 8, users: Int32Array.from([2]) })]).to.throw(/no test target/);
  });
});
