import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { tensorBytes } from './emit.js';
import { onnx } from './proto.js';
import { VERSION } from '../version.js';

/** Above this many bytes of weights, they go to a side file (protobuf caps a message at 2 GiB). */
export const EXTERNAL_DATA_THRESHOLD = 1 << 30;

/**
 * Turns an inference graph whose parameters are inputs into a self-contained model: each
 * parameter becomes an initializer (and stops being an input), model metadata is added.
 * Weights over `threshold` bytes are written as ONNX external data in `<out>.data`.
 */
export function exportInference(
  templatePath: string,
  outPath: string,
  params: ReadonlyMap<string, Float32Array>,
  metadata: Record<string, string>,
  threshold = EXTERNAL_DATA_THRESHOLD,
): { external: boolean; bytes: number } {
  const model = onnx.ModelProto.decode(readFileSync(templatePath));
  const graph = model.graph!;
  const inputs = graph.input ?? [];
  const missing = [...params.keys()].filter((n) => !inputs.some((i) => i.name === n));
  if (missing.length) throw new Error(`export: ${templatePath} has no input for parameter(s) ${missing.join(', ')}`);
  graph.input = inputs.filter((i) => !params.has(i.name ?? ''));
  const total = [...params.values()].reduce((a, p) => a + p.byteLength, 0);
  const external = total > threshold;
  const dataFile = `${basename(outPath)}.data`;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializers = [...params].map(([name, values]) => {
    const dims = inputs.find((i) => i.name === name)!.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue));
    const proto = onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims });
    if (!external) {
      proto.rawData = tensorBytes(values);
      return proto;
    }
    // External data: 4 KiB-aligned offsets so readers can mmap each tensor.
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    proto.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    proto.externalData = [
      { key: 'location', value: dataFile },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(values.byteLength) },
    ];
    chunks.push(tensorBytes(values));
    offset += values.byteLength;
    return proto;
  });
  graph.initializer = [...initializers, ...(graph.initializer ?? [])];
  model.metadataProps = Object.entries({ reclm_version: VERSION, ...metadata }).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  if (external) writeFileAtomic(`${outPath}.data`, chunks);
  const bytes = onnx.ModelProto.encode(model).finish();
  writeFileAtomic(outPath, bytes);
  return { external, bytes: bytes.length + (external ? offset : 0) };
}
