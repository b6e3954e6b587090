// --positive, --actions and the side-file flags through compile, train, eval and data stats
// (run in-process, test/helpers/cli.ts): the rule is stored in the manifest and train and eval
// apply it; plain artifacts refuse the flags at train time.
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Compile from '../src/commands/compile.js';
import DataStats from '../src/commands/data/stats.js';
import Eval from '../src/commands/eval.js';
import Train from '../src/commands/train.js';
import { openDataset } from '../src/data/open.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import { plainText, runCommand } from './helpers/cli.js';
import { tinyData } from './helpers/tiny-run.js';

describe('feature flags on the command line', function () {
  this.timeout(180000);
  let dir: string, ratings: string, users: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-features-cli-'));
    // The tiny dataset with a deterministic rating per event (about 3 in 5 are >= 3).
    const lines: string[] = [];
    tinyData().sequences.forEach((s, u) => s.forEach((item, j) => lines.push(`${u + 1}::${item}::${1 + ((u * 7 + j * 3) % 5)}::${1000 + j}`)));
    ratings = join(dir, 'ratings.dat');
    writeFileSync(ratings, lines.join('\n') + '\n');
    // Users 1..100 only: 20 users are unknown.
    users = join(dir, 'users.dat');
    writeFileSync(users, Array.from({ length: 100 }, (_, u) => `${u + 1}::${u % 2 ? 'M' : 'F'}::${[1, 18, 25][u % 3]}::${u % 5}::${10000 + u}`).join('\n') + '\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** The metrics `eval --json` prints, for comparing two rankings. */
  const metrics = (out: string) => Object.fromEntries(['users', 'hr@10', 'ndcg@10', 'mrr'].map((k) => [k, JSON.parse(out)[k]]));
  const tiny = ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=12', '--set', 'multiple_of=8'];

  it('data stats prints the side-file report; a bad --positive is one line, exit 2', async () => {
    const r = await runCommand(DataStats as never, [ratings, '--positive', 'rating>=3', '--user-features', users]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^positive {11}rating>=3: \d+\.\d% of events are targets$/m);
    expect(r.stdout).to.match(/^user features {6}gender \(categorical, 2 values\), age \(categorical, 3 values\), occupation \(categorical, 5 values\), zip_prefix \(categorical, 1 value\); 20 unknown users, 0 unseen or missing values/m);
    // A side file whose ids are not this log's (here: a header-less CSV read with its first column as the id).
    const wrong = join(dir, 'nocol.csv');
    writeFileSync(wrong, 'foo,bar\nx,1\ny,2\n1,3\n');
    const w = await runCommand(DataStats as never, [ratings, '--user-features', wrong]);
    expect(w.exitCode).to.equal(1);
    expect(plainText(w.error!.message)).to.equal(`${wrong}: 119 of the 120 users of ${ratings} are not in this file (more than 50%): the wrong user file, or ids read from the wrong column (no column named like a user id; the first column "foo" is the user id)`);
    // Its id column found by name, but the ids are another site's: the message names the column it read.
    const otherIds = join(dir, 'other-ids.csv');
    writeFileSync(otherIds, 'user_id,age\nu1,20\nu2,30\n');
    const o = await runCommand(DataStats as never, [ratings, '--user-features', otherIds]);
    expect(plainText(o.error!.message)).to.equal(`${otherIds}: 120 of the 120 users of ${ratings} are not in this file (more than 50%): the wrong user file, or ids read from the wrong column (ids read from the column "user_id")`);
    const bad = await runCommand(DataStats as never, [ratings, '--positive', 'stars>3']);
    // Checked as the flags are parsed: exit code 2.
    expect(bad.exitCode).to.equal(2);
    expect(plainText(bad.error!.message)).to.match(/^--positive expects all, rating>=N or action=V1,V2,…/);
    expect(bad.error!.message).to.not.include('\n');
  });

  it('compile stores the rule and vocabularies; train and eval apply them', async () => {
    const art = join(dir, 'art');
    const c = await runCommand(Compile as never, [...tiny, '--data', ratings, '--positive', 'rating>=3', '--user-features', users, '--out', art]);
    expect(c.exitCode, c.stderr).to.equal(0);
    expect(c.stderr).to.include('20 of 120 users not in the file');
    const manifest = JSON.parse(readFileSync(join(art, 'manifest.json'), 'utf8'));
    expect(manifest.features.positive).to.deep.equal({ kind: 'rating', min: 3 });
    expect(manifest.features.userFields.map((f: { name: string }) => f.name)).to.deep.equal(['gender', 'age', 'occupation', 'zip_prefix']);
    expect(manifest.features.actions).to.equal(undefined);

    const missing = await runCommand(Train as never, [art, '--data', ratings, '--max-steps', '2']);
    expect(missing.exitCode).to.equal(1);
    expect(plainText(missing.error!.message)).to.match(/compiled with user features .*give --user-features FILE/);
    const contra = await runCommand(Train as never, [art, '--data', ratings, '--user-features', users, '--positive', 'rating>=4', '--max-steps', '2']);
    expect(plainText(contra.error!.message)).to.match(/--positive rating>=4 contradicts the model, compiled with --positive rating>=3/);

    const t = await runCommand(Train as never, [art, '--data', ratings, '--user-features', users, '--epochs', '1', '--batch-size', '32', '--fused-steps', '1']);
    expect(t.exitCode, t.stderr).to.equal(0);
    expect(t.stdout).to.include('positive rating>=3');
    // Random windows could hold no positive target: refused from the manifest,
    // before the data is read and before --overwrite deletes anything.
    const windowed = await runCommand(Train as never, [art, '--data', ratings, '--user-features', users, '--epochs', '1', '--window', 'random', '--overwrite']);
    expect(windowed.stderr).to.not.include('note:');
    expect([windowed.exitCode, plainText(windowed.error!.message)]).to.deep.equal([1, 'random windows (--window random) do not combine with a positive rule (--positive): a window may hold no positive target; use --window last']);
    expect(['last.ckpt', 'inference.onnx'].map((f) => existsSync(join(art, f)))).to.deep.equal([true, true]);

    const e = await runCommand(Eval as never, [art, '--data', ratings, '--user-features', users, '--json']);
    expect(e.exitCode, e.stderr).to.equal(0);
    expect(JSON.parse(e.stdout).warnings).to.deep.equal([]);
    // Another user file of the same users (genders swapped): the events are the same, the profile inputs are not.
    // Before, neither eval nor --resume could tell (the data fingerprint covers the events only).
    const swapped = join(dir, 'users-swapped.dat');
    writeFileSync(swapped, readFileSync(users, 'utf8').replace(/::([MF])::/g, (_, g: string) => `::${g === 'M' ? 'F' : 'M'}::`));
    const se = await runCommand(Eval as never, [art, '--data', ratings, '--user-features', swapped, '--json']);
    expect(se.exitCode, se.stderr).to.equal(0);
    expect(JSON.parse(se.stdout).warnings).to.have.length(1);
    expect(JSON.parse(se.stdout).warnings[0]).to.match(new RegExp(`^the actions or user features read with ${ratings.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} are not those ${art.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was trained with \\(side-data fingerprint [0-9a-f]{12}, the run's [0-9a-f]{12}\\)`));
    const resumed = await runCommand(Train as never, [art, '--data', ratings, '--user-features', swapped, '--epochs', '1', '--batch-size', '32', '--fused-steps', '1', '--resume']);
    expect(resumed.exitCode).to.equal(1);
    expect(plainText(resumed.error!.message)).to.match(/^--resume: the actions or user features are not those the run in .* was trained with \(side-data fingerprint [0-9a-f]{12}, the run's [0-9a-f]{12}\); resume with the same data file and --user-features file$/);
    const noItemFields = await runCommand(Eval as never, [art, '--data', ratings, '--user-features', users, '--item-features', users]);
    expect(plainText(noItemFields.error!.message)).to.equal('--item-features: the model was compiled without item features; drop the flag (item features are chosen at compile time)');
    const split = leaveOneOutSplit(openDataset(ratings, { positive: { kind: 'rating', min: 3 } }));
    expect(JSON.parse(e.stdout).users).to.equal(split.summary.evalUsers);
    // The positive-only protocol evaluates other targets than the plain one.
    const plain = leaveOneOutSplit(openDataset(ratings));
    expect(Array.from(split.test)).to.not.deep.equal(Array.from(plain.test));

    // The exported model alone (no manifest beside it) carries the rule and the fields in its metadata.
    const lone = join(dir, 'lone');
    mkdirSync(lone);
    copyFileSync(join(art, 'inference.onnx'), join(lone, 'model.onnx'));
    const le = await runCommand(Eval as never, [join(lone, 'model.onnx'), '--data', ratings, '--user-features', users, '--json']);
    expect(le.exitCode, le.stderr).to.equal(0);
    expect(JSON.parse(le.stdout)).to.deep.include(metrics(e.stdout));
    const noUsers = await runCommand(Eval as never, [join(lone, 'model.onnx'), '--data', ratings]);
    expect(noUsers.exitCode).to.equal(1);
    expect(plainText(noUsers.error!.message)).to.match(/compiled with user features .*give --user-features FILE/);
    // A model named on its own is read from its own metadata: a broken manifest.json beside it is not read, the same numbers.
    writeFileSync(join(lone, 'manifest.json'), '{broken');
    const broken = await runCommand(Eval as never, [join(lone, 'model.onnx'), '--data', ratings, '--user-features', users, '--json']);
    expect(broken.exitCode, broken.stderr).to.equal(0);
    expect(JSON.parse(broken.stdout)).to.deep.include(metrics(e.stdout));
    // The folder itself named: the manifest is the folder's contract, so it stops there.
    expect((await runCommand(Eval as never, [lone, '--data', ratings])).error?.message).to.match(/lone\/manifest\.json is not valid JSON \(.*\); the file is corrupted or was changed, recompile$/);
  });

  it('train and eval read CSV side fields as compiled, without --field, in the model order', async () => {
    const art = join(dir, 'csvfields');
    const usersCsv = join(dir, 'users.csv');
    const row = (u: number) => ({ user_id: `${u}`, age: `${15 + ((u * 7) % 50)}`, gender: u % 2 ? 'M' : 'F', zip: `${10000 + u}` });
    const rows = Array.from({ length: 120 }, (_, u) => row(u + 1));
    writeFileSync(usersCsv, ['user_id,age,gender,zip', ...rows.map((r) => `${r.user_id},${r.age},${r.gender},${r.zip}`)].join('\n') + '\n');
    const itemsCsv = join(dir, 'items.csv');
    writeFileSync(itemsCsv, ['item_id,genres', ...Array.from({ length: 60 }, (_, i) => `${i + 1},g${i % 3};g${i % 5}`)].join('\n') + '\n');
    const sides = ['--user-features', usersCsv, '--item-features', itemsCsv];
    const c = await runCommand(Compile as never, [...tiny, '--data', ratings, ...sides, '--field', 'age=numeric:3', '--field', 'genres=multi:;', '--field', 'zip=ignore', '--out', art]);
    expect(c.exitCode, c.stderr).to.equal(0);
    const features = JSON.parse(readFileSync(join(art, 'manifest.json'), 'utf8')).features;
    expect(features.userFields.map((f: { name: string; kind: string }) => `${f.name}:${f.kind}`)).to.deep.equal(['age:bucketed', 'gender:categorical']);
    expect(features.itemFields[0]).to.deep.include({ name: 'genres', kind: 'multi', separator: ';', width: 2 });

    // A separator the file never uses leaves every value whole: said.
    const wrongSep = await runCommand(DataStats as never, [ratings, '--item-features', itemsCsv, '--field', 'genres=multi:,']);
    expect(wrongSep.stdout + wrongSep.stderr).to.include("genres (15 values, never more than one per item: is its separator ',' the file's?)");
    // Before, age was read as categorical without the flag again and the file was refused.
    const t = await runCommand(Train as never, [art, '--data', ratings, ...sides, '--epochs', '1', '--batch-size', '32', '--fused-steps', '1']);
    expect(t.exitCode, t.stderr).to.equal(0);
    expect(t.stderr).to.include(`${usersCsv}: "zip" not read (the model was compiled without this field)`);
    const e = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--json']);
    expect(e.exitCode, e.stderr).to.equal(0);
    // The item features are in the graphs: the file given again is not read, and says so.
    expect(e.stderr).to.include(`--item-features ${itemsCsv}: not read; the model's item features were baked into its graphs at compile time (compile again to change them)`);
    // The same users with their columns in another order: the same profile tokens, so the same numbers
    // (before, fields were taken in the file's order and the profile was permuted).
    const shuffled = join(dir, 'users-reordered.csv');
    writeFileSync(shuffled, ['zip,gender,user_id,age', ...rows.map((r) => `${r.zip},${r.gender},${r.user_id},${r.age}`)].join('\n') + '\n');
    const e2 = await runCommand(Eval as never, [art, '--data', ratings, '--user-features', shuffled, '--item-features', itemsCsv, '--json']);
    expect(e2.exitCode, e2.stderr).to.equal(0);
    expect(metrics(e2.stdout)).to.deep.equal(metrics(e.stdout));

    const contra = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'age=categorical']);
    expect([contra.exitCode, plainText(contra.error!.message)]).to.deep.equal([1, '--field age=categorical contradicts the model, compiled with age=numeric; drop the flag (train and eval read each field as it was compiled)']);
    const unknown = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'zip=numeric']);
    expect(plainText(unknown.error!.message)).to.equal('--field zip=numeric: the model was compiled without a field "zip" (its fields: age, gender, genres); drop the flag');
    // Flags that agree with the model are accepted: the same numbers; an item field's flag needs no item file (its features are baked in).
    const same = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'age=numeric:3', '--field', 'zip=ignore', '--json']);
    expect(metrics(same.stdout)).to.deep.equal(metrics(e.stdout));
    const noItems = await runCommand(Eval as never, [art, '--data', ratings, '--user-features', usersCsv, '--field', 'genres=multi:;', '--json']);
    expect(noItems.exitCode, noItems.error?.message).to.equal(0);
    expect(metrics(noItems.stdout)).to.deep.equal(metrics(e.stdout));
    // Another bucket count cannot apply to the compiled edges: said, and the model's buckets used.
    const eight = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'age=numeric:8', '--json']);
    expect(eight.stderr).to.include("--field age=numeric:8: the model's age has the 3 buckets it was compiled with, which apply");
    expect(metrics(eight.stdout)).to.deep.equal(metrics(e.stdout));
    // Another separator for an item field reads no file here (its tables are baked in): said so, not "values are split on '|' here".
    const otherSep = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'item:genres=multi', '--json']);
    expect(plainText(otherSep.stderr)).to.include("--field item:genres: changes nothing here; the model's item field genres was baked into its graphs at compile time (compile again to change it)");
    expect(metrics(otherSep.stdout)).to.deep.equal(metrics(e.stdout));
    // A spec scoped to one side file is checked against that side's fields only.
    const scopedAge = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'user:age=numeric:3', '--json']);
    expect(metrics(scopedAge.stdout)).to.deep.equal(metrics(e.stdout));
    const itemAge = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'item:age=numeric:3']);
    expect([itemAge.exitCode, plainText(itemAge.error!.message)]).to.deep.equal([1, '--field item:age=numeric: the model was compiled without an item field "age" (its item fields: genres); drop the flag']);
    // A malformed value does not parse (exit 2); one column given twice is refused.
    for (const bad of ['age=bogus', 'age', 'age=numeric:0', 'age=numeric:0x10']) expect((await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', bad])).exitCode, bad).to.equal(2);
    const twice = await runCommand(Eval as never, [art, '--data', ratings, ...sides, '--field', 'age=numeric:3', '--field', 'age=categorical']);
    expect([twice.exitCode, plainText(twice.error!.message)]).to.deep.equal([1, '--field age: the column is given twice (age=numeric:3, age=categorical); give one, or scope each to its file (user:NAME, item:NAME)']);
  });

  it('plain artifacts keep plain manifests and refuse the flags at train time', async () => {
    const art = join(dir, 'plain');
    const c = await runCommand(Compile as never, [...tiny, '--data', ratings, '--out', art]);
    expect(c.exitCode, c.stderr).to.equal(0);
    expect(JSON.parse(readFileSync(join(art, 'manifest.json'), 'utf8'))).to.not.have.property('features');
    const t = await runCommand(Train as never, [art, '--data', ratings, '--positive', 'rating>=4', '--max-steps', '1']);
    expect(t.exitCode).to.equal(1);
    expect(plainText(t.error!.message)).to.match(/--positive: .* was compiled for item ids only/);
    const trained = await runCommand(Train as never, [art, '--data', ratings, '--max-steps', '1', '--eval-every', '0']);
    expect(trained.exitCode, trained.stderr).to.equal(0);
    // eval too: the model cannot read side inputs it was not trained with (the positive rule only picks targets, so it stays allowed).
    for (const flag of [['--user-features', users], ['--actions']]) {
      const r = await runCommand(Eval as never, [art, '--data', ratings, ...flag]);
      expect(r.exitCode, flag[0]).to.equal(1);
      expect(plainText(r.error!.message)).to.match(new RegExp(`^${flag[0]}: .* was trained on item ids only \\(no actions or side files\\), so it cannot read them; drop the flag$`));
    }
    // It ranks, but the rule moves targets onto events the model trained to predict (it took every
    // event as a target through each history's third-last): counted here independently of eval.
    const ev = leaveOneOutSplit(openDataset(ratings, { positive: { kind: 'rating', min: 4 } })).events!;
    let trainedOn = 0, evaluated = 0;
    ev.testAt.forEach((at, u) => {
      if (at >= 0) evaluated++;
      if (at >= 0 && at <= ev.items[u].length - 3) trainedOn++;
    });
    expect(trainedOn, 'the data must have such targets for this check to mean anything').to.be.greaterThan(0);
    const ruled = await runCommand(Eval as never, [art, '--data', ratings, '--positive', 'rating>=4']);
    expect(ruled.exitCode).to.equal(0);
    expect(plainText(ruled.stderr)).to.include(`${trainedOn} of ${evaluated} test targets (${((100 * trainedOn) / evaluated).toFixed(1)}%) chosen by --positive rating>=4 were training targets of ${art}`);
    expect(plainText((await runCommand(Eval as never, [art, '--data', ratings])).stderr)).to.not.include('were training targets');
    // A model with user features copied into this plain run's folder is read with its own inputs, not the folder's
    // (before: refused as an item-id model, and without the flag an internal error).
    const featured = join(dir, 'art');
    copyFileSync(join(featured, 'inference.onnx'), join(art, 'other.onnx'));
    const own = await runCommand(Eval as never, [featured, '--data', ratings, '--user-features', users, '--json']);
    const copied = await runCommand(Eval as never, [join(art, 'other.onnx'), '--data', ratings, '--user-features', users, '--json']);
    expect(copied.exitCode, copied.error?.message).to.equal(0);
    expect(metrics(copied.stdout)).to.deep.equal(metrics(own.stdout));
    // Beside another catalogue's items.json (here the same ids in another order) it would score the wrong items: refused.
    const foreign = mkdtempSync(join(tmpdir(), 'reclm-foreign-map-'));
    copyFileSync(join(featured, 'inference.onnx'), join(foreign, 'model.onnx'));
    const map = JSON.parse(readFileSync(join(featured, 'items.json'), 'utf8')) as { itemIds: string[] };
    writeFileSync(join(foreign, 'items.json'), JSON.stringify({ ...map, itemIds: ['', ...map.itemIds.slice(1).reverse()] }));
    // Without its items.json, on data other than its training data (here one event fewer), items may be numbered
    // otherwise than the model numbers them: refused. On its training data it ranks (the lone test above).
    const alone = mkdtempSync(join(tmpdir(), 'reclm-no-map-'));
    copyFileSync(join(featured, 'inference.onnx'), join(alone, 'model.onnx'));
    const fewer = join(alone, 'ratings.dat');
    writeFileSync(fewer, readFileSync(ratings, 'utf8').trim().split('\n').slice(0, -1).join('\n') + '\n');
    // Its ids are the integers 1..V, kept as they are (item_ids_remapped "false"), and so are the data's:
    // numbered alike, it ranks as with the map (before: refused, as for any data but the training data).
    const noMap = await runCommand(Eval as never, [join(alone, 'model.onnx'), '--data', fewer, '--user-features', users, '--json']);
    const withMap = await runCommand(Eval as never, [join(featured, 'inference.onnx'), '--data', fewer, '--user-features', users, '--json']);
    expect(noMap.exitCode, noMap.error?.message).to.equal(0);
    expect(metrics(noMap.stdout)).to.deep.equal(metrics(withMap.stdout));
    // Data whose ids are renumbered (not integers) may number the items otherwise: refused.
    const renamed = join(alone, 'renamed.csv');
    writeFileSync(renamed, ['user_id,item_id,rating,timestamp', ...readFileSync(fewer, 'utf8').trim().split('\n').map((l) => l.split('::')).map(([u, i, r, t]) => `${u},i${i},${r},${t}`)].join('\n') + '\n');
    const renamedNoMap = await runCommand(Eval as never, [join(alone, 'model.onnx'), '--data', renamed, '--user-features', users]);
    expect([renamedNoMap.exitCode, plainText(renamedNoMap.error!.message)]).to.deep.equal([1, `${join(alone, 'model.onnx')} names its item map items.json, which is not beside it: copy it with the model (without it, items are numbered as ${renamed} numbers them, which matches the model only on its own training data, or where both keep integer ids 1..V as they are)`]);
    const wrongMap = await runCommand(Eval as never, [join(foreign, 'model.onnx'), '--data', ratings, '--user-features', users]);
    expect(wrongMap.exitCode).to.equal(1);
    expect(plainText(wrongMap.error!.message)).to.equal(`${join(foreign, 'items.json')} is not the item map ${join(foreign, 'model.onnx')} was exported with (its sha256 differs from the model's item_map_sha256): another run's? Copy the model together with its own items.json`);
    const noData = await runCommand(Compile as never, [...tiny, '--num-items', '60', '--positive', 'rating>=4', '--out', join(dir, 'x')]);
    expect(plainText(noData.error!.message)).to.match(/--positive needs --data/);
  });

  it('the same events in another row order are the same data at eval (string user ids number users by first appearance)', async () => {
    // A CSV export with string user ids and a rating column; the second file holds the same rows in reverse order.
    const rows: string[] = [];
    tinyData().sequences.forEach((seq, u) => seq.forEach((item, j) => rows.push(`user-${u},${item},${1 + ((u * 7 + j * 3) % 5)},${1000 + j}`)));
    const header = 'user_id,item_id,rating,timestamp';
    const csv = join(dir, 'events.csv');
    const shuffled = join(dir, 'events-reversed.csv');
    writeFileSync(csv, [header, ...rows].join('\n') + '\n');
    writeFileSync(shuffled, [header, ...rows.slice().reverse()].join('\n') + '\n');
    // The reversed file numbers its users in another order, which is what the data fingerprint sees.
    expect(openDataset(shuffled).users.slice(0, 2)).to.deep.equal(['user-119', 'user-118']);
    const art = join(dir, 'reordered');
    const rule = ['--positive', 'rating>=3'];
    expect((await runCommand(Compile as never, [...tiny, '--data', csv, ...rule, '--out', art])).exitCode).to.equal(0);
    const t = await runCommand(Train as never, [art, '--data', csv, '--epochs', '1', '--batch-size', '32', '--fused-steps', '1']);
    expect(t.exitCode, t.stderr).to.equal(0);
    const own = await runCommand(Eval as never, [art, '--data', csv, '--json']);
    const reordered = await runCommand(Eval as never, [art, '--data', shuffled, '--json']);
    expect(reordered.exitCode, reordered.stderr).to.equal(0);
    // Before: "is not the data the model was trained on" (and a side-data warning). The same targets, so the same figures
    // up to the order of the per-user sums (users are ranked in the file's order): 1e-12 is far below one user's share.
    expect(JSON.parse(reordered.stdout).warnings).to.deep.equal([]);
    for (const [k, v] of Object.entries(metrics(own.stdout))) expect(metrics(reordered.stdout)[k], k).to.be.closeTo(v, 1e-12);
    // A model with a positive rule but no side inputs cannot read a user file or actions: refused (before: read,
    // changing nothing but the side-data fingerprint, so eval warned falsely and --resume refused for a file never used).
    for (const [flag, message] of [[['--user-features', users], '--user-features: the model was compiled without user features'], [['--actions'], '--actions: the model was compiled without actions as inputs']] as const) {
      for (const command of [Eval, Train]) {
        const r = await runCommand(command as never, [art, '--data', csv, ...flag, ...(command === Train ? ['--resume'] : [])]);
        expect([r.exitCode, plainText(r.error!.message)], `${flag[0]} ${command.name}`).to.deep.equal([1, `${message}; drop the flag (side inputs are chosen at compile time)`]);
      }
    }
    // Resuming on it would number users otherwise: refused, saying why.
    const resumed = await runCommand(Train as never, [art, '--data', shuffled, '--epochs', '1', '--batch-size', '32', '--fused-steps', '1', '--resume']);
    expect(resumed.exitCode).to.equal(1);
    expect(plainText(resumed.error!.message)).to.match(/^--resume: the data holds the events the run in .* was trained on, in another row order, which numbers users or items otherwise \(data fingerprint [0-9a-f]{12}, the run's [0-9a-f]{12}\); resume with the file as it was$/);
  });
});
