// Running steps side by side without leaving stragglers behind when one of them fails.

/**
 * Like Promise.all, but the first failure aborts the shared signal, so the other tasks kill their
 * child processes (e.g. a 120 s await_startup on a peer of the failed node) instead of keeping
 * this process alive after the error has been reported.
 */
export async function allOrAbort(tasks: readonly ((signal: AbortSignal) => Promise<void>)[]): Promise<void> {
  const controller = new AbortController();
  await Promise.all(tasks.map(async (task) => {
    try {
      await task(controller.signal);
    } catch (error) {
      controller.abort(error);
      throw error;
    }
  }));
}
