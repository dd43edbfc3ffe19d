// The pure part of GET /v1/stats: windows, buckets, the series, and the facts each verdict row keeps.
import { describe, expect, it } from "vitest";
import { bucketStarts, decidingCode, failedUpstreamHost, fillSeries, statsWindow, StatsQueryError } from "../../src/stats";

const NOW = Date.parse("2026-03-10T12:34:56.000Z");

describe("statsWindow", () => {
  it("defaults to the 24 whole hours up to the end of the current one", () => {
    const end = Date.parse("2026-03-10T13:00:00.000Z");
    expect(statsWindow({}, NOW)).toEqual({ fromMs: end - 86_400_000, toMs: end, bucket: "hour" });
  });

  it("widens a window to whole hours: from down, to up", () => {
    const w = statsWindow({ from: "2026-03-01T10:59:59Z", to: "2026-03-01T11:00:01Z" }, NOW);
    expect([new Date(w.fromMs).toISOString(), new Date(w.toMs).toISOString()]).toEqual(["2026-03-01T10:00:00.000Z", "2026-03-01T12:00:00.000Z"]);
  });

  it("reads zoned ISO times; from defaults to 24 h before to", () => {
    const w = statsWindow({ to: "2026-03-01T02:00:00+02:00", bucket: "day" }, NOW);
    expect(new Date(w.toMs).toISOString()).toBe("2026-03-01T00:00:00.000Z");
    expect(w.toMs - w.fromMs).toBe(86_400_000);
  });

  it("allows exactly the most buckets, and refuses one more", () => {
    const from = "2026-01-01T00:00:00Z";
    expect(() => statsWindow({ from, to: "2026-02-01T00:00:00Z" }, NOW)).not.toThrow(); // 744 hours
    expect(() => statsWindow({ from, to: "2026-02-01T00:00:01Z" }, NOW)).toThrow(StatsQueryError); // widened to 01:00
    // An unaligned from adds the bucket it falls in.
    expect(() => statsWindow({ from: "2026-01-01T00:30:00Z", to: "2026-02-01T00:00:01Z" }, NOW)).toThrow(/745 hour buckets/);
  });

  it("refuses a window past 400 days whatever the bucket", () => {
    expect(() => statsWindow({ from: "2025-01-01T00:00:00Z", to: "2026-02-05T00:00:01Z", bucket: "day" }, NOW)).toThrow(/400 days/);
  });

  for (const bad of ["2026-03-01", "2026-03-01T00:00:00", "2026-13-01T00:00:00Z", "now", "1709251200000", ""]) {
    it(`refuses from=${JSON.stringify(bad)}`, () => {
      expect(() => statsWindow({ from: bad }, NOW)).toThrow(StatsQueryError);
    });
  }
});

describe("buckets and series", () => {
  it("aligns buckets to UTC hours and days and covers the window's end", () => {
    const w = { fromMs: Date.parse("2026-03-01T10:15:00Z"), toMs: Date.parse("2026-03-01T12:00:01Z"), bucket: "hour" as const };
    expect(bucketStarts(w).map((t) => new Date(t).toISOString())).toEqual([
      "2026-03-01T10:00:00.000Z",
      "2026-03-01T11:00:00.000Z",
      "2026-03-01T12:00:00.000Z",
    ]);
  });

  it("fills missing buckets and ignores rows outside the window", () => {
    const w = { fromMs: Date.parse("2026-03-01T00:00:00Z"), toMs: Date.parse("2026-03-03T00:00:00Z"), bucket: "day" as const };
    const day = (iso: string) => Date.parse(iso) / 86_400_000;
    const series = fillSeries(w, [
      { bucket: day("2026-03-02T00:00:00Z"), decision: "deny", n: 3 },
      { bucket: day("2026-03-02T00:00:00Z"), decision: "allow", n: 2 },
      { bucket: day("2026-03-05T00:00:00Z"), decision: "allow", n: 9 },
    ]);
    expect(series).toEqual([
      { start: "2026-03-01T00:00:00.000Z", allow: 0, deny: 0 },
      { start: "2026-03-02T00:00:00.000Z", allow: 2, deny: 3 },
    ]);
  });
});

describe("the facts a verdict row keeps", () => {
  it("a deny's deciding code is its first reason to deny, past notes", () => {
    expect(decidingCode("deny", [{ code: "TAG_UNRESOLVED", message: "" }, { code: "COSIGN_NO_SIGNATURES", message: "" }])).toBe("COSIGN_NO_SIGNATURES");
    expect(decidingCode("allow", [{ code: "COSIGN_SIGNED", message: "" }, { code: "DIGEST_UNRESOLVED", message: "" }])).toBe("COSIGN_SIGNED");
    expect(decidingCode("deny", [])).toBe(null);
  });

  it("the failed upstream's host: from the reason's url, its trust server, a cause, or the image's registry", () => {
    expect(failedUpstreamHost([{ code: "SIMPLE_LOOKASIDE_UNREACHABLE", message: "", url: "https://sigs.example:8443/a/b" }], "ghcr.io")).toBe("sigs.example:8443");
    expect(failedUpstreamHost([{ code: "NOTARY_TRUST_SERVER_UNREACHABLE", message: "", server: "https://notary.docker.io" }], "docker.io")).toBe("notary.docker.io");
    expect(failedUpstreamHost([{ code: "DIGEST_UNRESOLVED", message: "", cause: "REGISTRY_UNREACHABLE" }], "quay.io")).toBe("quay.io");
    expect(failedUpstreamHost([{ code: "REGISTRY_AUTH_FAILED", message: "" }], "ghcr.io")).toBe("ghcr.io");
    expect(failedUpstreamHost([{ code: "NOTARY_TRUST_SERVER_UNREACHABLE", message: "" }], "ghcr.io")).toBe("unknown");
    expect(failedUpstreamHost([{ code: "STATIC_DENY", message: "" }, { code: "DIGEST_UNRESOLVED", message: "", cause: "MANIFEST_NOT_FOUND" }], "ghcr.io")).toBe(null);
  });
});
