/**
 * `vision`: what a detector needs around RoI pooling, as torchvision.ops: box areas, IoU and
 * format conversion, non-maximum suppression (plain and per category), and Fast R-CNN's box
 * coding. (RoI pooling itself is `F.roiPool` / `nn.RoIPool`.)
 */
export { boxArea, boxIou, boxConvert } from './boxes';
export type { BoxFormat } from './boxes';
export { nms, batchedNms } from './nms';
export { encodeBoxes, decodeBoxes, BBOX_XFORM_CLIP } from './box_coder';
