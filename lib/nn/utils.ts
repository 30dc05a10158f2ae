/**
 * `nn.utils`: helpers over whole modules, as PyTorch's `torch.nn.utils`. For now the folding of
 * batch norm into the layer before it, for inference (./fusion.ts).
 */
export { fuseConvBn, fuseModules, fuseConvBnEval, fuseConvBnWeights, fuseLinearBnEval, fuseLinearBnWeights } from './fusion';
