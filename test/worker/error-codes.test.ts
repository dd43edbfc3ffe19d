// The API's codes, as the compiler knows them, are the ones docs/reasons.md documents: no more, no fewer.
import { describe, expect, it } from "vitest";
import reasonsDoc from "../../docs/reasons.md?raw";
import { REASON_CODES } from "../../src/reasons";
import { HTTP_ERROR_CODES } from "../../worker/errors";

const errorSection = reasonsDoc.slice(reasonsDoc.indexOf("## Error codes"));
const reasonSection = reasonsDoc.slice(0, reasonsDoc.indexOf("## Error codes"));

describe("documented codes", () => {
  it("every HTTP error code is in the error table, and the table names no other", () => {
    // | status | `CODE`, `CODE` | when |: the codes are the second column.
    const documented = [...errorSection.matchAll(/^\| \d{3} \| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([A-Z_]+)`/g)].map((c) => c[1]!));
    expect([...documented].sort()).toEqual([...HTTP_ERROR_CODES].sort());
  });

  it("every reason code is in the reasons table, and the table names no other", () => {
    const documented = [...reasonSection.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);
    expect([...documented].sort()).toEqual([...REASON_CODES].sort());
  });
});
