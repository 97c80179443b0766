/** The edge's drop state, folded from the inventory topic's news, and the operator's drop controls. */
import { DROP_STATE_EVENT_TYPE, DROP_STATE_SCHEMA } from '../../contract/drops';
import { type DropStateEvent, EdgeDropState } from '../../contract/edge-values';
import { STOCK_EVENT_SCHEMA, type StockEvent } from '../../contract/messages';
import { type EdgeStateStore, EdgeStates, foldEdgeState } from '../../lambdas/domain/edge-state';
import { AdmissionError, DropClosedError, DropPausedError, InvalidStateError } from '../../lambdas/domain/errors';
import { dropStateChange } from '../../lambdas/domain/outbox';
import { fakeDrop } from '../support/fakes/drop';

const base: EdgeDropState = {
  v: 1,
  state: 'OPEN',
  startsAt: '2026-12-01T10:00:00.000Z',
  room: false,
  available: 5,
  held: 0,
  since: 1,
  revision: 0,
  stockVersion: 3,
  taken: 0,
};
/** A snapshot of 5 supplied units, `returned` of them back from holds that lapsed (null: a publisher that does not say). */
const stock = (version: number, available: number, held: number, returned: number | null = 0): StockEvent => ({
  schema: STOCK_EVENT_SCHEMA,
  type: available === 0 ? 'sold-out' : 'stock-changed',
  sku: 'S',
  version,
  supplied: 5,
  available,
  held,
  sold: 5 - available - held,
  ...(returned === null ? {} : { returned }),
  reasons: ['reserved'],
  publishedAt: '2026-12-01T10:00:01.000Z',
});
const drop = (revision: number, state: DropStateEvent['state']): DropStateEvent => ({
  schema: DROP_STATE_SCHEMA,
  type: DROP_STATE_EVENT_TYPE,
  sku: 'S',
  state,
  startsAt: base.startsAt,
  room: false,
  revision,
  publishedAt: '2026-12-01T10:00:01.000Z',
});

