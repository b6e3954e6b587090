// Size checks before allocating (src/runtime/memory.ts): the training-memory estimate, the refusal
// when it cannot fit (with an injected machine, so the outcome does not depend on this host), the
// batch-size cap, and the compile-time refusal of parameter tensors too large to allocate.
import { expect } from 'chai';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import Compile from '../src/commands/compile.js';
import Train from '../src/commands/train.js';
import { Manifest, readManifest } from '../src/compiler/artifacts.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';
import {
  MAX_TYPED_ARRAY_LENGTH,
  MachineMemory,
  PARAM_COPIES,
  SizeError,
  WARN_FRACTION,
  checkModelFits,
  checkParametersFit,
  checkTrainingFits,
  estimateTrainingMemory,
  holdTrainingDuringValidation,
  trainingRows,
} from '../src/runtime/memory.js';
import { TrainingSession } from '../src/runtime/session.js';
import { RUN_FILES, TrainSummary, train } from '../src/runtime/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { runCommand } from './helpers/cli.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';

const GiB = 1024 ** 3;
/** A machine with 8 GB of RAM, 6 GB of it available. */
const SMALL_MACHINE: MachineMemory = { available: 6 * GiB, total: 8 * GiB };
const BIG_MACHINE: MachineMemory = { available: 1024 * GiB, total: 1024 * GiB };
/** No memory limit: isolates the typed-array and buffer limits, whatever their size in this Node. */
const UNLIMITED: MachineMemory = { available: Infinity, total: Infinity };

/**
 * The manifest fields the estimate reads, for the ml-1m-llama preset as it was until 2026-12-02 (2 layers) compiled for ML-100K
 * (1,682 items; 214,528 parameters): shapes as `reclm compile` lists them.
 */
function llamaManifest(numItems = 1682): Pick<Manifest, 'config' | 'params' | 'graphs' | 'dataset' | 'loss'> {
  const d = 64;
  const hid = 192;
  const layer = (i: number) => [
    { name: `layers.${i}.attn_norm`, shape: [d] },
    ...['wq', 'wk', 'wv', 'wo'].map((w) => ({ name: `layers.${i}.${w}`, shape: [d, d] })),
    { name: `layers.${i}.ffn_norm`, shape: [d] },
    { name: `layers.${i}.w1`, shape: [d, hid] },
    { name: `layers.${i}.w3`, shape: [d, hid] },
    { name: `layers.${i}.w2`, shape: [hid, d] },
  ];
  const params = [{ name: 'item_emb', shape: [numItems + 1, d] }, ...layer(0), ...layer(1), { name: 'final_norm', shape: [d] }];
  const K = { name: 'K', dtype: 'int64' as const };
  return {
    loss: 'full-ce',
    config: { model: 'llama-sasrec', num_items: numItems, dim: d, n_layers: 2, n_heads: 2, maxlen: 200, dropout: 0.2, attn_dropout: 0, key_padding_mask: true, head_dim: 32, ffn_hidden: hid },
    params: params.map((p) => ({ ...p, dtype: 'float32', decay: p.shape.length > 1, init: { kind: 'zeros' }, zeroGradRows: [] })),
    dataset: { numItems, maxlen: 200 },
    graphs: {
      train_step: {
        file: 'train_step.onnx',
        nodes: 1,
        inputs: [
          { ...K, name: 'seq', shape: ['K', 'batch', 200] },
          { ...K, name: 'pos', shape: ['K', 'batch', 200] },
          { name: 'lr', dtype: 'float32', shape: ['K'] },
        ],
        outputs: [],
      },
    } as unknown as Manifest['graphs'],
  };
}

