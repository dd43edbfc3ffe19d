// The pure part of a policy preview: how a replay compares with the recorded verdict, and the order of changes.
import { describe, expect, it } from "vitest";
import { classify, emptySummary, orderChanges, tally, type Outcome, type Replayed } from "../../src/preview";

const allow: Outcome = { decision: "allow", reasons: [{ code: "STATIC_ALLOW", message: "" }] };
const deny: Outcome = { decision: "deny", reasons: [{ code: "STATIC_DENY", message: "" }] };
const unreachable: Outcome = { decision: "deny", reasons: [{ code: "REGISTRY_UNREACHABLE", message: "" }] };
const replay = (image: string, before: Outcome, after: Outcome): Replayed => ({ image, reference: image, context: null, before, after });

describe("classify", () => {
  it("tells newly denied, newly allowed and unchanged apart", () => {
    expect(classify(allow, deny)).toBe("newlyDenied");
    expect(classify(deny, allow)).toBe("newlyAllowed");
    expect(classify(deny, deny)).toBe("unchanged");
    expect(classify(allow, allow)).toBe("unchanged");
  });

  it("counts a deny for an upstream that could not be reached as an error, not a change, unless it was denied before", () => {
    expect(classify(allow, unreachable)).toBe("errors");
    expect(classify(deny, unreachable)).toBe("unchanged");
  });
});

describe("tally and order", () => {
  it("lists only changes and errors, newly denied first, keeping window order within each", () => {
    const replays = [
      replay("a", deny, allow),
      replay("b", allow, deny),
      replay("c", allow, allow),
      replay("d", allow, unreachable),
      replay("e", allow, deny),
    ];
    const summary = emptySummary();
    const changes: Replayed[] = [];
    tally(replays.slice(0, 2), summary, changes);
    tally(replays.slice(2), summary, changes);
    expect(summary).toEqual({ newlyDenied: 2, newlyAllowed: 1, unchanged: 1, errors: 1 });
    expect(orderChanges(changes).map((r) => r.image)).toEqual(["b", "e", "a", "d"]);
  });
});
