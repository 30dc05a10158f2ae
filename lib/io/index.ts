/**
 * `io`: reading and writing tensors in files. Safetensors is the format PyTorch users share
 * weights in: a file written here loads with `safetensors.torch.load_file` and back.
 * @example
 * io.saveSafetensors('weights.safetensors', model.stateDict());
 * const { tensors } = io.loadSafetensors('weights.safetensors');
 * const weights = io.loadPytorch('model.pt');   // a torch.save file, read without Python
 */
export { saveSafetensors, loadSafetensors, serializeSafetensors } from './safetensors';
export type { SafetensorsFile, LoadSafetensorsOptions } from './safetensors';
export { loadPytorch } from './pytorch';
export type { LoadPytorchOptions } from './pytorch';
export { PythonGlobal, PythonObject } from './pickle';
