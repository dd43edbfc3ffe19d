// Newest-first paging over a D1 table ordered by (time in ms, id), with an opaque cursor.

export interface Cursor {
  readonly ms: number;
  readonly id: string;
}

export function encodeCursor(ms: number, id: string): string {
  return btoa(JSON.stringify([ms, id])).replace(/=+$/, "");
}

export function decodeCursor(cursor: string): Cursor | undefined {
  try {
    const value = JSON.parse(atob(cursor)) as unknown;
    if (Array.isArray(value) && Number.isInteger(value[0]) && typeof value[1] === "string" && value[1].length <= 64) {
      return { ms: value[0] as number, id: value[1] };
    }
  } catch {
    // fall through: not a cursor of ours
  }
  return undefined;
}

/** A filter: column = value, or column IN (values) for a list. */
export type Filters = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One page, newest first; `timeColumn` holds milliseconds. Columns come from code, never from input. */
export async function pageNewestFirst<Row extends { id: string }>(
  db: D1Database,
  table: string,
  timeColumn: keyof Row & string,
  filters: Filters,
  page: { limit: number; cursor?: Cursor | undefined },
): Promise<{ rows: Row[]; nextCursor: string | null }> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `?${args.length}`;
  };
  for (const [column, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    if (typeof value === "string") where.push(`${column} = ${arg(value)}`);
    else where.push(value.length ? `${column} IN (${value.map(arg).join(", ")})` : "0");
  }
  if (page.cursor) {
    const ms = arg(page.cursor.ms);
    where.push(`(${timeColumn} < ${ms} OR (${timeColumn} = ${ms} AND id < ${arg(page.cursor.id)}))`);
  }
  const sql =
    `SELECT * FROM ${table} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ` +
    `ORDER BY ${timeColumn} DESC, id DESC LIMIT ${arg(page.limit + 1)}`;
  const { results } = await db.prepare(sql).bind(...args).all<Row>();
  const rows = results.slice(0, page.limit);
  const last = rows[rows.length - 1];
  return {
    rows,
    nextCursor: results.length > page.limit && last ? encodeCursor(last[timeColumn] as number, last.id) : null,
  };
}
