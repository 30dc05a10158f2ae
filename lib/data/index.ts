/**
 * `data`: reading IDX files (MNIST, Fashion-MNIST), CIFAR-10/100 (binary versions), folders of
 * your own pictures (`ImageFolder`, with PNG and PGM/PPM decoders), data sets, and a
 * `DataLoader` with seeded shuffling, augmentation and normalisation. Nothing is downloaded.
 *
 * @example
 * const train = data.mnist({ split: 'train' });
 * const pets = new data.ImageFolder('pets/train', { size: 64 });   // pets/train/<class>/*.png
 * for await (const { x, y } of new data.DataLoader(train, { batchSize: 64, shuffle: true, seed: 0 })) { …; x.dispose(); y.dispose(); }
 */
export { readIdx, encodeIdx } from './idx';
export type { IdxData, IdxDType, IdxArrayMap } from './idx';
export { ArrayDataset } from './dataset';
export type { Dataset, Sample } from './dataset';
export { mnist } from './mnist';
export type { MnistOptions } from './mnist';
export { DataLoader, BatchIterator } from './loader';
export type { DataLoaderOptions, AugmentOptions, JitterRange, Batch } from './loader';
export { philox4x32, PhiloxStream } from './philox';
export { cifar10, cifar100, CifarDataset } from './cifar';
export type { Cifar10Options, Cifar100Options } from './cifar';
export { decodePng, isPng } from './png';
export type { DecodedImage } from './png';
export { decodePnm, isPnm } from './pnm';
export { ImageFolder, decodeImage, imageToValues, loadImage, IMG_EXTENSIONS, DECODED_EXTENSIONS } from './image-folder';
export type { ImageDecoder, ImageOptions, ImageFolderOptions } from './image-folder';
