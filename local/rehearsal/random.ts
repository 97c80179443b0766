/** A small seeded PRNG (mulberry32): the same seed gives the same rehearsal. */
export type Random = () => number;

export function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream per actor, so adding a bot doesn't change every shopper's choices. */
export function forActor(seed: number, actor: number): Random {
  return seeded((seed * 2654435761 + actor * 40503) >>> 0);
}
