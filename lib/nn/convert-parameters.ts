/**
 * Parameters as one flat vector and back, as torch.nn.utils.parameters_to_vector and
 * vector_to_parameters (for second-order methods, evolution strategies, model averaging).
 */
import { noGrad } from '../autograd';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { concat, narrow, reshape } from '../ops';
import type { Tensor } from '../tensor';
import { checkTensor, collectChecked, describe, isTensor, shapeStr } from '../validate';

function checkedList(op: string, parameters: unknown): Tensor<'float32'>[] {
  if (parameters === null || typeof parameters !== 'object' || isTensor(parameters) || typeof (parameters as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    fail('E_ARG', `${op}: expected \`parameters\` to be an array (or iterable) of tensors, got ${describe(parameters)}`);
  }
  const list = collectChecked(op, 'parameters', parameters as Iterable<unknown>, (p, i) => {
    const t = checkTensor(op, `parameters[${i}]`, p);
    if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected float32 parameters, got ${t.dtype} at parameters[${i}]`);
    if (t.isDisposed) fail('E_DISPOSED', `${op}: parameters[${i}] has been disposed`);
    return t as Tensor<'float32'>;
  });
  if (list.length === 0) fail('E_ARG', `${op}: got an empty parameter list`);
  list.forEach((t, i) => {
    if (t.device !== list[0].device) fail('E_DEVICE', `${op}: found parameters on two devices (parameters[0] on ${list[0].device}, parameters[${i}] on ${t.device})`);
  });
  return list;
}

/**
 * The parameters flattened and concatenated into one 1-D tensor (a copy, recorded by autograd
 * when gradients are on, as PyTorch's `parameters_to_vector`).
 * @example const theta = nn.utils.parametersToVector(model.parameters());   // [parameterCount]
 */
export function parametersToVector(parameters: Iterable<Tensor>): Tensor<'float32'> {
  const list = checkedList('parametersToVector', parameters);
  return concat(list.map((p) => reshape(p, [p.size])), 0);
}

/**
 * Writes the slices of the 1-D `vec` into the parameters, in order and in place (each keeps its
 * identity, so optimizers and modules that hold it see the new values), as PyTorch's
 * `vector_to_parameters`. Not recorded by autograd. `vec` must have exactly as many entries as
 * the parameters together; it is moved to the parameters' device if need be.
 * @example nn.utils.vectorToParameters(theta, model.parameters())
 */
export function vectorToParameters(vec: Tensor, parameters: Iterable<Tensor>): void {
  const op = 'vectorToParameters';
  const v = checkTensor(op, 'vec', vec);
  if (v.dtype !== 'float32') fail('E_DTYPE', `${op}: expected a float32 vector, got ${v.dtype}`);
  if (v.rank !== 1) fail('E_SHAPE', `${op}: expected a 1-D vector, got ${shapeStr(v.shape)}`);
  const list = checkedList(op, parameters);
  const total = list.reduce((n, p) => n + p.size, 0);
  if (v.size !== total) fail('E_SHAPE', `${op}: the vector has ${v.size} entries, the parameters ${total}`);
  // In a tidy scope: the slices (and a moved copy) are freed; the queued copies hold their memory.
  noGrad(() => tidy(() => {
    const src = v.device === list[0].device ? v : (v.to(list[0].device) as Tensor<'float32'>);
    let offset = 0;
    for (const p of list) {
      native.copyInto(p.handle(op), reshape(narrow(src, 0, offset, p.size), p.shape).handle(op));
      offset += p.size;
    }
  }));
}
