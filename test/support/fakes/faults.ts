/**
 * Faults a test plans for a fake's next calls, named where the test needs
 * them: a call that fails having done nothing, a call that takes effect and
 * loses its answer, a write that meets contention, or another actor's move
 * made just before a call (an interleaving).
 */

/**
 * A fault of the platform that a retry may get past (throttling, a timeout):
 * what `isTransientFault` recognises, as the AWS adapters' classifier does.
 */
export class TransientFaultError extends Error {
  constructor(readonly fault: 'throttled' | 'timeout' = 'timeout') {
    super(fault === 'throttled' ? 'Rate exceeded' : 'The request timed out');
    this.name = 'TransientFaultError';
  }
}

export const isTransientFault = (error: unknown): boolean => error instanceof TransientFaultError;

type Planned =
  | { readonly kind: 'fail'; readonly error: Error }
  | { readonly kind: 'contend' }
  | { readonly kind: 'interleave'; readonly action: () => unknown };

/**
 * The faults planned for a fake's methods, consumed call by call in the order
 * they were planned. `Contendable` names the methods whose outcome can be
 * "contended" (nothing written, a retry may succeed).
 */
export class FaultPlan<Method extends string, Contendable extends Method = never> {
  private readonly before = new Map<Method, Planned[]>();
  private readonly after = new Map<Method, Error[]>();
  private readonly counts = new Map<Method, number>();

  /** The next `times` calls of `method` throw `error` and change nothing. */
  fail(method: Method, error: Error, times = 1): this {
    return this.plan(method, { kind: 'fail', error }, times);
  }

  /** The next `times` calls of `method` take effect, then throw `error`: the answer was lost. */
  loseAnswer(method: Method, error: Error = new TransientFaultError(), times = 1): this {
    const queue = this.after.get(method) ?? [];
    for (let index = 0; index < Math.min(times, 1_000); index++) queue.push(error);
    this.after.set(method, queue);
    return this;
  }

  /** The next `times` calls of `method` answer "contended" and write nothing (`Infinity`: it stays contended). */
  contend(method: Contendable, times = 1): this {
    return this.plan(method, { kind: 'contend' }, times);
  }

  /** Runs `action` (another actor's move) once, just before the next call of `method` takes effect. */
  interleave(method: Method, action: () => unknown): this {
    return this.plan(method, { kind: 'interleave', action }, 1);
  }

  /** How many times `method` was called, faults included. */
  calls(method: Method): number {
    return this.counts.get(method) ?? 0;
  }

  /** Called by the fake on entry: throws a planned failure, or says the call is contended. */
  async enter(method: Method): Promise<'contended' | undefined> {
    this.counts.set(method, this.calls(method) + 1);
    const planned = this.before.get(method)?.shift();
    if (!planned) return undefined;
    if (planned.kind === 'interleave') {
      await planned.action();
      return undefined;
    }
    if (planned.kind === 'contend') return 'contended';
    throw planned.error;
  }

  /** Called by the fake once the call took effect: throws when its answer is to be lost. */
  leave(method: Method): void {
    const error = this.after.get(method)?.shift();
    if (error) throw error;
  }

  private plan(method: Method, planned: Planned, times: number): this {
    const queue = this.before.get(method) ?? [];
    // "Always" is as many calls as any use case makes: they give up after a dozen.
    for (let index = 0; index < Math.min(times, 1_000); index++) queue.push(planned);
    this.before.set(method, queue);
    return this;
  }
}
