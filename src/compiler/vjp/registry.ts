import { Node, Tensor } from '../../dsl/graph.js';

export interface VjpContext {
  node: Node;
  /** Cotangent of each output; null where no gradient flows into that output. */
  grads: (Tensor | null)[];
  /** Whether input i needs a gradient; rules may skip the work for the others. */
  needs: boolean[];
}

/** Returns one cotangent per input (null: no gradient for that input). */
export type VjpRule = (ctx: VjpContext) => (Tensor | null)[];

const rules = new Map<string, VjpRule>();

/** Ops through which no gradient flows (comparisons, index computation, shapes). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not',
  'Range', 'Floor', 'Mod', 'BitwiseXor', 'ConstantOfShape', 'Sign', 'ArgMax', 'NonZero',
]);

/** Registers the VJP (backward) rule of the ONNX op `op`; throws Error when `op` already has one. */
export function registerVjp(op: string, rule: VjpRule): void {
  if (rules.has(op)) throw new Error(`VJP rule for ${op} registered twice`);
  rules.set(op, rule);
}

/** The VJP rule registered for `op`, or undefined when there is none. */
export function vjpRule(op: string): VjpRule | undefined {
  return rules.get(op);
}

/** Names of the ops that have a VJP rule, sorted. */
export function registeredVjpOps(): string[] {
  return [...rules.keys()].sort();
}
