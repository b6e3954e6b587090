import { expect } from 'chai';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlLogger, readJsonl } from '../src/util/jsonl.js';
import { formatDuration, formatFields, formatNumber, Progress, type ProgressStream } from '../src/util/progress.js';

function fakeStream(isTTY: boolean, columns = 200): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { out, isTTY, columns, write: (s: string) => out.push(s) };
}

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('util/progress', () => {
  it('formats durations, numbers and fields compactly', () => {
    expect(formatDuration(0)).to.equal('0:00');
    expect(formatDuration(75)).to.equal('1:15');
    expect(formatDuration(3 * 3600 + 62)).to.equal('3:01:02');
    expect(formatDuration(Infinity)).to.equal('?');
    expect(formatNumber(21_300)).to.equal('21.3k');
    expect(formatNumber(2_500_000)).to.equal('2.5M');
    expect(formatNumber(0.61234)).to.equal('0.612');
    expect(formatNumber(12)).to.equal('12');
    expect(formatNumber(123.456)).to.equal('123.5');
    expect(formatNumber(0.00012)).to.equal('1.20e-4');
    expect(formatNumber(NaN)).to.equal('NaN');
    expect(formatFields({ loss: 0.61234, 'tok/s': 21_300, phase: 'train', skip: undefined })).to.equal('loss=0.612 tok/s=21.3k phase=train');
  });

  it('on a TTY redraws one line in place with done/total, %, elapsed, ETA and fields', () => {
    const s = fakeStream(true);
    const clock = fakeClock();
    const p = new Progress({ total: 200, label: 'epoch 1', stream: s, now: clock.now });
    clock.advance(10_000);
    p.update(50, { loss: 0.61234, 'tok/s': 21_300 });
    expect(s.out).to.have.length(1);
    const line = s.out[0];
    expect(line.startsWith('\r')).to.equal(true);
    expect(line.endsWith('\x1b[K')).to.equal(true);
    expect(line).to.include('epoch 1').and.include('50/200').and.include('25.0%');
    expect(line).to.include('elapsed 0:10').and.include('eta 0:30'); // 10 s for 50, 150 to go
    expect(line).to.include('loss=0.612 tok/s=21.3k');
    expect(line).to.include('[=====>');
    expect(line).not.to.include('\n');
  });

  it('the ETA covers the work after this bar (later epochs) and ignores units done before it started', () => {
    const s = fakeStream(true);
    const clock = fakeClock();
    // A resumed epoch: 20 of 100 steps were done before; 200 steps of later epochs follow.
    const p = new Progress({ total: 100, start: 20, workLeft: 80 + 200, label: 'epoch 2/3', stream: s, now: clock.now });
    clock.advance(10_000);
    p.update(30);
    // 10 steps in 10 s; 70 left in this epoch + 200 after: 270 s.
    expect(s.out[0]).to.include('30/100').and.include('eta 4:30');
  });

  it('throttles TTY redraws and ends the line on finish', () => {
    const s = fakeStream(true);
    const clock = fakeClock();
    const p = new Progress({ total: 1000, stream: s, now: clock.now, redrawMs: 100 });
    for (let i = 1; i <= 1000; i++) {
      clock.advance(1); // 1 ms per unit: a redraw every ~100 units
      p.tick();
    }
    expect(s.out.length).to.be.within(9, 11);
    p.finish({ loss: 0.5 });
    expect(s.out.at(-1)).to.equal('\n');
    expect(s.out.at(-2)).to.include('1000/1000').and.include('100.0%').and.include('loss=0.5').and.not.include('eta');
    const count = s.out.length;
    p.finish();
    p.tick();
    expect(s.out.length).to.equal(count);
  });

  it('the ETA stops where workLeft ends (a run ending mid-epoch) while done/total stays the whole bar', () => {
    const s = fakeStream(false);
    const clock = fakeClock();
    // 16 steps an epoch, but --max-steps ends the run after step 4.
    const p = new Progress({ total: 16, workLeft: 4, stream: s, now: clock.now, intervalSec: 1 });
    clock.advance(2_000);
    p.update(2);
    expect(s.out[0]).to.include('2/16').and.include('eta 0:02'); // 1 s a step, 2 left
    clock.advance(2_000);
    p.update(4);
    expect(s.out[1]).to.include('4/16').and.include('eta 0:00');
  });

  it('the ETA adds laterSec, the other work known to follow (validation passes)', () => {
    const s = fakeStream(false);
    const clock = fakeClock();
    const p = new Progress({ total: 16, workLeft: 16, laterSec: 90, stream: s, now: clock.now, intervalSec: 1 });
    clock.advance(2_000);
    p.update(2);
    expect(s.out[0]).to.include('eta 1:44'); // 1 s a step, 14 left, plus 90 s
  });

  it('on a narrow TTY drops the bar graphics before cutting the numbers', () => {
    const s = fakeStream(true, 80);
    const clock = fakeClock();
    const p = new Progress({ total: 16, label: 'epoch 12/60', stream: s, now: clock.now });
    clock.advance(10_000);
    p.update(8, { loss: '1.2749', 'tok/s': 13_900 });
    const drawn = s.out[0];
    expect(drawn).not.to.include('[=');
    expect(drawn).to.include('loss=1.2749').and.include('tok/s=13.9k').and.include('eta 0:10');
  });

  it('on a narrower TTY drops the percentage, the elapsed time, then the fields from the last, and keeps the ETA', () => {
    const draw = (cols: number) => {
      const s = fakeStream(true, cols);
      const clock = fakeClock();
      const p = new Progress({ total: 48, label: 'epoch 12/60', stream: s, now: clock.now });
      clock.advance(10_000);
      p.update(24, { loss: 5.6851, 'tok/s': 11_700 });
      // Drawn as \r, the line, then the erase-to-end-of-line sequence.
      expect(s.out[0].startsWith('\r') && s.out[0].endsWith('\x1b[K')).to.equal(true);
      return s.out[0].slice(1, -'\x1b[K'.length);
    };
    // 80 columns: everything but the bar graphics (96 characters with them, 72 without).
    expect(draw(80)).to.equal('epoch 12/60  24/48  50.0%  elapsed 0:10  eta 0:10  loss=5.69 tok/s=11.7k');
    expect(draw(60)).to.equal('epoch 12/60  24/48  eta 0:10  loss=5.69 tok/s=11.7k');
    expect(draw(45)).to.equal('epoch 12/60  24/48  eta 0:10  loss=5.69');
    expect(draw(30)).to.equal('epoch 12/60  24/48  eta 0:10');
    // Only what is never dropped gets cut, at the terminal's width less one column.
    expect(draw(20)).to.equal('epoch 12/60  24/48 ');
  });

  it('cuts TTY lines to the terminal width so \\r redraws do not wrap', () => {
    const s = fakeStream(true, 30);
    const p = new Progress({ total: 10, label: 'a rather long label for a narrow terminal', stream: s, now: fakeClock().now });
    p.update(1);
    expect(s.out[0].length).to.equal('\r'.length + 29 + '\x1b[K'.length);
  });

  it('without a TTY prints a plain line at most every intervalSec', () => {
    const s = fakeStream(false);
    const clock = fakeClock();
    const p = new Progress({ total: 100, stream: s, now: clock.now, intervalSec: 5 });
    for (let i = 1; i <= 100; i++) {
      clock.advance(200); // 20 s in all → 4 lines
      p.update(i, { loss: 1 / i });
    }
    expect(s.out).to.have.length(4);
    for (const line of s.out) {
      expect(line.endsWith('\n')).to.equal(true);
      expect(line).not.to.include('\r');
      expect(line).not.to.include('[=');
    }
    expect(s.out[0]).to.include('25/100').and.include('elapsed 0:05').and.include('eta 0:15');
    // The last interval's line already shows 100/100 with the same fields: finish() adds none.
    p.finish();
    expect(s.out).to.have.length(4);
    expect(s.out[3]).to.include('100/100');
  });

  it('without a TTY, finish() does not repeat a line already printed for the last step', () => {
    const s = fakeStream(false);
    const clock = fakeClock();
    const p = new Progress({ total: 4, stream: s, now: clock.now, intervalSec: 1 });
    for (let i = 1; i <= 4; i++) {
      clock.advance(1_000); // every update prints: the last one is 4/4
      p.update(i, { loss: 1 });
    }
    expect(s.out).to.have.length(4);
    p.finish();
    expect(s.out).to.have.length(4);
    // New fields at the end are news: then the final line is printed.
    const q = new Progress({ total: 2, stream: s, now: clock.now, intervalSec: 1 });
    clock.advance(1_000);
    q.update(2, { loss: 1 });
    q.finish({ loss: 0.5 });
    expect(s.out).to.have.length(6);
    expect(s.out[5]).to.include('2/2').and.include('loss=0.5');
  });

  it('on a TTY that reports 0 columns (a pseudo-terminal without a size), draws at 80', () => {
    const s = fakeStream(true, 0);
    const p = new Progress({ total: 10, label: 'epoch 1', stream: s, now: fakeClock().now });
    p.update(1);
    expect(s.out[0]).to.include('epoch 1').and.include('1/10');
  });

  it('finish() of a bar that did no work prints nothing', () => {
    for (const tty of [true, false]) {
      const s = fakeStream(tty);
      const p = new Progress({ total: 16, start: 0, stream: s, now: fakeClock().now });
      p.finish();
      expect(s.out, `tty ${tty}`).to.deep.equal([]);
    }
  });

  it('prints nothing at all in --json mode', () => {
    const s = fakeStream(true);
    const clock = fakeClock();
    const p = new Progress({ total: 10, stream: s, json: true, now: clock.now });
    expect(p.enabled).to.equal(false);
    clock.advance(60_000);
    p.update(5, { loss: 1 });
    p.log('epoch done');
    p.finish();
    expect(s.out).to.deep.equal([]);
  });

  it('log() prints a line above the bar and redraws it', () => {
    const s = fakeStream(true);
    const clock = fakeClock();
    const p = new Progress({ total: 10, stream: s, now: clock.now });
    p.update(3);
    p.log('epoch 1: ndcg@10=0.18');
    expect(s.out[1]).to.equal('\r\x1b[Kepoch 1: ndcg@10=0.18\n');
    expect(s.out[2]).to.include('3/10');
  });

  it('shows only done and elapsed when the total is unknown', () => {
    const s = fakeStream(false);
    const clock = fakeClock();
    const p = new Progress({ stream: s, now: clock.now, intervalSec: 1 });
    clock.advance(1_500);
    p.update(42);
    expect(s.out[0]).to.match(/^42 {2}elapsed 0:02\n$/);
  });
});

