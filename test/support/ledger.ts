import type { Ledger } from '../../local/api-client';

export function expectBalanced(ledger: Ledger): void {
  if (ledger.supplied !== ledger.available + ledger.held + ledger.sold) {
    throw new Error(`ledger unbalanced: ${JSON.stringify(ledger)}`);
  }
}
