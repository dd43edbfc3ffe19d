// Makes visible the rejection workerd's pipeThrough() drops: when the writable side's close() fails
// (a DecompressionStream closed on incomplete data), the runtime reports "Uncaught (in promise)" and
// no event reaches a test. Here every pipeThrough() is run by hand and such a failure is recorded.
// Undo with vi.restoreAllMocks().
import { vi } from "vitest";

/** Close failures of every pipeThrough() from now on: what workerd reports as uncaught. */
export function watchPipes(): unknown[] {
  const dropped: unknown[] = [];
  vi.spyOn(ReadableStream.prototype, "pipeThrough").mockImplementation(function <T>(this: ReadableStream, pair: ReadableWritablePair<T, any>): ReadableStream<T> {
    const reader = this.getReader();
    const writer = pair.writable.getWriter();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await writer.write(value);
        }
      } catch (err) {
        // A failed write reaches the readable side as well, and workerd's pipe handles it.
        await reader.cancel(err).catch(() => {});
        return;
      }
      await writer.close().catch((err: unknown) => dropped.push(err));
    })();
    return pair.readable;
  });
  return dropped;
}
