// `reclm data filter`: k-core filtering and conversion to a CSV that reads back into the same dataset.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import DataFilter from '../src/commands/data/filter.js';
import DataStats from '../src/commands/data/stats.js';
import { readDataset, type Dataset } from '../src/data/index.js';
import { runCommand } from './helpers/cli.js';

const ML100K = fileURLToPath(new URL('../../shared/data/ml-100k.u.data.gz', import.meta.url));

/** What a dataset holds, by original ids: per user, item ids, times and actions. */
function content(ds: Dataset) {
  return ds.users.map((u, k) => ({
    user: u,
    items: Array.from(ds.sequences[k], (i) => String(ds.itemIds[i])),
    times: ds.timestamps ? Array.from(ds.timestamps[k]) : null,
    actions: ds.actions ? Array.from(ds.actions.actions[k], (a) => ds.actions!.vocab[a]) : null,
  }));
}

describe('data filter', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-filter-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('iterates the k-core until stable and writes user,item,time rows in time order', async () => {
    // Items x and y have 2 events each, z one; users a and b 2 each, c 2 (x, z).
    // With 2 and 2: z goes, which leaves c with 1 event, so c goes, which leaves x with 1, so x goes,
    // which leaves a and b with 1 each: nothing would be left. With items >= 2 and users >= 1: z goes, c keeps x.
    const p = write('k.csv', 'user,item,time\na,y,20\na,x,10\nb,x,11\nb,y,21\nc,x,12\nc,z,13\n');
    const out = join(dir, 'k-out.csv');
    const r = await runCommand(DataFilter as never, [p, '--min-item-count', '2', '--out', out]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readFileSync(out, 'utf8')).to.equal('user,item,time\na,x,10\na,y,20\nb,x,11\nb,y,21\nc,x,12\n');
    expect(r.stdout).to.include('3 users, 2 items, 5 interactions (k-core with --min-item-count 2: of 3 users, 3 items and 6 interactions)');
    // Both thresholds at 2: iterated, nothing is left, and the refusal names the flags.
    const none = await runCommand(DataFilter as never, [p, '--min-item-count', '3', '--min-user-count', '2', '--out', join(dir, 'none.csv')]);
    expect(none.exitCode).to.equal(1);
    expect(none.error?.message).to.equal(`${p}: no interactions left after k-core filtering (--min-item-count 3, --min-user-count 2); lower them (the file holds 3 users, 3 items and 6 interactions; its most active user has 2 events, its most frequent item 3 events)`);
    // One threshold given: the message names that one only.
    const one = await runCommand(DataFilter as never, [p, '--min-user-count', '1000', '--out', join(dir, 'none.csv')]);
    expect(one.error?.message).to.equal(`${p}: no interactions left after k-core filtering (--min-user-count 1000); lower it (the file holds 3 users, 3 items and 6 interactions; its most active user has 2 events, its most frequent item 3 events)`);
  });

  it('ML-100K with --min-item-count 10 and --actions: the gzipped CSV reads back as the filtered file, times and ratings included', async () => {
    const out = join(dir, 'ml100k-10.csv.gz');
    const r = await runCommand(DataFilter as never, [ML100K, '--min-item-count', '10', '--actions', '--out', out, '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout) as { before: object; after: { users: number; items: number; interactions: number } };
    expect(summary.before).to.deep.equal({ users: 943, items: 1682, interactions: 100000 });
    const filtered = readDataset(ML100K, { minItemCount: 10, actions: true });
    expect(summary.after).to.deep.equal({ users: filtered.users.length, items: filtered.numItems, interactions: filtered.sequences.reduce((s, q) => s + q.length, 0) });
    expect(summary.after.items).to.be.below(1682);
    expect(gunzipSync(readFileSync(out)).toString('utf8').split('\n')[0]).to.equal('user,item,time,action');
    const back = readDataset(out, { actions: true });
    expect(content(back)).to.deep.equal(content(filtered));
    // data stats says what the filter did.
    const stats = await runCommand(DataStats as never, [ML100K, '--min-item-count', '10']);
    expect(stats.stdout).to.match(/^k-core {13}--min-user-count 1, --min-item-count 10; before it: 943 users, 1682 items, 100000 interactions$/m);
  });

  it('data without times keeps each user\'s order; ids with commas, quotes or spaces around them are quoted', async () => {
    const p = write('seq.txt', '1 b,c\n1 a\n2 "q"\n2 a\n');
    const out = join(dir, 'seq.csv');
    expect((await runCommand(DataFilter as never, [p, '--format', 'sasrec', '--out', out])).exitCode).to.equal(0);
    expect(readFileSync(out, 'utf8')).to.equal('user,item\n1,"b,c"\n1,a\n2,"""q"""\n2,a\n');
    expect(content(readDataset(out))).to.deep.equal(content(readDataset(p, { format: 'sasrec' })));
    // Spaces around an id are part of it (JSON Lines, or a quoted CSV field): quoted, so a reader that trims keeps them.
    const spaced = write('spaced.jsonl', '{"user": " a", "item": "x "}\n{"user": " a", "item": "x"}\n');
    const spacedOut = join(dir, 'spaced.csv');
    expect((await runCommand(DataFilter as never, [spaced, '--out', spacedOut])).exitCode).to.equal(0);
    expect(readFileSync(spacedOut, 'utf8')).to.equal('user,item\n" a","x "\n" a",x\n');
    expect(content(readDataset(spacedOut))).to.deep.equal(content(readDataset(spaced)));
    // Without thresholds nothing is filtered: the built-in dataset (which refuses a k-core filter) converts too.
    const builtin = join(dir, 'builtin.csv');
    const b = await runCommand(DataFilter as never, ['builtin', '--out', builtin]);
    expect(b.exitCode, b.stderr).to.equal(0);
    expect(b.stdout).to.match(/^wrote .*builtin\.csv: 2000 users, 500 items, \d+ interactions$/m);
  });

  it('refuses to replace a file without --force, the input file even with it, and an id it cannot write', async () => {
    const p = write('in.csv', 'user,item\na,x\n');
    const taken = write('taken.csv', 'keep me\n');
    const r = await runCommand(DataFilter as never, [p, '--out', taken]);
    expect(r.exitCode).to.equal(1);
    expect(r.error?.message).to.equal(`--out ${taken} exists; give --force to replace it`);
    expect(readFileSync(taken, 'utf8')).to.equal('keep me\n');
    // A folder is said to be one at once: --force could not replace it.
    expect((await runCommand(DataFilter as never, [p, '--out', dir + '/'])).error?.message).to.equal(`--out ${dir}/ is a folder; give a file name, such as ${join(dir, 'interactions.csv')}`);
    expect((await runCommand(DataFilter as never, [p, '--out', taken, '--force'])).exitCode).to.equal(0);
    const same = await runCommand(DataFilter as never, [p, '--out', p, '--force']);
    expect(same.error?.message).to.equal(`--out ${p} is the input file; write to another file`);
    // --out - is stdout; --json would share it.
    const stdout = await runCommand(DataFilter as never, [p, '--out', '-']);
    expect(stdout.exitCode, stdout.stderr).to.equal(0);
    expect(stdout.stdout).to.equal('user,item\na,x\n');
    expect(stdout.stderr).to.include('wrote stdout: 1 user, 1 item, 1 interaction');
    expect((await runCommand(DataFilter as never, [p, '--out', '-', '--json'])).error?.message).to.equal('--out - writes the CSV to stdout, where --json prints its summary too; give a file name');
    const broken = write('nl.jsonl', '{"user": "a", "item": "x\\ny"}\n');
    const nl = await runCommand(DataFilter as never, [broken, '--out', join(dir, 'nl.csv')]);
    expect(nl.exitCode).to.equal(1);
    expect(nl.error?.message).to.equal(`${broken}: the id "x\\ny" holds a line break, which a CSV of one record per line cannot hold`);
  });
});
