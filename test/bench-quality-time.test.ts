// bench/quality.ts's time to quality: when validation first reached a given NDCG@10 / HR@10,
// read from train.jsonl. Synthetic logs (with a resume and downtime) check the arithmetic; a real
// tiny run checks that the trainer's epoch records carry what it reads.
import { expect } from 'chai';
import { join } from 'node:path';
import { HSTU_PAPER_ROW, describeTimeToQuality, parseTargets, timeToQuality } from '../bench/lib/time-to-quality.js';
import { UsageError } from '../src/errors.js';
import { train } from '../src/runtime/trainer.js';
import { JsonlLogger, readJsonl } from '../src/util/jsonl.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const v = (ndcg: number, hr: number) => ({ 'ndcg@10': ndcg, 'hr@10': hr, users: 100 });

/** Writes `records` as a train.jsonl (through the trainer's logger) and reads it back. */
function log(records: Record<string, unknown>[]): unknown[] {
  const path = join(mkdtempSync(join(tmpdir(), 'reclm-ttq-')), 'train.jsonl');
  const l = new JsonlLogger(path);
  for (const r of records) l.write(r);
  l.close();
  return readJsonl(path);
}

describe('time to quality (bench/lib/time-to-quality.ts)', () => {
  it('finds the first validation at or above each target, in training seconds', () => {
    const records = log([
      { type: 'start', step: 0, epoch: 0, time: '2026-01-01T00:00:00.000Z' },
      { type: 'step', step: 1, loss: 9 },
      { type: 'epoch', epoch: 1, valid: v(0.1, 0.2), elapsed_s: 60, time: '2026-01-01T00:01:00.000Z' },
      { type: 'epoch', epoch: 2, valid: v(0.172, 0.3), elapsed_s: 120, time: '2026-01-01T00:02:00.000Z' },
      { type: 'epoch', epoch: 3, valid: v(0.16, 0.31), elapsed_s: 180, time: '2026-01-01T00:03:00.000Z' },
      { type: 'end', seconds: 190 },
    ]);
    const [ndcg, hr] = timeToQuality(records, HSTU_PAPER_ROW);
    // 0.172 equals the target: "reached" is ≥.
    expect(ndcg).to.include({ seconds: 120, epoch: 2, loggedSeconds: 190 });
    expect(hr).to.include({ seconds: 180, epoch: 3 });
    expect(describeTimeToQuality(ndcg)).to.equal('time to NDCG@10 ≥ 0.1720: 2.0 min (epoch 2)');
  });

  it('adds up the segments of a resumed run and leaves out the downtime between them', () => {
    const records = log([
      { type: 'start', step: 0, epoch: 0, time: '2026-01-01T00:00:00.000Z' },
      { type: 'epoch', epoch: 1, valid: v(0.05, 0.1), elapsed_s: 100 },
      { type: 'epoch', epoch: 2, valid: v(0.08, 0.15), elapsed_s: 200 },
      // Killed after 250 s; resumed an hour later.
      { type: 'step', step: 60, loss: 5 },
      { type: 'resume', step: 50, epoch: 2, time: '2026-01-01T01:04:10.000Z' },
      // No elapsed_s: the ISO time against the resume record's (50 s into the segment).
      { type: 'epoch', epoch: 3, valid: v(0.12, 0.2), time: '2026-01-01T01:05:00.000Z' },
      { type: 'epoch', epoch: 4, valid: v(0.11, 0.21), elapsed_s: 150 },
    ]);
    const [a, b] = timeToQuality(records, [{ metric: 'ndcg@10', value: 0.1 }, { metric: 'ndcg@10', value: 0.5 }]);
    // The first segment ends at its last timed record (200 s; the untimed step record adds nothing).
    expect(a).to.include({ seconds: 250, epoch: 3 });
    expect(b).to.include({ seconds: null, epoch: null, loggedSeconds: 350 });
    expect(describeTimeToQuality(b)).to.equal('NDCG@10 ≥ 0.5000 not reached in 5.8 min');
  });

  it('refuses a log whose validated epochs carry no time, rather than guess', () => {
    const records = log([{ type: 'start', step: 0, epoch: 0 }, { type: 'epoch', epoch: 1, valid: v(0.2, 0.3) }]);
    expect(() => timeToQuality(records, HSTU_PAPER_ROW)).to.throw(/epoch 1 has no elapsed_s or time/);
  });

  it('parses --target-ndcg / --target-hr lists and rejects anything outside (0, 1]', () => {
    expect(parseTargets('hr@10', '--target-hr', '0.3097, 0.3294')).to.deep.equal([{ metric: 'hr@10', value: 0.3097 }, { metric: 'hr@10', value: 0.3294 }]);
    expect(() => parseTargets('ndcg@10', '--target-ndcg', '0.17,x')).to.throw(UsageError, /--target-ndcg: .*got 'x'/);
    expect(() => parseTargets('ndcg@10', '--target-ndcg', '17')).to.throw(UsageError, /got '17'/);
    expect(() => parseTargets('ndcg@10', '--target-ndcg', '0.1,')).to.throw(UsageError, "got an empty value in '0.1,' (a leading, trailing or doubled comma)");
  });

  it('reads the epoch records of a real run: a target below its first validation is reached at epoch 1', async function () {
    this.timeout(60000);
    const dir = compileTiny('llama-sasrec', 'bce');
    const started = Date.now();
    await train({ dir, data: tinyData(), epochs: 2, batchSize: 32, seed: 1, fusedSteps: 2, evalEvery: 1, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant', lr: 1e-3 } });
    const wall = (Date.now() - started) / 1000;
    const records = readJsonl(join(dir, 'train.jsonl')) as { type: string; elapsed_s?: number; time?: string }[];
    const epochs = records.filter((r) => r.type === 'epoch');
    expect(epochs.length).to.equal(2);
    for (const e of epochs) {
      expect(e.elapsed_s).to.be.a('number').above(0).and.at.most(wall);
      expect(Date.parse(e.time!)).to.be.within(started, Date.now());
    }
    // NDCG@10 > 0 unless all 120 users miss the top 10 of ~60 candidates (about (5/6)^120 = 3e-10 for
    // random scores); 1e-9 stands for "anything above zero".
    const [reached, never] = timeToQuality(records, [{ metric: 'ndcg@10', value: 1e-9 }, { metric: 'ndcg@10', value: 1 + 1e-9 }]);
    expect(reached.epoch).to.equal(1);
    expect(reached.seconds).to.equal(epochs[0].elapsed_s);
    expect(never.seconds).to.equal(null);
    expect(never.loggedSeconds).to.be.at.least(epochs[1].elapsed_s!);
  });
});
