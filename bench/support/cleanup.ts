/**
 * Cleanups still owed. Each benchmark removes its containers in `finally`; this registry covers
 * the one case `finally` cannot: Ctrl-C on the benchmark process, which run.ts turns into
 * "pay every debt, then exit".
 */
const owed = new Set<() => Promise<unknown>>();

/**
 * Registers `cleanup` and returns a function that runs it once (from `finally`) and forgets it.
 * Running it twice, or from both `finally` and Ctrl-C, runs the cleanup only once.
 */
export function owe<T>(cleanup: () => Promise<T>): () => Promise<T> {
  let done: Promise<T> | undefined;
  const pay = (): Promise<T> => {
    owed.delete(pay);
    done ??= cleanup();
    return done;
  };
  owed.add(pay);
  return pay;
}

/** Runs every cleanup still owed, concurrently; failures are reported, not thrown. */
export async function payAll(): Promise<void> {
  const results = await Promise.allSettled([...owed].map((pay) => pay()));
  for (const r of results) if (r.status === 'rejected') console.error(`cleanup failed: ${(r.reason as Error).message}`);
}
