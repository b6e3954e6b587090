// onnx-proto's declarations use the global `Long` of @types/long (a dependency of its protobufjs)
// without referencing it; the reference is kept in the emitted .d.ts so that a consumer type-checking
// reclm's declarations (skipLibCheck off) does not have to list "long" in its own `types`.
/// <reference types="long" preserve="true" />
// onnx-proto ships protobufjs static code for the ONNX schema (v1.10.2); its IR_VERSION enum
// stops at 8, but irVersion is a plain integer field, so 9 or 10 can be written.
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
