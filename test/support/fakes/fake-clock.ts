/** A clock that moves only when the test moves it. */
import type { Clock } from '../../../lambdas/domain/ports';

export class FakeClock implements Clock {
  private nowMs: number;

  constructor(start: number | string = '2026-05-01T09:00:00Z') {
    this.nowMs = typeof start === 'string' ? Date.parse(start) : start;
  }

  readonly now = (): number => this.nowMs;

  advance(ms: number): number {
    this.nowMs += ms;
    return this.nowMs;
  }

  set(to: number | string): number {
    this.nowMs = typeof to === 'string' ? Date.parse(to) : to;
    return this.nowMs;
  }
}
