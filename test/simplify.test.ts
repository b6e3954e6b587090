import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import * as F from '../src/dsl/index.js';
import { Graph } from '../src/dsl/graph.js';
import { simplify } from '../src/onnx/simplify.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { emitModel } from '../src/onnx/emit.js';
import { onnx } from '../src/onnx/proto.js';
import { rand } from './helpers/gradcheck.js';
import { Feeds, f32, i64, numbers, runOnce } from './helpers/ort.js';

const opsOf = (g: Graph) => g.nodes.map((n) => n.op);
const count = (g: Graph, op: string) => opsOf(g).filter((o) => o === op).length;

function randomF32(r: () => number, dims: number[]): ort.Tensor {
  return f32(Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), dims);
}

/**
 * Runs the raw and the simplified emission on the same feeds. Simplification only removes exact
 * identities (x*1, x+0, Identity), merges identical nodes, folds integer/shape computations and
 * drops dead nodes; no float arithmetic is reordered, so the outputs must be bit-identical.
 */
async function sameAsRaw(g: Graph, feeds: Feeds): Promise<void> {
  const raw = await runOnce(emitModel(g, { raw: true }), feeds, 'disabled');
  const simp = await runOnce(emitModel(g), feeds, 'disabled');
  expect(Object.keys(simp).sort()).to.deep.equal(Object.keys(raw).sort());
  for (const name of Object.keys(raw)) {
    expect(simp[name].dims, name).to.deep.equal(raw[name].dims);
    expect(simp[name].type, name).to.equal(raw[name].type);
    expect(numbers(simp[name]), name).to.deep.equal(numbers(raw[name]));
  }
}