describe('memory: size checks before allocating', () => {
  describe('estimateTrainingMemory', () => {
    const m = llamaManifest();
    const at = (batchSize: number, manifest = m) => estimateTrainingMemory(manifest, { batchSize, fusedSteps: 8, meanTargetsPerRow: 100 });

    it('counts the parameters and their AdamW state once, whatever the batch size', () => {
      expect(at(1).state).to.equal(PARAM_COPIES * 214528 * 4);
      expect(at(512).state).to.equal(at(1).state);
    });

    it('grows linearly with the batch size, by perRow bytes per row', () => {
      const [a, b, c] = [at(128), at(256), at(512)];
      expect(b.total - a.total).to.equal(128 * a.perRow);
      expect(c.total - b.total).to.equal(256 * a.perRow);
      expect(c.activations).to.equal(4 * a.activations);
    });

    it('counts validation instead of the training step when it is larger (the training session is released meanwhile)', () => {
      const small = at(1);
      expect(small.validation).to.be.above(small.activations + small.logits);
      expect(small.total).to.equal(small.runtime + small.state + small.batches + small.validation);
      expect(at(128).total).to.equal(at(128).runtime + at(128).state + at(128).batches + at(128).activations + at(128).logits);
    });

    it('holds the training session during validation only when both arenas fit in WARN_FRACTION of the available memory', () => {
      const e = at(128);
      const both = e.runtime + e.state + e.batches + e.activations + e.logits + e.validation;
      expect(e.bothArenas).to.equal(both);
      // A byte either side of the threshold, so float rounding of both / WARN_FRACTION cannot decide.
      expect(holdTrainingDuringValidation(e, { available: both / WARN_FRACTION + 1, total: 64 * GiB })).to.equal(true);
      expect(holdTrainingDuringValidation(e, { available: both / WARN_FRACTION - 1, total: 64 * GiB })).to.equal(false);
      // A run that just fits (total = available) always releases it.
      expect(holdTrainingDuringValidation(e, { available: e.total, total: 64 * GiB })).to.equal(false);
    });

    it('counts the training arena of every other rank on the host (rank 0 validates, the others train)', () => {
      const e = at(128);
      // The other two ranks train but never validate: the training share of both arenas each.
      const threeRanks = e.bothArenas + 2 * (e.runtime + e.state + e.batches + e.activations + e.logits);
      expect(holdTrainingDuringValidation(e, { available: threeRanks / WARN_FRACTION + 1, total: 64 * GiB }, 3)).to.equal(true);
      expect(holdTrainingDuringValidation(e, { available: threeRanks / WARN_FRACTION - 1, total: 64 * GiB }, 3)).to.equal(false);
      // Memory that holds one process's both arenas does not hold them beside two more ranks.
      expect(holdTrainingDuringValidation(e, { available: e.bothArenas / WARN_FRACTION + 1, total: 64 * GiB }, 3)).to.equal(false);
      expect(() => holdTrainingDuringValidation(e, BIG_MACHINE, 0)).to.throw(RangeError, /ranksOnHost/);
      expect(() => holdTrainingDuringValidation(e, BIG_MACHINE, 1.5)).to.throw(RangeError, /ranksOnHost/);
    });

    it('grows with the catalogue: full-ce logits in proportion to V, the item table in the state', () => {
      const [small, large] = [at(128, llamaManifest(1682)), at(128, llamaManifest(3364))];
      expect(large.logits).to.equal(2 * small.logits);
      expect(large.state - small.state).to.equal(PARAM_COPIES * 1682 * 64 * 4);
      expect(large.activations).to.equal(small.activations);
    });

    it('sizes the logits for a batch TARGET_SDS standard errors above the mean targets per row', () => {
      // sd 16 at batch 64: 4 · 16 / 8 = 8 targets above the mean of 100.
      const spread = estimateTrainingMemory(m, { batchSize: 64, fusedSteps: 8, meanTargetsPerRow: 100, sdTargetsPerRow: 16 });
      expect(spread.logits).to.equal((at(64).logits * 108) / 100);
    });

    it('the full-catalogue logits follow the target positions per row', () => {
      const dense = estimateTrainingMemory(m, { batchSize: 128, fusedSteps: 8, meanTargetsPerRow: 200 });
      expect(dense.logits).to.equal(2 * at(128).logits);
    });
  });

  describe('checkTrainingFits', () => {
    const m = llamaManifest();

    it('caps a batch size larger than the rows of an epoch, and says so', () => {
      const r = checkTrainingFits(m, { batchSize: 100_000_000, fusedSteps: 8, numTrainRows: 943, meanTargetsPerRow: 100, memory: BIG_MACHINE });
      expect(r.batchSize).to.equal(943);
      expect(r.notes).to.deep.equal(['--batch-size 100000000 is larger than the 943 rows of an epoch (one per user); using 943']);
      // A batch size the user did not type is named with its source, not as a flag.
      const preset = checkTrainingFits(m, { batchSize: 1024, batchSizeFrom: 'preset builtin', fusedSteps: 8, numTrainRows: 943, meanTargetsPerRow: 100, memory: BIG_MACHINE });
      expect(preset.notes).to.deep.equal(['batch size 1024 (preset builtin) is larger than the 943 rows of an epoch (one per user); using 943']);
    });

    it('keeps a batch size that fits, without notes', () => {
      const r = checkTrainingFits(m, { batchSize: 128, fusedSteps: 8, numTrainRows: 943, meanTargetsPerRow: 100, memory: BIG_MACHINE });
      expect(r).to.include({ batchSize: 128 });
      expect(r.notes).to.deep.equal([]);
    });

    it('refuses, before allocating, a run that cannot fit, with the estimate and the machine memory', () => {
      const run = () => checkTrainingFits(m, { batchSize: 100_000_000, fusedSteps: 8, numTrainRows: 943, meanTargetsPerRow: 100, memory: SMALL_MACHINE });
      expect(run).to.throw(SizeError).with.property('message', REFUSAL);
    });

    it('says when no batch size fits', () => {
      const tiny: MachineMemory = { available: 100 * 1024 ** 2, total: 8 * GiB };
      expect(() => checkTrainingFits(m, { batchSize: 1, fusedSteps: 1, numTrainRows: 943, memory: tiny })).to.throw(SizeError, /; the model does not fit at any batch size; lower dim, n_layers or maxlen\. Estimate: /);
    });

    it('warns when the estimate is close to the available memory', () => {
      const need = estimateTrainingMemory(m, { batchSize: 128, fusedSteps: 8, meanTargetsPerRow: 100 }).total;
      const r = checkTrainingFits(m, { batchSize: 128, fusedSteps: 8, numTrainRows: 943, meanTargetsPerRow: 100, memory: { available: need * 1.1, total: 8 * GiB } });
      expect(r.notes).to.have.length(1);
      expect(r.notes[0]).to.match(/^training needs about [\d.]+ GiB at batch size 128, close to the [\d.]+ GiB available of 8\.00 GiB$/);
    });
  });

  describe('trainingRows', () => {
    it('counts one row per user and the mean targets of the trainable users', () => {
      // Lengths 2 (train 2, 1 target), 5 (train 3, 2 targets), 300 (train 298, capped at maxlen 200).
      const seqs = [2, 5, 300].map((n) => Int32Array.from({ length: n }, (_, i) => i + 1));
      const mean = (1 + 2 + 200) / 3;
      const sd = Math.sqrt(((1 - mean) ** 2 + (2 - mean) ** 2 + (200 - mean) ** 2) / 3);
      const r = trainingRows({ sequences: seqs }, 200);
      expect(r).to.include({ numTrainRows: 3, meanTargetsPerRow: mean });
      // Computed as E[t²] − E[t]² there: equal up to float rounding of sums near 4e4.
      expect(r.sdTargetsPerRow).to.be.closeTo(sd, 1e-9);
    });
  });

  describe('compile-time parameter checks', () => {
    it('refuses dim=100000 with one line naming the tensor, not "Invalid typed array length"', () => {
      const raw = { dim: 100000, n_layers: 2, n_heads: 2, maxlen: 200, num_items: 1682 };
      expect(() => checkModelFits(MODELS['llama-sasrec'] as never, raw, 'full-ce', BIG_MACHINE)).to.throw(SizeError).with.property('message', DIM_REFUSAL);
    });

    it('refuses parameters whose training state exceeds the machine', () => {
      // 300M parameters: each tensor and the checkpoint fit, 16 copies (17.9 GiB) do not fit 8 GiB.
      const params = Array.from({ length: 3 }, (_, i) => ({ name: `w${i}`, shape: [10000, 10000] }));
      expect(() => checkParametersFit(params, { available: 8 * GiB, total: 8 * GiB })).to.throw(SizeError, /training holds about 16 float32 copies/);
    });

    it('names the item count when the item embedding is most of the model', () => {
      // 10^9 items at d = 50: the item embedding is 99.99...% of the parameters.
      const raw = { dim: 50, n_layers: 2, n_heads: 1, dqk: 50, dv: 50, maxlen: 200, num_items: 1e9 };
      expect(() => checkModelFits(MODELS.hstu as never, raw, 'full-ce', BIG_MACHINE)).to.throw(SizeError, /; lower the item count or dim \(the item embedding \[1000000001, 50\] holds 100% of them\)$/);
    });

    it('refuses a tensor larger than the largest typed array', () => {
      const n = MAX_TYPED_ARRAY_LENGTH + 1;
      expect(() => checkParametersFit([{ name: 'w', shape: [n] }], UNLIMITED)).to.throw(
        SizeError,
        `; parameter w [${n}] has ${n.toLocaleString('en-US')} elements, more than the ${MAX_TYPED_ARRAY_LENGTH.toLocaleString('en-US')} a typed array can hold; lower dim, n_layers or the FFN width`,
      );
    });

    it('refuses a checkpoint larger than the largest buffer', () => {
      const n = Math.ceil(MAX_TYPED_ARRAY_LENGTH / 12) + 1;
      expect(() => checkParametersFit([{ name: 'w', shape: [n] }], UNLIMITED)).to.throw(SizeError, /a training checkpoint \(parameters and both AdamW moments/);
    });

    it('accepts the presets', () => {
      for (const model of ['llama-sasrec', 'hstu'] as const) {
        expect(() => checkModelFits(MODELS[model] as never, { dim: 64, n_layers: 2, n_heads: 2, maxlen: 200, num_items: 3706 }, 'full-ce', SMALL_MACHINE)).to.not.throw();
      }
    });
  });

  describe('sessions released around validation', function () {
    this.timeout(120000);
    const losses = (dir: string) =>
      (readJsonl(join(dir, RUN_FILES.log)) as { type: string; step: number; loss: number; grad_norm: number }[]).filter((r) => r.type === 'step').map((r) => [r.step, r.loss, r.grad_norm]);

    it('training with validation every epoch repeats the per-step losses of training without it, the session held or released', async () => {
      const opts = { data: tinyData(), epochs: 3, batchSize: 16, seed: 4, fusedSteps: 3, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant' as const, lr: 5e-3 } };
      const [plain, held, released] = [0, 1, 2].map(() => compileTiny('hstu', 'full-ce', { dropout: 0.2 }));
      await train({ ...opts, dir: plain, evalEvery: 0 });
      // Counts the training session's releases: once at the end of a run, plus once per pass when released for validation.
      const release = TrainingSession.prototype.release;
      let releases = 0;
      TrainingSession.prototype.release = function (this: TrainingSession) {
        releases += 1;
        return release.call(this);
      };
      const heldLines: string[] = [];
      const releasedLines: string[] = [];
      let h: TrainSummary, r: TrainSummary;
      const counted: number[] = [];
      try {
        h = await train({ ...opts, dir: held, evalEvery: 1, memory: { available: 64 * GiB, total: 64 * GiB }, log: (l) => heldLines.push(l) });
        counted.push(releases);
        // Memory for the run but not for both arenas: validation releases the training session.
        const tight = estimateTrainingMemory(readManifest(released), { batchSize: 16, fusedSteps: 3, ...trainingRows(tinyData(), 12) }).total;
        r = await train({ ...opts, dir: released, evalEvery: 1, memory: { available: tight, total: 64 * GiB }, log: (l) => releasedLines.push(l) });
        counted.push(releases - counted[0]);
      } finally {
        TrainingSession.prototype.release = release;
      }
      expect(counted).to.deep.equal([1, 1 + 3]);
      const mode = (dir: string) => (readJsonl(join(dir, RUN_FILES.log)) as { type: string; memory?: { training_session_during_validation: string } }[]).find((x) => x.type === 'start')!.memory!.training_session_during_validation;
      expect([mode(held), mode(released)]).to.deep.equal(['held', 'released']);
      // Whole bytes in the log, as its name says (the estimate is a sum of fitted fractions).
      const bytes = (readJsonl(join(held, RUN_FILES.log)) as { type: string; memory?: Record<string, unknown> }[]).find((x) => x.type === 'start')!.memory!;
      expect([bytes.estimate_bytes, bytes.both_arenas_bytes, bytes.available_bytes, bytes.ranks_on_host].every((v) => Number.isInteger(v))).to.equal(true);
      expect(heldLines.some((l) => l.startsWith('validation releases'))).to.equal(false);
      expect(releasedLines.some((l) => l.startsWith('validation releases'))).to.equal(true);
      expect(h.bestEpoch).to.not.equal(null);
      expect(losses(held)).to.have.length(h.steps);
      expect(losses(held)).to.deep.equal(losses(plain));
      expect(losses(released)).to.deep.equal(losses(plain));
      expect(r.best).to.deep.equal(h.best);
    });
  });

  describe('the commands', function () {
    this.timeout(60000);
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-mem-'));
    const data = join(tmp, 'tiny.txt');
    before(() => writeBuiltinDataset(data, tinyData()));

    it('compile --set dim=100000 exits 1 with the one-line refusal and writes nothing', async () => {
      const out = join(tmp, 'big');
      const r = await runCommand(Compile, ['--model', 'llama-sasrec', '--loss', 'full-ce', '--num-items', '1682', '--set', 'dim=100000', '--set', 'n_layers=2', '--set', 'n_heads=2', '--set', 'maxlen=200', '--out', out]);
      expect(r.exitCode).to.equal(1);
      // The machine's memory is this host's: the rest of the line is checked above with an injected machine.
      expect(r.error?.message).to.match(/^the model has 240,181,600,000 parameters \(894\.75 GiB as float32\); training holds about 16 float32 copies of them \(parameters, AdamW moments, gradients: 14\.0 TiB\) before any batch, more than this machine's [\d.]+ [GT]iB of memory; lower dim or n_layers$/);
      expect(existsSync(out)).to.equal(false);
      expect(r.stdout).to.equal('');
    });

    it('train --batch-size 100000000 trains with one batch of all users and says so', async () => {
      const dir = compileTiny('llama-sasrec');
      const r = await runCommand(Train, [dir, '--data', data, '--max-steps', '1', '--batch-size', '100000000', '--eval-every', '0', '--threads', '1']);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(r.stderr).to.include('note: --batch-size 100000000 is larger than the 120 rows of an epoch (one per user); using 120\n');
      // The recipe line names the batch size trained with, not the one asked for, and that it was cut.
      expect(r.stdout).to.match(/^training .*, batch size 120 \(flag, capped at the rows of an epoch\), /m);
      expect(readManifest(dir).params.length).to.be.above(0);
      // Without the flag the default batch size (128) is capped: the note does not name a flag the user never gave.
      const d = await runCommand(Train, [dir, '--data', data, '--max-steps', '1', '--eval-every', '0', '--threads', '1', '--overwrite']);
      expect(d.error, d.error?.message).to.equal(undefined);
      expect(d.stderr).to.include('note: batch size 128 (default) is larger than the 120 rows of an epoch (one per user); using 120\n');
    });
  });
});

/** ML-100K's 943 users at the ml-1m-llama config, on SMALL_MACHINE. */
const REFUSAL =
  'training needs about 6.51 GiB at batch size 943 (--batch-size 100000000 capped at the rows of an epoch), but this machine has 6.00 GiB available of 8.00 GiB; ' +
  'lower --batch-size (about 866 fits). Estimate: parameters and AdamW state 13 MiB, activations 3.99 GiB, logits 2.36 GiB, batches 6 MiB, runtime 150 MiB; ' +
  'validation 455 MiB at other times';
const DIM_REFUSAL =
  'the model has 240,181,600,000 parameters (894.75 GiB as float32); training holds about 16 float32 copies of them (parameters, AdamW moments, gradients: 14.0 TiB) before any batch, ' +
  "more than this machine's 1.0 TiB of memory; lower dim or n_layers";