describe('foldEdgeState', () => {
  it('takes newer stock and newer drop states, stamping since when what the edge refuses on changed', () => {
    expect(foldEdgeState(base, stock(4, 0, 0), 99)).toEqual({
      ...base,
      available: 0,
      held: 0,
      stockVersion: 4,
      taken: 5,
      since: 99,
    });
    expect(foldEdgeState(base, drop(1, 'PAUSED'), 99)).toEqual({ ...base, state: 'PAUSED', revision: 1, since: 99 });
    expect(foldEdgeState(base, { ...drop(1, 'OPEN'), room: true }, 99)).toMatchObject({ room: true, since: 99 });
  });

  it('carries the hold time a drop-state event says, keeps it through stock news, and moves no since for it', () => {
    const held = foldEdgeState(base, { ...drop(1, 'OPEN'), holdSeconds: 90 }, 99);
    expect(held).toEqual({ ...base, revision: 1, holdSeconds: 90 });
    expect(foldEdgeState(held as EdgeDropState, stock(4, 4, 1), 100)).toMatchObject({ holdSeconds: 90 });
    // An event from before the hold time was carried leaves the one known.
    expect(foldEdgeState(held as EdgeDropState, drop(2, 'OPEN'), 101)).toMatchObject({ holdSeconds: 90 });
  });

  it('keeps since while units are taken and come back: a busy drop does not make every attempt a possible retry', () => {
    // Units held, then all held, then some back: the edge refuses none of these, so since stays.
    const taken = foldEdgeState(base, stock(4, 3, 2), 99) as EdgeDropState;
    const allHeld = foldEdgeState(taken, stock(5, 0, 5), 100) as EdgeDropState;
    const back = foldEdgeState(allHeld, stock(6, 2, 3, 2), 101) as EdgeDropState;

    expect([taken, allHeld, back].map(({ available, held, since }) => [available, held, since])).toEqual([
      [3, 2, 1],
      [0, 5, 1],
      [2, 3, 1],
    ]);
    // Sold out for good moves it; a unit coming back after that moves it again.
    const soldOut = foldEdgeState(allHeld, stock(7, 0, 0), 102) as EdgeDropState;
    expect(soldOut.since).toBe(102);
    expect(foldEdgeState(soldOut, stock(8, 1, 0, 1), 103)?.since).toBe(103);
  });

  it('dates the waiting room when it is turned on, keeps that date while it stays on, and drops it when off', () => {
    const on = foldEdgeState(base, { ...drop(1, 'OPEN'), room: true }, 99) as EdgeDropState;
    expect(on).toMatchObject({ room: true, roomSince: 99, since: 99 });
    // Paused and resumed with the room on, units taken: the room has been on since 99 all along.
    const paused = foldEdgeState(on, { ...drop(2, 'PAUSED'), room: true }, 150) as EdgeDropState;
    const resumed = foldEdgeState(paused, { ...drop(3, 'OPEN'), room: true }, 160) as EdgeDropState;
    const soldOut = foldEdgeState(resumed, stock(4, 0, 0), 170) as EdgeDropState;
    expect([paused, resumed, soldOut].map(({ roomSince, since }) => [roomSince, since])).toEqual([
      [99, 150],
      [99, 160],
      [99, 170],
    ]);
    const off = foldEdgeState(soldOut, { ...drop(4, 'OPEN'), room: false }, 180) as EdgeDropState;
    expect(off.room).toBe(false);
    expect(off).not.toHaveProperty('roomSince');
    expect(foldEdgeState(off, { ...drop(5, 'OPEN'), room: true }, 190)).toMatchObject({ roomSince: 190 });
    // A value written before roomSince existed, its room on: dated at the next news, never earlier.
    const { roomSince: _r, ...older } = soldOut;
    expect(foldEdgeState(older, stock(5, 1, 0, 1), 200)).toMatchObject({ room: true, roomSince: 200 });
  });

  it('keeps the units ever taken: held + sold + the units that came back', () => {
    // 1 held, 2 sold, 3 returned from lapsed holds: 6 taken though only 3 units are out.
    expect(foldEdgeState(base, stock(4, 2, 1, 3), 99)).toMatchObject({ available: 2, held: 1, taken: 6 });
  });

  it('marks taken unknown (−1) when the snapshot does not say what came back', () => {
    expect(foldEdgeState({ ...base, taken: 4 }, stock(4, 2, 1, null), 99)).toMatchObject({ taken: -1 });
  });

  it('keeps taken through a drop-state change', () => {
    expect(foldEdgeState({ ...base, taken: 7 }, drop(1, 'PAUSED'), 99)).toMatchObject({ state: 'PAUSED', taken: 7 });
  });

  it('writes a change of taken alone (a hold placed as another lapsed), without moving since', () => {
    // 5 available and none held before and after, but 2 units were held and came back in between.
    const next = foldEdgeState(base, stock(6, 5, 0, 2), 99);

    expect(next).toEqual({ ...base, stockVersion: 6, taken: 2 });
  });

  it('reads a value written before taken existed, and stays under the 1 KB a KeyValueStore value holds', () => {
    const { taken: _taken, ...older } = base;
    const largest: EdgeDropState = {
      ...base,
      state: 'PAUSED',
      startsAt: '2026-12-01T10:00:00.000+14:00',
      available: Number.MAX_SAFE_INTEGER,
      held: Number.MAX_SAFE_INTEGER,
      since: Number.MAX_SAFE_INTEGER,
      revision: Number.MAX_SAFE_INTEGER,
      stockVersion: Number.MAX_SAFE_INTEGER,
      taken: Number.MAX_SAFE_INTEGER,
      roomSince: Number.MAX_SAFE_INTEGER,
      holdSeconds: Number.MAX_SAFE_INTEGER,
    };

    expect(EdgeDropState.safeParse(older).success).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(largest))).toBeLessThan(1024);
  });

  it('ignores duplicates and stragglers, and news that changes nothing the edge answers from', () => {
    expect(foldEdgeState(base, stock(3, 0, 0), 99)).toBeUndefined();
    expect(foldEdgeState(base, stock(2, 0, 0), 99)).toBeUndefined();
    expect(foldEdgeState({ ...base, revision: 2 }, drop(2, 'CLOSED'), 99)).toBeUndefined();
    // Newer, and nothing the edge answers from changed: the version is kept (so an older straggler cannot
    // apply after it), `since` is not moved.
    expect(foldEdgeState(base, stock(9, 5, 0), 99)).toEqual({ ...base, stockVersion: 9 });
    const kept = foldEdgeState(base, stock(11, 5, 0), 99) as typeof base;
    expect(foldEdgeState(kept, stock(10, 0, 1), 99)).toBeUndefined();
  });
});

