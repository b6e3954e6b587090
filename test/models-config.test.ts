import { expect } from 'chai';
import { Graph, ParamInfo } from '../src/dsl/graph.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { initialParams } from '../src/runtime/init.js';
import { CONFIG_FIELDS, ConfigError, HstuConfig, LlamaSasrecConfig, MODELS, getModel, parseLossName, resolveConfig } from '../graphs/index.js';
import { loadFixture } from './helpers/model-fixtures.js';

function expectConfigError(fn: () => unknown, ...fragments: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'throws').to.be.instanceOf(ConfigError);
  for (const f of fragments) expect((err as Error).message).to.include(f);
}

describe('models: configuration', () => {
  it('accepts every fixture config as is, derived fields included', () => {
    for (const name of ['llama_sasrec_bce', 'hstu_bce', 'hstu_sampled_softmax', 'hstu_full_ce']) {
      const fx = loadFixture(name);
      const c = getModel(fx.model).resolveConfig(fx.config);
      for (const [k, v] of Object.entries(fx.config)) if (k !== 'model') expect((c as unknown as Record<string, unknown>)[k], `${name}.${k}`).to.equal(v);
    }
  });

  it('hstu: the time bias of every layer is one lookup, so its gradient is one scatter-add (bench/results/throughput.md)', () => {
    // One ScatterND per layer over batch·T² indices cost 20% of an HSTU-large step; the layers'
    // tables side by side need one, whatever the depth.
    for (const n_layers of [1, 3]) {
      const model = getModel('hstu');
      const c = model.resolveConfig({ num_items: 9, dim: 8, n_layers, n_heads: 2, dqk: 4, dv: 4, maxlen: 5, time_bias: true }) as HstuConfig;
      const g = new Graph('train');
      addGradientOutputs(g, model.buildTraining(g, c, 'full-ce', { training: false }).loss);
      const scatters = g.nodes.filter((n) => n.op === 'ScatterND' && n.outputs[0].shape[0] === c.num_buckets + 1);
      expect(scatters.map((n) => n.outputs[0].shape), `n_layers=${n_layers}`).to.deep.equal([[c.num_buckets + 1, n_layers]]);
    }
  });

  it('fills the defaults of docs/models.md', () => {
    const l = resolveConfig('llama-sasrec', { num_items: 100 }) as LlamaSasrecConfig;
    expect(l).to.include({ multiple_of: 32, norm_eps: 1e-5, rope_theta: 10000, dropout: 0, key_padding_mask: false, temperature: 1, item_l2_norm: false });
    expect(l.head_dim).to.equal(l.dim / l.n_heads);
    expect(resolveConfig('llama-sasrec', { num_items: 5, dim: 512, n_heads: 8 })).to.include({ ffn_hidden: 1376 });
    expect(resolveConfig('llama-sasrec', { num_items: 5, dim: 16, multiple_of: 8 })).to.include({ ffn_hidden: 48 });
    const h = resolveConfig('hstu', { num_items: 100, maxlen: 50 }) as HstuConfig;
    expect(h).to.include({ num_buckets: 128, ln_eps: 1e-6, l2_eps: 1e-6, attn_divisor: 50, bucket_div: 0.301, dqk: 50, dv: 50 });
    expect(h).to.include({ temperature: 0.05, item_l2_norm: true, num_negatives: 128, shared_negatives: false, bce_variant: 'seed' });
    expect(h.uvqk_width).to.equal(2 * 1 * 50 + 2 * 1 * 50);
    expect(resolveConfig('hstu', { num_items: 5, maxlen: 50, attn_divisor: 61 })).to.include({ attn_divisor: 61 });
    expect(resolveConfig('hstu', { num_items: 5, dim: 50, n_heads: 2 })).to.include({ dqk: 25, dv: 25 });
  });

  it('rejects invalid configs with errors naming the field', () => {
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, dim: 30, n_heads: 4 }), "'dim'", "'n_heads'", 'divisible');
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, dim: 18, n_heads: 2 }), 'even', 'RoPE');
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, maxlen: 0 }), "'maxlen'", 'positive integer');
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, maxlen: -3 }), "'maxlen'");
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, dim: 16.5 }), "'dim'", 'integer');
    expectConfigError(() => resolveConfig('hstu', { num_items: '5' }), "'num_items'");
    expectConfigError(() => resolveConfig('hstu', {}), "'num_items'", 'required');
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, dropout: 1 }), "'dropout'", '[0, 1)');
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, dropout: -0.1 }), "'dropout'");
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, temperature: 0 }), "'temperature'", '> 0');
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, item_l2_norm: 1 }), "'item_l2_norm'", 'true or false');
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, bce_variant: 'paper' }), "'bce_variant'");
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, dim: 50, n_heads: 3 }), 'dqk', 'dim 50', 'n_heads 3');
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, n_layer: 2 }), "unknown hstu config field 'n_layer'", 'valid fields', 'n_layers', 'dqk');
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, dqk: 8 }), "'dqk'", 'multiple_of');
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, dim: 16, multiple_of: 8, ffn_hidden: 64 }), "'ffn_hidden'", '48');
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, dim: 16, n_heads: 2, head_dim: 4 }), "'head_dim'", '8');
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, dim: 16, n_heads: 2, dqk: 6, dv: 8, uvqk_width: 50 }), "'uvqk_width'", '56');
    expectConfigError(() => resolveConfig('hstu', { num_items: 5, model: 'llama_sasrec' }), "'model'");
    expectConfigError(() => resolveConfig('hstu', [1, 2]), 'object');
    expectConfigError(() => resolveConfig('sasrec', { num_items: 5 }), "unknown model 'sasrec'");
    expectConfigError(() => getModel('gru4rec'), "unknown model 'gru4rec'");
    expectConfigError(() => parseLossName('bpr'), "unknown loss 'bpr'");
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, block: 'gpt' }), "'block'", "'llama' or 'sasrec'");
  });

  it("block: absent from configs that do not name it; 'sasrec' has no RoPE, so odd head widths are allowed", () => {
    expect(resolveConfig('llama-sasrec', { num_items: 5 })).to.not.have.property('block');
    expect(resolveConfig('llama-sasrec', { num_items: 5, dim: 18, n_heads: 2, block: 'sasrec' })).to.include({ block: 'sasrec', head_dim: 9 });
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, dim: 18, n_heads: 2, block: 'llama' }), 'even', 'RoPE');
  });

  it("qkv_init: absent unless named; 'xavier' draws wq, wk, wv from SASRec+'s U(±sqrt(6/4d)) and changes no other parameter", () => {
    expect(resolveConfig('llama-sasrec', { num_items: 5 })).to.not.have.property('qkv_init');
    expectConfigError(() => resolveConfig('llama-sasrec', { num_items: 5, qkv_init: 'kaiming' }), "'qkv_init'", "'normal' or 'xavier'");
    const dim = 32;
    const bound = Math.sqrt(6 / (4 * dim));
    for (const block of ['llama', 'sasrec']) {
      const init = (extra: Record<string, unknown>) => {
        const model = MODELS['llama-sasrec'];
        const c = model.resolveConfig({ num_items: 50, dim, n_layers: 2, n_heads: 2, block, ...extra });
        const g = new Graph('init');
        model.buildTraining(g, c, 'full-ce', { training: false });
        return initialParams(g.params.map((t) => (t.source as { info: ParamInfo }).info), 7);
      };
      const normal = init({});
      const xavier = init({ qkv_init: 'xavier' });
      expect([...xavier.keys()], block).to.deep.equal([...normal.keys()]);
      for (const [name, p] of xavier) {
        if (!/\.w[qkv]$/.test(name)) {
          expect(p.data, `${block} ${name}`).to.deep.equal(normal.get(name)!.data);
          continue;
        }
        const v = Array.from(p.data);
        const sd = Math.sqrt(v.reduce((a, x) => a + x * x, 0) / v.length);
        expect(Math.max(...v.map(Math.abs)), name).to.be.at.most(bound);
        // U(±b) has standard deviation b/sqrt(3) (0.125 here) against N(0, 0.02)'s 0.02. Over
        // 1,024 draws the sample's standard error is about 2.3% of it, so 10% is over 4 of them.
        expect(sd / (bound / Math.sqrt(3)), name).to.be.within(0.9, 1.1);
      }
    }
  });

  it('the registry: names, loss names, batch inputs', () => {
    expect(Object.keys(MODELS)).to.deep.equal(['llama-sasrec', 'hstu']);
    expect(getModel('llama_sasrec')).to.equal(MODELS['llama-sasrec']);
    expect(parseLossName('sampled_softmax')).to.equal('sampled-softmax');
    expect(CONFIG_FIELDS.hstu).to.include.members(['attn_divisor', 'num_buckets', 'uvqk_width']);
    const h = MODELS.hstu.resolveConfig({ num_items: 10, maxlen: 6, num_negatives: 4 });
    // The sequence length is the symbolic T (any T ≤ maxlen per batch), ts_ext is T + 1 wide.
    expect(MODELS.hstu.batchInputs(h, 'sampled-softmax')).to.deep.equal([
      { name: 'seq', dtype: 'int64', shape: ['batch', 'T'] },
      { name: 'ts_ext', dtype: 'int64', shape: ['batch', 'T+1'] },
      { name: 'pos', dtype: 'int64', shape: ['batch', 'T'] },
      { name: 'negs', dtype: 'int64', shape: ['batch', 'T', 4] },
    ]);
    const hs = MODELS.hstu.resolveConfig({ num_items: 10, maxlen: 6, num_negatives: 4, shared_negatives: true });
    expect(MODELS.hstu.batchInputs(hs, 'sampled-softmax')[3]).to.deep.equal({ name: 'negs', dtype: 'int64', shape: [4] });
    const l = MODELS['llama-sasrec'].resolveConfig({ num_items: 10, maxlen: 6 });
    expect(MODELS['llama-sasrec'].batchInputs(l, 'bce').map((s) => s.name)).to.deep.equal(['seq', 'pos', 'neg']);
    expect(MODELS['llama-sasrec'].batchInputs(l, 'full-ce').map((s) => s.name)).to.deep.equal(['seq', 'pos']);
    // The training graph declares exactly those inputs, then seed and step.
    const g = new Graph('t');
    MODELS.hstu.buildTraining(g, h, 'sampled-softmax', { training: true });
    expect(g.inputs.map((t) => t.name)).to.deep.equal(['seq', 'ts_ext', 'pos', 'negs', 'seed', 'step']);
    expect(g.inputs.slice(4).map((t) => [t.dtype, t.shape.length])).to.deep.equal([['int64', 0], ['int64', 0]]);
  });

  it('parameters: canonical names, shapes, init specs and weight-decay groups (docs/models.md §2.2, §3.2)', () => {
    const l = MODELS['llama-sasrec'].resolveConfig({ num_items: 23, dim: 16, n_layers: 2, n_heads: 2, maxlen: 8, multiple_of: 8 });
    const gl = new Graph('l');
    MODELS['llama-sasrec'].buildTraining(gl, l, 'bce', { training: false });
    const fx = loadFixture('llama_sasrec_bce');
    expect(gl.params.map((p) => [p.name, p.shape])).to.deep.equal(fx.params.map((p) => [p.name, p.shape]));
    const info = (g: Graph, name: string) => (g.getParam(name).source as { info: { init: unknown; decay: boolean; zeroGradRows: number[] } }).info;
    expect(info(gl, 'item_emb')).to.deep.include({ init: { kind: 'normal', std: 0.02 }, decay: true, zeroGradRows: [0] });
    expect(info(gl, 'layers.1.wo').init).to.deep.equal({ kind: 'normal', std: 0.02 / 2 });
    expect(info(gl, 'layers.0.w3').init).to.deep.equal({ kind: 'normal', std: 0.01 });
    expect(info(gl, 'layers.0.ffn_norm')).to.deep.include({ init: { kind: 'ones' }, decay: false });

    // The SASRec block (an ablation, graphs/sasrec-block.ts): SASRec+'s parameters and initialisation.
    const s = MODELS['llama-sasrec'].resolveConfig({ num_items: 23, dim: 16, n_layers: 1, n_heads: 2, maxlen: 8, block: 'sasrec' });
    const gs = new Graph('s');
    MODELS['llama-sasrec'].buildTraining(gs, s, 'full-ce', { training: false });
    const layer = ['attn_norm', 'attn_norm_bias', 'wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo', 'ffn_norm', 'ffn_norm_bias', 'w1', 'b1', 'w2', 'b2'];
    expect(gs.params.map((p) => p.name)).to.deep.equal(['item_emb', 'pos_emb', ...layer.map((n) => `layers.0.${n}`), 'final_norm', 'final_norm_bias']);
    expect(gs.getParam('pos_emb').shape).to.deep.equal([8, 16]);
    expect(gs.getParam('layers.0.w1').shape).to.deep.equal([16, 16]);
    expect(info(gs, 'layers.0.wk')).to.deep.include({ init: { kind: 'normal', std: 0.02 }, decay: true });
    expect(info(gs, 'layers.0.bk')).to.deep.include({ init: { kind: 'zeros' }, decay: false });
    expect(info(gs, 'final_norm_bias')).to.deep.include({ init: { kind: 'zeros' }, decay: false });

    const h = MODELS.hstu.resolveConfig(loadFixture('hstu_bce').config);
    const gh = new Graph('h');
    MODELS.hstu.buildTraining(gh, h, 'bce', { training: false });
    expect(gh.params.map((p) => [p.name, p.shape])).to.deep.equal(loadFixture('hstu_bce').params.map((p) => [p.name, p.shape]));
    expect(info(gh, 'item_emb')).to.deep.include({ init: { kind: 'truncated_normal', std: 0.02 }, zeroGradRows: [0] });
    expect(info(gh, 'pos_emb').init).to.deep.equal({ kind: 'normal', std: Math.sqrt(2 / (8 + 16)) });
    expect(info(gh, 'layers.0.wo').init).to.deep.equal({ kind: 'uniform', bound: Math.sqrt(6 / (16 + 16)) });
    expect(info(gh, 'layers.0.bo')).to.deep.include({ init: { kind: 'uniform', bound: 1 / 4 }, decay: false });
    expect(info(gh, 'layers.1.rab_ts')).to.deep.include({ init: { kind: 'normal', std: 0.02 }, decay: false });
  });
});
