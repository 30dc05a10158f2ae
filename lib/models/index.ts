/**
 * `models`: ready-made networks with training recipes.
 * @example
 * const net = models.LeNet5();                          // modern LeNet-5 for 28x28 MNIST
 * const { testAccuracy } = await models.trainLeNet5();  // the default recipe on MNIST
 */
export { LeNet5, LeNet5Model, trainLeNet5, defaultRecipe as lenet5Recipe } from './lenet5';
export type { LeNet5Options, LeNet5Recipe, TrainLeNet5Options, TrainLeNet5Result } from './lenet5';
