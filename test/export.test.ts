// The exported inference.onnx of a trained tiny model: a self-contained, default-domain ONNX
// model with the documented inputs, outputs and metadata, whose scores and top-k agree, and
// whose external-data form (weights in <out>.data) loads by path and gives the same outputs.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from '../src/compiler/artifacts.js';
import { sha256 } from '../src/contract/artifacts.js';
import { exportInference } from '../src/onnx/bake.js';
import { onnx, type GraphProto } from '../src/onnx/proto.js';
import { loadCheckpoint } from '../src/runtime/checkpoint.js';
import { RUN_FILES } from '../src/runtime/trainer.js';
import { VERSION } from '../src/version.js';
import { TINY_CONFIGS, tinyData } from './helpers/tiny-run.js';
import { dataContentFingerprint, dataFingerprint } from '../src/data/fingerprint.js';
import { emptyBatch, oversizedK, withIds } from './helpers/edge-feeds.js';
import { TINY_MODELS, fixedBatch, runNode, trainedTiny, type PlainOutput } from './helpers/trained.js';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const V = 60; // tinyData() items

type Dim = number | string;
type ValueInfo = NonNullable<GraphProto['input']>[number];
type NodeProto = NonNullable<GraphProto['node']>[number];
const dimsOf = (v: ValueInfo): Dim[] => v.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
const elemOf = (v: ValueInfo) => v.type!.tensorType!.elemType;

/** Every node of a graph and of all its subgraphs (Scan/Loop/If bodies), depth first. */
function allNodes(g: GraphProto): NodeProto[] {
  const out: NodeProto[] = [];
  for (const n of g.node ?? []) {
    out.push(n);
    for (const a of n.attribute ?? []) {
      if (a.g) out.push(...allNodes(a.g));
      for (const sub of a.graphs ?? []) out.push(...allNodes(sub));
    }
  }
  return out;
}

function decode(path: string) {
  return onnx.ModelProto.decode(readFileSync(path));
}

