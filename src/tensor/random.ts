/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32. Every random function
 * takes an optional Generator; without one it draws from the default generator, which
 * `manualSeed(n)` resets, making a whole run reproducible.
 */

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** The state of a Generator, to save in checkpoints and restore later. */
export interface GeneratorState {
  readonly seed: number;
  readonly words: readonly [number, number, number, number];
}

export class Generator {
  private s = new Uint32Array(4);
  private initialSeed = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the generator to a state determined by `seed` (an integer; large seeds are folded to 53 bits). */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed))
      throw new RangeError(`manualSeed: seed must be a finite number, got ${seed}`);
    this.initialSeed = seed;
    const high = Math.floor(Math.abs(seed) / 2 ** 32);
    const next = splitmix32(
      (seed >>> 0) ^ Math.imul(high, 0x27d4eb2d) ^ (seed < 0 ? 0x5bd1e995 : 0),
    );
    for (let i = 0; i < 4; i++) this.s[i] = next();
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
    return this;
  }

  initialSeedValue(): number {
    return this.initialSeed;
  }

  getState(): GeneratorState {
    return { seed: this.initialSeed, words: [this.s[0], this.s[1], this.s[2], this.s[3]] };
  }

  /** Restores a state from getState(); throws, saying what is wrong, on anything else. */
  setState(state: GeneratorState): this {
    const words = (state as { words?: unknown } | null)?.words;
    const seed = (state as { seed?: unknown } | null)?.seed;
    const problem =
      state === null || typeof state !== 'object'
        ? `got ${state === null ? 'null' : typeof state}`
        : typeof seed !== 'number' || !Number.isFinite(seed)
          ? `its seed must be a finite number, got ${JSON.stringify(seed) ?? 'undefined'}`
          : !Array.isArray(words) ||
              words.length !== 4 ||
              !words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)
            ? `its words must be 4 unsigned 32-bit integers, got ${JSON.stringify(words) ?? 'undefined'}`
            : words.every((w) => w === 0)
              ? 'its words are all zero, which xoshiro128** never reaches'
              : null;
    if (problem)
      throw new TypeError(
        `Generator.setState: expected a state from getState() ({ seed, words: [4 × uint32] }); ${problem}`,
      );
    this.initialSeed = state.seed;
    this.s.set(state.words);
    return this;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform in [0, 1) with 24 random bits: exactly representable in float32, never rounds to 1. */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Uniform integer in [low, high). */
  nextInt(low: number, high: number): number {
    return low + Math.floor(this.nextDouble() * (high - low));
  }

  /** A standard normal sample (Box–Muller). */
  nextNormal(): number {
    let u = 0;
    while (u === 0) u = this.nextDouble();
    const v = this.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator random functions use when none is passed. */
export const defaultGenerator = new Generator(0x2545f491);

/**
 * Seeds the default generator so that every random function gives the same results on every run.
 * @example
 * manualSeed(0); const a = randn([3]); manualSeed(0); const b = randn([3]); // a equals b
 */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
