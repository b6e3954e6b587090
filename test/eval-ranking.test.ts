// The ranking step: rankSplit against hand-computed metrics (ties, padding, both protocols), and
// evaluate() / `reclm eval` end to end on a tiny trained model, including data with users too
// short to evaluate and items the model has never seen.
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Eval from '../src/commands/eval.js';
import { EvalBatch } from '../src/data/eval-inputs.js';
import { readDataset } from '../src/data/read.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import { Dataset } from '../src/data/types.js';
import { evaluate, type EvaluateOptions } from '../src/eval/evaluate.js';
import { rankSplit } from '../src/eval/rank.js';
import { Scorer } from '../src/eval/scorer.js';
import { plainText, runCommand } from './helpers/cli.js';
import { tinyData } from './helpers/tiny-run.js';
import { trainTinyOn } from './helpers/trained.js';

// Metrics are means of a few float64 terms computed with the same formulas; 1e-12 only absorbs
// a different summation order.
const close = (actual: Record<string, number>, expected: Record<string, number>) => {
  expect(Object.keys(actual).sort()).to.deep.equal(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) expect(actual[k], k).to.be.closeTo(v, 1e-12);
};
const gain = (rank: number) => 1 / Math.log2(rank + 2);

/**
 * V = 6, histories (leave-one-out: train | valid | test):
 *   u0 [1 2 3 | 4 | 5]   u1 [2 3 | 6 | 1]   u2 [5 1 2 3 | 4 | 5]   u5 [1 2 6 | 5 | 3]
 *   u3 [3 4] and u4 [6]: fewer than 3 interactions, excluded from evaluation.
 * One fixed score row per user; column 0 (padding) is the largest score and must never count.
 */