describe('util/jsonl', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-jsonl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one JSON object per line, readable before close', () => {
    const path = join(dir, 'log.jsonl');
    const log = new JsonlLogger(path);
    log.write({ step: 1, loss: 0.9 });
    log.write({ step: 2, loss: 0.8, note: 'line\nbreak' });
    // Unbuffered: another reader sees both lines before close.
    expect(readFileSync(path, 'utf8').split('\n')).to.have.length(3);
    log.close();
    log.close(); // twice is fine
    expect(readJsonl(path)).to.deep.equal([
      { step: 1, loss: 0.9 },
      { step: 2, loss: 0.8, note: 'line\nbreak' },
    ]);
  });

  it('keeps earlier lines when reopened (append-only)', () => {
    const path = join(dir, 'log.jsonl');
    const a = new JsonlLogger(path);
    a.write({ run: 1 });
    a.close();
    const b = new JsonlLogger(path);
    b.write({ run: 2 });
    b.close();
    expect(readJsonl(path)).to.deep.equal([{ run: 1 }, { run: 2 }]);
  });

  it('writes non-finite numbers as strings instead of null', () => {
    const path = join(dir, 'log.jsonl');
    const log = new JsonlLogger(path);
    log.write({ loss: NaN, best: -Infinity, nested: { x: Infinity } });
    log.close();
    expect(readJsonl(path)).to.deep.equal([{ loss: 'NaN', best: '-Infinity', nested: { x: 'Infinity' } }]);
  });

  it('starts on a fresh line after a torn last line, and readJsonl can skip it', () => {
    const path = join(dir, 'log.jsonl');
    writeFileSync(path, '{"step":1}\n{"step":2,"lo');
    const log = new JsonlLogger(path);
    log.write({ step: 3 });
    log.close();
    expect(() => readJsonl(path)).to.throw(/log\.jsonl:2: not valid JSON/);
    expect(readJsonl(path, { skipInvalid: true })).to.deep.equal([{ step: 1 }, { step: 3 }]);
  });

  it('refuses writes after close and non-object records', () => {
    const path = join(dir, 'log.jsonl');
    const log = new JsonlLogger(path);
    expect(() => log.write([1, 2] as unknown as Record<string, unknown>)).to.throw(TypeError);
    log.close();
    expect(() => log.write({ a: 1 })).to.throw(/closed/);
    appendFileSync(path, '');
    expect(readJsonl(path)).to.deep.equal([]);
  });
});
