// The paging parameters the history routes share: ?limit= (1–500, default 50) and ?cursor=.
import { HttpError } from "./errors";
import { decodeCursor, type Cursor } from "./stores/paging";

export function pageParams(q: Readonly<Record<string, string | undefined>>): { limit: number; cursor?: Cursor } {
  const limitText = q.limit ?? "50";
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 500) {
    throw new HttpError(400, "INVALID_QUERY", `limit must be a whole number from 1 to 500, not "${limitText.slice(0, 40)}"`);
  }
  if (q.cursor === undefined) return { limit };
  const cursor = decodeCursor(q.cursor);
  if (!cursor) throw new HttpError(400, "INVALID_QUERY", "cursor is not one this service gave out");
  return { limit, cursor };
}
