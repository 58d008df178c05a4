/**
 * Free blocks of the kernels' memory (arena.ts), kept by exact size. The steady state of a
 * training loop is served by the exact-size lists alone: each step asks for the shapes the last
 * one gave back. A loop whose sizes vary would instead keep a list per size class and grow the
 * memory by the sum of their peaks, so before the memory grows the arena merges neighbouring free
 * blocks (`coalesce`, address order, the last one given back to the top) and carves the request
 * out of the best-fitting merged block (`carve`).
 */

export class FreeBlocks {
  private readonly lists = new Map<number, number[]>();
  /** Bytes on the lists. */
  bytes = 0;

  /** Puts the block at `ptr` of `size` bytes on its list. */
  push(ptr: number, size: number): void {
    let list = this.lists.get(size);
    if (!list) this.lists.set(size, (list = []));
    list.push(ptr);
    this.bytes += size;
  }

  /** A free block of exactly `size` bytes (the last given back: still in cache), or 0. */
  pop(size: number): number {
    const ptr = this.lists.get(size)?.pop();
    if (ptr === undefined) return 0;
    this.bytes -= size;
    return ptr;
  }

  /**
   * `size` bytes cut from the front of the smallest free block that holds them (the rest stays
   * free), or 0 when no block is large enough.
   */
  carve(size: number): number {
    let best = Infinity;
    for (const [blockSize, list] of this.lists)
      if (blockSize >= size && blockSize < best && list.length > 0) best = blockSize;
    if (best === Infinity) return 0;
    const ptr = this.pop(best);
    if (best > size) this.push(ptr + size, best - size);
    return ptr;
  }

  /** Every block, emptying the lists. */
  drain(): [number, number][] {
    const blocks: [number, number][] = [];
    for (const [size, list] of this.lists) for (const ptr of list) blocks.push([ptr, size]);
    this.lists.clear();
    this.bytes = 0;
    return blocks;
  }
}

/**
 * Merges the free blocks of `pools` that touch into one block each, puts them all on `into`, and
 * returns the new top of the used memory: a merged block that ends at `top` is not kept but
 * lowers the top, so the next block past it may be of any size.
 */
export function coalesce(pools: readonly FreeBlocks[], into: FreeBlocks, top: number): number {
  const blocks = pools.flatMap((p) => p.drain()).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [ptr, size] of blocks) {
    const last = merged[merged.length - 1];
    if (last && last[0] + last[1] === ptr) last[1] += size;
    else merged.push([ptr, size]);
  }
  const end = merged[merged.length - 1];
  if (end && end[0] + end[1] === top) {
    top = end[0];
    merged.pop();
  }
  for (const [ptr, size] of merged) into.push(ptr, size);
  return top;
}
