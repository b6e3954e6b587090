// Numbers that mean something: the tie rule end to end (a model that scores every item the same
// on ML-100K), the same metrics as before for trained models without ties, and `reclm eval`
// stopping with a non-zero exit when its numbers would mean nothing.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Eval from '../src/commands/eval.js';
import { readManifest } from '../src/compiler/artifacts.js';
import { sha256 } from '../src/contract/artifacts.js';
import { evalBatches } from '../src/data/eval-inputs.js';
import { readDataset } from '../src/data/read.js';
import { leaveOneOutSplit, requireEvaluableUsers } from '../src/data/split.js';
import { Dataset } from '../src/data/types.js';
import { metricsFromRanks, seenMask } from '../src/eval/metrics.js';
import { rankSplit } from '../src/eval/rank.js';
import { OnnxScorer } from '../src/eval/scorer.js';
import { readEvalRecords } from '../src/report/eval-results.js';
import { readUserRanks } from '../src/report/user-ranks.js';
import { exportInference } from '../src/onnx/bake.js';
import { loadCheckpoint } from '../src/runtime/checkpoint.js';
import { createSession } from '../src/onnx/providers.js';
import { RUN_FILES, train } from '../src/runtime/trainer.js';
import { plainText, runCommand } from './helpers/cli.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';
import { TINY_MODELS, trainedTiny } from './helpers/trained.js';

const ML100K = fileURLToPath(new URL('../../shared/data/ml-100k.u.data.gz', import.meta.url));

/** Compiles a tiny llama model for `data` and exports its initial weights with the item embedding rewritten by `fill`. */
function exportedWith(data: Dataset, fill: (emb: Float32Array) => void): string {
  const dir = compileTiny('llama-sasrec', 'bce', {}, data);
  const params = new Map([...loadCheckpoint(join(dir, RUN_FILES.init)).params].map(([name, t]) => [name, t.data]));
  fill(params.get('item_emb')!);
  const manifest = readManifest(dir);
  exportInference(join(dir, 'inference_graph.onnx'), join(dir, RUN_FILES.inference), params, {
    model: manifest.model, num_items: String(manifest.dataset.numItems), maxlen: String(manifest.dataset.maxlen), item_map: manifest.dataset.itemMap!,
  });
  return dir;
}

/** Writes a SASRec text file (`user item`) of the given histories, item ids as given. */
function sasrecFile(histories: Record<string, (string | number)[]>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'reclm-honest-')), 'data.txt');
  writeFileSync(path, Object.entries(histories).flatMap(([u, items]) => items.map((i) => `${u} ${i}`)).join('\n') + '\n');
  return path;
}

