// Do item features help on the output side? Trains one model three ways on ML-100K or the
// timestamped half of ML-1M, genres (and, for ML-100K, release decade) as item features:
//   ids      plain item ids,
//   input    + item features in the event embedding,
//   output   + item features in the scored item vectors too (item_features_in_output).
// Then ranks the test split (leave-one-out, candidates = items not in the user's input sequence,
// ties count against the target) and prints HR@10 / NDCG@10 with their standard error over
// users, overall and for targets that are rare in training (<= --rare occurrences; also HR@100 there),
// and each variant's paired difference to the first.
//   npx tsx bench/item-features-output.ts --model llama-sasrec|hstu --data ../shared/data/ml-100k.u.data.gz
//     [--items ../shared/data/ml-100k.u.item.gz] [--epochs 30] [--maxlen 100] [--variants ids,input,output] [--seed 1]
//     [--rank-only DIR,DIR,...]  (rank artifact folders of an earlier run instead of training)
// No validation: the model after the last epoch is ranked (cosine decay of lr 2e-3 to 1e-5).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { MODELS } from '../graphs/index.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import type { ManifestFeatureField } from '../src/contract/artifacts.js';
import { evalBatches } from '../src/data/eval-inputs.js';
import { openDataset } from '../src/data/open.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import type { Dataset } from '../src/data/types.js';
import { scheduleFor } from '../src/runtime/schedule.js';
import { train } from '../src/runtime/trainer.js';
import { answerHelp } from './help.js';

answerHelp(`Trains one model three ways (plain item ids; + item features on the input side; + item features on the
output side too) on ML-100K or the timestamped half of ML-1M, ranks the test split and prints HR@10 / NDCG@10
with standard errors over users, overall and for rare targets, and the paired differences to the first variant.

usage: npx tsx bench/item-features-output.ts [--help] [--model llama-sasrec|hstu] [--data FILE] [--items FILE]
         [--epochs 30] [--maxlen 100] [--variants ids,input,output] [--seed 1] [--rare 10] [--rank-only DIR,DIR,...]

  --data FILE        ml-100k.u.data.gz (default) or ml-1m.ratings.users0001-2999.dat.gz of the shared data folder
  --items FILE       the item file (u.item or movies.dat; default: the one beside --data)
  --rank-only DIRS   rank the artifact folders of an earlier run (one per variant) instead of training`);

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const modelName = arg('model', 'llama-sasrec') as 'llama-sasrec' | 'hstu';
const dataPath = arg('data', '../shared/data/ml-100k.u.data.gz');
const ml100k = /100k/.test(dataPath);
const itemsPath = arg('items', ml100k ? '../shared/data/ml-100k.u.item.gz' : '../shared/data/ml-1m.movies.dat.gz');
const epochs = Number(arg('epochs', '30'));
const rare = Number(arg('rare', '10'));
const seed = Number(arg('seed', '1'));
const variants = arg('variants', 'ids,input,output').split(',');
const maxlen = Number(arg('maxlen', '100'));

const CONFIG = {
  'llama-sasrec': { dim: 64, n_layers: 2, n_heads: 2, maxlen, multiple_of: 32, dropout: 0.2, attn_dropout: 0, key_padding_mask: true },
  hstu: { dim: 64, n_layers: 2, n_heads: 1, maxlen, dropout: 0.2, temperature: 0.05, item_l2_norm: true },
}[modelName];

/** Item fields from the item file: genre (multi) and, for ML-100K, the release decade. */
function itemFeatures(data: Dataset): { fields: ManifestFeatureField[]; tables: Int32Array[] } {
  const text = new TextDecoder('latin1').decode(gunzipSync(readFileSync(itemsPath)));
  const byId = new Map<string, { genres: string[]; decade: string }>();
  const GENRES_100K = ['unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy', 'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western'];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (ml100k) {
      const f = line.split('|');
      const year = /(\d{4})$/.exec(f[2])?.[1];
      byId.set(f[0], { genres: GENRES_100K.filter((_, g) => f[5 + g] === '1'), decade: year ? `${year.slice(0, 3)}0s` : '' });
    } else {
      const [id, title, genres] = line.split('::');
      const year = /\((\d{4})\)\s*$/.exec(title)?.[1];
      byId.set(id, { genres: genres.split('|'), decade: year ? `${year.slice(0, 3)}0s` : '' });
    }
  }
  const genreVocab = ['<pad>', '<unk>', ...new Set([...byId.values()].flatMap((v) => v.genres))];
  const decadeVocab = ['<pad>', '<unk>', ...new Set([...byId.values()].map((v) => v.decade).filter(Boolean))];
  const width = Math.max(...[...byId.values()].map((v) => v.genres.length));
  const genre = new Int32Array((data.numItems + 1) * width);
  const decade = new Int32Array(data.numItems + 1);
  for (let i = 1; i <= data.numItems; i++) {
    const v = byId.get(data.itemIds[i]);
    if (!v) {
      genre[i * width] = 1;
      decade[i] = 1;
      continue;
    }
    v.genres.forEach((g, j) => (genre[i * width + j] = genreVocab.indexOf(g)));
    if (!v.genres.length) genre[i * width] = 1;
    decade[i] = v.decade ? decadeVocab.indexOf(v.decade) : 1;
  }
  return {
    fields: [
      { name: 'genre', kind: 'multi', vocab: genreVocab, width },
      { name: 'decade', kind: 'categorical', vocab: decadeVocab, width: 1 },
    ],
    tables: [genre, decade],
  };
}

