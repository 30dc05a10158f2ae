/**
 * `viz`: pictures of training and of what a network learned. Training curves and confusion
 * matrices as SVG; the first layer's filters and a sample's feature maps as PNG grids.
 * @example
 * viz.plotHistory(history, 'curves.svg');
 * viz.filtersPng(conv1.weight, 'filters.png');
 * viz.confusionMatrixSvg(viz.confusionMatrix(predicted, labels, 10), 'confusion.svg');
 */
export { plotHistory, confusionMatrix, confusionMatrixSvg } from './svg';
export type { History } from './svg';
export { filtersPng, featureMapsPng, BORDER } from './png';
export type { GridOptions, GridInfo } from './png';