/** runCommand, but stdout and stderr in one stream, so their order can be checked. */
async function runInterleaved(argv: string[]): Promise<{ text: string; exitCode: number }> {
  const all: string[] = [];
  const [out, err] = [process.stdout.write, process.stderr.write];
  const capture = ((chunk: string | Uint8Array) => (all.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  const exitCode = process.exitCode;
  let code = 0;
  try {
    await Eval.run(argv, fileURLToPath(new URL('..', import.meta.url)));
  } catch (e) {
    code = (e as { oclif?: { exit?: number } }).oclif?.exit ?? 1;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = exitCode;
  }
  return { text: all.join(''), exitCode: code };
}

describe('honest ranking end to end', function () {
  this.timeout(120000);

  describe('a model that scores every item the same (item embedding all zeros) on ML-100K', () => {
    let dir: string;
    before(() => {
      dir = exportedWith(readDataset(ML100K), (emb) => emb.fill(0));
    });

    it('gets HR@10 < 0.01 from `reclm eval`, full ranking and sampled (it got 1.0 when ties did not count)', async () => {
      for (const extra of [[], ['--negatives', '100'], ['--keep-seen']]) {
        const r = await runCommand(Eval, [dir, '--data', ML100K, '--json', '--k', '10', '--threads', '1', ...extra]);
        expect(r.error, r.error?.message).to.equal(undefined);
        const out = JSON.parse(r.stdout);
        expect(out.users, extra.join(' ')).to.equal(943);
        expect(out['hr@10'], extra.join(' ')).to.be.below(0.01);
        // Every other candidate ties with the target, so each rank is the number of candidates
        // minus one (>= 100 - 1 here): no user can be in the top 10.
        expect(out['hr@10'], extra.join(' ')).to.equal(0);
        expect(out.mrr, extra.join(' ')).to.be.below(0.011);
      }
      // Both at once: the sampled protocol has no seen items to keep, so the pair is refused rather than --keep-seen ignored.
      const both = await runCommand(Eval, [dir, '--data', ML100K, '--negatives', '100', '--keep-seen']);
      expect([both.exitCode, both.error?.message]).to.deep.equal([1, "--keep-seen is a full-ranking choice; --negatives 100 draws its candidates from outside the user's train prefix, so give one of them"]);
    });
  });

  for (const model of TINY_MODELS) {
    it(`a trained ${model} without ties gets the same metrics as under the old rule (strictly greater scores)`, async () => {
      const dir = await trainedTiny(model);
      const manifest = readManifest(dir);
      const split = leaveOneOutSplit(tinyData());
      const session = await createSession(join(dir, RUN_FILES.inference), 'cpu', { threads: 1 });
      const scorer = new OnnxScorer(session, manifest.dataset.maxlen, manifest.dataset.numItems);
      try {
        const V = manifest.dataset.numItems;
        for (const keepSeen of [false, true]) {
          const now = await rankSplit(scorer, split, { split: 'test', ks: [1, 5, 10, 20], keepSeen });
          // The old rule, computed here independently: candidates scoring strictly above the target.
          const strict: number[] = [];
          let ties = 0;
          for (const b of evalBatches(split, { split: 'test', maxlen: manifest.dataset.maxlen, batchSize: 50, needTimestamps: scorer.needsTimestamps })) {
            const scores = await scorer.score(b);
            const mask = keepSeen ? new Uint8Array(b.n * (V + 1)) : seenMask(b.seq, b.maxlen, b.targets, b.n, V);
            for (let r = 0; r < b.n; r++) {
              const off = r * (V + 1);
              const t = scores[off + b.targets[r]];
              let above = 0;
              for (let i = 1; i <= V; i++) {
                if (i === b.targets[r] || mask[off + i]) continue;
                if (scores[off + i] > t) above++;
                if (scores[off + i] === t) ties++;
              }
              strict.push(above);
            }
          }
          expect(ties, 'the trained model has no ties with any target').to.equal(0);
          expect(now).to.deep.equal(metricsFromRanks(strict, [1, 5, 10, 20]));
        }
      } finally {
        await scorer.release();
      }
    });
  }
});

describe('`reclm eval` exits non-zero when its numbers mean nothing', function () {
  this.timeout(120000);
  let dir: string;
  let data: Dataset;
  let tinyFile: string;
  before(async () => {
    dir = await trainedTiny('llama-sasrec');
    data = tinyData();
    tinyFile = sasrecFile(Object.fromEntries(data.sequences.map((seq, u) => [data.users[u], Array.from(seq, (v) => data.itemIds[v])])));
  });

  it('--ranks FILE: one row per ranked user (id and target from the file), and the rows reproduce the printed metrics', async () => {
    for (const extra of [[], ['--negatives', '20'], ['--keep-seen']]) {
      const file = join(mkdtempSync(join(tmpdir(), 'reclm-ranks-')), 'ranks.csv');
      const r = await runCommand(Eval, [dir, '--data', tinyFile, '--threads', '1', '--k', '1,5,10', '--ranks', file, '--json', ...extra]);
      expect(r.error, r.error?.message).to.equal(undefined);
      const out = JSON.parse(r.stdout);
      const rows = readUserRanks(file);
      expect(rows.length, extra.join(' ')).to.equal(out.users);
      const evaluable = data.sequences.map((seq, u) => ({ user: data.users[u], target: data.itemIds[seq[seq.length - 1]] })).filter((_, u) => data.sequences[u].length >= 3);
      expect(rows.map(({ user, target }) => ({ user, target })), extra.join(' ')).to.deep.equal(evaluable);
      const m = metricsFromRanks(rows.map((x) => x.rank), [1, 5, 10]);
      for (const key of ['hr@1', 'hr@5', 'ndcg@5', 'hr@10', 'ndcg@10', 'mrr']) expect(m[key], `${key} ${extra.join(' ')}`).to.equal(out[key]);
    }
  });

  it('--exclude-last N: N = maxlen ranks as the default; a smaller N adds seen items back as candidates; refused where it means nothing', async () => {
    const ranked = async (extra: string[]) => {
      const file = join(mkdtempSync(join(tmpdir(), 'reclm-exclude-')), 'ranks.csv');
      const r = await runCommand(Eval, [dir, '--data', tinyFile, '--threads', '1', '--ranks', file, '--json', ...extra]);
      expect(r.error, r.error?.message).to.equal(undefined);
      return { out: JSON.parse(r.stdout), ranks: readUserRanks(file).map((x) => x.rank) };
    };
    const all = await ranked([]);
    const twelve = await ranked(['--exclude-last', '12']); // the tiny model's maxlen
    expect(twelve.ranks).to.deep.equal(all.ranks);
    // The whole row is the default protocol, named as such (eval --save files it with the default's results).
    expect(twelve.out.protocol).to.equal(all.out.protocol);
    // Excluding fewer items leaves every earlier candidate in place: no rank falls, and with
    // histories longer than 2 items some target is outscored by an item seen before.
    const two = await ranked(['--exclude-last', '2']);
    expect(two.out.protocol).to.match(/, items of the last 2 input items excluded$/);
    expect(two.ranks.every((r, i) => r >= all.ranks[i])).to.equal(true);
    expect(two.ranks.some((r, i) => r > all.ranks[i])).to.equal(true);
    const kept = await ranked(['--keep-seen']);
    expect(two.ranks.every((r, i) => r <= kept.ranks[i])).to.equal(true);
    for (const [extra, why] of [
      [['--exclude-last', '13'], '--exclude-last 13: the model reads its last 12 items (maxlen), so at most 12 can be excluded'],
      [['--exclude-last', '2', '--keep-seen'], '--exclude-last and --keep-seen both choose which seen items are candidates; give one of them'],
      [['--exclude-last', '2', '--negatives', '20'], "--exclude-last is a full-ranking choice; --negatives 20 draws its candidates from outside the user's train prefix, so give one of them"],
    ] as const) {
      const r = await runCommand(Eval, [dir, '--data', tinyFile, '--threads', '1', ...extra]);
      expect([r.exitCode, r.error?.message], extra.join(' ')).to.deep.equal([1, why]);
    }
  });

  it('ranking other data than the run trained on is said before the numbers; the same data is not', async () => {
    // The run trained on tinyData(), timestamps included: the same events written out read back as the same data.
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-fingerprint-'));
    const sameFile = join(tmp, 'same.txt');
    writeBuiltinDataset(sameFile, data);
    const same = await runCommand(Eval, [dir, '--data', sameFile, '--threads', '1']);
    expect(same.error, same.error?.message).to.equal(undefined);
    expect(plainText(same.stderr)).to.not.include('is not the data');
    // The same users, items and times, one user's history reversed: a file the run did not train on.
    const other = join(tmp, 'other.txt');
    writeBuiltinDataset(other, { ...data, sequences: data.sequences.map((seq, u) => (u === 0 ? seq.slice().reverse() : seq)) });
    const r = await runCommand(Eval, [dir, '--data', other, '--threads', '1']);
    expect(r.error, r.error?.message).to.equal(undefined);
    const j = await runCommand(Eval, [dir, '--data', other, '--threads', '1', '--json']);
    expect(JSON.parse(j.stdout).warnings).to.have.length(1).and.satisfy((w: string[]) => w[0].startsWith(`${other} is not the data ${dir} was trained on`));
    expect(plainText(r.stderr)).to.match(new RegExp(`${other} is not the data ${dir} was trained on \\(data fingerprint [0-9a-f]{12}, the run's [0-9a-f]{12}\\): its held-out items may be training items of the run`));
    // --save keeps the warning with the numbers, so that the report shows them together.
    const saved = await runCommand(Eval, [dir, '--data', other, '--threads', '1', '--save']);
    expect(saved.error, saved.error?.message).to.equal(undefined);
    const record = readEvalRecords(dir).records.find((e) => e.data === other);
    // With the ranked file's hash, so that a later export (train --resume) does not inherit these numbers.
    expect(record?.modelSha256).to.equal(sha256(readFileSync(join(dir, 'inference.onnx'))));
    expect(record?.warnings).to.deep.equal(JSON.parse(j.stdout).warnings);
    // The data is also recorded by absolute path, which the report keys results by however it was spelled.
    expect(record?.dataPath).to.equal(resolve(other));
    // A lone inference.onnx carries the fingerprint in its metadata.
    const lone = join(dir, 'inference.onnx');
    const l = await runCommand(Eval, [lone, '--data', other, '--threads', '1', '--json']);
    expect(JSON.parse(l.stdout).warnings).to.have.length(1).and.satisfy((w: string[]) => w[0].startsWith(`${other} is not the data ${lone} was trained on`));
    expect(JSON.parse((await runCommand(Eval, [lone, '--data', sameFile, '--threads', '1', '--json'])).stdout).warnings).to.deep.equal([]);
  });

  it('--ranks never overwrites what reclm did not write: the data file, the model, another file; a missing folder or a folder is one line', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'reclm-ranks-safe-'));
    const other = join(dir2, 'notes.txt');
    writeFileSync(other, 'my notes\n');
    const dataBefore = readFileSync(tinyFile);
    const modelBefore = readFileSync(join(dir, 'inference.onnx'));
    const cases: [string, RegExp][] = [
      [tinyFile, /^--ranks .* is an input of this command; give another file$/],
      [join(dir, 'inference.onnx'), /^--ranks .* is an input of this command; give another file$/],
      [other, /^--ranks .*notes\.txt exists and was not written by reclm \(it does not start with "user,target,rank"\); refusing to overwrite it/],
      [join(dir2, 'no', 'such.csv'), /^--ranks .*such\.csv: the folder .* does not exist$/],
      [dir2, /^--ranks .* is a folder, not a regular file$/],
      // A device is not a file reclm wrote either, and is not called a folder.
      ['/dev/full', /^--ranks \/dev\/full is a device, pipe or socket, not a regular file$/],
      // /proc exists but takes no new file: the write fails after the ranking, still in one line naming --ranks.
      ['/proc/ranks.csv', /^--ranks \/proc\/ranks\.csv/],
    ];
    for (const [path, message] of cases) {
      const r = await runCommand(Eval, [dir, '--data', tinyFile, '--threads', '1', '--ranks', path]);
      expect(r.exitCode, path).to.equal(1);
      expect(r.error!.message, path).to.match(message);
    }
    expect(readFileSync(tinyFile).equals(dataBefore)).to.equal(true);
    expect(readFileSync(join(dir, 'inference.onnx')).equals(modelBefore)).to.equal(true);
    expect(readFileSync(other, 'utf8')).to.equal('my notes\n');
    // A ranks file reclm wrote is replaced: rerunning an evaluation is the usual case.
    const ranks = join(dir2, 'ranks.csv');
    for (let i = 0; i < 2; i++) expect((await runCommand(Eval, [dir, '--data', tinyFile, '--threads', '1', '--ranks', ranks])).exitCode).to.equal(0);
  });

  it('--ranks with pre-split files: refused in one line before anything is read', async () => {
    const r = await runCommand(Eval, [dir, '--data', tinyFile, '--test-data', tinyFile, '--ranks', join(tmpdir(), 'never.csv')]);
    expect(r.exitCode).to.equal(1);
    expect(r.error!.message).to.equal('--ranks: pre-split files have several targets per user; per-user ranks are written for leave-one-out splits only');
  });

  it('no evaluable user: one line naming the file, exit 1 (it printed zeros and exited 0)', async () => {
    for (const histories of [{ 1: [1, 2], 2: [3], 3: [4, 5] }, { 7: [7, 8] }] as Record<string, number[]>[]) {
      const file = sasrecFile(histories);
      const r = await runCommand(Eval, [dir, '--data', file, '--threads', '1']);
      const n = Object.keys(histories).length;
      expect(r.exitCode).to.equal(1);
      expect(r.error!.message).to.equal(
        `${file}: no user has 3 or more interactions (${n} users, at most 2 each); the leave-one-out split needs a history, a validation item and a test item per user, so nothing can be evaluated`,
      );
      expect(r.stdout).to.equal('');
    }
  });

  it('a NaN score: exit 1 naming the user from the file', async () => {
    const nanDir = exportedWith(data, (emb) => emb.fill(NaN));
    const r = await runCommand(Eval, [nanDir, '--data', tinyFile, '--threads', '1']);
    expect(r.exitCode).to.equal(1);
    expect(r.error!.message).to.equal(`the model scored item 1 of user ${data.users[0]} as NaN; a ranking of non-finite scores means nothing (the model has diverged or its weights are broken)`);
  });

  it('an infinite score: exit 1 too', async () => {
    const infDir = exportedWith(data, (emb) => emb.fill(3e38)); // q · e overflows float32 to ±Infinity
    const r = await runCommand(Eval, [infDir, '--data', sasrecFile({ 41: [1, 2, 3, 4], 42: [5, 6, 7] }), '--threads', '1']);
    expect(r.exitCode).to.equal(1);
    expect(r.error!.message).to.match(/^the model scored item \d+ of user 41 as (-?Infinity|NaN); /);
  });

  describe('test targets unknown to the model\'s catalogue', () => {
    // tinyData items are '1'..'60'; 90000 + u is not in the model's item map.
    const withUnknownTargets = (share: number) => {
      const h: Record<string, string[]> = {};
      data.sequences.forEach((seq, u) => {
        const ids = Array.from(seq, (v) => data.itemIds[v]);
        if (u < Math.round(share * data.sequences.length)) ids[ids.length - 1] = String(90000 + u);
        h[data.users[u]] = ids;
      });
      return sasrecFile(h);
    };

    it('more than half of the evaluable users lose their target: exit 1 with the count', async () => {
      for (const share of [0.6, 1]) {
        const r = await runCommand(Eval, [dir, '--data', withUnknownTargets(share), '--threads', '1']);
        const lost = Math.round(share * 120);
        expect(r.exitCode, `share ${share}`).to.equal(1);
        expect(r.error!.message).to.match(new RegExp(`^${lost} of 120 evaluable users in .* have a test target \\(or a whole history\\) the model's catalogue does not know; this is not the data .* was trained on \\(more than 50% lost\\)$`));
      }
    });

    it('half or fewer: the numbers come, after the warnings, and the users are skipped', async () => {
      for (const share of [0.5, 0.1]) {
        const lost = Math.round(share * 120);
        const r = await runInterleaved([dir, '--data', withUnknownTargets(share), '--threads', '1', '--k', '10']);
        expect(r.exitCode, r.text).to.equal(0);
        const text = plainText(r.text);
        const warn = text.indexOf(`Warning: ${lost} of 120 evaluable users are skipped: their test target or whole history is unknown to the model`);
        const table = text.indexOf('metric model most-popular');
        expect(warn, text).to.be.at.least(0);
        expect(table, text).to.be.above(warn);
        expect(text).to.include(`: ${120 - lost} users`);
      }
    });
  });

  it('--negatives larger than a user\'s candidate pool is refused up front with one line', async () => {
    // tinyData: 60 items, the longest train prefix leaves fewer than 59 items to draw from.
    const r = await runCommand(Eval, [dir, '--data', tinyFile, '--negatives', '59', '--threads', '1']);
    expect(r.exitCode).to.equal(1);
    expect(r.error!.message).to.match(/^--negatives 59 is larger than the candidate pool of user \d+ \(60 items minus \d+ in its history = \d+\); use at most \d+, or full ranking \(--negatives 0\)$/);
    const ok = await runCommand(Eval, [dir, '--data', tinyFile, '--negatives', '20', '--threads', '1', '--json']);
    expect(ok.exitCode, ok.error?.message).to.equal(0);
  });
});

