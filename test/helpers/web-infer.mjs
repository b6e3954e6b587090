/* global process */
// Child process of test/web-serving.test.ts: runs exported models in onnxruntime-web (wasm)
// inside Node, away from onnxruntime-node (both register backends in onnxruntime-common, so
// they must not share a process; docs/architecture.md, onnxruntime-node behaviours).
//
// argv[2]: a JSON file { jobs: [{ name, model, externalData?: [{ path, file }], feeds }] },
// feeds: { name: { type: 'int64', dims, data: number[] } }. An inline model is opened by path,
// as the README shows; one with external data from bytes plus externalData (the only way web
// loads it). Prints { versions, results: { name: { output: { dims, data } } } } as JSON.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1; // no worker threads: nothing to leak or wait for in a test
ort.env.logLevel = 'error';

const { jobs } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = {};
for (const job of jobs) {
  const options = { executionProviders: ['wasm'] };
  let session;
  if (job.externalData) {
    options.externalData = job.externalData.map((e) => ({ path: e.path, data: new Uint8Array(readFileSync(e.file)) }));
    session = await ort.InferenceSession.create(new Uint8Array(readFileSync(job.model)), options);
  } else {
    session = await ort.InferenceSession.create(job.model, options);
  }
  const feeds = {};
  for (const [name, f] of Object.entries(job.feeds)) {
    if (f.type !== 'int64') throw new Error(`feed ${name}: only int64 feeds are supported here`);
    feeds[name] = new ort.Tensor('int64', BigInt64Array.from(f.data, (v) => BigInt(v)), f.dims);
  }
  const out = await session.run(feeds);
  results[job.name] = Object.fromEntries(Object.entries(out).map(([name, t]) => [name, { dims: [...t.dims], data: Array.from(t.data, Number) }]));
  await session.release();
}
process.stdout.write(JSON.stringify({ versions: ort.env.versions, results }));
