/**
 * Containers: Sequential (modules applied in order), ModuleList (an indexed list) and ModuleDict
 * (a keyed map). Their members are named by position ('0', '1', …) or key, as in PyTorch.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { Module, type ModuleMember } from '../module.js';

function checkModule(container: string, value: unknown, where: string): Module {
  if (!(value instanceof Module)) {
    throw new TypeError(
      `${container}: ${where} is not a Module (got ${value === null ? 'null' : typeof value})`,
    );
  }
  return value;
}

function checkKey(container: string, key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.includes('.')) {
    throw new Error(
      `${container}: module name must be a non-empty string without '.', got ${JSON.stringify(key)}`,
    );
  }
  return key;
}

function normalizeIndex(container: string, index: number, length: number): number {
  if (!Number.isInteger(index) || index < -length || index >= length) {
    throw new RangeError(`${container}: index ${index} is out of range for length ${length}`);
  }
  return index < 0 ? index + length : index;
}

function moduleMember(name: string, value: Module, set: (v: Module) => void): ModuleMember {
  return { kind: 'module', name, value, persistent: true, set: (v) => set(v as Module) };
}

/**
 * Applies its modules in order, each to the previous one's output. Members are named '0', '1', …
 * or, when built from an object, by its keys.
 * @example
 * const model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
 * model.call(randn([32, 784])).shape; // [32, 10]
 * String(model); // 'Sequential(\n  (0): Linear(in_features=784, out_features=128, bias=True)\n  …'
 */
export class Sequential extends Module {
  #entries: [string, Module][] = [];

  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    if (
      modules.length === 1 &&
      !(modules[0] instanceof Module) &&
      typeof modules[0] === 'object' &&
      modules[0] !== null
    ) {
      for (const [key, m] of Object.entries(modules[0]))
        this.#entries.push([
          checkKey('Sequential', key),
          checkModule('Sequential', m, `entry '${key}'`),
        ]);
    } else {
      (modules as Module[]).forEach((m, i) =>
        this.#entries.push([String(i), checkModule('Sequential', m, `argument ${i}`)]),
      );
    }
  }

  get length(): number {
    return this.#entries.length;
  }

  /** The module at a position (negative counts from the end). */
  at(index: number): Module {
    return this.#entries[normalizeIndex('Sequential', index, this.#entries.length)][1];
  }

  append(module: Module): this {
    this.#entries.push([
      String(this.#entries.length),
      checkModule('Sequential', module, 'the appended value'),
    ]);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.#entries.map(([, m]) => m)[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (const [, m] of this.#entries) out = m.call(out);
    return out;
  }

  protected override ownMembers(): ModuleMember[] {
    return this.#entries.map((entry) => moduleMember(entry[0], entry[1], (v) => (entry[1] = v)));
  }
}

/**
 * A list of modules whose parameters the parent sees (named 'layers.0.weight', …); iterate it in
 * the parent's forward. A plain array field works the same way.
 * @example
 * class Deep extends Module {
 *   layers = new ModuleList(Array.from({ length: 4 }, () => new Linear(64, 64)));
 *   forward(x: Tensor) { for (const l of this.layers) x = F.relu(l.call(x)); return x; }
 * }
 */
export class ModuleList extends Module {
  #items: Module[] = [];

  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }

  get length(): number {
    return this.#items.length;
  }

  at(index: number): Module {
    return this.#items[normalizeIndex('ModuleList', index, this.#items.length)];
  }

  /** Replaces the module at a position. */
  set(index: number, module: Module): this {
    this.#items[normalizeIndex('ModuleList', index, this.#items.length)] = checkModule(
      'ModuleList',
      module,
      'the new value',
    );
    return this;
  }

  append(module: Module): this {
    this.#items.push(checkModule('ModuleList', module, 'the appended value'));
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  insert(index: number, module: Module): this {
    const i =
      index < 0 ? Math.max(0, this.#items.length + index) : Math.min(index, this.#items.length);
    this.#items.splice(i, 0, checkModule('ModuleList', module, 'the inserted value'));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return [...this.#items][Symbol.iterator]();
  }

  forward(): never {
    throw new Error(
      'ModuleList: a ModuleList has no forward; iterate over it and call its modules',
    );
  }

  protected override ownMembers(): ModuleMember[] {
    return this.#items.map((m, i) => moduleMember(String(i), m, (v) => (this.#items[i] = v)));
  }
}

/**
 * Modules by name, in insertion order (stateDict keys 'heads.cls.weight', …).
 * @example
 * const heads = new ModuleDict({ cls: new Linear(64, 10), box: new Linear(64, 4) });
 * heads.get('cls').call(features);
 */
export class ModuleDict extends Module {
  #items = new Map<string, Module>();

  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    const entries =
      Symbol.iterator in modules
        ? [...(modules as Iterable<[string, Module]>)]
        : Object.entries(modules);
    for (const [key, m] of entries) this.set(key, m);
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): Module {
    const m = this.#items.get(key);
    if (!m)
      throw new Error(
        `ModuleDict: no module named '${key}' (keys: ${[...this.#items.keys()].join(', ') || 'none'})`,
      );
    return m;
  }

  set(key: string, module: Module): this {
    this.#items.set(
      checkKey('ModuleDict', key),
      checkModule('ModuleDict', module, `the value for '${key}'`),
    );
    return this;
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  delete(key: string): boolean {
    return this.#items.delete(key);
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  values(): Module[] {
    return [...this.#items.values()];
  }

  entries(): [string, Module][] {
    return [...this.#items.entries()];
  }

  [Symbol.iterator](): Iterator<[string, Module]> {
    return this.entries()[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleDict: a ModuleDict has no forward; look up its modules with get(key)');
  }

  protected override ownMembers(): ModuleMember[] {
    return this.entries().map(([key, m]) => moduleMember(key, m, (v) => this.#items.set(key, v)));
  }
}
