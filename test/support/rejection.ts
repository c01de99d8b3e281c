import assert from 'node:assert/strict';

/** The error `promise` rejects with, checked to be a `type`; fails the test when it resolves instead. */
export async function rejectionOf<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: any[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `a ${type.name}, not ${String(error)}`);
    return error;
  }
  assert.fail(`it resolved instead of rejecting with a ${type.name}`);
}
