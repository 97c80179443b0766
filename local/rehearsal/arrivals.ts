/**
 * An open arrival model: shoppers arrive on a schedule — ramp, spike, decay —
 * whatever the system answers, as real shoppers do at a drop (a closed loop
 * would slow its own arrivals down exactly when the system struggles).
 */
import type { Random } from './random';

/** Relative arrival rate at a fraction `x` of the run (0..1): ramp to 25 %, spike to 50 %, then decay. */
export function relativeRate(x: number): number {
  if (x < 0.25) return 0.1 + 0.9 * (x / 0.25);
  if (x < 0.5) return 1;
  return Math.exp(-6 * (x - 0.5));
}

const GRID = 1000;

/** `count` arrival times in ms over `durationMs`, sorted, drawn from the rate profile. */
export function arrivalSchedule(count: number, durationMs: number, random: Random): number[] {
  const cumulative: number[] = [0];
  for (let i = 1; i <= GRID; i++) {
    cumulative.push((cumulative[i - 1] as number) + relativeRate((i - 0.5) / GRID));
  }
  const total = cumulative[GRID] as number;
  const times = Array.from({ length: count }, () => {
    const target = random() * total;
    let low = 0;
    let high = GRID;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] as number) < target) low = middle;
      else high = middle;
    }
    const within =
      (target - (cumulative[low] as number)) / ((cumulative[high] as number) - (cumulative[low] as number));
    return ((low + within) / GRID) * durationMs;
  });
  return times.sort((a, b) => a - b);
}

/** The schedule's peak arrival rate per second (for the report). */
export function peakRatePerSecond(count: number, durationMs: number): number {
  let area = 0;
  for (let i = 0; i < GRID; i++) area += relativeRate((i + 0.5) / GRID) / GRID;
  return count / (durationMs / 1000) / area;
}
