/** Loading the model a CLI checkpoint holds. */
import { readCheckpoint } from '../train/checkpoint_file.js';
import { createModel, MODEL_NAMES, type ModelName } from './models.js';

/** The model a checkpoint was trained as, with its weights loaded, in evaluation mode. */
export function loadModel(path: string) {
  const contents = readCheckpoint(path);
  const extra = (contents.extra ?? {}) as { model?: ModelName; seed?: number };
  if (!extra.model || !MODEL_NAMES.includes(extra.model)) {
    throw new Error(
      `${path} does not say which model it holds; save it with 'chainrule train mnist --save'`,
    );
  }
  if (!contents.model) throw new Error(`${path} holds no model weights`);
  const model = createModel(extra.model);
  model.loadStateDict(contents.model);
  model.eval();
  return { model, name: extra.model, seed: extra.seed ?? 0 };
}
