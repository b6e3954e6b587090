// Pre-split benchmark files (reczoo Movielens1M_m1 shape: train / validation / test JSON arrays of
// per-user item lists, the user index being the position): reading them into a Split, ranking
// every test item against the catalogue minus the user's history, and `reclm train` / `reclm eval`
// on them end to end against a reference computed here.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Eval from '../src/commands/eval.js';
import Train from '../src/commands/train.js';
import { readManifest } from '../src/compiler/artifacts.js';
import { EvalBatch } from '../src/data/eval-inputs.js';
import { readPresplit, resolvePresplit } from '../src/data/presplit.js';
import { readDataset } from '../src/data/read.js';
import { checkTimeBiasData } from '../src/data/time-bias.js';
import { Rng } from '../src/data/rng.js';
import { trainThroughValid } from '../src/data/split.js';
import { evaluatePopularity } from '../src/eval/popularity.js';
import { rankSplit } from '../src/eval/rank.js';
import { Scorer } from '../src/eval/scorer.js';
import { RUN_FILES, train } from '../src/runtime/trainer.js';
import { plainText, runCommand } from './helpers/cli.js';
import DataStats from '../src/commands/data/stats.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';
import { runNode, type FeedSpec } from './helpers/trained.js';
import { UsageError } from '../src/errors.js';

// Means of a few float64 terms computed with the same formulas; 1e-12 absorbs the summation order.
const close = (actual: Record<string, number>, expected: Record<string, number>) => {
  expect(Object.keys(actual).sort()).to.deep.equal(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) expect(actual[k], k).to.be.closeTo(v, 1e-12);
};
const gain = (r: number) => 1 / Math.log2(r + 2);

function writeFolder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'reclm-presplit-'));
  for (const [name, v] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(v));
  return dir;
}

describe('pre-split files: reading', () => {
  // Item ids 0-based as reczoo writes them; train has items 0..5, so V = 6 and they are renumbered.
  const train = [[0, 1, 2], [3, 4], [5, 0], []];
  const valid = [[3], [], [1, 2], [4]];
  const test = [[4, 5], [9], [3], [0], [1]]; // item 9 and user 4 are not in train

  it('matches users by position, maps ids through the train file and counts what it drops', () => {
    const dir = writeFolder({ 'train_data.json': train, 'validation_data.json': valid, 'test_data.json': test });
    const files = resolvePresplit(dir)!;
    expect(files).to.deep.equal({ train: join(dir, 'train_data.json'), valid: join(dir, 'validation_data.json'), test: join(dir, 'test_data.json') });
    const { data, split, report } = readPresplit(files);
    expect(data.numItems).to.equal(6);
    const id = (v: number) => data.itemIds[v];
    expect(split.train.map((s) => Array.from(s, id))).to.deep.equal([['0', '1', '2'], ['3', '4'], ['5', '0'], []]);
    expect(split.targetSets!.valid.map((s) => Array.from(s, id))).to.deep.equal([['3'], [], ['1', '2'], ['4']]);
    expect(split.targetSets!.test.map((s) => Array.from(s, id))).to.deep.equal([['4', '5'], [], ['3'], ['0']]);
    expect(Array.from(split.test, (v) => (v ? id(v) : null))).to.deep.equal(['4', null, '3', '0']);
    // User 1's only test item (9) is dropped: that user is lost to the test split.
    expect(report).to.deep.equal({ droppedInteractions: 2, droppedUserInteractions: 1, droppedItems: 1, lostUsers: { valid: 0, test: 1 } });
    // User 3 has a test item but no training items: not evaluable.
    expect(split.summary).to.deep.equal({ users: 4, evalUsers: 2, excludedFromEval: 2, trainableUsers: 3, trainInteractions: 7 });
    expect(split.users).to.deep.equal(['0', '1', '2', '3']);
    // The evaluated users are the test split's whether or not a validation file is given (user 1 has a validation item only).
    const two = writeFolder({ 'train_data.json': [[0, 1], [2, 3]], 'validation_data.json': [[2], [0]], 'test_data.json': [[3], []] });
    expect(readPresplit(resolvePresplit(two)!).split.summary).to.include({ evalUsers: 1, excludedFromEval: 1 });
    expect(readPresplit(resolvePresplit(join(two, 'train_data.json'), undefined, join(two, 'test_data.json'))!).split.summary).to.include({ evalUsers: 1, excludedFromEval: 1 });
  });

  it('takes the files by flag, other folder names, and refuses a folder without a train file', () => {
    const dir = writeFolder({ 'train.json': train, 'valid.json': valid, 'test.json': test });
    expect(resolvePresplit(dir)).to.deep.equal({ train: join(dir, 'train.json'), valid: join(dir, 'valid.json'), test: join(dir, 'test.json') });
    expect(resolvePresplit('a.json', undefined, 'b.json')).to.deep.equal({ train: 'a.json', valid: undefined, test: 'b.json' });
    expect(resolvePresplit('a.json')).to.equal(null);
    const empty = writeFolder({ 'test.json': test });
    expect(() => resolvePresplit(empty)).to.throw(`${empty}: is a folder without a train file (looked for train_data.json, train.json)`);
  });

  it('a time-bias model is refused with the reason: pre-split files are read without timestamps', () => {
    const dir = writeFolder({ 'train_data.json': train, 'validation_data.json': valid, 'test_data.json': test });
    const { data } = readPresplit(resolvePresplit(dir)!);
    expect(() => checkTimeBiasData({ time_bias: true }, data, 'train')).to.throw(
      `${join(dir, 'train_data.json')}: cannot train an HSTU model with time_bias=true on data without timestamps (pre-split files are read without timestamps): every time bucket`,
    );
  });

  it('trainThroughValid appends the whole validation list', () => {
    const { split } = readPresplit({ train: join(writeFolder({ 't.json': train }), 't.json'), valid: join(writeFolder({ 'v.json': valid }), 'v.json') });
    expect(trainThroughValid(split).train.map((s) => s.length)).to.deep.equal([4, 2, 4, 1]);
  });
});