describe('EdgeStates', () => {
  class MapStore implements EdgeStateStore {
    readonly values = new Map<string, EdgeDropState>();
    async read(key: string) {
      return this.values.get(key);
    }
    async write(key: string, value: EdgeDropState) {
      this.values.set(key, value);
    }
  }

  it('starts a SKU it has not seen from the product, its stock unknown until the news says', async () => {
    const { inventory, store: products, clock } = fakeDrop();
    await inventory.upsertProduct({ sku: 'S', name: 'S', priceCents: 1, stock: 5, holdSeconds: 45 });
    await inventory.controlDrop('S', 'pause');
    const store = new MapStore();
    const states = new EdgeStates({ store, products, clock });
    expect(await states.apply(stock(1, 4, 1))).toBe(true);
    // Its since is when it was first written: an attempt made before may be the retry of a hold.
    expect(store.values.get('drop:S')).toMatchObject({
      state: 'PAUSED',
      available: 4,
      held: 1,
      stockVersion: 1,
      since: clock.now(),
      holdSeconds: 45,
    });
    expect(await states.apply(stock(1, 4, 1))).toBe(false);
  });

  it('dates the room of a SKU it starts with the waiting room on at the start: keys minted before may be from before it', async () => {
    const { inventory, store: products, clock } = fakeDrop();
    await inventory.upsertProduct({ sku: 'S', name: 'S', priceCents: 1, stock: 5 });
    await inventory.controlDrop('S', 'waiting-room-on');
    const store = new MapStore();
    const states = new EdgeStates({ store, products, clock });

    expect(await states.apply(stock(1, 4, 1))).toBe(true);
    expect(store.values.get('drop:S')).toMatchObject({ room: true, since: clock.now(), roomSince: clock.now() });
  });

  it('writes the newer taken when only it moved', async () => {
    const store = new MapStore();
    store.values.set('drop:S', { ...base, taken: 3 });
    const products = { getProduct: async () => undefined } as unknown as ConstructorParameters<
      typeof EdgeStates
    >[0]['products'];
    const states = new EdgeStates({ store, products, clock: { now: () => 5 } });

    expect(await states.apply(stock(4, 5, 0, 4))).toBe(true);
    expect(store.values.get('drop:S')).toEqual({ ...base, stockVersion: 4, taken: 4 });
  });

  it('teaches a value written before the hold time was carried the product’s, once', async () => {
    const store = new MapStore();
    store.values.set('drop:S', { ...base });
    let reads = 0;
    const products = {
      getProduct: async () => {
        reads++;
        return { holdSeconds: 20 };
      },
    } as unknown as ConstructorParameters<typeof EdgeStates>[0]['products'];
    const states = new EdgeStates({ store, products, clock: { now: () => 5 } });

    await states.apply(stock(4, 4, 1));
    await states.apply(stock(5, 3, 2));

    expect(store.values.get('drop:S')).toMatchObject({ holdSeconds: 20, stockVersion: 5 });
    expect(reads).toBe(1);
  });

  it('never applies a drop-state event older than the product it started from', async () => {
    const store = new MapStore();
    const product = { dropState: 'OPEN', dropStartsAt: base.startsAt, waitingRoom: true, revision: 1 };
    const products = { getProduct: async () => product } as unknown as ConstructorParameters<
      typeof EdgeStates
    >[0]['products'];
    const states = new EdgeStates({ store, products, clock: { now: () => 5 } });

    await states.apply(stock(1, 4, 1));
    // The creation's event (revision 0, no room) arrives after the room was turned on and read.
    expect(await states.apply({ ...drop(0, 'OPEN'), room: false })).toBe(false);
    expect(store.values.get('drop:S')).toMatchObject({ room: true, revision: 1 });
  });

  it('folds one SKU’s batch with one read and one write, to what applying each in turn leaves', async () => {
    const products = { getProduct: async () => undefined } as unknown as ConstructorParameters<
      typeof EdgeStates
    >[0]['products'];
    const batch = [stock(4, 4, 1), stock(5, 3, 2), stock(5, 3, 2), stock(4, 4, 1), drop(1, 'PAUSED'), stock(6, 0, 2)];
    class CountingStore extends MapStore {
      reads = 0;
      writes = 0;
      override async read(key: string) {
        this.reads++;
        return super.read(key);
      }
      override async write(key: string, value: EdgeDropState) {
        this.writes++;
        await super.write(key, value);
      }
    }
    const folded = new CountingStore();
    folded.values.set('drop:S', { ...base });
    const oneByOne = new MapStore();
    oneByOne.values.set('drop:S', { ...base });
    const clock = { now: () => 5 };

    const applied = await new EdgeStates({ store: folded, products, clock }).applyAll(batch);
    // The reference: each piece folded in turn onto what the one before left, written each time.
    for (const news of batch) {
      const next = foldEdgeState(oneByOne.values.get('drop:S') as EdgeDropState, news, clock.now());
      if (next) await oneByOne.write('drop:S', next);
    }

    // The duplicate and the straggler changed nothing; the rest did, in order.
    expect(applied).toEqual([batch[0], batch[1], batch[4], batch[5]]);
    expect([folded.reads, folded.writes]).toEqual([1, 1]);
    expect(folded.values.get('drop:S')).toEqual(oneByOne.values.get('drop:S'));
    expect(folded.values.get('drop:S')).toMatchObject({ state: 'PAUSED', stockVersion: 6, available: 0, since: 5 });
  });

  it('moves since when what the edge refuses on changed within the batch, even if it changed back', async () => {
    // Sold out for good, then a unit back: the value ends as it began on what the edge refuses, but an attempt
    // made while it was sold out may have had a hold the edge must pass on as a retry.
    const store = new MapStore();
    store.values.set('drop:S', { ...base });
    const products = { getProduct: async () => undefined } as unknown as ConstructorParameters<
      typeof EdgeStates
    >[0]['products'];
    const states = new EdgeStates({ store, products, clock: { now: () => 9 } });

    await states.applyAll([stock(4, 0, 0), stock(5, 1, 0)]);
    expect(store.values.get('drop:S')).toMatchObject({ available: 1, stockVersion: 5, since: 9 });

    // Units taken and back while some remain: since stays.
    store.values.set('drop:S', { ...base });
    await states.applyAll([stock(4, 3, 2), stock(5, 5, 0)]);
    expect(store.values.get('drop:S')).toMatchObject({ available: 5, stockVersion: 5, since: 1 });
  });

  it('starts a value from a later piece when the first cannot start one (its product does not read)', async () => {
    const store = new MapStore();
    const products = { getProduct: async () => undefined } as unknown as ConstructorParameters<
      typeof EdgeStates
    >[0]['products'];
    const states = new EdgeStates({ store, products, clock: { now: () => 9 } });

    const applied = await states.applyAll([stock(1, 4, 1), drop(2, 'PAUSED')]);

    expect(applied).toEqual([drop(2, 'PAUSED')]);
    expect(store.values.get('drop:S')).toMatchObject({ state: 'PAUSED', revision: 2, stockVersion: -1 });
  });

  it('writes nothing for a batch of news it already has', async () => {
    const store = new MapStore();
    store.values.set('drop:S', { ...base });
    let writes = 0;
    const counting = { read: (key: string) => store.read(key), write: async () => void writes++ };
    const products = { getProduct: async () => undefined } as unknown as ConstructorParameters<
      typeof EdgeStates
    >[0]['products'];

    const states = new EdgeStates({ store: counting, products, clock: { now: () => 5 } });
    expect(await states.applyAll([stock(3, 5, 0), stock(2, 5, 0), drop(0, 'OPEN')])).toEqual([]);
    expect(writes).toBe(0);
    await expect(states.applyAll([stock(4, 5, 0), { ...stock(5, 5, 0), sku: 'T' }])).rejects.toThrow(/one SKU/);
  });

  it('writes nothing for a product that does not exist', async () => {
    const { store: products, clock } = fakeDrop();
    const store = new MapStore();
    expect(await new EdgeStates({ store, products, clock }).apply(stock(1, 0, 0))).toBe(false);
    expect(store.values.size).toBe(0);
  });
});

