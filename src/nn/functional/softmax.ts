// Softmax is a tensor op (x.softmax(dim)); F re-exports it under PyTorch's functional names.
export { softmax, logSoftmax } from '../../autograd/ops/softmax.js';
