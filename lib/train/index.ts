/**
 * `callbacks`: hooks for `model.fit` (early stopping, checkpoints, learning-rate schedules).
 * @example
 * await model.fit(train, { epochs: 20, validationData: test, callbacks: [callbacks.earlyStopping({ patience: 2 })] });
 */
export { earlyStopping, modelCheckpoint, lrScheduler } from './callbacks';
export type {
  Callback, TrainContext, BatchLogs, EpochLogs, EarlyStopping, EarlyStoppingOptions, ModelCheckpointOptions, LrSchedulerOptions, SchedulerArg,
} from './callbacks';
