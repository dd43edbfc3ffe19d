// Matching a glob over a string, shared by trustgate's own patterns (pattern.ts) and the Kyverno
// and policy-controller dialects (dialect-pattern.ts), which only tokenize differently. Linear in
// pattern × text; never a RegExp built from user input.

/**
 * One position of a glob: a literal character, `{ one: true }` (exactly one character), or a run
 * of characters none of which is in `stop` ("" = any run; a run may be empty).
 */
export type GlobToken = string | { readonly stop: string } | { readonly one: true };

/** Every live pattern position at once (an NFA): no glob can make matching backtrack. */
export function matchGlobTokens(tokens: readonly GlobToken[], s: string): boolean {
  const m = tokens.length;
  let live = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  live[0] = 1;
  closeOverRuns(tokens, live);
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    next.fill(0);
    let any = false;
    for (let p = 0; p < m; p++) {
      if (live[p] !== 1) continue;
      const t = tokens[p]!;
      if (typeof t === "string" ? t === ch : "one" in t) {
        next[p + 1] = 1;
        any = true;
      } else if (typeof t !== "string" && "stop" in t && !t.stop.includes(ch)) {
        next[p] = 1;
        any = true;
      }
    }
    if (!any) return false;
    closeOverRuns(tokens, next);
    [live, next] = [next, live];
  }
  return live[m] === 1;
}

/** A run may match nothing: being before it means also being after it. */
function closeOverRuns(tokens: readonly GlobToken[], live: Uint8Array): void {
  for (let p = 0; p < tokens.length; p++) {
    const t = tokens[p]!;
    if (live[p] === 1 && typeof t !== "string" && "stop" in t) live[p + 1] = 1;
  }
}

/**
 * A glob whose only wildcards are runs that match anything, given as the pieces between them: the
 * first piece is a prefix, the last a suffix, each middle piece at its leftmost place in between
 * (leftmost is never worse, so this is exact): O(n·m) at worst, one indexOf per piece in practice.
 */
export function matchGlobPieces(pieces: readonly string[], s: string): boolean {
  const first = pieces[0] ?? "";
  const last = pieces[pieces.length - 1] ?? "";
  if (pieces.length === 1) return s === first;
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  let pos = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] ?? "";
    const at = s.indexOf(piece, pos);
    if (at < 0 || at + piece.length > end) return false;
    pos = at + piece.length;
  }
  return true;
}
