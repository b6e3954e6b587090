import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { tensorBytes } from './emit.js';
import { onnx } from './proto.js';
import { VERSION } from '../version.js';
import type { ManifestFeatures } from '../contract/artifacts.js';

/**
 * Model metadata for a model with side inputs (README, "Serving with side inputs"), JSON
 * strings: `positive_rule` ({kind: 'all' | 'rating' | 'actions', ...}), `actions` (the action
 * vocabulary: feed `action` token i for vocab[i], 0 = '<pad>'), `user_fields` (the profile
 * fields in `profile` column order, each {name, kind, vocab, width, edges?}: feed the index of a
 * value in vocab, 1 = '<unk>'), `item_fields` (the item fields whose tables are baked in).
 * Empty for a plain item-id model.
 */
export function featureMetadata(features: ManifestFeatures | undefined): Record<string, string> {
  if (!features) return {};
  const out: Record<string, string> = { positive_rule: JSON.stringify(features.positive) };
  if (features.actions) out.actions = JSON.stringify(features.actions);
  if (features.userFields?.length) out.user_fields = JSON.stringify(features.userFields);
  if (features.itemFields?.length) out.item_fields = JSON.stringify(features.itemFields);
  return out;
}

/**
 * The inverse of featureMetadata: the side-input schema an exported model carries in its
 * metadata, or undefined for a plain item-id model (no `positive_rule`). Lets `reclm eval`
 * rank a lone inference.onnx under the rule and with the inputs it was trained with.
 * Throws SyntaxError when a key holds malformed JSON.
 */
export function featuresFromMetadata(metadata: Record<string, string>): ManifestFeatures | undefined {
  if (metadata.positive_rule === undefined) return undefined;
  const out: ManifestFeatures = { positive: JSON.parse(metadata.positive_rule) as ManifestFeatures['positive'] };
  if (metadata.actions !== undefined) out.actions = JSON.parse(metadata.actions) as string[];
  if (metadata.user_fields !== undefined) out.userFields = JSON.parse(metadata.user_fields) as ManifestFeatures['userFields'];
  if (metadata.item_fields !== undefined) out.itemFields = JSON.parse(metadata.item_fields) as ManifestFeatures['itemFields'];
  return out;
}

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
