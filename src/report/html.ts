// The report page: one HTML file with inline CSS and inline SVG charts, no script, no external
// resource (fonts, images, styles), so it opens offline and makes no network request.
import { VERSION } from '../version.js';
import type { EvalRecord } from './eval-results.js';
import { skippedLinesNote, type RunData } from './run.js';

/** Marks a page as written by `reclm report`; --out only replaces files that carry it. */
export const GENERATOR = 'reclm report';

/** One rendered chart: its id (data-chart attribute), the SVG and a caption, or why it is absent. */
export interface ChartSlot {
  id: string;
  svg?: string;
  caption?: string;
  missing?: string;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : String(+v.toPrecision(5));
  if (v === null || v === undefined) return '–';
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}=${typeof x === 'object' ? JSON.stringify(x) : fmt(x)}`).join(', ');
  return String(v);
}

function keyValueTable(caption: string, rows: [string, unknown][]): string {
  const body = rows.filter(([, v]) => v !== undefined).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(fmt(v))}</td></tr>`).join('');
  return `<table class="kv"><caption>${esc(caption)}</caption>${body}</table>`;
}

function chart(slot: ChartSlot): string {
  if (slot.svg) return `<figure class="chart" data-chart="${esc(slot.id)}">${slot.svg}${slot.caption ? `<figcaption>${esc(slot.caption)}</figcaption>` : ''}</figure>`;
  return `<p class="missing" data-chart-missing="${esc(slot.id)}">${esc(slot.missing ?? 'no data yet')}</p>`;
}

function epochTable(run: RunData): string {
  if (!run.epochs.length) return '';
  const rows = run.epochs.map((e) => {
    const best = run.best?.epoch === e.epoch;
    const cells = [e.epoch, e.step, e.loss === null ? null : e.loss.toFixed(4), e['ndcg@10']?.toFixed(4), e['hr@10']?.toFixed(4), e.seconds.toFixed(1), Math.round(e.tokens_per_s)];
    return `<tr${best ? ' class="best"' : ''}>${cells.map((c) => `<td>${esc(c === undefined || c === null ? '–' : fmt(c))}</td>`).join('')}</tr>`;
  });
  return `<table class="grid"><thead><tr><th>epoch</th><th>last step</th><th>mean loss</th><th>valid NDCG@10</th><th>valid HR@10</th><th>seconds</th><th>tokens/s</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function evalTable(e: EvalRecord): string {
  // HR@k / NDCG@k by k, then MRR.
  const keys = Object.keys(e.metrics).filter((k) => k in e.popularity).sort((a, b) => (a === 'mrr' ? 1 : b === 'mrr' ? -1 : Number(a.split('@')[1]) - Number(b.split('@')[1]) || a.localeCompare(b)));
  const rows = keys.map((k) => {
    const m = e.metrics[k];
    const p = e.popularity[k];
    return `<tr><th>${esc(k.toUpperCase())}</th><td>${m.toFixed(4)}</td><td>${p.toFixed(4)}</td><td>${p > 0 ? `${(m / p).toFixed(2)}×` : '–'}</td></tr>`;
  });
  // eval's warnings travel with its numbers: a ranking of other data is not the run's result.
  const warnings = (e.warnings ?? []).map((w) => `<p class="warn">Warning: ${esc(w)}</p>`).join('');
  return `<p>${esc(`${e.split} split of ${e.data}, ${e.protocol}: ${e.users.toLocaleString('en-US')} users.`)} <span class="sub">${esc(`${e.model}, ranked ${e.time}`)}</span></p>${warnings}<table class="grid"><thead><tr><th>metric</th><th>model</th><th>most-popular</th><th>model / most-popular</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CSS = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1320px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin: 0 0 12px; }
