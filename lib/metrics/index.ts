/**
 * `metrics`: how well a model does at its application, computed as the papers and the usual
 * Python tools do, one namespace per application (each file's doc says whose definitions):
 * - `metrics.retrieval`: recallAtK, meanAveragePrecision over ranked galleries;
 * - `metrics.detection`: averagePrecision, meanAveragePrecision at an IoU threshold (VOC);
 * - `metrics.segmentation`: confusionMatrix, addConfusion, iouPerClass, meanIoU,
 *   pixelAccuracy, meanAccuracy.
 * (Retrieval and detection both have a "mean average precision", which is why each
 * application has its own namespace.)
 */
export * as retrieval from './retrieval';
export * as detection from './detection';
export * as segmentation from './segmentation';
