/**
 * A small seeded pseudo-random generator (mulberry32), so a campaign is reproducible from its seed and any
 * single input can be rebuilt from (seed, index) alone.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator for input `index` of the campaign seeded with `seed`: independent of every other input. */
  static forInput(seed: number, index: number): Random {
    let hash = (0x9e3779b9 ^ seed) >>> 0;
    hash = Math.imul(hash ^ (index + 0x85ebca6b), 0xc2b2ae35) >>> 0;
    hash = Math.imul(hash ^ (hash >>> 15), 0x27d4eb2d) >>> 0;
    return new Random(hash ^ (hash >>> 13));
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(values: readonly T[]): T {
    if (values.length === 0) throw new Error('pick from an empty list');
    return values[this.int(0, values.length - 1)]!;
  }

  /** One of `entries`, with probability proportional to its weight. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [value, weight] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return entries[entries.length - 1]![0];
  }

  bytes(count: number): Buffer {
    const buffer = Buffer.alloc(count);
    for (let index = 0; index < count; index++) buffer[index] = this.int(0, 255);
    return buffer;
  }
}