const V = 6;
const HISTORIES = [[1, 2, 3, 4, 5], [2, 3, 6, 1], [5, 1, 2, 3, 4, 5], [3, 4], [6], [1, 2, 6, 5, 3]];
const ROWS: Record<number, number[]> = {
  0: [100, 0.9, 0.5, 0.5, 0.2, 0.5, 0.1],
  1: [100, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
  2: [100, 0.95, 0.95, 0.95, 0.9, 0.5, 0.8],
  5: [100, 0.7, 0.8, 0.6, 0.1, 0.2, 0.9],
};

function handData(): Dataset {
  return {
    name: 'hand', numItems: V, users: HISTORIES.map((_, u) => `u${u}`), sequences: HISTORIES.map((h) => Int32Array.from(h)),
    timestamps: null, itemIds: ['', '1', '2', '3', '4', '5', '6'], remapped: false,
  };
}

/** Returns each user's fixed row and records what it was asked to score. */
class FakeScorer implements Scorer {
  readonly maxlen = 4;
  readonly numItems = V;
  readonly needsTimestamps = false;
  readonly seen = new Map<number, number[]>();

  constructor(private readonly rows: Record<number, number[]> = ROWS) {}

  async score(batch: EvalBatch): Promise<Float32Array> {
    const out = new Float32Array(batch.n * (V + 1));
    for (let b = 0; b < batch.n; b++) {
      const u = batch.users[b];
      this.seen.set(u, Array.from(batch.seq.subarray(b * this.maxlen, (b + 1) * this.maxlen), Number));
      out.set(this.rows[u], b * (V + 1));
    }
    return out;
  }

  async release(): Promise<void> {}
}

describe('ranking step (rankSplit) against hand-computed metrics', () => {
  const split = leaveOneOutSplit(handData());

  it('full ranking with --keep-seen, test split: rank = other items scoring >= the target; padding does not count', async () => {
    const scorer = new FakeScorer();
    const m = await rankSplit(scorer, split, { split: 'test', ks: [1, 2, 5, 6], batchSize: 3, keepSeen: true });
    // Test targets 5, 1, 5, 3. u0: item 1 (0.9) is above 0.5 and items 2, 3 tie -> rank 3.
    // u1: everything ties -> last, 5. u2: items 1, 2, 3, 4, 6 beat 0.5 -> 5. u5: items 1, 2, 6 beat 0.6 -> 3.
    const ranks = [3, 5, 5, 3];
    close(m, {
      users: 4,
      'hr@1': 0, 'ndcg@1': 0,
      'hr@2': 0, 'ndcg@2': 0,
      'hr@5': 2 / 4, 'ndcg@5': (2 * gain(3)) / 4,
      'hr@6': 1, 'ndcg@6': ranks.reduce((a, r) => a + gain(r), 0) / 4,
      mrr: (1 / 4 + 1 / 6 + 1 / 6 + 1 / 4) / 4,
    });
    // The model saw train + [valid], left padded to maxlen 4; short users were never scored.
    expect(Object.fromEntries(scorer.seen)).to.deep.equal({ 0: [1, 2, 3, 4], 1: [0, 2, 3, 6], 2: [1, 2, 3, 4], 5: [1, 2, 6, 5] });
  });

  it('full ranking (default): the items of the input sequence are not candidates', async () => {
    const m = await rankSplit(new FakeScorer(), split, { split: 'test', ks: [1, 2], batchSize: 3 });
    // Inputs as in the test above. u0 [1 2 3 4] -> only item 6 (0.1) is left besides target 5 -> rank 0.
    // u1 [2 3 6] -> candidates 4 and 5 tie with target 1 -> 2. u2 [1 2 3 4] -> item 6 (0.8) beats 0.5 -> 1.
    // u5 [1 2 6 5] -> item 4 (0.1) < 0.6 -> 0.
    close(m, { users: 4, 'hr@1': 2 / 4, 'ndcg@1': 2 / 4, 'hr@2': 3 / 4, 'ndcg@2': (2 + gain(1)) / 4, mrr: (1 + 1 / 3 + 1 / 2 + 1) / 4 });
  });

  it('full ranking with --keep-seen, valid split: the second to last item against the train prefix', async () => {
    const scorer = new FakeScorer();
    const m = await rankSplit(scorer, split, { split: 'valid', ks: [1, 4], keepSeen: true });
    // Valid targets 4, 6, 4, 5: ranks 4 (items 1, 2, 3, 5), 5 (ties), 3 (items 1, 2, 3), 4 (items 1, 2, 3, 6).
    close(m, { users: 4, 'hr@1': 0, 'ndcg@1': 0, 'hr@4': 1 / 4, 'ndcg@4': gain(3) / 4, mrr: (1 / 5 + 1 / 6 + 1 / 4 + 1 / 5) / 4 });
    expect(Object.fromEntries(scorer.seen)).to.deep.equal({ 0: [0, 1, 2, 3], 1: [0, 0, 2, 3], 2: [5, 1, 2, 3], 5: [0, 1, 2, 6] });
  });

  it('stops on a NaN score, naming the user id from the file', async () => {
    for (const [u, item] of [[2, 6], [5, 5]]) {
      const rows = { ...ROWS, [u]: ROWS[u].map((v, i) => (i === item ? NaN : v)) };
      await rankSplit(new FakeScorer(rows), split, { split: 'test', ks: [1] }).then(
        () => expect.fail('expected an error'),
        (e) => expect((e as Error).message).to.equal(`the model scored item ${item} of user u${u} as NaN; a ranking of non-finite scores means nothing (the model has diverged or its weights are broken)`),
      );
    }
  });

  it('does not depend on the batch size', async () => {
    for (const keepSeen of [false, true]) {
      const results = [];
      for (const batchSize of [1, 2, 4, 256]) results.push(await rankSplit(new FakeScorer(), split, { split: 'test', ks: [1, 3], batchSize, keepSeen }));
      for (const r of results) expect(r).to.deep.equal(results[0]);
    }
  });

  it('sampled protocol (--negatives): negatives come only from items outside the train prefix', async () => {
    // The rows make every draw give the same rank: negatives for u0 are 4, 5 (the target itself,
    // not another candidate) or 6, all below the target's score -> 0; u1's target 1 is above all
    // -> 0; u2 can only draw 4 and 6, both above the target -> rank = number of negatives; u5 draws
    // 3 (the target), 4 or 5 -> 0. Full ranking counted the high-scoring train items of u2 and u5.
    const rows = { ...ROWS, 1: [100, 0.9, 0.3, 0.3, 0.3, 0.3, 0.3] };
    for (const seed of [0, 7]) {
      const m = await rankSplit(new FakeScorer(rows), split, { split: 'test', ks: [1, 2, 3], negatives: 2, seed });
      close(m, { users: 4, 'hr@1': 3 / 4, 'ndcg@1': 3 / 4, 'hr@2': 3 / 4, 'ndcg@2': 3 / 4, 'hr@3': 1, 'ndcg@3': (3 + gain(2)) / 4, mrr: (3 + 1 / 3) / 4 });
    }
  });

  it('refuses --negatives larger than a user\'s candidate pool before scoring anything', async () => {
    // u2's train prefix {5, 1, 2, 3} leaves 2 of the 6 items; u0 and u5 leave 3.
    const scorer = new FakeScorer();
    await rankSplit(scorer, split, { split: 'test', negatives: 3 }).then(
      () => expect.fail('expected an error'),
      (e) => expect((e as Error).message).to.equal('--negatives 3 is larger than the candidate pool of user u2 (6 items minus 4 in its history = 2); use at most 2, or full ranking (--negatives 0)'),
    );
    expect(scorer.seen.size).to.equal(0);
  });

  it('refuses a scorer for another catalogue size', async () => {
    const other = leaveOneOutSplit({ ...handData(), numItems: 7, itemIds: ['', '1', '2', '3', '4', '5', '6', '7'] });
    await rankSplit(new FakeScorer(), other, { split: 'test' }).then(
      () => expect.fail('expected an error'),
      (e) => expect((e as Error).message).to.match(/scores 6 items but the data has 7/),
    );
  });
});

describe('evaluate() and `reclm eval` end to end', function () {
  this.timeout(60000);
  // Item ids in the files are 1000 + 7i: not 1..V, so reading remaps them and the model's
  // items.json is what lines the evaluation file up with the score columns.
  const fileId = (i: number) => String(1000 + 7 * i);
  const tmp = mkdtempSync(join(tmpdir(), 'reclm-evaltest-'));
  const clean = join(tmp, 'clean.txt');
  const dirty = join(tmp, 'dirty.txt');
  let dir: string;
  let unknownLines = 0;
  const base: Omit<EvaluateOptions, 'data'> = { model: '', split: 'test', negatives: 0, ks: [5, 10], batchSize: 32, seed: 0, threads: 1 };

  before(async () => {
    const ds = tinyData();
    const lines: string[] = [];
    const dirtyLines: string[] = [];
    ds.sequences.forEach((seq, u) => {
      seq.forEach((item, j) => {
        const line = `${ds.users[u]} ${fileId(item)} ${ds.timestamps![u][j]}`;
        lines.push(line);
        dirtyLines.push(line);
        // Items the model never saw, inside some histories: dropping them restores the clean ones.
        if (u % 10 === 3 && j === 1) {
          dirtyLines.push(`${ds.users[u]} 99999 ${ds.timestamps![u][j]}`, `${ds.users[u]} 88888 ${ds.timestamps![u][j]}`);
          unknownLines += 2;
        }
      });
    });
    // Users too short to evaluate: 1 and 2 known items, and 3 interactions that are all unknown.
    dirtyLines.push(`500 ${fileId(1)} 1700000000`, `501 ${fileId(2)} 1700000000`, `501 ${fileId(3)} 1700000001`);
    dirtyLines.push('502 77777 1700000000', '502 77777 1700000001', '502 99999 1700000002');
    unknownLines += 3;
    writeFileSync(clean, lines.join('\n') + '\n');
    writeFileSync(dirty, dirtyLines.join('\n') + '\n');
    const data = readDataset(clean);
    expect(data.remapped).to.equal(true);
    dir = await trainTinyOn('llama-sasrec', data);
    base.model = dir;
  });

  it('counts short users as excluded and drops unknown items with a count, giving the clean file\'s metrics', async () => {
    const a = await evaluate({ ...base, data: clean });
    expect(a.users).to.equal(120);
    expect(a.excludedUsers).to.equal(0);
    expect(a.unknown).to.deep.equal({ unknownInteractions: 0, unknownItems: 0, evaluable: 120, lostTargets: 0 });
    expect(a.warnings).to.deep.equal([]);
    expect(a.numItems).to.equal(60);
    const b = await evaluate({ ...base, data: dirty });
    // User 502's three interactions are all unknown: evaluable in the file, lost to the item map.
    expect(b.unknown).to.deep.equal({ unknownInteractions: unknownLines, unknownItems: 3, evaluable: 121, lostTargets: 1 });
    expect(b.excludedUsers).to.equal(2);
    expect(b.users).to.equal(120);
    // The same histories reach the model in the same order: identical ranks, identical metrics.
    expect(b.metrics).to.deep.equal(a.metrics);
    expect(a.metrics['hr@10']).to.be.at.least(a.metrics['hr@5']);
    expect(a.metrics.mrr).to.be.within(0, 1);
    // Keeping the seen items only adds candidates, so no rank can improve; most users' windows hold
    // items the model scores above their target, so MRR must drop.
    const kept = await evaluate({ ...base, data: clean, keepSeen: true });
    expect(kept.protocol).to.equal('full ranking over 60 items, seen items kept');
    expect(kept.metrics.mrr).to.be.below(a.metrics.mrr);
    expect(kept.metrics['hr@10']).to.be.at.most(a.metrics['hr@10']);
    expect(kept.popularity.mrr).to.be.at.most(a.popularity.mrr);
  });

  it('the sampled protocol runs on the same model, with its popularity baseline', async () => {
    const r = await evaluate({ ...base, data: clean, negatives: 20, ks: [1, 10] });
    expect(r.protocol).to.match(/sampled: target \+ 20 negatives/);
    expect(r.users).to.equal(120);
    expect(r.metrics['hr@10']).to.be.within(r.metrics['hr@1'], 1);
    expect(Object.keys(r.popularity).sort()).to.deep.equal(['hr@1', 'hr@10', 'mrr', 'ndcg@1', 'ndcg@10', 'users']);
  });

  it('`reclm eval --json` prints one object with the documented keys, and warns about unknown items on stderr', async () => {
    const r = await runCommand(Eval, [dir, '--data', dirty, '--json', '--k', '5,10', '--threads', '1']);
    expect(r.error, r.error?.message).to.equal(undefined);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).to.deep.equal(
      ['data', 'excluded_users', 'hr@10', 'hr@5', 'lost_targets', 'model', 'mrr', 'ndcg@10', 'ndcg@5', 'num_items', 'popularity', 'protocol', 'seconds', 'split', 'unknown_interactions', 'unknown_items', 'users', 'warnings'].sort(),
    );
    // The warnings printed on stderr, also in the JSON (the first: this file is not the one the run trained on).
    expect(out.warnings[0]).to.match(/dirty\.txt is not the data .* was trained on/);
    expect(out.warnings.slice(1)).to.deep.equal([`${unknownLines} interactions with 3 items the model has never seen were dropped`, '1 of 121 evaluable users are skipped: their test target or whole history is unknown to the model']);
    expect(out.users).to.equal(120);
    expect(out.excluded_users).to.equal(2);
    expect(out.lost_targets).to.equal(1);
    expect(out.unknown_interactions).to.equal(unknownLines);
    expect(out.unknown_items).to.equal(3);
    expect(out.model).to.equal(join(dir, 'inference.onnx'));
    expect(Object.keys(out.popularity).sort()).to.deep.equal(['hr@10', 'hr@5', 'mrr', 'ndcg@10', 'ndcg@5']);
    expect(plainText(r.stderr)).to.include(`Warning: ${unknownLines} interactions with 3 items the model has never seen were dropped`);
    expect(plainText(r.stderr)).to.include('Warning: 1 of 121 evaluable users are skipped: their test target or whole history is unknown to the model');
  });

  it('`reclm eval` prints a table of the model next to the most-popular baseline', async () => {
    const r = await runCommand(Eval, [join(dir, 'inference.onnx'), '--data', clean, '--k', '5', '--threads', '1']);
    expect(r.error, r.error?.message).to.equal(undefined);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^test split, full ranking over 60 items, items of the input sequence excluded: 120 users \(0 with fewer than 3 interactions excluded\)$/);
    expect(lines[1]).to.match(/^metric\s+model\s+most-popular$/);
    expect(lines.slice(2, 5).map((l) => l.split(/\s+/)[0])).to.deep.equal(['HR@5', 'NDCG@5', 'MRR']);
    for (const l of lines.slice(2, 5)) expect(l).to.match(/^\S+\s+\d\.\d{4}\s+\d\.\d{4}$/);
    expect(r.stderr).to.not.match(/Warning/);
  });
});
