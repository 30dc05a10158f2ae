/**
 * `vision`: what a detector needs around RoI pooling, as torchvision.ops: box areas, IoU and
 * format conversion, non-maximum suppression (plain and per category), Fast R-CNN's box
 * coding, and RoIAlign (`vision.roiAlign`, the same function as `F.roiAlign`; its layer is
 * `nn.RoIAlign`). (RoI max pooling is `F.roiPool` / `nn.RoIPool`.)
 */
export { boxArea, boxIou, boxConvert } from './boxes';
export type { BoxFormat } from './boxes';
export { nms, batchedNms } from './nms';
export { encodeBoxes, decodeBoxes, BBOX_XFORM_CLIP } from './box_coder';
export { roiAlign } from '../nn/functional/pool';
export type { RoIAlignOptions } from '../nn/functional/pool';
export { kmeans } from './kmeans';
export type { KMeansOptions, KMeansResult } from './kmeans';