describe('nobody to evaluate: `reclm train` refuses before the first step', function () {
  this.timeout(60000);

  it('names the data and writes no checkpoint and no inference.onnx', async () => {
    const short: Dataset = {
      name: 'short.txt', numItems: 6, users: ['a', 'b', 'c'], sequences: [[1, 2], [3, 4], [5, 6]].map((s) => Int32Array.from(s)),
      timestamps: null, itemIds: ['', '1', '2', '3', '4', '5', '6'], remapped: false,
    };
    const dir = compileTiny('llama-sasrec', 'bce', {}, short);
    for (const evalEvery of [1, 0]) {
      await train({
        dir, data: short, epochs: 1, batchSize: 4, seed: 1, fusedSteps: 1, evalEvery, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant', lr: 1e-3 },
      }).then(
        () => expect.fail('expected an error'),
        (e: Error) => {
          expect(e.name).to.equal('DataFormatError');
          expect(e.message).to.equal('short.txt: no user has 3 or more interactions (3 users, at most 2 each); the leave-one-out split needs a history, a validation item and a test item per user, so nothing can be evaluated');
        },
      );
      expect(existsSync(join(dir, RUN_FILES.last))).to.equal(false);
      expect(existsSync(join(dir, RUN_FILES.inference))).to.equal(false);
    }
  });

  it('data that gives no training example: one line naming the file, and --overwrite keeps the old run', async () => {
    const items = ['', '1', '2', '3', '4', '5', '6'];
    const long: Dataset = {
      name: 'long', numItems: 6, users: ['a', 'b'], sequences: [Int32Array.of(1, 2, 3, 4, 5), Int32Array.of(6, 5, 4, 3, 2)], timestamps: null, itemIds: items, remapped: false,
    };
    // Three events a user: a validation and a test item, but a training prefix of one item, so no (input, target) pair.
    const three: Dataset = {
      ...long, name: 'three', sequences: [Int32Array.of(1, 2, 3), Int32Array.of(4, 5, 6)],
      read: { file: '/data/three.seq.txt' } as Dataset['read'],
    };
    const dir = compileTiny('llama-sasrec', 'bce', {}, long);
    const opts = { dir, epochs: 1, batchSize: 4, seed: 1, fusedSteps: 1, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant' as const, lr: 1e-3 } };
    await train({ ...opts, data: long });
    const before = readFileSync(join(dir, RUN_FILES.last));
    // A batch larger than the epoch's rows would get a note, but a refused run is its one error line only.
    const notes: string[] = [];
    await train({ ...opts, data: three, overwrite: true, batchSize: 1000, note: (line: string) => notes.push(line) }).then(
      () => expect.fail('expected an error'),
      (e: Error) => {
        expect(e.name).to.equal('DataFormatError');
        // The file as given, not the dataset's name.
        expect(e.message).to.equal('/data/three.seq.txt: no user has at least 2 training interactions, so no training example can be built; --train-on-valid trains through the validation item, which gives some users one');
      },
    );
    expect(readFileSync(join(dir, RUN_FILES.last)).equals(before)).to.equal(true);
    expect(notes).to.deep.equal([]);
    // The same batch size on data that trains: the note is there.
    await train({ ...opts, data: long, overwrite: true, batchSize: 1000, note: (line: string) => notes.push(line) });
    expect(notes).to.deep.equal(['--batch-size 1000 is larger than the 2 rows of an epoch (one per user); using 2']);
  });

  it('requireEvaluableUsers passes as soon as one user can be evaluated', () => {
    const one = leaveOneOutSplit({
      name: 'x', numItems: 3, users: ['a', 'b'], sequences: [Int32Array.of(1, 2), Int32Array.of(1, 2, 3)], timestamps: null, itemIds: ['', '1', '2', '3'], remapped: false,
    });
    expect(() => requireEvaluableUsers(one, 'test', 'x')).to.not.throw();
    expect(() => requireEvaluableUsers(one, 'valid', 'x')).to.not.throw();
  });
});
