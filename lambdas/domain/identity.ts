/**
 * Who a reservation is for. Without an identity provider, the customer the body names. With one, the
 * subject the provider vouches for, and the body must name the same customer: the per-customer limit,
 * the idempotency records and the waiting room's admission (bound to its customer) all key on it, so a
 * bot can no longer make up a fresh customer for each attempt.
 */
import { IdentityError } from './errors';
import type { IdentityVerifier } from './ports';

export async function verifiedCustomer(
  verifier: IdentityVerifier | undefined,
  authorization: string | undefined,
  claimed: string,
): Promise<string> {
  if (verifier === undefined) return claimed;
  const subject = await verifier.subjectOf(authorization);
  if (subject !== claimed) {
    throw new IdentityError('CUSTOMER_MISMATCH', "customerId is not the customer signed in (the token's subject)");
  }
  return subject;
}
