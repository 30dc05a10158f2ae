/**
 * `models`: saving and loading whole models (architecture JSON + safetensors weights).
 * @example models.save(model, 'runs/net'); const same = models.load('runs/net');
 */
export { save, load, register } from './io';
export type { SavedModel } from './io';