describe('exported inference.onnx', function () {
  this.timeout(60000);

  for (const model of TINY_MODELS) {
    describe(model, () => {
      const L = TINY_CONFIGS[model].maxlen;
      const d = TINY_CONFIGS[model].dim;
      let dir: string;
      let path: string;
      before(async () => {
        dir = await trainedTiny(model);
        path = join(dir, RUN_FILES.inference);
      });

      it('uses only default-domain ops, also inside subgraphs and functions', () => {
        const m = decode(path);
        const nodes = allNodes(m.graph!);
        expect(nodes.length).to.be.greaterThan(10);
        const foreign = nodes.filter((n) => n.domain && n.domain !== 'ai.onnx').map((n) => `${n.domain}:${n.opType}`);
        expect(foreign).to.deep.equal([]);
        expect((m.opsetImport ?? []).map((o) => o.domain ?? '').filter((x) => x !== '' && x !== 'ai.onnx')).to.deep.equal([]);
        expect(m.functions ?? []).to.deep.equal([]);
      });

      it('holds every parameter as an initializer, none as an input', () => {
        const m = decode(path);
        const g = m.graph!;
        const params = readManifest(dir).params.map((p) => p.name);
        const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
        for (const p of readManifest(dir).params) {
          const t = inits.get(p.name);
          expect(t, p.name).to.not.equal(undefined);
          expect(t!.dims!.map(Number), p.name).to.deep.equal(p.shape);
          expect(t!.dataType, p.name).to.equal(FLOAT);
          // Inline export: the bytes are in the model itself.
          expect(t!.rawData!.length, p.name).to.equal(4 * p.shape.reduce((a, b) => a * b, 1));
        }
        const inputs = (g.input ?? []).map((i) => i.name);
        expect(inputs.filter((n) => params.includes(n!))).to.deep.equal([]);
        expect(existsSync(`${path}.data`), 'no side file below the threshold').to.equal(false);
      });

      it('has exactly the documented inputs and outputs', () => {
        const g = decode(path).graph!;
        const inputs = g.input!;
        expect(inputs.map((i) => i.name)).to.deep.equal(model === 'hstu' ? ['seq', 'ts_ext', 'k'] : ['seq', 'k']);
        for (const i of inputs) expect(elemOf(i), i.name!).to.equal(INT64);
        const byName = Object.fromEntries([...inputs, ...g.output!].map((v) => [v.name!, v]));
        const batch = dimsOf(byName.seq)[0];
        expect(batch, 'batch is a symbolic dim').to.be.a('string').and.not.equal('');
        // Any sequence length T ≤ maxlen (docs/artifacts.md); ts_ext is T + 1 wide.
        expect(dimsOf(byName.seq)).to.deep.equal([batch, 'T']);
        if (model === 'hstu') expect(dimsOf(byName.ts_ext)).to.deep.equal([batch, 'T+1']);
        expect(dimsOf(byName.k)).to.deep.equal([1]);

        expect(g.output!.map((o) => o.name)).to.deep.equal(['user_emb', 'scores', 'top_items', 'top_scores']);
        expect(dimsOf(byName.user_emb)).to.deep.equal([batch, d]);
        expect(dimsOf(byName.scores)).to.deep.equal([batch, V + 1]);
        const topDims = dimsOf(byName.top_items);
        expect(topDims[0]).to.equal(batch);
        expect(topDims[1], 'k is a symbolic dim').to.be.a('string');
        expect(dimsOf(byName.top_scores)).to.deep.equal(topDims);
        expect([elemOf(byName.user_emb), elemOf(byName.scores), elemOf(byName.top_items), elemOf(byName.top_scores)]).to.deep.equal([FLOAT, FLOAT, INT64, FLOAT]);
      });

      it('carries model, config, num_items, maxlen, reclm_version, item_map and the data fingerprint in metadata_props', () => {
        const meta = Object.fromEntries((decode(path).metadataProps ?? []).map((p) => [p.key!, p.value!]));
        const manifest = readManifest(dir);
        expect(meta.model).to.equal(model);
        expect(JSON.parse(meta.config)).to.deep.equal(manifest.config);
        expect(meta.num_items).to.equal(String(V));
        expect(meta.maxlen).to.equal(String(L));
        expect(meta.trim_padding).to.equal(String(manifest.trimPadding === true));
        expect(meta.reclm_version).to.equal(VERSION);
        expect(meta.item_map).to.equal('items.json');
        expect(existsSync(join(dir, meta.item_map)), 'the item map lies beside the model').to.equal(true);
        expect(meta.item_map_sha256).to.equal(sha256(readFileSync(join(dir, meta.item_map))));
        // Whether the ids were renumbered, so that eval knows when the map may be left behind.
        expect(meta.item_ids_remapped).to.equal(String(JSON.parse(readFileSync(join(dir, meta.item_map), 'utf8')).remapped));
        // The training data's fingerprint, so that eval of this file alone can tell other data.
        expect(meta.data_fingerprint).to.equal(dataFingerprint(tinyData()));
        // And of its events in any row order, so that a reordered file is not called other data.
        expect(meta.data_content_fingerprint).to.equal(dataContentFingerprint(tinyData()));
      });

      it('ranks real items above padding and returns a top-k consistent with its scores', async () => {
        const n = 8;
        const k = 5;
        const out = await runNode(path, fixedBatch(model, n, k));
        expect(out.user_emb.dims).to.deep.equal([n, d]);
        expect(out.scores.dims).to.deep.equal([n, V + 1]);
        expect(out.top_items.dims).to.deep.equal([n, k]);
        expect(out.top_scores.dims).to.deep.equal([n, k]);
        expect(out.user_emb.data.every(Number.isFinite)).to.equal(true);
        for (let r = 0; r < n; r++) {
          const row = out.scores.data.slice(r * (V + 1), (r + 1) * (V + 1));
          const real = row.slice(1);
          expect(real.every(Number.isFinite), `row ${r} finite`).to.equal(true);
          expect(row[0], `row ${r}: padding below every real item`).to.be.below(Math.min(...real));
          const items = out.top_items.data.slice(r * k, (r + 1) * k);
          const tops = out.top_scores.data.slice(r * k, (r + 1) * k);
          expect(new Set(items).size, `row ${r}: distinct items`).to.equal(k);
          for (let j = 0; j < k; j++) {
            expect(items[j], `row ${r}`).to.be.within(1, V);
            // TopK copies the score values, so they must be bit-identical.
            expect(tops[j], `row ${r} top ${j}`).to.equal(row[items[j]]);
            if (j > 0) expect(tops[j], `row ${r}: sorted`).to.be.at.most(tops[j - 1]);
          }
          const rest = real.filter((_, i) => !items.includes(i + 1));
          expect(Math.max(...rest), `row ${r}: nothing left out scores higher`).to.be.at.most(tops[k - 1]);
        }
      });

      it('never returns padding, even with k = every item; batch size is free', async () => {
        const all = await runNode(path, fixedBatch(model, 4, V));
        expect(all.top_items.data.includes(0)).to.equal(false);
        expect(new Set(all.top_items.data.slice(0, V)).size).to.equal(V);
        // A batch of one gives the first row of the batch of four. Only the blocking of float
        // sums may differ with the batch size; scores are O(1), so 1e-5 is ample.
        const one = await runNode(path, fixedBatch(model, 1, 3));
        const expected = all.scores.data.slice(0, V + 1);
        one.scores.data.forEach((s, i) => expect(s, `column ${i}`).to.be.closeTo(expected[i], 1e-5 * Math.max(1, Math.abs(expected[i]))));
      });

      it('a batch of 0 rows returns empty outputs (TopK alone would die with SIGFPE)', async () => {
        const out = await runNode(path, emptyBatch(model));
        expect(out.user_emb.dims).to.deep.equal([0, d]);
        expect(out.scores.dims).to.deep.equal([0, V + 1]);
        expect(out.top_items.dims).to.deep.equal([0, 5]);
        expect(out.top_scores.dims).to.deep.equal([0, 5]);
        expect(out.scores.data).to.deep.equal([]);
      });

      it('reads ids < 0 in seq as padding, never as item V through negative indexing', async () => {
        const zero = await runNode(path, withIds(model, 0, 0));
        // -1 is the usual "missing" marker; -123456789 is far outside any table.
        for (const [a, b] of [[-1, 0], [0, -1], [-1, -123456789]]) {
          const neg = await runNode(path, withIds(model, a, b));
          // The same graph sees the same values after the clamp, so outputs are bit-identical.
          for (const name of ['user_emb', 'scores', 'top_items', 'top_scores']) expect(neg[name], `${a}, ${b}: ${name}`).to.deep.equal(zero[name]);
        }
        // Item V in those slots is a real item and changes the scores: so -1 was not read as V.
        const asV = await runNode(path, withIds(model, V, V));
        expect(asV.scores.data).to.not.deep.equal(zero.scores.data);
      });

      it('clamps k to the catalogue: k = V + 7 returns every item once and never the padding item 0', async () => {
        const out = await runNode(path, oversizedK(model));
        expect(out.top_items.dims).to.deep.equal([3, V]);
        for (let r = 0; r < 3; r++) {
          const items = out.top_items.data.slice(r * V, (r + 1) * V);
          expect([...items].sort((x, y) => x - y), `row ${r}`).to.deep.equal(Array.from({ length: V }, (_, i) => i + 1));
          const tops = out.top_scores.data.slice(r * V, (r + 1) * V);
          tops.forEach((t, j) => expect(t).to.equal(out.scores.data[r * (V + 1) + items[j]]));
        }
        // k = 1 still gives one item, the best.
        const one = await runNode(path, fixedBatch(model, 3, 1));
        expect(one.top_items.data).to.deep.equal([0, 1, 2].map((r) => out.top_items.data[r * V]));
      });

      it('writes weights as external data above the threshold; that model loads by path and gives the same outputs', async () => {
        const inline = decode(path);
        const metadata = Object.fromEntries((inline.metadataProps ?? []).filter((p) => p.key !== 'reclm_version').map((p) => [p.key!, p.value!]));
        const params = new Map([...loadCheckpoint(join(dir, RUN_FILES.last)).params].map(([name, t]) => [name, t.data]));
        // A different folder than the process's cwd: the location must resolve relative to the model.
        const out = join(mkdtempSync(join(tmpdir(), 'reclm-ext-')), 'served.onnx');
        const r = exportInference(join(dir, 'inference_graph.onnx'), out, params, metadata, 1);
        expect(r.external).to.equal(true);
        expect(existsSync(`${out}.data`)).to.equal(true);
        const weightBytes = [...params.values()].reduce((a, p) => a + p.byteLength, 0);
        expect(statSync(`${out}.data`).size).to.be.at.least(weightBytes);
        expect(statSync(out).size).to.be.below(statSync(path).size - weightBytes + 64 * 1024);

        const m = decode(out);
        const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
        for (const name of params.keys()) {
          const t = inits.get(name)!;
          expect(t.dataLocation, name).to.equal(onnx.TensorProto.DataLocation.EXTERNAL);
          expect(t.rawData?.length ?? 0, name).to.equal(0);
          const ext = Object.fromEntries(t.externalData!.map((e) => [e.key!, e.value!]));
          expect(ext.location, 'a relative location').to.equal('served.onnx.data');
          expect(Number(ext.length)).to.equal(params.get(name)!.byteLength);
          expect(Number(ext.offset) % 4096, 'aligned for mmap').to.equal(0);
        }
        expect(Object.fromEntries(m.metadataProps!.map((p) => [p.key!, p.value!]))).to.deep.equal(Object.fromEntries(inline.metadataProps!.map((p) => [p.key!, p.value!])));

        const feeds = fixedBatch(model, 8, 7);
        const [a, b]: Record<string, PlainOutput>[] = [await runNode(path, feeds), await runNode(out, feeds)];
        // Same graph, same weights, same kernels: only where the bytes are stored differs.
        for (const name of ['user_emb', 'scores', 'top_items', 'top_scores']) expect(b[name], name).to.deep.equal(a[name]);
      });
    });
  }
});
