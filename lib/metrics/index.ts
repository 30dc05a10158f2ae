/**
 * `metrics`: how well a model does at its application, computed as the papers and the usual
 * Python tools do: retrieval (recall@k, mean average precision), detection (average precision
 * at an IoU threshold), segmentation (confusion matrix, mean IoU, pixel accuracy).
 * One file per application; each export is listed here.
 */
export { recallAtK, meanAveragePrecision } from './retrieval';
export type { RetrievalOptions } from './retrieval';
// Detection as its own namespace: retrieval has a meanAveragePrecision of its own (over ranked
// galleries), so `metrics.detection.meanAveragePrecision` says which one is meant.
export * as detection from './detection';
export { confusionMatrix, addConfusion, iouPerClass, meanIoU, pixelAccuracy, meanAccuracy } from './segmentation';
export type { ConfusionMatrixOptions, SegmentationLabels } from './segmentation';
