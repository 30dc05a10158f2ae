/**
 * `models`: ready-made networks with training recipes, and saving and loading whole models
 * (architecture JSON + safetensors weights).
 * @example
 * const net = models.LeNet5();                          // modern LeNet-5 for 28x28 MNIST
 * const alex = models.AlexNet({ numClasses: 10 });      // torchvision's AlexNet layout (or variant: 'original')
 * const fcn = models.FCN({ numClasses: 4 });            // FCN-8s: per-pixel scores [N, 4, H, W]
 * const resnet = models.resnet18({ numClasses: 10 });   // torchvision's ResNet-18 (keys and layout); cifar: true for 32x32
 * const vgg = models.vgg16({ batchNorm: true });        // torchvision's vgg16_bn
 * const inception = models.googlenet({ numClasses: 10 });  // torchvision's GoogLeNet (Inception v1)
 * const v3 = models.inceptionV3({ numClasses: 10 });       // torchvision's inception_v3, 299x299 images
 * const nin = models.NiN();                                 // Network in Network (CIFAR-10's)
 * const dense = models.densenet121({ numClasses: 10 });     // torchvision's DenseNet-121
 * const mobile = models.mobilenetV2({ numClasses: 10 });    // torchvision's mobilenet_v2
 * const video = models.r2plus1d_18({ numClasses: 101 });    // torchvision's video R(2+1)D-18, clips [N, 3, T, H, W]
 * const { model, testAccuracy } = await models.trainLeNet5();  // the default recipe on MNIST
 * models.save(model, 'runs/lenet5'); const same = models.load('runs/lenet5');
 */
export { save, load, register } from './io';
export type { SavedModel } from './io';
export { LeNet5, LeNet5Model, trainLeNet5, defaultRecipe as lenet5Recipe } from './lenet5';
export type { LeNet5Options, LeNet5Recipe, TrainLeNet5Options, TrainLeNet5Result } from './lenet5';
export { AlexNet, AlexNetModel } from './alexnet';
export type { AlexNetOptions } from './alexnet';
export { FCN, FCNModel } from './fcn';
export type { FCNOptions, FCNVariant } from './fcn';
export { ResNet, ResNetModel, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, resnet101, resnet152 } from './resnet';
export type { ResNetOptions, ResNetModelOptions, ResNetBlock, ResNetDepth, BlockOptions } from './resnet';
export { VGG, VGGModel, vgg11, vgg13, vgg16, vgg19 } from './vgg';
export { BasicConv2d } from './basic-conv';
export type { BasicConv2dOptions } from './basic-conv';
export { googlenet, GoogLeNetModel, Inception, InceptionAux } from './googlenet';
export { NiN, NiNModel, mlpconv } from './nin';
export { mobilenetV2, MobileNetV2Model, InvertedResidual } from './mobilenet-v2';
export type { MobileNetV2Options } from './mobilenet-v2';
export { DenseNetModel, DenseLayer, DenseBlock, densenet121, densenet161, densenet169, densenet201 } from './densenet';
export type { DenseNetOptions, DenseNetDepth } from './densenet';
export type { NiNOptions } from './nin';
export { inceptionV3, InceptionV3Model, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE, InceptionV3Aux } from './inception-v3';
export type { InceptionV3Options, InceptionV3Outputs } from './inception-v3';
export type { GoogLeNetOptions, GoogLeNetOutputs, InceptionAuxOptions } from './googlenet';
export type { VGGOptions, VGGDepth } from './vgg';
export { multiScaleOrderlessPooling, patchFeatures } from './mop';
export { VideoResNetModel, VideoBasicBlock, r3d_18, mc3_18, r2plus1d_18 } from './video-resnet';
export type { VideoConv, VideoResNetOptions, VideoResNetModelOptions, VideoBasicBlockOptions } from './video-resnet';
export type { MopLevel, MopOptions, PatchFeatureOptions, FeatureExtractor } from './mop';