describe('simplify', () => {
  it('merges duplicate subexpressions (CSE), including chains that become equal after merging', () => {
    const g = new Graph('cse');
    const x = g.input('x', 'float32', [2, 3]);
    const a = F.tanh(F.exp(x));
    const b = F.tanh(F.exp(x));
    g.output('y', F.add(a, b));
    const s = simplify(g);
    expect(count(g, 'Exp')).to.equal(2);
    expect(count(s, 'Exp')).to.equal(1);
    expect(count(s, 'Tanh')).to.equal(1);
    const add = s.nodes.find((n) => n.op === 'Add')!;
    expect(add.inputs[0]).to.equal(add.inputs[1]);
  });

  it('does not merge nodes whose attributes differ', () => {
    const g = new Graph('attrs');
    const x = g.input('x', 'float32', [2, 3]);
    g.output('y', F.add(F.softmax(x, 0), F.softmax(x, 1)));
    expect(count(simplify(g), 'Softmax')).to.equal(2);
  });

  it('does not merge random ops (each draw is distinct)', () => {
    const g = new Graph('rand');
    const x = g.input('x', 'float32', [2, 3]);
    const draw = () => g.addNode('RandomUniformLike', [x], {}, [{ dtype: 'float32', shape: [2, 3] }])[0];
    g.output('y', F.sub(draw(), draw()));
    expect(count(simplify(g), 'RandomUniformLike')).to.equal(2);
  });

  it('deduplicates constants (one initializer per distinct value)', () => {
    const g = new Graph('consts');
    const x = g.input('x', 'float32', [3]);
    const c1 = g.constant(Float32Array.from([1, 2, 3]), 'float32', [3]);
    const c2 = g.constant(Float32Array.from([1, 2, 3]), 'float32', [3]);
    const c3 = g.constant(Float32Array.from([1, 2, 4]), 'float32', [3]);
    g.output('y', F.add(F.mul(x, c1), F.mul(F.exp(x), F.add(c2, c3))));
    const inits = onnx.ModelProto.decode(emitModel(g)).graph!.initializer!;
    const rawInits = onnx.ModelProto.decode(emitModel(g, { raw: true })).graph!.initializer!;
    expect(rawInits.length).to.equal(3);
    expect(inits.length).to.equal(2);
    // Equal bytes but different dtype or shape stay apart.
    const h = new Graph('consts2');
    const y = h.input('y', 'int32', [2]);
    h.output('a', F.add(y, h.constant(Int32Array.from([0, 0]), 'int32', [2])));
    h.output('b', F.add(F.cast(y, 'float32'), h.constant(Float32Array.from([0, 0]), 'float32', [2])));
    expect(onnx.ModelProto.decode(emitModel(h)).graph!.initializer!.length).to.equal(2);
  });

  it('removes dead nodes and keeps every output', () => {
    const g = new Graph('dead');
    const x = g.input('x', 'float32', [2, 3]);
    F.matmul(x, F.transpose(x, [1, 0])); // unused
    const unused = F.sin(x);
    F.cos(unused); // unused chain
    g.output('y', F.exp(x));
    const s = simplify(g);
    expect(opsOf(s)).to.deep.equal(['Exp']);
    expect([...s.outputs.keys()]).to.deep.equal(['y']);
    expect(s.inputs).to.deep.equal(g.inputs);
  });

  it('folds Shape of a static tensor, and the Gather/Concat/Reshape chain built on it', () => {
    const g = new Graph('shape');
    const x = g.input('x', 'float32', [2, 3, 4]);
    const sh = F.shapeOf(x);
    const rows = F.gather(sh, F.int64s(g, [0]), 0);
    const target = F.concat([rows, F.int64s(g, [12])], 0);
    g.output('y', F.reshapeDynamic(x, target, [2, 12]));
    g.output('n', F.reduceProd(F.shapeOf(x), null));
    const s = simplify(g);
    expect(opsOf(s)).to.not.include('Shape');
    expect(opsOf(s)).to.not.include('Gather');
    expect(opsOf(s)).to.not.include('Concat');
    const reshape = s.nodes.find((n) => n.op === 'Reshape')!;
    const shapeInput = reshape.inputs[1]!;
    expect(shapeInput.source.kind).to.equal('const');
    expect(Array.from((shapeInput.source as { data: BigInt64Array }).data, Number)).to.deep.equal([2, 12]);
  });

  it('keeps Shape of a tensor with a symbolic dim', () => {
    const g = new Graph('sym');
    const x = g.input('x', 'float32', ['batch', 3, 2]);
    g.output('y', F.reshape(x, [3, 'batch', 2]));
    expect(opsOf(simplify(g))).to.include('Shape');
  });

  it('drops Identity, x*1, x+0, x-0, x/1 of matching shape but keeps broadcasting ones', () => {
    const g = new Graph('ident');
    const x = g.input('x', 'float32', [2, 3]);
    const y = F.div(F.sub(F.add(F.mul(F.identity(x), 1), 0), 0), 1);
    g.output('y', F.exp(y));
    expect(opsOf(simplify(g))).to.deep.equal(['Exp']);
    const h = new Graph('bcast');
    const s = h.input('s', 'float32', []);
    h.output('z', F.mul(s, h.constant(Float32Array.from([1, 1]), 'float32', [2]))); // broadcasts: kept
    h.output('w', F.add(s, h.constant(Float32Array.from([0]), 'float32', [1, 1])));
    expect(opsOf(simplify(h))).to.deep.equal(['Mul', 'Add']);
  });

  it('leaves the original graph untouched', () => {
    const g = new Graph('orig');
    const x = g.input('x', 'float32', [2]);
    g.output('y', F.add(F.exp(x), F.exp(x)));
    const before = opsOf(g);
    simplify(g);
    expect(opsOf(g)).to.deep.equal(before);
    expect(g.outputs.get('y')!.source.kind).to.equal('node');
  });

  it('raw and simplified emission compute the same values: MLP with gradients (symbolic batch)', async () => {
    const g = new Graph('mlp');
    const x = g.input('x', 'float32', ['batch', 4]);
    const labels = g.input('labels', 'int64', ['batch']);
    const w1 = g.param('w1', [4, 6], { kind: 'normal', std: 0.5 });
    const b1 = g.param('b1', [6], { kind: 'zeros' });
    const w2 = g.param('w2', [6, 3], { kind: 'normal', std: 0.5 }, { zeroGradRows: [0] });
    const h = F.layerNormalization(F.silu(F.linear(x, w1, b1)), g.constant(new Float32Array(6).fill(1), 'float32', [6]), null)[0];
    const logits = F.matmul(h, w2);
    const [loss] = F.softmaxCrossEntropyLoss(logits, labels, { ignoreIndex: -100 });
    g.output('loss', loss);
    g.output('probs', F.softmax(logits, -1));
    addGradientOutputs(g, loss);
    expect(simplify(g).nodes.length).to.be.lessThan(g.nodes.length);
    const r = rand(4);
    const feeds: Feeds = { x: randomF32(r, [5, 4]), labels: i64([0, 2, -100, 1, 2], [5]) };
    for (const p of g.params) feeds[p.name] = randomF32(r, p.shape as number[]);
    await sameAsRaw(g, feeds);
  });

  it('raw and simplified emission compute the same values: reshapes, slices, gathers and their gradients', async () => {
    const g = new Graph('shapes');
    const x = g.input('x', 'float32', ['batch', 3, 4]);
    const idx = g.input('idx', 'int64', [2]);
    const w = g.param('w', [4, 4], { kind: 'normal', std: 0.5 });
    const y = F.reshape(F.matmul(x, w), ['batch', 12]);
    const s = F.slice(y, [1], [2], [10]);
    const gath = F.gather(F.reshape(x, [-1, 4]), idx, 0);
    const loss = F.add(F.reduceSum(F.mul(s, s), null), F.reduceMean(F.matmul(gath, w), null));
    g.output('loss', loss);
    g.output('y', y);
    addGradientOutputs(g, loss);
    const r = rand(6);
    await sameAsRaw(g, { x: randomF32(r, [2, 3, 4]), idx: i64([1, 5], [2]), w: randomF32(r, [4, 4]) });
  });
});