.status { padding: 10px 14px; border-radius: 4px; margin: 12px 0; }
.status.finished { background: #eef7ee; border-left: 4px solid #2ca02c; }
.status.unfinished { background: #fff6e5; border-left: 4px solid #ff7f0e; }
.warn { background: #fdecea; border-left: 4px solid #d62728; padding: 6px 10px; margin: 6px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(620px, 1fr)); gap: 8px 24px; }
figure.chart { margin: 0; } figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #666; font-size: 12px; margin: 0 0 8px 8px; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; } caption { text-align: left; font-weight: bold; padding: 4px 0; }
table.kv th { text-align: left; font-weight: normal; color: #555; padding: 2px 12px 2px 0; vertical-align: top; }
table.kv td { padding: 2px 0; max-width: 520px; word-break: break-word; }
table.grid th, table.grid td { border-bottom: 1px solid #eee; padding: 3px 10px; text-align: right; }
table.grid th:first-child { text-align: left; } tr.best td { font-weight: bold; background: #f3f8fd; }
.missing { color: #888; font-style: italic; }
footer { margin-top: 32px; color: #888; font-size: 12px; }
`;

/**
 * The report page.
 * @param run the run as readRun returns it
 * @param charts rendered charts, in page order, keyed by id: loss, lr, grad_norm, throughput, validation, final-N
 * @param generatedAt ISO time written in the footer
 */
export function reportHtml(run: RunData, charts: Map<string, ChartSlot>, generatedAt: string): string {
  const m = run.manifest;
  const o = run.options;
  const get = (id: string) => chart(charts.get(id) ?? { id, missing: 'no data yet' });
  const title = `${m.model} (${m.loss}) — ${run.dir}`;
  // Results of an earlier export describe another model (train --resume exported a new one): left out, and said.
  const stale = run.staleEvals ? `<p class="missing">${esc(`${run.staleEvals} saved evaluation(s) of an earlier export of the model left out (the model was exported again since, by train --resume): rank it again with reclm eval ${run.dir} --data FILE --save.`)}</p>` : '';
  const finals = stale + (run.evals.length
    ? run.evals.map((e, i) => `<div class="charts">${get(`final-${i}`)}<div>${evalTable(e)}</div></div>`).join('')
    : `<p class="missing">No saved evaluation. Rank the exported model with <code>reclm eval ${esc(run.dir)} --data FILE --save</code> and build the report again.</p>`);
  const s = run.status.summary;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="${GENERATOR} ${esc(VERSION)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Training run: ${esc(m.model)}, ${esc(m.loss)} loss</h1>
<p class="sub">${esc(run.dir)} · ${esc(fmt(m.parameters))} parameters · ${esc(fmt(m.dataset.numItems))} items · data ${esc(m.dataset.source ?? '?')}</p>
<div class="status ${run.status.finished ? 'finished' : 'unfinished'}" id="status">${esc(run.status.text)}</div>
${run.skippedLogLines.length ? `\n<p class="missing" id="skipped">${esc(skippedLinesNote(run))}.</p>` : ''}

<h2>Model and config</h2>
<div class="tables">
${keyValueTable('Model', [['model', m.model], ['loss', m.loss], ['parameters', m.parameters], ['items', m.dataset.numItems], ['maxlen', m.dataset.maxlen], ['data', m.dataset.source], ['preset', m.recipe?.preset], ['opset', m.opset], ['compiled', m.createdAt]])}
${keyValueTable('Config', Object.entries(m.config).filter(([k]) => k !== 'model' && k !== 'num_items'))}
${keyValueTable('Training', [['batch size', o.batchSize], ['seed', o.seed], ['lr schedule', o.schedule], ['train on valid', o.trainOnValid], ['optimizer (AdamW)', m.optimizer], ['started', run.status.startedAt], ['resumed', run.status.resumes ? `${run.status.resumes} time(s)` : 'no']])}
</div>

<h2>Training</h2>
<div class="charts">
${get('loss')}
${get('lr')}
${get('grad_norm')}
${get('throughput')}
</div>

<h2>Validation</h2>
<div class="charts">${get('validation')}<div>
${run.best ? `<p>Best epoch (highest validation NDCG@10): <b>${run.best.epoch}</b>, NDCG@10 ${run.best['ndcg@10'].toFixed(4)}, HR@10 ${run.best['hr@10'].toFixed(4)}.</p>` : ''}
${epochTable(run)}</div></div>

<h2>Final ranking metrics</h2>
${finals}

<h2>How the run stopped</h2>
<p id="stop">${esc(run.status.text)}</p>
${s ? keyValueTable('Summary (end record of the last invocation)', [['stopped by', s.stoppedBy], ['last step (run)', run.status.lastStep], ['epochs (run)', run.status.epochsDone], ['steps (last invocation)', s.steps], ['resumed from step', run.status.resumedAt ?? undefined], ['best epoch', s.bestEpoch], ['last loss', s.lastLoss], ['minutes (last invocation)', s.seconds === undefined ? undefined : s.seconds / 60], ['tokens/s (last invocation)', s.tokensPerSecond], ['exported from', s.checkpoint]]) : ''}

<footer>Written by reclm ${esc(VERSION)} report at ${esc(generatedAt)} from train.jsonl (last written ${esc(run.status.lastWriteAt)}). Charts: vega-lite, rendered to SVG.</footer>
</body>
</html>
`;
}
