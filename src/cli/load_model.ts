/** Loading the model a CLI checkpoint holds. */
import { readCheckpoint } from '../train/checkpoint_file.js';
import { createLearner, type MethodName } from './learn_methods.js';
import { createModel, MODEL_NAMES, type ModelName } from './models.js';

/** The model a checkpoint was trained as (architecture and training method), with its weights loaded, in evaluation mode. */
export function loadModel(path: string) {
  const contents = readCheckpoint(path);
  const extra = (contents.extra ?? {}) as { model?: ModelName; seed?: number; method?: MethodName };
  if (extra.model === undefined) {
    throw new Error(
      `${path} does not say which model it holds; save it with 'chainrule train mnist --save'`,
    );
  }
  if (!MODEL_NAMES.includes(extra.model)) {
    throw new Error(
      `${path} holds the model '${String(extra.model)}', which this chainrule does not know; expected one of ${MODEL_NAMES.join(', ')}`,
    );
  }
  if (!contents.model) throw new Error(`${path} holds no model weights`);
  const method = extra.method ?? 'backprop';
  const model =
    method === 'backprop' ? createModel(extra.model) : createLearner(method, extra.model);
  model.loadStateDict(contents.model);
  model.eval();
  return { model, name: extra.model, seed: extra.seed ?? 0 };
}
