/**
 * Public surface of data/, re-exported by src/index.ts as `data`: datasets, subsets and random
 * splits, collation and the DataLoader. Browser-safe; the Node-only built-in datasets (MNIST)
 * are in the `chainrule/node` entry point as `datasets`.
 */
export { Dataset, TensorDataset, type DatasetLike } from './dataset.js';
export { Subset, randomSplit } from './subset.js';
export { defaultCollate, type Collated } from './collate.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