const data = openDataset(dataPath);
const split = leaveOneOutSplit(data);
const counts = new Int32Array(data.numItems + 1);
for (const s of split.train) for (const i of s) counts[i]++;
const feats = itemFeatures(data);
const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
const se = (x: number[]) => Math.sqrt(x.reduce((a, b) => a + (b - mean(x)) ** 2, 0) / (x.length - 1) / x.length);
const fmt = (x: number[]) => `${mean(x).toFixed(4)} ± ${se(x).toFixed(4)}`;

/** Per-user HR@10 and NDCG@10 on the test split, and whether the target is rare in training. */
async function rankTest(dir: string): Promise<{ hr: number[]; ndcg: number[]; hr100: number[]; rare: boolean[] }> {
  const session = await ort.InferenceSession.create(join(dir, 'inference.onnx'), { intraOpNumThreads: 2 });
  const out = { hr: [] as number[], ndcg: [] as number[], hr100: [] as number[], rare: [] as boolean[] };
  const L = CONFIG.maxlen;
  for (const b of evalBatches(split, { split: 'test', maxlen: L, batchSize: 256, needTimestamps: modelName === 'hstu' })) {
    const feeds: Record<string, ort.Tensor> = { seq: new ort.Tensor('int64', b.seq, [b.n, L]), k: new ort.Tensor('int64', BigInt64Array.of(1n), [1]) };
    if (b.ts_ext) feeds.ts_ext = new ort.Tensor('int64', b.ts_ext, [b.n, L + 1]);
    const scores = (await session.run(feeds, ['scores'])).scores.data as Float32Array;
    for (let r = 0; r < b.n; r++) {
      const row = scores.subarray(r * (data.numItems + 1), (r + 1) * (data.numItems + 1));
      const target = b.targets[r];
      const seen = new Set(Array.from(b.seq.subarray(r * L, (r + 1) * L), Number));
      let rank = 0; // items (not in the input sequence) scoring >= the target: ties count against it
      for (let i = 1; i <= data.numItems; i++) if (i !== target && !seen.has(i) && row[i] >= row[target]) rank++;
      out.hr.push(rank < 10 ? 1 : 0);
      out.ndcg.push(rank < 10 ? 1 / Math.log2(rank + 2) : 0);
      out.hr100.push(rank < 100 ? 1 : 0);
      out.rare.push(counts[target] <= rare);
    }
  }
  await session.release();
  return out;
}

const pick = (x: number[], keep: boolean[]) => x.filter((_, i) => keep[i]);
const diff = (a: number[], b: number[]) => a.map((x, i) => x - b[i]);
// --rank-only DIR,DIR,...: rank artifact folders trained before (named by their position in --variants).
const rankOnly = arg('rank-only', '');
const results: { variant: string; r: Awaited<ReturnType<typeof rankTest>> }[] = [];
for (const [vi, variant] of variants.entries()) {
  if (rankOnly) {
    results.push({ variant, r: await rankTest(rankOnly.split(',')[vi]) });
    continue;
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'reclm-featout-')), 'art');
  const t0 = Date.now();
  compileJob({
    model: MODELS[modelName] as never,
    loss: 'full-ce',
    config: { ...CONFIG, ...(variant === 'output' ? { item_features_in_output: true } : {}) },
    optimizer: { ...SEED_ADAMW, weightDecay: 0 },
    data,
    initSeed: 42 + seed,
    outDir: dir,
    ...(variant === 'ids' ? {} : { features: { schema: { positive: { kind: 'all' as const }, itemFields: feats.fields }, itemTables: feats.tables } }),
  });
  const batchSize = 128;
  const summary = await train({
    dir, data, epochs, batchSize, seed, threads: 2, fusedSteps: 8, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true,
    schedule: scheduleFor({ lr: 2e-3, warmup: 0, cosine: true, minLr: 1e-5, epochs }, Math.ceil(data.sequences.length / batchSize)),
  });
  const minutes = (Date.now() - t0) / 60000;
  const r = await rankTest(dir);
  results.push({ variant, r });
  const rareHr = pick(r.hr, r.rare);
  console.log(
    `| ${modelName} | ${dataPath.split('/').pop()} | ${variant} | ${summary.epochs} | ${minutes.toFixed(1)} min | ${fmt(r.hr)} | ${fmt(r.ndcg)} | ${rareHr.length} | ${fmt(rareHr)} | ${fmt(pick(r.ndcg, r.rare))} | ${dir} |`,
  );
}
// Paired over users against the first variant: the difference's standard error is smaller than
// either variant's, since both rank the same users.
const [base] = results;
for (const { variant, r } of results) {
  console.log(
    `${modelName} ${variant}: HR@10 ${fmt(r.hr)}, NDCG@10 ${fmt(r.ndcg)}; vs ${base.variant}: HR@10 ${fmt(diff(r.hr, base.r.hr))}, NDCG@10 ${fmt(diff(r.ndcg, base.r.ndcg))}; ` +
      `rare targets (${pick(r.hr, r.rare).length}): HR@10 ${fmt(pick(r.hr, r.rare))}, NDCG@10 ${fmt(pick(r.ndcg, r.rare))}, vs ${base.variant} NDCG@10 ${fmt(diff(pick(r.ndcg, r.rare), pick(base.r.ndcg, r.rare)))}; ` +
      `rare HR@100 ${fmt(pick(r.hr100, r.rare))}, vs ${base.variant} ${fmt(diff(pick(r.hr100, r.rare), pick(base.r.hr100, r.rare)))}`,
  );
}