describe('pre-split files: ranking every test item against the catalogue minus the history', () => {
  // V = 6 (ids 1..6 as written: train holds every item). maxlen 2 < history length, so the
  // exclusion must cover the whole history, not only the input window.
  const dir = writeFolder({ 'train.json': [[1, 2, 3, 4, 5, 6], [1, 2, 3], [4]], 'valid.json': [[], [4], []], 'test.json': [[1, 6], [5, 6], [2, 5]] });
  const { split } = readPresplit(resolvePresplit(dir)!);
  const ROWS: number[][] = [
    [100, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    [100, 0.9, 0.9, 0.9, 0.9, 0.2, 0.7],
    [100, 0.3, 0.3, 0.1, 0.8, 0.3, 0.5],
  ];
  const scorer: Scorer = {
    maxlen: 2, numItems: 6, needsTimestamps: false,
    async score(b: EvalBatch) {
      return Float32Array.from(Array.from(b.users).flatMap((u) => ROWS[u]));
    },
    async release() {},
  };

  it('test split: HR, Recall and NDCG over the set, seen items excluded, ties against the target', async () => {
    // u0 history = all six items, but test items 1 and 6 stay candidates: 6 (0.6) rank 0, 1 (0.1) rank 1.
    // u1 history 1 2 3 + valid 4: candidates 5 (0.2), 6 (0.7): 6 rank 0, 5 rank 1.
    // u2 history 4: candidates 1 2 3 5 6 (0.3 0.3 0.1 0.3 0.5): 2 -> 6, 1, 5 at >= 0.3 -> rank 3; 5 -> 6, 1, 2 -> 3.
    const m = await rankSplit(scorer, split, { split: 'test', ks: [1, 2, 4] });
    const idcg2 = gain(0) + gain(1);
    close(m, {
      users: 3,
      'hr@1': 2 / 3, 'recall@1': (1 / 2 + 1 / 2 + 0) / 3, 'ndcg@1': (1 + 1 + 0) / 3,
      'hr@2': 2 / 3, 'recall@2': (1 + 1 + 0) / 3, 'ndcg@2': (1 + 1 + 0) / 3,
      'hr@4': 1, 'recall@4': 1, 'ndcg@4': (1 + 1 + (2 * gain(3)) / idcg2) / 3,
      mrr: (1 + 1 + 1 / 4) / 3,
    });
    // --keep-seen: u0's items 2..5 come back as competitors: 6 rank 0, 1 rank 5.
    const kept = await rankSplit(scorer, split, { split: 'test', ks: [2], keepSeen: true });
    expect(kept['recall@2']).to.be.below(m['recall@2']);
  });

  it('the most-popular baseline uses the same candidates and tie rule', () => {
    // Counts over the test-split histories: 1:2 2:2 3:2 4:3 5:1 6:1.
    // u0: 1 (2) vs 6 (1): 6 -> rank 1 (item 1 >= 1), 1 -> rank 0. u1: candidates 5, 6 tie -> both rank 1.
    // u2: candidates 1 2 3 5 6 (2 2 2 1 1): 2 -> 1, 3 -> rank 2; 5 -> 1 2 3 6 -> rank 4.
    const m = evaluatePopularity(split, 'test', [1, 2], { maxlen: 2, keepSeen: false });
    const idcg = gain(0) + gain(1);
    close(m, {
      users: 3,
      'hr@1': 1 / 3, 'recall@1': 1 / 2 / 3, 'ndcg@1': 1 / 3,
      'hr@2': 2 / 3, 'recall@2': (1 + 1 + 0) / 3, 'ndcg@2': ((gain(0) + gain(1)) / idcg + (2 * gain(1)) / idcg + 0) / 3,
      mrr: (1 + 1 / 2 + 1 / 3) / 3,
    });
  });

  it('refuses the sampled protocol, which is defined for one target per user', async () => {
    await rankSplit(scorer, split, { split: 'test', negatives: 2 }).then(
      () => expect.fail('expected an error'),
      (e: Error) => {
        // A user error (one line on the command line, no stack), not a bug.
        expect(e).to.be.instanceOf(UsageError);
        expect(e.message).to.match(/^--negatives: the sampled protocol is defined for one target per user/);
      },
    );
  });
});

describe('pre-split files: `reclm train` and `reclm eval` end to end', function () {
  this.timeout(120000);
  // tinyData split at random per user into 70% train, 10% validation, 20% test (at least one each).
  const ds = tinyData();
  const rng = new Rng(21);
  const lists = { train: [] as string[][], valid: [] as string[][], test: [] as string[][] };
  for (const seq of ds.sequences) {
    const ids = Array.from(seq, (v) => ds.itemIds[v]);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const nTest = Math.max(1, Math.round(0.2 * ids.length));
    const nValid = Math.max(1, Math.round(0.1 * ids.length));
    lists.test.push(ids.slice(0, nTest));
    lists.valid.push(ids.slice(nTest, nTest + nValid));
    lists.train.push(ids.slice(nTest + nValid));
  }
  const folder = mkdtempSync(join(tmpdir(), 'reclm-m1-'));
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'train_data.json'), JSON.stringify(lists.train.map((l) => l.map(Number))));
  writeFileSync(join(folder, 'validation_data.json'), JSON.stringify(lists.valid.map((l) => l.map(Number))));
  writeFileSync(join(folder, 'test_data.json'), JSON.stringify(lists.test.map((l) => l.map(Number))));
  let dir: string;

  before(async () => {
    const given = readPresplit(resolvePresplit(folder)!);
    dir = compileTiny('llama-sasrec', 'bce', {}, readDataset(join(folder, 'train_data.json')));
    const summary = await train({
      dir, data: given.data, split: given.split, epochs: 1, batchSize: 16, seed: 4, fusedSteps: 2, evalEvery: 1, patience: 0, checkpointEvery: 0,
      resume: false, json: true, schedule: { kind: 'constant', lr: 1e-2 },
    });
    // Validation ran on the validation lists with the set metrics.
    expect(summary.best).to.have.property('recall@10');
  });

  it('says how pre-split files are used before the numbers, and refuses them beside the built-in dataset', async () => {
    const r = await runCommand(Eval, [dir, '--data', join(folder, 'train_data.json'), '--test-data', join(folder, 'test_data.json'), '--threads', '1']);
    expect(r.error, r.error?.message).to.equal(undefined);
    expect(r.stdout.split('\n')[0]).to.equal(`pre-split files: every event of ${join(folder, 'train_data.json')} is a training event, test targets from ${join(folder, 'test_data.json')}; no leave-one-out split`);
    const b = await runCommand(Eval, [dir, '--data', 'builtin', '--valid-data', join(folder, 'validation_data.json'), '--split', 'valid']);
    expect(b.error?.message).to.equal('builtin: --valid-data: pre-split files need their train file as --data; the built-in dataset is split leave-one-out');
  });

  it('`reclm data stats FOLDER` gives the train file\'s statistics and the split the files give, not a leave-one-out one', async () => {
    const r = await runCommand(DataStats as never, [folder, '--json']);
    expect(r.error, r.error?.message).to.equal(undefined);
    expect(JSON.parse(r.stdout).split).to.deep.equal(readPresplit(resolvePresplit(folder)!).split.summary);
    const text = await runCommand(DataStats as never, [folder]);
    expect(text.stdout.split('\n')[0]).to.match(/^pre-split files: every event of .*train_data\.json is a training event, validation targets from .*validation_data\.json, test targets from .*test_data\.json; no leave-one-out split$/);
    // Targets that repeat their user's history, counted here independently (eval warns of the same count).
    const repeatsOf = (which: 'valid' | 'test') => {
      let n = 0;
      lists[which].forEach((l, u) => (n += l.filter((id) => [...lists.train[u], ...(which === 'test' ? lists.valid[u] : [])].includes(id)).length));
      return { inHistory: n, targets: lists[which].reduce((a, l) => a + l.length, 0) };
    };
    expect(JSON.parse(r.stdout).targetsInHistory).to.deep.equal({ valid: repeatsOf('valid'), test: repeatsOf('test') });
    const pct = (x: { inHistory: number; targets: number }) => `${x.inHistory} of ${x.targets} (${((100 * x.inHistory) / x.targets).toFixed(1)}%)`;
    expect(text.stdout).to.include(`targets in history valid ${pct(repeatsOf('valid'))}, test ${pct(repeatsOf('test'))}\n`);
    const k = await runCommand(DataStats as never, [folder, '--min-user-count', '3']);
    expect(k.error?.message).to.equal(`--min-user-count: ${folder} is a folder of pre-split files, which are read as given`);
    // A test item the train file lacks is dropped, as eval drops it, and said as eval says it (on stderr; in --json's notes).
    const odd = mkdtempSync(join(tmpdir(), 'reclm-m1-odd-'));
    for (const f of ['train_data.json', 'validation_data.json']) copyFileSync(join(folder, f), join(odd, f));
    writeFileSync(join(odd, 'test_data.json'), JSON.stringify(lists.test.map((l, u) => (u === 0 ? [...l.map(Number), 99999] : l.map(Number)))));
    const said = `1 validation/test interaction dropped: 1 with 1 item not in ${join(odd, 'train_data.json')}`;
    expect((await runCommand(DataStats as never, [odd])).stderr).to.include(`note: ${said}`);
    expect(JSON.parse((await runCommand(DataStats as never, [odd, '--json'])).stdout).notes).to.include(said);
  });

  it('`reclm eval --data FOLDER` equals a reference computed from the exported model here', async () => {
    const r = await runCommand(Eval, [dir, '--data', folder, '--json', '--k', '5,10', '--threads', '1']);
    expect(r.error, r.error?.message).to.equal(undefined);
    const out = JSON.parse(r.stdout);
    expect(out.protocol).to.equal("pre-split files, every test item ranked over 60 items, the user's history excluded");

    // Reference: the model reads the last L items of train + validation (file order), left padded;
    // candidates are all items but that history, test items always kept; rank = others with >= score.
    const data = readDataset(join(folder, 'train_data.json'));
    const internal = new Map(data.itemIds.map((id, i) => [id, i]));
    const L = readManifest(dir).dataset.maxlen;
    const V = data.numItems;
    const users = lists.test.map((_, u) => u).filter((u) => lists.train[u].length > 0);
    const seq: number[] = [];
    for (const u of users) {
      const h = [...lists.train[u], ...lists.valid[u]].map((id) => internal.get(id)!).slice(-L);
      seq.push(...new Array(L - h.length).fill(0), ...h);
    }
    const feeds: Record<string, FeedSpec> = { seq: { type: 'int64', dims: [users.length, L], data: seq }, k: { type: 'int64', dims: [1], data: [1] } };
    const scores = (await runNode(join(dir, RUN_FILES.inference), feeds)).scores.data;
    const ks = [5, 10];
    const sums: Record<string, number> = { mrr: 0 };
    users.forEach((u, row) => {
      const s = scores.slice(row * (V + 1), (row + 1) * (V + 1));
      const targets = new Set(lists.test[u].map((id) => internal.get(id)!));
      const seen = new Set([...lists.train[u], ...lists.valid[u]].map((id) => internal.get(id)!));
      const cands = Array.from({ length: V }, (_, i) => i + 1).filter((i) => targets.has(i) || !seen.has(i));
      const ranks = [...targets].map((t) => cands.filter((i) => i !== t && s[i] >= s[t]).length).sort((a, b) => a - b);
      sums.mrr += 1 / (ranks[0] + 1);
      for (const k of ks) {
        const hits = ranks.filter((x) => x < k);
        let idcg = 0;
        for (let i = 0; i < Math.min(k, ranks.length); i++) idcg += gain(i);
        sums[`hr@${k}`] = (sums[`hr@${k}`] ?? 0) + (hits.length ? 1 : 0);
        sums[`recall@${k}`] = (sums[`recall@${k}`] ?? 0) + hits.length / ranks.length;
        sums[`ndcg@${k}`] = (sums[`ndcg@${k}`] ?? 0) + hits.reduce((a, x) => a + gain(x), 0) / idcg;
      }
    });
    expect(out.users).to.equal(users.length);
    for (const [key, v] of Object.entries(sums)) expect(out[key], key).to.be.closeTo(v / users.length, 1e-9); // float32 scores read back identically; 1e-9 covers the summation order
    // The same files named by flag give the same numbers.
    const byFlag = await runCommand(Eval, [dir, '--data', join(folder, 'train_data.json'), '--test-data', join(folder, 'test_data.json'), '--valid-data', join(folder, 'validation_data.json'), '--json', '--k', '5,10', '--threads', '1']);
    const o2 = JSON.parse(byFlag.stdout);
    for (const key of Object.keys(sums)) expect(o2[key], key).to.equal(out[key]);
  });

  it('warns when targets are items of their user\'s history (a test file repeating the train file), names why interactions were dropped, and warns on other data or a leave-one-out split of the train file', async () => {
    // These lists come from histories with repeats (tinyData draws items with replacement): the
    // warning gives the share, counted here independently.
    const clean = await runCommand(Eval, [dir, '--data', folder, '--json', '--threads', '1']);
    let repeats = 0;
    lists.test.forEach((l, u) => (repeats += l.filter((id) => [...lists.train[u], ...lists.valid[u]].includes(id)).length));
    const all = lists.test.reduce((a, l) => a + l.length, 0);
    expect(repeats).to.be.above(0).and.below(all);
    expect(JSON.parse(clean.stdout).warnings).to.deep.equal([
      `${repeats} of ${all} test targets (${((100 * repeats) / all).toFixed(1)}%) are items already in their user's history (${join(folder, 'train_data.json')} and ${join(folder, 'validation_data.json')}): they stay candidates, so a target file that repeats training interactions inflates the metrics (data with repeat consumption looks the same)`,
    ]);
    // The train lists given as the test lists: every target is already in its user's history.
    const trainFile = join(folder, 'train_data.json');
    const leak = await runCommand(Eval, [dir, '--data', trainFile, '--test-data', trainFile, '--json', '--threads', '1']);
    const targets = lists.train.reduce((a, l) => a + l.length, 0);
    expect(JSON.parse(leak.stdout).warnings).to.deep.equal([
      `${targets} of ${targets} test targets (100.0%) are items already in their user's history (${trainFile}): they stay candidates, so a target file that repeats training interactions inflates the metrics (data with repeat consumption looks the same)`,
    ]);
    // One more user than the train file and an unknown item: both reasons counted apart.
    const extra = join(mkdtempSync(join(tmpdir(), 'reclm-m1-extra-')), 'test.json');
    writeFileSync(extra, JSON.stringify([...lists.test.map((l, u) => (u === 0 ? [...l, '99999'] : l)).map((l) => l.map(Number)), [1, 2]]));
    const dropped = await runCommand(Eval, [dir, '--data', trainFile, '--test-data', extra, '--json', '--threads', '1']);
    expect(JSON.parse(dropped.stdout).warnings[0]).to.equal(`3 validation/test interactions dropped: 2 by users not in ${trainFile}, 1 with 1 item not in ${trainFile}`);
    // A user whose every test item is unknown is a lost target, counted as eval counts them for a leave-one-out split.
    const lostOne = join(mkdtempSync(join(tmpdir(), 'reclm-m1-lost-')), 'test.json');
    writeFileSync(lostOne, JSON.stringify(lists.test.map((l, u) => (u === 1 ? [99999] : l.map(Number)))));
    const lost = JSON.parse((await runCommand(Eval, [dir, '--data', trainFile, '--test-data', lostOne, '--json', '--threads', '1'])).stdout);
    expect([lost.lost_targets, lost.users, lost.unknown_interactions, lost.unknown_items]).to.deep.equal([1, lists.test.length - 1, 1, 1]);
    expect(lost.warnings).to.include(`1 of ${lists.test.length} evaluable users are skipped: their test target or whole history is unknown to the model`);
    // More than half of the users losing their targets is not this model's data: refused, as for a leave-one-out split.
    const lostMost = join(mkdtempSync(join(tmpdir(), 'reclm-m1-lost-')), 'test.json');
    writeFileSync(lostMost, JSON.stringify(lists.test.map((l, u) => (u % 3 ? [99999] : l.map(Number)))));
    const most = await runCommand(Eval, [dir, '--data', trainFile, '--test-data', lostMost, '--threads', '1']);
    expect(most.exitCode).to.equal(1);
    expect(plainText(most.error!.message)).to.match(/^\d+ of 120 evaluable users in .*test\.json have a test target \(or a whole history\) the model's catalogue does not know; this is not the data .* was trained on \(more than 50% lost\)$/);
    // The same events as an interaction log with times (as a log given to train as pre-split --data,
    // which reads it without them): the same warning, not "not the data".
    const log = join(mkdtempSync(join(tmpdir(), 'reclm-m1-log-')), 'log.csv');
    writeFileSync(log, ['user,item,time', ...lists.train.flatMap((l, u) => l.map((id, j) => `${u},${id},${1000 + j}`))].join('\n') + '\n');
    const timed = await runCommand(Eval, [dir, '--data', log, '--json', '--threads', '1']);
    expect(JSON.parse(timed.stdout).warnings).to.deep.equal([
      `${dir} was trained on pre-split files with every event of ${log} a training event, so the leave-one-out targets ranked here are training items (rank it with its validation or test file: --test-data FILE)`,
    ]);
    // The train file split leave-one-out: its targets are events the model trained on.
    const loo = await runCommand(Eval, [dir, '--data', trainFile, '--json', '--threads', '1']);
    expect(JSON.parse(loo.stdout).warnings).to.deep.equal([
      `${dir} was trained on pre-split files with every event of ${trainFile} a training event, so the leave-one-out targets ranked here are training items (rank it with its validation or test file: --test-data FILE)`,
    ]);
    // Another train file (each list one item shorter): not the data the model trained on, pre-split too.
    const cut = mkdtempSync(join(tmpdir(), 'reclm-m1-cut-'));
    writeFileSync(join(cut, 'train_data.json'), JSON.stringify(lists.train.map((l) => l.slice(0, -1).map(Number))));
    writeFileSync(join(cut, 'test_data.json'), JSON.stringify(lists.test.map((l) => l.map(Number))));
    const other = await runCommand(Eval, [dir, '--data', cut, '--json', '--threads', '1']);
    expect(JSON.parse(other.stdout).warnings[0]).to.match(new RegExp(`^${join(cut, 'train_data.json')} is not the data ${dir} was trained on \\(data fingerprint`));
  });

  it('`reclm eval` prints Recall@k rows; --split valid needs a validation file', async () => {
    const r = await runCommand(Eval, [dir, '--data', folder, '--k', '10', '--threads', '1']);
    expect(r.error, r.error?.message).to.equal(undefined);
    // After the pre-split line, the protocol line and the header.
    expect(r.stdout.split('\n').slice(3, 7).map((l) => l.split(/\s+/)[0])).to.deep.equal(['HR@10', 'RECALL@10', 'NDCG@10', 'MRR']);
    const noValid = await runCommand(Eval, [dir, '--data', join(folder, 'train_data.json'), '--test-data', join(folder, 'test_data.json'), '--split', 'valid']);
    expect(noValid.exitCode).to.equal(1);
    expect(noValid.error!.message).to.equal('--split valid: no validation file was given (--valid-data)');
  });

  it('--columns names the columns of the train log and of its test log alike; the reader\'s notes are printed', async () => {
    const logs = mkdtempSync(join(tmpdir(), 'reclm-m1-logs-'));
    const write = (name: string, rows: string[][]) => {
      const p = join(logs, name);
      writeFileSync(p, ['visitor,thing,when,extra', ...rows.flatMap((l, u) => l.map((id, j) => `${u},${id},${1000 + j},x`))].join('\n') + '\n');
      return p;
    };
    const trainLog = write('train.csv', lists.train);
    const testLog = write('test.csv', lists.test);
    const args = ['--columns', 'user=visitor,item=thing,time=when', '--json', '--threads', '1'];
    const r = await runCommand(Eval, [dir, '--data', trainLog, '--test-data', testLog, ...args]);
    // Before, the test log was read without --columns: no user column found.
    expect(r.error, r.error?.message).to.equal(undefined);
    expect(r.stderr).to.include(`${trainLog}: columns ignored: extra`);
    const json = await runCommand(Eval, [dir, '--data', join(folder, 'train_data.json'), '--test-data', join(folder, 'test_data.json'), '--json', '--threads', '1']);
    const metrics = (out: string) => Object.fromEntries(['users', 'hr@10', 'ndcg@10', 'mrr'].map((k) => [k, JSON.parse(out)[k]]));
    expect(metrics(r.stdout)).to.deep.equal(metrics(json.stdout));
  });

  it('`reclm train` with validation but no validation file, or no usable test item, refuses before the first step', async () => {
    const train = join(folder, 'train_data.json');
    const noValid = await runCommand(Train, [dir, '--data', train, '--test-data', join(folder, 'test_data.json'), '--overwrite', '--eval-every', '1', '--threads', '1']);
    expect(noValid.exitCode).to.equal(1);
    // The file as given, not the dataset's name (train_data).
    expect(noValid.error!.message).to.equal(`${train}: no user has both training items and a validation item (120 users), so nothing can be evaluated; validation needs a validation file (--valid-data), or train without it (--eval-every 0)`);
    const emptyTest = join(mkdtempSync(join(tmpdir(), 'reclm-m1-')), 'test.json');
    // Every test item is unknown to the train file, so every test list is dropped.
    writeFileSync(emptyTest, JSON.stringify(lists.test.map(() => [99999])));
    const noTest = await runCommand(Eval, [dir, '--data', train, '--test-data', emptyTest, '--threads', '1']);
    expect(noTest.exitCode).to.equal(1);
    expect(noTest.error!.message).to.equal(`${emptyTest}: no user has both training items and a test item (120 users), so nothing can be evaluated`);
  });

  it('`reclm train --data FOLDER` trains on the train lists and validates on the validation lists', async () => {
    const r = await runCommand(Train, [dir, '--data', folder, '--overwrite', '--epochs', '1', '--batch-size', '32', '--threads', '1', '--fused-steps', '2']);
    expect(r.error, r.error?.message).to.equal(undefined);
    expect(r.stdout).to.match(/best validation: epoch 1, NDCG@10 \d\.\d{4}, HR@10 \d\.\d{4}/);
  });
});