describe('drop controls', () => {
  it('refuse new holds while paused or closed, keep a retry’s hold, and never reopen a closed drop', async () => {
    const { inventory, product } = fakeDrop();
    const { sku } = await product();
    const first = await inventory.reserve({ sku, customerId: 'a', quantity: 1, idempotencyKey: 'k1' });
    expect((await inventory.controlDrop(sku, 'pause')).dropState).toBe('PAUSED');
    await expect(inventory.reserve({ sku, customerId: 'b', quantity: 1, idempotencyKey: 'k2' })).rejects.toThrow(
      DropPausedError,
    );
    const replay = await inventory.reserve({ sku, customerId: 'a', quantity: 1, idempotencyKey: 'k1' });
    expect(replay.reservation.reservationId).toBe(first.reservation.reservationId);
    expect((await inventory.controlDrop(sku, 'resume')).dropState).toBe('OPEN');
    await inventory.reserve({ sku, customerId: 'b', quantity: 1, idempotencyKey: 'k2' });
    expect((await inventory.controlDrop(sku, 'close')).dropState).toBe('CLOSED');
    await expect(inventory.reserve({ sku, customerId: 'c', quantity: 1, idempotencyKey: 'k3' })).rejects.toThrow(
      DropClosedError,
    );
    await expect(inventory.controlDrop(sku, 'resume')).rejects.toThrow(InvalidStateError);
    expect((await inventory.controlDrop(sku, 'close')).dropState).toBe('CLOSED');
  });

  it("with the waiting room on, refuse an attempt without a valid admission, but replay a retry of a hold even when the keys can't be read", async () => {
    const { inventory, product } = fakeDrop();
    const { sku } = await product();
    const admits = { check: async () => undefined };
    const first = await inventory.reserve({
      sku,
      customerId: 'a',
      quantity: 1,
      idempotencyKey: 'k1',
      admission: { token: 't', verifier: admits },
    });
    await inventory.controlDrop(sku, 'waiting-room-on');
    await expect(inventory.reserve({ sku, customerId: 'b', quantity: 1, idempotencyKey: 'k2' })).rejects.toThrow(
      AdmissionError,
    );
    const failing = { check: async (): Promise<undefined> => Promise.reject(new Error('GetKey throttled')) };
    const retry = await inventory.reserve({
      sku,
      customerId: 'a',
      quantity: 1,
      idempotencyKey: 'k1',
      admission: { token: 't', verifier: failing },
    });
    expect(retry.reservation.reservationId).toBe(first.reservation.reservationId);
    await expect(
      inventory.reserve({
        sku,
        customerId: 'c',
        quantity: 1,
        idempotencyKey: 'k3',
        admission: { token: 't', verifier: failing },
      }),
    ).rejects.toThrow('GetKey throttled');
  });

  it('with the edge’s turn-passed mark, replay a retry’s hold but make no new one, however valid the token', async () => {
    const { inventory, product } = fakeDrop();
    const { sku } = await product();
    await inventory.controlDrop(sku, 'waiting-room-on');
    const admits = { check: async () => undefined };
    const attempt = (customerId: string, idempotencyKey: string, turnPassed: boolean) =>
      inventory.reserve({
        sku,
        customerId,
        quantity: 1,
        idempotencyKey,
        admission: { token: 't', verifier: admits, turnPassed },
      });
    const first = await attempt('a', 'k1', false);

    const retry = await attempt('a', 'k1', true);
    const fresh = attempt('a', 'k2', true);

    expect(retry).toMatchObject({ replayed: true, reservation: { reservationId: first.reservation.reservationId } });
    await expect(fresh).rejects.toThrow(expect.objectContaining({ code: 'ADMISSION_EXPIRED' }));
    expect((await attempt('b', 'k3', false)).replayed).toBe(false);
  });

  it('relay a change of the hold time, with it: the waiting room gives a turn at most half a hold', () => {
    const image = { sku: 'S', dropState: 'OPEN' as const, dropStartsAt: base.startsAt, waitingRoom: true, revision: 0 };

    expect(dropStateChange(undefined, { ...image, holdSeconds: 300 }, 'now')).toMatchObject({ holdSeconds: 300 });
    expect(dropStateChange({ ...image, holdSeconds: 300 }, { ...image, holdSeconds: 300, revision: 1 }, 'now')).toBe(
      undefined,
    );
    expect(dropStateChange({ ...image, holdSeconds: 300 }, { ...image, holdSeconds: 20, revision: 2 }, 'now')).toEqual(
      expect.objectContaining({ holdSeconds: 20, revision: 2 }),
    );
  });

  it('relay a change of state or start, not of name or price', () => {
    const image = {
      sku: 'S',
      dropState: 'OPEN' as const,
      dropStartsAt: base.startsAt,
      waitingRoom: false,
      revision: 0,
    };
    expect(dropStateChange(undefined, image, 'now')).toMatchObject({ state: 'OPEN', revision: 0 });
    expect(dropStateChange(image, { ...image, revision: 1 }, 'now')).toBeUndefined();
    expect(dropStateChange(image, { ...image, dropState: 'PAUSED', revision: 2 }, 'now')).toMatchObject({
      type: DROP_STATE_EVENT_TYPE,
      state: 'PAUSED',
      revision: 2,
    });
  });
});
