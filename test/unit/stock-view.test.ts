import { StockView } from '../../lambdas/domain/stock-view';

function viewAt(start = 0) {
  let now = start;
  const view = new StockView(1000, () => now);
  return { view, advance: (ms: number) => (now += ms) };
}

test('trusts a believed stock level for its lifetime only', () => {
  const { view, advance } = viewAt();
  view.rememberAvailable('sku', [3, 0]);
  advance(999);
  expect(view.available('sku')).toEqual([3, 0]);
  advance(1);
  expect(view.available('sku')).toBeUndefined();
});

test('subtracts its own holds and takes corrections from failed writes', () => {
  const { view } = viewAt();
  view.rememberAvailable('sku', [3, 5]);
  view.take('sku', { 0: 2, 1: 1 });
  view.correct('sku', 1, 0);
  expect(view.available('sku')).toEqual([1, 0]);
});

test('forgets a product entirely when told units came back', () => {
  const { view } = viewAt();
  view.rememberAvailable('sku', [0]);
  view.forget('sku');
  expect(view.available('sku')).toBeUndefined();
});

test('one read serves every request that finds the view expired', async () => {
  const { view } = viewAt();
  let reads = 0;
  let finish: (value: number[]) => void = () => {};
  const read = () => {
    reads++;
    return new Promise<number[]>((resolve) => (finish = resolve));
  };

  const waiting = Promise.all([view.refresh('sku', read), view.refresh('sku', read), view.refresh('sku', read)]);
  finish([4, 4]);

  expect(await waiting).toEqual([
    [4, 4],
    [4, 4],
    [4, 4],
  ]);
  expect(reads).toBe(1);
});

test('a hold placed while a refresh was in flight is not forgotten when the read comes back', async () => {
  const { view, advance } = viewAt();
  view.rememberAvailable('sku', [5, 5]);
  advance(1000);
  let finish: (value: number[]) => void = () => {};
  const refreshed = view.refresh('sku', () => new Promise<number[]>((resolve) => (finish = resolve)));

  view.take('sku', { 0: 5 });
  finish([5, 5]);

  expect(await refreshed).toEqual([0, 5]);
  expect(view.available('sku')).toEqual([0, 5]);
});
